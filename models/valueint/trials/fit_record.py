"""What a trial fit records of how it was made, read back: its data, model options and
arguments, and its log-likelihood recomputed from the posterior.

``fit_data_from`` rebuilds the data a fit was made on from its ``constant_data`` group,
``fit_options`` the model options, ``refit_arguments`` the keyword arguments of
``valueint.trials.fit.fit`` that made it, and ``recompute_log_likelihood`` its
``log_likelihood`` group (what ``valueint.inference.fit_files`` leaves out of a file).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence

import numpy as np
import xarray as xr

from valueint.inference.fit_files import fit_settings
from valueint.inference.settings import SamplerSettings
from valueint.trials.fit_data import Covariate, FitData, NumericCovariate, check_arrays
from valueint.trials.specs import TRIAL_FIELDS, TrialArrays, get_spec


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


def refit_arguments(fit: xr.DataTree) -> tuple[SamplerSettings, dict]:
    """(the sampler settings, the other keyword arguments of ``valueint.trials.fit.fit``)
    that made ``fit`` (data and seed aside), read back from its attributes:
    ``fit(data, model, settings, **options)`` fits other data as ``fit`` was fitted.

    A fit whose subjects' centeredness was learned or fixed records only the values it
    used, so it is refitted with a learned one (``parameterization="auto"``).
    """
    from valueint.inference.covariates import CovariateFormulas
    from valueint.trials.fit import DEFAULT_SETTINGS

    recorded = json.loads(fit.attrs.get("settings", "{}"))
    settings = fit_settings(fit, DEFAULT_SETTINGS)
    options = {
        "hierarchical": bool(recorded["hierarchical"]),
        "formulas": CovariateFormulas.from_dict(recorded.get("formulas", {})),
        "predictive_draws": int(recorded.get("predictive_draws", 100)),
        "options": fit_options(fit),
    }
    return settings, options


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
