"""Exact K-fold cross-validation by subject: each model refitted without each fold.

Why.  Leaving one subject out by importance sampling (PSIS-LOO on the subject-summed
log-likelihood) is unreliable when one subject's choices move the posterior a lot, as
they do for subject-level parameters: Pareto k then exceeds 0.7 for most subjects.
K-fold refits instead.  The subjects are split into ``k`` folds (stratified by the
categorical covariates, so that every training set holds every level); for each model and
fold the model is fitted to the other folds exactly as the full fit was made
(``refit_arguments``), and each held-out subject is scored by its log predictive density
as a new member of the fitted population (``valueint.trials.heldout``).  The sum over
subjects is elpd_kfold; its standard error and the paired differences between models
are over subjects, as for LOO.

The k x models refits are independent tasks on the job engine (``valueint.jobs``): local
workers by default, a Dask cluster by address, and a job folder (``out``) that lets an
interrupted comparison resume without refitting finished folds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from valueint.trials.fit_data import FitData, data_hash
from valueint.trials.fit_files import fit_data_from, refit_arguments

HELDOUT_DRAWS = 2000
POPULATION_DRAWS = 400


def fold_of_subjects(data: FitData, k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every subject: a seeded shuffle dealt round-robin within each
    combination of categorical covariate levels, so the folds are balanced on them."""
    if int(k) != k or not 2 <= k <= data.n_subjects:
        raise ValueError(
            f"k must be an integer from 2 to the {data.n_subjects} subjects; got {k!r}"
        )
    rng = np.random.default_rng(seed)
    strata = np.zeros(data.n_subjects, dtype=np.int64)
    for covariate in data.covariates:
        strata = strata * len(covariate.labels) + np.asarray(covariate.codes)
    folds = np.empty(data.n_subjects, dtype=np.int64)
    dealt = 0  # continue the deal across strata so that the folds' sizes differ by <= 1
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        folds[members] = (dealt + np.arange(members.size)) % k
        dealt += members.size
    return folds


def kfold_task(payload: dict, seed: int) -> dict:
    """One model fitted without one fold, and the fold's subjects scored (a job task)."""
    from valueint.trials.fit import FitWarning, fit
    from valueint.trials.heldout import heldout_density

    data: FitData = payload["data"]
    folds = np.asarray(payload["folds"])
    fold = payload["fold"]
    arguments = dict(payload["arguments"])
    model = arguments.pop("model")
    with warnings.catch_warnings(record=True) as caught:
        # the fit's own diagnostics, warned once each, are kept instead of shown
        warnings.simplefilter("always")
        tree = fit(
            data.select_subjects(folds != fold),
            model,
            seed=seed,
            progress=False,
            **arguments,
        )
    density = heldout_density(
        tree,
        data.select_subjects(folds == fold),
        draws=payload["heldout_draws"],
        population=payload["population_draws"],
        seed=seed,
    )
    return {
        "name": payload["name"],
        "fold": fold,
        "heldout": density.to_dict(),
        "fit_messages": [str(w.message) for w in caught if issubclass(w.category, FitWarning)],
        "sampling_time_s": float(tree.attrs["sampling_time_s"]),
    }


@dataclasses.dataclass(frozen=True)
class KFoldResult:
    """One model's K-fold cross-validation: per subject (in the data's order) the held-out
    log predictive density, its Monte Carlo se and its importance-sampling Pareto k; the
    fold of each subject, and the diagnostics of the fold fits that failed them."""

    name: str
    subject_ids: tuple[str, ...]
    elpd_i: np.ndarray
    mc_se_i: np.ndarray
    pareto_k_i: np.ndarray
    folds: np.ndarray
    fit_messages: dict[int, list[str]]
    sampling_time_s: float

    @property
    def elpd(self) -> float:
        return float(self.elpd_i.sum())

    @property
    def se(self) -> float:
        return float(math.sqrt(self.elpd_i.size * np.var(self.elpd_i)))

    @property
    def mc_se(self) -> float:
        return float(math.sqrt(np.sum(self.mc_se_i**2)))

    @property
    def k(self) -> int:
        return int(self.folds.max() + 1)


