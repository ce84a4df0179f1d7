"""Simulation-based calibration (SBC) of every trial-level and paradigm model.

``trial_sbc`` and ``paradigm_sbc`` run one replication (prior draw, simulated data, fit,
ranks); ``ranks`` turns ranks into PIT values and tests their uniformity; ``figures``
draws the ECDF-difference plots; ``job`` runs many replications on ``valueint.jobs``.
"""

from valueint.calibration.job import (
    CalibrationJob,
    CalibrationResult,
    calibrate,
    calibrate_all,
    resolve_level,
)

__all__ = ["CalibrationJob", "CalibrationResult", "calibrate", "calibrate_all", "resolve_level"]
