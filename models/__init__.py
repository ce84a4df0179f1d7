"""valueint: value internalization as Bayesian inference over a caregiver's rewards.

A learner infers a caregiver's latent reward weights from sparse praise, keeps the
posterior as an internal social reward (ISR), and acts on it when no one watches:
U = R_e + P R_s + (1 - P) R_i.
"""

from valueint.errors import ConfigError
from valueint.sim.config import Experiment, default_config, load_config, resolve
from valueint.sim.envs import make
from valueint.sim.runner import simulate
from valueint.trials import models as learning_models  # noqa: F401  (registers the cognitive models)
from valueint.trials.contract import TrialDataError, load_trials, to_arrays, validate
from valueint.trials.datasets import load_cutler2021
from valueint.trials.specs import get_spec, registered

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Experiment",
    "TrialDataError",
    "default_config",
    "get_spec",
    "load_config",
    "load_cutler2021",
    "load_trials",
    "make",
    "registered",
    "resolve",
    "simulate",
    "to_arrays",
    "validate",
]
