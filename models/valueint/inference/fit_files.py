"""Fit files: a fit (``xarray.DataTree``) written as compact netCDF4 and read back.

Every fit of every family is a DataTree with the groups arviz reads and the same run
attributes (``run_attrs``: the family, model, method, seed, the data's hash
(``data_hash``), the sampler's settings, package versions, timing).

A fit's pointwise log-likelihood [chain, draw, obs] is by far its largest part (540 MB
in float64 for 4 chains x 1000 draws of the 21,631 trials of Cutler et al. 2021), and it
is a function of what the file holds anyway: the posterior, the design
(``constant_data``), the model's name and its options (``attrs``).  So ``save_fit``
leaves it out, after checking that its family recomputes it to the same numbers
(``ModelFamily.log_likelihood``), and ``load_fit`` recomputes it; the simulated choices
are written as int8 and every numeric variable is zlib-compressed.  The same fit then
takes a few MB.

``load_fit`` also reads the files of earlier versions (``arviz.InferenceData`` netCDF,
each with its log-likelihood stored): their groups and attributes are laid out as a
DataTree's are.  ``summarize`` gives a fit's posterior summary and ``fit_settings`` the
sampler settings it ran with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from valueint.inference.diagnostics import posterior_summary
from valueint.inference.family import family_of
from valueint.inference.parameters import HasParameters
from valueint.inference.settings import SamplerSettings
from valueint.records import atomic_path, check_output_paths, package_versions

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
        choices = group in fit.children and "choice" in fit[group].data_vars
        if choices and fit[group]["choice"].dtype == np.int8:
            fit[group]["choice"] = fit[group]["choice"].astype(CHOICE_DTYPE)
    if log_likelihood and "log_likelihood" not in fit.children:
        try:
            fit["log_likelihood"] = family_of(fit).log_likelihood(fit)
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
        has_choice = name in groups and "choice" in groups[name].data_vars
        choice = groups[name]["choice"] if has_choice else None
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


def loglik_recomputes(fit: xr.DataTree) -> bool:
    """True when the fit's stored log-likelihood is recomputed, entry by entry, to within
    ``LOGLIK_ATOL`` from its posterior, design, model and options; False when it is not,
    or cannot be.  Chains are recomputed a few at a time (at most ``CHECK_ENTRIES``
    entries), so that a second full copy of a large log-likelihood never exists."""
    family = family_of(fit)
    if not {"log_likelihood", "posterior", "constant_data", "observed_data"} <= set(fit.children):
        return False
    stored = fit["log_likelihood"]["choice"].transpose("chain", "draw", "obs")
    n_chains, n_draws, n_obs = stored.shape
    step = max(1, CHECK_ENTRIES // max(1, n_draws * n_obs))
    try:
        for first in range(0, n_chains, step):
            chains = list(range(first, min(n_chains, first + step)))
            again = family.log_likelihood(fit, chains=chains)["choice"].values
            if again.shape != (len(chains), n_draws, n_obs) or not np.allclose(
                again, stored.values[chains], rtol=0.0, atol=LOGLIK_ATOL, equal_nan=True
            ):
                return False
    except (KeyError, ValueError, TypeError):
        return False
    return True


# --------------------------------------------------------------------------- records


def data_hash(arrays: Mapping[str, object]) -> str:
    """sha256 of named arrays: each name, dtype, shape and bytes, in the mapping's order.
    Every family fingerprints the data a fit was made on this way (``attrs["data_sha256"]``)."""
    digest = hashlib.sha256()
    for name, value in arrays.items():
        value = np.ascontiguousarray(value)
        if value.dtype == object:  # text: as fixed-width unicode
            value = value.astype(str)
        digest.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def run_attrs(
    family: str,
    model: HasParameters,
    sampler: SamplerSettings,
    settings: Mapping,
    *,
    seed: int,
    data_sha256: str,
    sampling_time_s: float,
) -> dict:
    """The attributes every fit carries: what made it (family, model and its parameters,
    method, seed, the sampler's settings and the family's own ``settings``), on what data,
    when, with which package versions and how long it sampled."""
    return {
        "family": family,
        "model": model.name,
        "method": sampler.method,
        "seed": int(seed),
        "data_sha256": data_sha256,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sampling_time_s": round(float(sampling_time_s), 3),
        "versions": json.dumps(package_versions()),
        "sampler": json.dumps(sampler.as_dict()),
        "settings": json.dumps(dict(settings), default=str),
        "parameter_names": json.dumps(list(model.parameter_names)),
        "inference_library": "numpyro",
    }


def fit_settings(fit: xr.DataTree, defaults: SamplerSettings | None = None) -> SamplerSettings:
    """The sampler settings ``fit`` ran with (``attrs["sampler"]``; fits written before it
    was recorded: read from ``attrs["settings"]`` over ``defaults``)."""
    if "sampler" in fit.attrs:
        return SamplerSettings.from_dict(json.loads(fit.attrs["sampler"]), defaults)
    recorded = json.loads(fit.attrs.get("settings", "{}"))
    if not recorded:
        raise ValueError("the fit records no settings (attrs['settings']): it cannot be refitted")
    legacy = {
        "likelihood_precision": "precision",
        "approximation_warmup": "pilot_warmup",
    }
    values = {legacy.get(k, k): v for k, v in recorded.items()}
    values["method"] = str(fit.attrs.get("method", "nuts"))
    if values.get("parameterization") not in (None, "whitened"):
        values["parameterization"] = "auto"  # a learned or fixed centeredness: learned again
    if values["method"] == "svi":
        values["chains"] = (defaults or SamplerSettings()).chains
    if values.get("warmup") == 0:
        values.pop("warmup")
    return SamplerSettings.from_dict(values, defaults)


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
