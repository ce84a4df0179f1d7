"""valueint: value internalization as Bayesian inference over a caregiver's rewards.

A learner infers a caregiver's latent reward weights from sparse praise, keeps the
posterior as an internal social reward (ISR), and acts on it when no one watches:
U = R_e + P R_s + (1 - P) R_i.

The package, from the bottom up:

- ``valueint.isr``: the shared theory (feedback likelihood, Gaussian belief, utility);
- ``valueint.inference``: the Bayesian workflow, written once (sampler settings, chains,
  diagnostics, fit files, PSIS-LOO, held-out scoring, covariates, the family protocol);
- the model families behind that protocol: ``valueint.trials`` (trial-level learning and
  ISR models), ``valueint.infosampling`` (sampling evidence before a choice) and
  ``valueint.paradigm`` (count-level studies); ``valueint.sim``, the simulated worlds;
- ``valueint.workflows``: recovery, calibration (SBC), K-fold and study design over any
  family, on the job driver ``valueint.jobs`` (Dask);
- the edges: ``valueint.analyze`` (the reports), ``valueint.cli`` (the ``valueint``
  command) and ``valueint.testing`` (slow, obvious NumPy references).

The names below load on first use, so ``import valueint`` starts no JAX; a subpackage or
module (``valueint.devices``, ``valueint.trials``) is imported when first named.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_ENTRY_POINTS = {
    # simulation
    "simulate": "valueint.sim.runner",
    "sweep": "valueint.sim.sweep",
    "make": "valueint.sim.envs",
    "default_config": "valueint.sim.config",
    "load_config": "valueint.sim.config",
    # fitting, for every family (chosen by the model's name)
    "fit": "valueint.inference.family",
    "registered_models": "valueint.inference.family",
    "SamplerSettings": "valueint.inference.settings",
    "load_fit": "valueint.inference.fit_files",
    "save_fit": "valueint.inference.fit_files",
    "summarize": "valueint.inference.fit_files",
    "diagnostics": "valueint.inference.diagnostics",
    "compare": "valueint.workflows.comparison",
    # workflows over many fits
    "recover": "valueint.workflows.recovery",
    "model_recovery": "valueint.workflows.recovery",
    "calibrate": "valueint.workflows.calibration",
    "CalibrationJob": "valueint.workflows.calibration",
    "design": "valueint.workflows.power",
    "load_study": "valueint.workflows.power_study",
    "Engine": "valueint.jobs.engine",
    # loaders
    "load_data": "valueint.inference.family",
    "load_trials": "valueint.trials.contract",
    "load_cutler2021": "valueint.trials.datasets",
    "load_trust_sampling": "valueint.infosampling.data",
    "load_paradigm": "valueint.paradigm.conditions",
    "load_counts": "valueint.paradigm.conditions",
    # errors and warnings
    "ConfigError": "valueint.errors",
    "DataError": "valueint.errors",
    "TrialDataError": "valueint.trials.contract",
    "FitWarning": "valueint.inference.diagnostics",
}
# what a name is called in its module, where that differs
_RENAMED = {"sweep": "run_sweep"}

__all__ = [
    "CalibrationJob",
    "ConfigError",
    "DataError",
    "Engine",
    "FitWarning",
    "SamplerSettings",
    "TrialDataError",
    "calibrate",
    "compare",
    "default_config",
    "design",
    "diagnostics",
    "fit",
    "load_config",
    "load_counts",
    "load_cutler2021",
    "load_data",
    "load_fit",
    "load_paradigm",
    "load_study",
    "load_trials",
    "load_trust_sampling",
    "make",
    "model_recovery",
    "recover",
    "registered_models",
    "save_fit",
    "simulate",
    "summarize",
    "sweep",
]


def __getattr__(name: str):
    module_name = _ENTRY_POINTS.get(name)
    if module_name is None:
        try:  # a subpackage or module: valueint.devices, valueint.trials, ...
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'valueint' has no attribute {name!r}") from None
    else:
        value = getattr(importlib.import_module(module_name), _RENAMED.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_ENTRY_POINTS})


if TYPE_CHECKING:  # for type checkers and editors only
    from valueint.errors import ConfigError, DataError
    from valueint.inference.diagnostics import FitWarning, diagnostics
    from valueint.inference.family import fit, load_data, registered_models
    from valueint.inference.fit_files import load_fit, save_fit, summarize
    from valueint.inference.settings import SamplerSettings
    from valueint.infosampling.data import load_trust_sampling
    from valueint.jobs.engine import Engine
    from valueint.paradigm.conditions import load_counts, load_paradigm
    from valueint.sim.config import default_config, load_config
    from valueint.sim.envs import make
    from valueint.sim.runner import simulate
    from valueint.sim.sweep import run_sweep as sweep
    from valueint.trials.contract import TrialDataError, load_trials
    from valueint.trials.datasets import load_cutler2021
    from valueint.workflows.calibration import CalibrationJob, calibrate
    from valueint.workflows.comparison import compare
    from valueint.workflows.power import design
    from valueint.workflows.power_study import load_study
    from valueint.workflows.recovery import model_recovery, recover
