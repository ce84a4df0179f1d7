"""K-fold cross-validation by participant for the sampling models, on the job engine.

The participants are dealt into ``k`` folds balanced on age (a seeded shuffle dealt
round-robin within each age band), each model is refitted without each fold exactly as
its full fit was made, and each held-out participant is scored by the log predictive
density of their 60 trials as a new member of the fitted population, with their own
age: the same importance sampler as ``valueint.trials.heldout`` (a Laplace proposal
fitted to the participant, mixed defensively with the population predictive).  The
sum over participants is elpd_kfold, its se and the paired model differences are over
participants.  The k x models refits are independent tasks on ``valueint.jobs``:
local workers by default, a cluster by address, resumable in ``out``.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from valueint.inference.covariates import DesignMatrices
from valueint.inference.parameters import constrain_value
from valueint.infosampling.arrays import count_loglik, count_tables, paths_from_trials
from valueint.infosampling.catalogue import decision_tables, get_model
from valueint.infosampling.fit import fit_varying
from valueint.trials.heldout import (
    _pareto_k,
    importance_log_weights,
    importance_log_weights_partial,
    log_mean_and_se,
)

AGE_BANDS = 5  # strata of the deal
HELDOUT_DRAWS = 2000
POPULATION_DRAWS = 400


def folds_by_age(ages, k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every participant, balanced over age."""
    ages = np.asarray(ages, float)
    if int(k) != k or not 2 <= k <= ages.size:
        raise ValueError(f"k must be an integer from 2 to the {ages.size} participants; got {k!r}")
    rng = np.random.default_rng(seed)
    bands = pd.qcut(ages, min(AGE_BANDS, ages.size // k) or 1, labels=False, duplicates="drop")
    folds = np.empty(ages.size, dtype=np.int64)
    dealt = 0
    for band in np.unique(bands):
        members = rng.permutation(np.flatnonzero(bands == band))
        folds[members] = (dealt + np.arange(members.size)) % k
        dealt += members.size
    return folds


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
) -> pd.DataFrame:
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
    return pd.DataFrame(
        {"subject": subject_ids, "elpd": elpd, "mc_se": mc_se, "pareto_k": _pareto_k(log_weights)}
    )


def kfold_task(payload: dict, seed: int) -> dict:
    """One model fitted without one fold, and the fold's participants scored (a job task)."""
    from valueint.inference.diagnostics import diagnostics
    from valueint.infosampling.fit import FitWarning, fit_sampling

    data = payload["data"]
    folds = np.asarray(payload["folds"])
    ids = np.asarray(list(data.subjects.index))
    train, test = ids[folds != payload["fold"]], ids[folds == payload["fold"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # kept as the diagnostics below instead
        tree = fit_sampling(
            data.select_subjects(train), payload["model"], seed=seed, **payload["arguments"]
        )
    check = diagnostics(tree)
    density = heldout_density(
        tree, data.select_subjects(test), seed=seed, draws=payload["heldout_draws"]
    )
    return {
        "model": payload["model"],
        "fold": int(payload["fold"]),
        "heldout": density.to_dict(orient="list"),
        "max_rhat": check.max_rhat,
        "min_ess_bulk": check.min_ess_bulk,
        "min_ess_tail": check.min_ess_tail,
        "divergences": check.n_divergent,
        "fit_messages": list(check.messages),
        "sampling_time_s": float(tree.attrs["sampling_time_s"]),
    }


def run_kfold(
    data,
    models,
    *,
    k: int,
    seed: int,
    arguments: dict,
    out: str | Path,
    address=None,
    workers=None,
    progress=True,
    heldout_draws: int = HELDOUT_DRAWS,
) -> pd.DataFrame:
    """K-fold by participant of every model; one row per model and participant (elpd,
    mc_se, pareto_k, fold) plus the fold fits' diagnostics.  Resumes from ``out``."""
    from valueint.jobs.store import TaskStore

    folds = folds_by_age(data.subjects.age.to_numpy(), k, seed)
    tasks = [(m, f) for m in models for f in range(k)]
    payloads = [
        {
            "data": data,
            "folds": folds.tolist(),
            "fold": f,
            "model": m,
            "arguments": arguments,
            "heldout_draws": heldout_draws,
        }
        for m, f in tasks
    ]
    config = {
        "models": list(models),
        "k": k,
        "arguments": arguments,
        "heldout_draws": heldout_draws,
        "subjects": list(data.subjects.index),
        "folds": folds.tolist(),
    }
    from valueint.jobs.engine import run_tasks

    store = TaskStore(
        Path(out), kind="infosampling_kfold", config=config, seed=seed, n_tasks=len(tasks)
    )
    report = run_tasks(
        kfold_task,
        payloads,
        store,
        address=address,
        workers=workers,
        progress=progress,
        description="k-fold fits",
    )
    if report.failures:
        raise RuntimeError(
            f"{len(report.failures)} k-fold task(s) failed; see {out}/failed (run again to retry)"
        )
    rows = []
    for result in store.results():
        table = pd.DataFrame(result["heldout"])
        table["model"] = result["model"]
        table["fold"] = result["fold"]
        for key in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "sampling_time_s"):
            table[f"fit_{key}"] = result[key]
        rows.append(table)
    return pd.concat(rows, ignore_index=True)
