"""Fit files: a fit (``xarray.DataTree``) written as netCDF4 and read back.

``load_fit`` also reads the files of earlier versions (``arviz.InferenceData`` netCDF):
their groups and attributes are laid out as a DataTree's are.  ``fit_data_from``
rebuilds the data a fit was made on, and ``summarize`` gives its posterior summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from valueint.records import atomic_path, check_output_paths
from valueint.trials.diagnostics import posterior_summary
from valueint.trials.fit_data import Covariate, FitData, check_arrays
from valueint.trials.specs import TRIAL_FIELDS, TrialArrays

ENGINE = "h5netcdf"


def save_fit(fit: xr.DataTree, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``fit`` as netCDF: to a temporary file beside ``path``, then renamed."""
    path = Path(path)
    check_output_paths([path], overwrite)
    with atomic_path(path) as tmp:
        fit.to_netcdf(tmp, engine=ENGINE)
    return path


def load_fit(path: str | Path) -> xr.DataTree:
    """Read a fit written by ``save_fit`` (every group loaded into memory)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no fit file at {path}")
    try:
        with xr.open_datatree(path, engine=ENGINE) as opened:
            fit = opened.load().copy()
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a netCDF fit file ({err})") from None
    if "posterior" not in fit.children or "model" not in fit.attrs:
        raise ValueError(f"{path}: not a valueint fit (no posterior or no model name)")
    return fit


def fit_data_from(fit: xr.DataTree) -> FitData:
    """The data a fit was made on, rebuilt from its ``constant_data`` group."""
    design = fit["constant_data"].to_dataset()
    arrays = TrialArrays(**{name: np.asarray(design[name].values) for name in TRIAL_FIELDS})
    covariates = []
    for name in design.data_vars:
        if name.endswith("_code"):
            cov = name[: -len("_code")]
            labels = tuple(str(x) for x in design[f"{cov}_level"].values)
            covariates.append(Covariate(cov, np.asarray(design[name].values), labels))
    context_labels = tuple(json.loads(fit.attrs.get("context_labels", "[]")))
    subject_ids = tuple(str(s) for s in design["subject"].values)
    return FitData(check_arrays(arrays), subject_ids, tuple(covariates), context_labels)


def summarize(fit: xr.DataTree, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Columns mean, sd, hdi_3%, hdi_97%, r_hat, ess_bulk of ``posterior_summary``.

    By default the population-level variables (those without a subject dimension), or
    the subject-level ones for a fit without pooling.
    """
    posterior = fit["posterior"]
    if var_names is None:
        var_names = [n for n, v in posterior.data_vars.items() if "subject" not in v.dims]
        var_names = var_names or list(posterior.data_vars)
    table = posterior_summary(fit, var_names)
    return table[["mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk"]]
