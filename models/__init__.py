"""valueint: value internalization as Bayesian inference over a caregiver's rewards.

A learner infers a caregiver's latent reward weights from sparse praise, keeps the
posterior as an internal social reward (ISR), and acts on it when no one watches:
U = R_e + P R_s + (1 - P) R_i.
"""

from . import learning_models  # noqa: F401  (registers the cognitive models)
from .config import Experiment, default_config, load_config, resolve
from .datasets import load_cutler2021
from .envs import make
from .errors import ConfigError
from .runner import simulate
from .specs import get_spec, registered
from .trials import TrialDataError, load_trials, to_arrays, validate

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
