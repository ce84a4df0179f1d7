"""Simulation-based calibration (SBC) of every trial-level and paradigm model.

``trial_sbc`` and ``paradigm_sbc`` run one replication (prior draw, simulated data, fit,
ranks); ``ranks`` turns ranks into PIT values and tests their uniformity; ``figures``
draws the ECDF-difference plots; ``job`` runs many replications on ``valueint.jobs``;
``designs`` holds the defaults.  The names below load on first use, so the command line
reads ``designs`` without starting JAX.
"""

import importlib

__all__ = ["CalibrationJob", "CalibrationResult", "calibrate", "calibrate_all", "resolve_level"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'valueint.calibration' has no attribute {name!r}")
    return getattr(importlib.import_module("valueint.calibration.job"), name)
