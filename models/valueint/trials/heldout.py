"""The held-out density of new subjects under a fitted trial-level population.

A subject left out of a hierarchical fit is predicted by the population: its parameters
drawn from Normal(x . b_n, sigma_n) under each population draw n, its choices scored by
the importance sampler of ``valueint.inference.heldout``.  ``population_draws`` and
``population_offsets`` read the population off a trial fit; ``heldout_density`` scores
the subjects of new data.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from valueint.inference.covariates import DesignMatrices
from valueint.inference.heldout import (
    HELDOUT_DRAWS,
    POPULATION_DRAWS,
    HeldOutDensity,
    importance_log_weights,
    log_mean_and_se,
    pareto_k,
)
from valueint.inference.parameters import unconstrain_value
from valueint.trials.fit_data import FitData
from valueint.trials.fit_record import fit_options
from valueint.trials.population import cast_floats, device_arrays, subject_total_loglik
from valueint.trials.specs import ModelSpec, get_spec


def population_draws(fit: xr.DataTree, n_draws: int) -> tuple[dict, np.ndarray]:
    """Evenly thinned posterior draws of the population: coefficients {p: [n, K_p]} on the
    unconstrained scale (the intercept first) and sds [n, P]."""
    spec = get_spec(fit.attrs["model"])
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    if "mu_" + spec.parameter_names[0] not in posterior:
        raise ValueError("the fit has no population (it was made with hierarchical=False)")
    total = posterior.sizes["sample"]
    keep = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int))
    posterior = posterior.isel(sample=keep)
    coefficients = {}
    for parameter in spec.parameters:
        name = parameter.name
        if f"coef_{name}" in posterior:
            coef = posterior[f"coef_{name}"].transpose("sample", ...).values
        else:  # intercept only: the population mean, on the unconstrained scale
            mu = posterior[f"mu_{name}"].values
            coef = np.asarray(unconstrain_value(parameter, mu))[:, None]
        coefficients[name] = np.asarray(coef, dtype=np.float64)
    sigma = np.stack([posterior[f"sigma_{n}"].values for n in spec.parameter_names], axis=-1)
    return coefficients, np.asarray(sigma, dtype=np.float64)


def population_offsets(fit: xr.DataTree, data: FitData, coefficients: dict) -> np.ndarray:
    """The population means x_j . b_n of the subjects of ``data``: [n, subject, P], their
    covariates coded as the fit's were."""
    spec = get_spec(fit.attrs["model"])
    design_json = fit.attrs.get("covariate_design")
    design = DesignMatrices.from_json(design_json) if design_json else None
    table = data.subject_table()
    offsets = []
    for name in spec.parameter_names:
        coef = coefficients[name]
        if design is None or design.n_columns[name] == 1:
            matrix = np.ones((data.n_subjects, 1))
        else:
            matrix = design.matrix_for(name, table)
        offsets.append(np.einsum("nk,jk->nj", coef, matrix))
    return np.stack(offsets, axis=-1)


def heldout_density(
    fit: xr.DataTree,
    data: FitData,
    *,
    draws: int = HELDOUT_DRAWS,
    population: int = POPULATION_DRAWS,
    seed: int = 0,
) -> HeldOutDensity:
    """log p(y_j | the data ``fit`` was made on) for every subject j of ``data``, subjects
    that the fit did not see, by importance sampling (``draws`` proposal draws per subject,
    against ``population`` thinned posterior draws of the population)."""
    if data.n_subjects == 0:
        raise ValueError("no held-out subjects to predict")
    spec = get_spec(fit.attrs["model"])
    options = fit_options(fit)
    coefficients, sigma = population_draws(fit, population)
    offsets = population_offsets(fit, data, coefficients)
    with jax.enable_x64(True):
        arrays = cast_floats(device_arrays(data.arrays), jnp.float64)
        keys = jax.random.split(jax.random.key(seed), data.n_subjects)
        log_weights = np.asarray(
            _log_weights(
                spec, options, arrays, jnp.asarray(offsets), jnp.asarray(sigma), keys, draws
            )
        )
    elpd, mc_se = log_mean_and_se(log_weights)
    pareto_k_values = pareto_k(log_weights)
    return HeldOutDensity(
        tuple(data.subject_ids), elpd, mc_se, pareto_k_values, int(draws), int(sigma.shape[0])
    )


@functools.partial(jax.jit, static_argnames=("spec", "draws"))
def _log_weights(spec: ModelSpec, options, arrays, offsets, sigma, keys, draws):
    """[subject, draws] log importance weights of p(y_j | theta) p(theta | population)."""
    return importance_log_weights(
        subject_total_loglik(spec, options), arrays, offsets, sigma, keys, draws
    )
