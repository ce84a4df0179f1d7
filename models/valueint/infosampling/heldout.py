"""The held-out density of new participants under a fitted sampling-model population.

Each held-out participant is scored by the log predictive density of their trials as a
new member of the fitted population, with their own age: the importance sampler of
``valueint.inference.heldout`` (a Laplace proposal fitted to the participant, mixed
defensively with the population predictive).  The parameters without a participant-level
sd sit at their age curve under each population draw, and the proposal follows them
(``importance_log_weights_partial``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from valueint.inference.covariates import DesignMatrices
from valueint.inference.heldout import (
    HELDOUT_DRAWS,
    POPULATION_DRAWS,
    HeldOutDensity,
    importance_log_weights,
    importance_log_weights_partial,
    log_mean_and_se,
    pareto_k,
)
from valueint.inference.parameters import constrain_value
from valueint.infosampling.arrays import count_loglik, count_tables, paths_from_trials
from valueint.infosampling.catalogue import decision_tables, get_model
from valueint.infosampling.fit import fit_varying


def _population_draws(fit, model, n_draws: int):
    """({p: coefficients [n, K_p]} of every parameter, sds [n, V] of the varying ones)."""
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    total = posterior.sizes["sample"]
    keep = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int))
    posterior = posterior.isel(sample=keep)
    coefficients = {
        p: posterior[f"coef_{p}"].transpose("sample", ...).values for p in model.parameter_names
    }
    varying = fit_varying(fit, model)
    sigma = np.stack([posterior[f"sigma_{p}"].values for p in varying], axis=-1)
    return coefficients, sigma


@functools.partial(jax.jit, static_argnames=("model_name", "varying", "draws"))
def _weights(model_name, varying, counts, offsets, sigma, fixed, keys, draws):
    model = get_model(model_name)
    names = model.parameter_names
    position = {p: i for i, p in enumerate(varying)}
    fixed_position = {p: i for i, p in enumerate(p for p in names if p not in varying)}

    def loglik(theta, fixed_values, subject_counts):
        values = {
            p.name: theta[position[p.name]]
            if p.name in position
            else fixed_values[fixed_position[p.name]]
            for p in model.parameters
        }
        params = {p.name: constrain_value(p, values[p.name]) for p in model.parameters}
        return count_loglik(decision_tables(model, params), subject_counts)

    if len(varying) == len(names):
        return importance_log_weights(
            lambda theta, data: loglik(theta, theta[:0], data), counts, offsets, sigma, keys, draws
        )
    return importance_log_weights_partial(loglik, counts, offsets, sigma, fixed, keys, draws)


def heldout_density(
    fit,
    data,
    *,
    draws: int = HELDOUT_DRAWS,
    population: int = POPULATION_DRAWS,
    seed: int = 0,
) -> HeldOutDensity:
    """Per participant of ``data`` (not in the fit): elpd = log p(their trials | the fit's
    data), its Monte Carlo se and the importance weights' Pareto k.  The parameters
    without a participant-level sd sit at their age curve under each population draw."""
    model = get_model(fit.attrs["model"])
    design = DesignMatrices.from_json(fit.attrs["covariate_design"])
    coefficients, sigma = _population_draws(fit, model, population)
    curves = {
        p: np.einsum("nk,jk->nj", coefficients[p], design.matrix_for(p, data.subjects))
        for p in model.parameter_names
    }
    varying = fit_varying(fit, model)
    offsets = np.stack([curves[p] for p in varying], axis=-1)
    others = [p for p in model.parameter_names if p not in varying]
    fixed = np.stack([curves[p] for p in others], axis=-1) if others else offsets[..., :0]
    subject_ids = list(data.subjects.index)
    counts = count_tables(paths_from_trials(data.trials, data.steps, subject_ids), len(subject_ids))
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(seed), len(subject_ids))
        log_weights = np.asarray(
            _weights(
                model.name,
                varying,
                counts,
                jnp.asarray(offsets),
                jnp.asarray(sigma),
                jnp.asarray(fixed),
                keys,
                draws,
            )
        )
    elpd, mc_se = log_mean_and_se(log_weights)
    return HeldOutDensity(
        tuple(str(s) for s in subject_ids),
        elpd,
        mc_se,
        pareto_k(log_weights),
        int(draws),
        int(sigma.shape[0]),
    )