def kfold(
    fits: Mapping[str, xr.DataTree],
    k: int = 10,
    *,
    seed: int = 0,
    out: str | Path | None = None,
    address: str | None = None,
    workers: int | None = None,
    refit: Mapping | None = None,
    heldout_draws: int = HELDOUT_DRAWS,
    population_draws: int = POPULATION_DRAWS,
    progress: bool = True,
) -> dict[str, KFoldResult]:
    """K-fold cross-validation by subject of every fit in ``fits`` (made on the same data),
    the refits run as tasks on the job engine.

    ``refit`` overrides the fits' own settings for the refits (e.g. ``{"chains": 2,
    "draws": 500}``); ``out`` is the job folder (results per fold, resumable; a temporary
    folder if None).  All models share one split of the subjects (``seed``), so their
    per-subject differences are paired.
    """
    from valueint.jobs import TaskStore, run_tasks

    fits = dict(fits)
    data = fit_data_from(next(iter(fits.values())))
    hashes = {name: fit.attrs.get("data_sha256") for name, fit in fits.items()}
    if len(set(hashes.values())) > 1:
        raise ValueError(f"K-fold needs fits of the same data; their data hashes: {hashes}")
    folds = fold_of_subjects(data, k, seed)
    arguments = {}
    for name, fit in fits.items():
        arguments[name] = refit_arguments(fit) | dict(refit or {})
        if not arguments[name]["hierarchical"]:
            raise ValueError(
                f"fit {name!r} has no population (hierarchical=False): a held-out subject "
                "has nothing to be predicted from"
            )
    config = {
        "data_sha256": data_hash(data.arrays),
        "k": int(k),
        "heldout_draws": int(heldout_draws),
        "population_draws": int(population_draws),
        "fits": {name: _jsonable_arguments(a) for name, a in arguments.items()},
    }
    payloads = [
        {
            "name": name,
            "fold": fold,
            "data": data,
            "folds": folds,
            "arguments": arguments[name],
            "heldout_draws": int(heldout_draws),
            "population_draws": int(population_draws),
        }
        for name in fits
        for fold in range(k)
    ]
    with (
        tempfile.TemporaryDirectory()
        if out is None
        else contextlib.nullcontext(Path(out)) as folder
    ):
        store = TaskStore(folder, kind="kfold", config=config, seed=seed, n_tasks=len(payloads))
        report = run_tasks(
            kfold_task,
            payloads,
            store,
            address=address,
            workers=workers,
            progress=progress,
            description=f"{k}-fold refits",
        )
        if not report.complete:
            raise RuntimeError(
                f"K-fold: {len(report.failures)} of {len(payloads)} refits failed "
                f"(first: {report.failures[0]['error'].strip().splitlines()[-1]}); "
                + (f"rerun with out={str(out)!r} to retry them" if out else "see the log above")
            )
        results = store.results()
    return {name: _assemble(name, data, folds, results) for name in fits}


def _assemble(name: str, data: FitData, folds: np.ndarray, results) -> KFoldResult:
    position = {subject: i for i, subject in enumerate(data.subject_ids)}
    n = data.n_subjects
    elpd, mc_se, pareto_k = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    messages, seconds = {}, 0.0
    for result in results:
        if result["name"] != name:
            continue
        heldout = result["heldout"]
        where = [position[s] for s in heldout["subject"]]
        elpd[where] = heldout["elpd"]
        mc_se[where] = heldout["mc_se"]
        pareto_k[where] = heldout["pareto_k"]
        seconds += result["sampling_time_s"]
        if result["fit_messages"]:
            messages[int(result["fold"])] = result["fit_messages"]
    return KFoldResult(
        name, tuple(data.subject_ids), elpd, mc_se, pareto_k, folds, messages, seconds
    )


def _jsonable_arguments(arguments: Mapping) -> dict:
    return {
        key: (
            value.to_dict()
            if hasattr(value, "to_dict")
            else repr(value)
            if key == "options"
            else value
        )
        for key, value in arguments.items()
    }
