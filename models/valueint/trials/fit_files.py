"""Fit files: a fit (``xarray.DataTree``) written as compact netCDF4 and read back.

A fit's pointwise log-likelihood [chain, draw, obs] is by far its largest part (540 MB
in float64 for 4 chains x 1000 draws of the 21,631 trials of Cutler et al. 2021), and it
is a function of what the file holds anyway: the posterior, the design
(``constant_data``), the model's name and its options (``attrs``).  So ``save_fit``
leaves it out, after checking that it recomputes to the same numbers, and ``load_fit``
recomputes it; the simulated choices are written as int8 and every numeric variable is
zlib-compressed.  The same fit then takes a few MB.

``load_fit`` also reads the files of earlier versions (``arviz.InferenceData`` netCDF,
each with its log-likelihood stored): their groups and attributes are laid out as a
DataTree's are.  ``fit_data_from`` rebuilds the data a fit was made on, and
``summarize`` gives its posterior summary.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from valueint.inference.diagnostics import posterior_summary
from valueint.records import atomic_path, check_output_paths
from valueint.trials.fit_data import Covariate, FitData, NumericCovariate, check_arrays
from valueint.trials.specs import TRIAL_FIELDS, TrialArrays, get_spec

ENGINE = "h5netcdf"
COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True}
# A stored log-likelihood is left out of a file only if recomputing it gives every
# entry to within this (absolute, in nats): far below what moves a LOO estimate (a
# shift of 1e-9 per trial moves elpd by at most 1e-9 per trial).
LOGLIK_ATOL = 1e-9
CHECK_ENTRIES = 25_000_000  # log-likelihood entries recomputed at once by that check (200 MB)
CHOICE_GROUPS = ("posterior_predictive", "observed_data")  # 0/1 choices, stored as int8
CHOICE_DTYPE = np.int32  # the dtype choices have in memory (as ``fit`` makes them)


def save_fit(
    fit: xr.DataTree, path: str | Path, overwrite: bool = False, *, compact: bool = True
) -> Path:
    """Write ``fit`` as netCDF: to a temporary file beside ``path``, then renamed.

    With ``compact`` (the default) the log-likelihood group is left out when it can be
    recomputed from the file (``loglik_recomputes``; ``load_fit`` then rebuilds it),
    choices are stored as int8 and every numeric variable is compressed; the values
    ``load_fit`` returns are the same.  ``compact=False`` writes the tree as it is.
    """
    path = Path(path)
    check_output_paths([path], overwrite)
    tree = compact_tree(fit) if compact else fit
    encoding = _compression(tree) if compact else None
    with atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine=ENGINE, encoding=encoding)
    return path


def load_fit(path: str | Path, *, log_likelihood: bool = True) -> xr.DataTree:
    """Read a fit written by ``save_fit`` (every group loaded into memory).

    A file saved without its log-likelihood gets it recomputed from the posterior and
    the design (one pass of the model over every draw; ``log_likelihood=False`` skips
    this, for uses that never read it, e.g. a posterior summary).
    """
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
    for group in CHOICE_GROUPS:
        if group in fit.children and fit[group]["choice"].dtype == np.int8:
            fit[group]["choice"] = fit[group]["choice"].astype(CHOICE_DTYPE)
    if log_likelihood and "log_likelihood" not in fit.children:
        try:
            fit["log_likelihood"] = recompute_log_likelihood(fit)
        except (KeyError, ValueError) as err:
            raise ValueError(
                f"{path}: the file holds no log-likelihood and it cannot be recomputed ({err})"
            ) from None
    return fit


# --------------------------------------------------------------------------- compaction


def compact_tree(fit: xr.DataTree) -> xr.DataTree:
    """A shallow copy of ``fit`` as ``save_fit`` writes it: without the log-likelihood
    where it recomputes (``loglik_recomputes``), choices as int8."""
    groups = {name: fit[name].to_dataset() for name in fit.children}
    if "log_likelihood" in groups and loglik_recomputes(fit):
        del groups["log_likelihood"]
    for name in CHOICE_GROUPS:
        choice = groups[name]["choice"] if name in groups else None
        if choice is not None and np.isin(choice.values, (0, 1)).all():
            groups[name] = groups[name].assign(choice=choice.astype(np.int8))
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = dict(fit.attrs)
    return tree


def _compression(tree: xr.DataTree) -> dict:
    """zlib for every numeric data variable of every group (text and coordinates as they are)."""
    return {
        f"/{name}": {
            var: dict(COMPRESSION)
            for var, values in tree[name].data_vars.items()
            if values.dtype.kind in "biuf" and values.size > 1
        }
        for name in tree.children
    }


def fit_options(fit: xr.DataTree):
    """The model options a fit was made with, read back from ``attrs["settings"]``.

    ``fit`` records them as ``repr(options)``: None or a dict of numbers and tuples reads
    back exactly; anything else (e.g. JAX arrays) raises ValueError.
    """
    settings = json.loads(fit.attrs.get("settings", "{}"))
    text = settings.get("options", "None")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(
            f"the fit's options {text!r} cannot be read back as Python values"
        ) from None


def refit_arguments(fit: xr.DataTree) -> dict:
    """The keyword arguments of ``valueint.trials.fit`` that made ``fit`` (data and seed
    aside), read back from its attributes: ``fit(data, **refit_arguments(tree))`` fits
    other data as ``tree`` was fitted.

    A fit whose subjects' centeredness was fixed by hand records only the values it used,
    so it is refitted with the learned (``"auto"``) centeredness.
    """
    from valueint.inference.covariates import CovariateFormulas

    settings = json.loads(fit.attrs.get("settings", "{}"))
    if not settings:
        raise ValueError("the fit records no settings (attrs['settings']): it cannot be refitted")
    method = str(fit.attrs.get("method", "nuts"))
    arguments = {
        "model": str(fit.attrs["model"]),
        "method": method,
        "hierarchical": bool(settings["hierarchical"]),
        "formulas": CovariateFormulas.from_dict(settings.get("formulas", {})),
        "draws": int(settings["draws"]),
        "predictive_draws": int(settings.get("predictive_draws", 100)),
        "likelihood_precision": str(settings.get("likelihood_precision", "auto")),
        "options": fit_options(fit),
    }
    if method == "svi":
        arguments |= {
            "svi_steps": int(settings["svi_steps"]),
            "svi_learning_rate": float(settings["svi_learning_rate"]),
            "svi_guide": str(settings.get("svi_guide", "normal")),
        }
        return arguments
    arguments |= {
        "chains": int(settings["chains"]),
        "warmup": int(settings["warmup"]),
        "target_accept_prob": float(settings["target_accept_prob"]),
        "max_tree_depth": int(settings["max_tree_depth"]),
        "init": str(settings.get("init", "svi")),
        "mass_matrix": str(settings.get("mass_matrix", "population")),
        "centeredness": "whitened" if settings.get("parameterization") == "whitened" else "auto",
    }
    if "warm_start_steps" in settings:
        arguments["warm_start_steps"] = int(settings["warm_start_steps"])
    if "approximation_warmup" in settings:
        arguments["approximation_warmup"] = int(settings["approximation_warmup"])
    return arguments


def recompute_log_likelihood(fit: xr.DataTree, chains: Sequence[int] | None = None) -> xr.Dataset:
    """The ``log_likelihood`` group of ``fit``, recomputed from its posterior and design.

    ``log p(choice)`` of every observed trial under every draw's subject parameters, in
    float64 (as ``fit`` computes it), with the observed data's trial coordinates.  The
    model must be registered under ``attrs["model"]``; ``chains`` picks some chains.
    """
    import jax

    from valueint.trials.fit import pointwise_loglik  # JAX starts here, not at import

    spec = get_spec(fit.attrs["model"])
    options = fit_options(fit)
    posterior = fit["posterior"].to_dataset()
    if chains is not None:
        posterior = posterior.isel(chain=list(chains))
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    params = {
        name: posterior[name]
        .transpose("chain", "draw", "subject")
        .values.reshape(n_chains * n_draws, -1)
        for name in spec.parameter_names
    }
    arrays = fit_data_from(fit).arrays
    with jax.enable_x64(True):  # the stored numbers are float64; so must the recomputed be
        values = pointwise_loglik(spec, options, arrays, params)
    observed = fit["observed_data"].to_dataset()
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    coords |= {name: coord.variable for name, coord in observed.coords.items()}
    values = values.reshape(n_chains, n_draws, -1)
    return xr.Dataset({"choice": (("chain", "draw", "obs"), values)}, coords=coords)


def loglik_recomputes(fit: xr.DataTree) -> bool:
    """True when the fit's stored log-likelihood is recomputed, entry by entry, to within
    ``LOGLIK_ATOL`` from its posterior, design, model and options; False when it is not,
    or cannot be.  Chains are recomputed a few at a time (at most ``CHECK_ENTRIES``
    entries), so that a second full copy of a large log-likelihood never exists."""
    if not {"log_likelihood", "posterior", "constant_data", "observed_data"} <= set(fit.children):
        return False
    stored = fit["log_likelihood"]["choice"].transpose("chain", "draw", "obs")
    n_chains, n_draws, n_obs = stored.shape
    step = max(1, CHECK_ENTRIES // max(1, n_draws * n_obs))
    try:
        for first in range(0, n_chains, step):
            chains = list(range(first, min(n_chains, first + step)))
            again = recompute_log_likelihood(fit, chains=chains)["choice"].values
            if again.shape != (len(chains), n_draws, n_obs) or not np.allclose(
                again, stored.values[chains], rtol=0.0, atol=LOGLIK_ATOL, equal_nan=True
            ):
                return False
    except (KeyError, ValueError, TypeError):
        return False
    return True


# --------------------------------------------------------------------------- reading back


def fit_data_from(fit: xr.DataTree) -> FitData:
    """The data a fit was made on, rebuilt from its ``constant_data`` group.

    Fields that a fit's file may lack (``outcome_unchosen``, in files written before it
    existed) take their defaults (NaN: no schedule known).
    """
    design = fit["constant_data"].to_dataset()
    arrays = TrialArrays(
        **{name: np.asarray(design[name].values) for name in TRIAL_FIELDS if name in design}
    )
    covariates = []
    for name in design.data_vars:
        if name.endswith("_code"):
            cov = name[: -len("_code")]
            labels = tuple(str(x) for x in design[f"{cov}_level"].values)
            covariates.append(Covariate(cov, np.asarray(design[name].values), labels))
    numeric = tuple(
        NumericCovariate(name[: -len("_value")], np.asarray(design[name].values, dtype=float))
        for name in design.data_vars
        if name.endswith("_value")
    )
    context_labels = tuple(json.loads(fit.attrs.get("context_labels", "[]")))
    subject_ids = tuple(str(s) for s in design["subject"].values)
    return FitData(check_arrays(arrays), subject_ids, tuple(covariates), context_labels, numeric)


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
