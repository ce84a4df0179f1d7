"""valueint: value internalization as Bayesian inference over a caregiver's rewards.

A learner infers a caregiver's latent reward weights from sparse praise, keeps the
posterior as an internal social reward (ISR), and acts on it when no one watches:
U = R_e + P R_s + (1 - P) R_i.

The package, one concern per subpackage:

- ``valueint.isr``: the shared theory (feedback likelihood, Gaussian belief, utility);
- ``valueint.sim``: worlds, caregiver, agents, runner, reproductions of the paper;
- ``valueint.trials``: trial data, cognitive models, fitting, comparison, recovery;
- ``valueint.paradigm``: count-level studies (conditions, children, proportions);
- ``valueint.jobs``: many independent tasks on Dask, local or on a cluster, resumable;
- ``valueint.calibration``: simulation-based calibration of every model on those tasks;
- ``valueint.analyze``: the reports behind ``valueint analyze``;
- ``valueint.cli``: the ``valueint`` command;
- ``valueint.testing``: slow, obvious NumPy references.

The entry points below load on first use, so ``import valueint`` starts no JAX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_ENTRY_POINTS = {
    # simulation
    "simulate": "valueint.sim.runner",
    "make": "valueint.sim.envs",
    "Experiment": "valueint.sim.config",
    "default_config": "valueint.sim.config",
    "load_config": "valueint.sim.config",
    "resolve": "valueint.sim.config",
    # trial data and cognitive models
    "load_trials": "valueint.trials.contract",
    "validate": "valueint.trials.contract",
    "to_arrays": "valueint.trials.arrays",
    "TrialDataError": "valueint.trials.contract",
    "load_cutler2021": "valueint.trials.datasets",
    "get_spec": "valueint.trials.specs",
    "registered": "valueint.trials.specs",
    "fit": "valueint.trials.fit",
    "load_fit": "valueint.trials.fit_files",
    "compare": "valueint.inference.comparison",
    "diagnostics": "valueint.inference.diagnostics",
    # count-level studies
    "load_paradigm": "valueint.paradigm.conditions",
    "fit_paradigm": "valueint.paradigm.fit",
    # many fits: calibration on the distributed engine
    "calibrate": "valueint.calibration.job",
    "CalibrationJob": "valueint.calibration.job",
    "run_tasks": "valueint.jobs.engine",
    # errors
    "ConfigError": "valueint.errors",
}
# the trial models register themselves when their module is imported
_NEEDS_MODELS = {"get_spec", "registered", "fit", "compare"}

__all__ = [
    "CalibrationJob",
    "ConfigError",
    "Experiment",
    "TrialDataError",
    "calibrate",
    "compare",
    "default_config",
    "diagnostics",
    "fit",
    "fit_paradigm",
    "get_spec",
    "load_config",
    "load_cutler2021",
    "load_fit",
    "load_paradigm",
    "load_trials",
    "make",
    "registered",
    "resolve",
    "run_tasks",
    "simulate",
    "to_arrays",
    "validate",
]


def __getattr__(name: str):
    module_name = _ENTRY_POINTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'valueint' has no attribute {name!r}")
    if name in _NEEDS_MODELS:
        importlib.import_module("valueint.trials.catalogue")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_ENTRY_POINTS})


if TYPE_CHECKING:  # for type checkers and editors only
    from valueint.errors import ConfigError
    from valueint.inference.comparison import compare
    from valueint.inference.diagnostics import diagnostics
    from valueint.paradigm.conditions import load_paradigm
    from valueint.paradigm.fit import fit_paradigm
    from valueint.sim.config import Experiment, default_config, load_config, resolve
    from valueint.sim.envs import make
    from valueint.sim.runner import simulate
    from valueint.trials.arrays import to_arrays
    from valueint.trials.contract import TrialDataError, load_trials, validate
    from valueint.trials.datasets import load_cutler2021
    from valueint.trials.fit import fit
    from valueint.trials.fit_files import load_fit
    from valueint.trials.specs import get_spec, registered
