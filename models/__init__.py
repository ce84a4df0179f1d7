"""valueint: value internalization as Bayesian inference over a caregiver's rewards.

A learner infers a caregiver's latent reward weights from sparse praise, keeps the
posterior as an internal social reward (ISR), and acts on it when no one watches:
U = R_e + P R_s + (1 - P) R_i.
"""

from .config import Experiment, default_config, load_config, resolve
from .envs import make
from .errors import ConfigError
from .runner import simulate

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Experiment",
    "default_config",
    "load_config",
    "make",
    "resolve",
    "simulate",
]
