"""Exact K-fold cross-validation by subject: each model refitted without each fold, for
every family whose data have subjects.

Why.  Leaving one subject out by importance sampling (PSIS-LOO on the subject-summed
log-likelihood) is unreliable when one subject's choices move the posterior a lot, as
they do for subject-level parameters: Pareto k then exceeds 0.7 for most subjects.
K-fold refits instead.  The subjects are dealt into ``k`` folds balanced on the family's
strata (``ModelFamily.strata``: a trial fit's categorical covariates, a sampling fit's age
bands), so that every training set holds every stratum; for each model and fold the model
is fitted to the other folds exactly as the full fit was made
(``ModelFamily.refit_arguments``, with ``refit`` changes on top), and each held-out
subject is scored by its log predictive density as a new member of the fitted population
(``ModelFamily.heldout_density``).  The sum over subjects is elpd_kfold; its standard error
and the paired differences between models are over subjects, as for LOO.

The k x models refits are independent tasks of ``valueint.jobs.run_job``: local workers
by default, a Dask cluster by address, and a job folder (``out``) that lets an
interrupted comparison resume without refitting finished folds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from valueint.inference.diagnostics import FitWarning, diagnostics
from valueint.inference.family import FAMILIES, family_of, fit_in_task
from valueint.inference.heldout import HELDOUT_DRAWS, POPULATION_DRAWS
from valueint.jobs import Engine, JobSpec, run_job


def deal_folds(strata, k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every subject: a seeded shuffle dealt round-robin within each
    stratum, the deal continuing across strata, so the folds' sizes differ by <= 1 and
    each is balanced on the strata."""
    strata = np.asarray(strata)
    if int(k) != k or not 2 <= k <= strata.size:
        raise ValueError(f"k must be an integer from 2 to the {strata.size} subjects; got {k!r}")
    rng = np.random.default_rng(seed)
    folds = np.empty(strata.size, dtype=np.int64)
    dealt = 0
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        folds[members] = (dealt + np.arange(members.size)) % k
        dealt += members.size
    return folds


def kfold_task(payload: dict, seed: int) -> dict:
    """One model fitted without one fold, and the fold's subjects scored (a job task)."""
    from valueint.inference.settings import SamplerSettings

    family = FAMILIES.get(payload["family"])
    data = payload["data"]
    ids = np.asarray(family.subject_ids(data))
    folds = np.asarray(payload["folds"])
    fold = payload["fold"]
    settings = SamplerSettings.from_dict(payload["settings"])
    kept = family.select_subjects(data, ids[folds != fold])
    tree, caught = fit_in_task(
        family, kept, payload["model"], settings, seed=seed, **payload["options"]
    )
    density = family.heldout_density(
        tree,
        family.select_subjects(data, ids[folds == fold]),
        draws=payload["heldout_draws"],
        population=payload["population_draws"],
        seed=seed,
    )
    return {
        "name": payload["name"],
        "fold": fold,
        "heldout": density.to_dict(),
        "diagnostics": diagnostics(tree).row(),
        "fit_messages": [str(w.message) for w in caught if issubclass(w.category, FitWarning)],
        "sampling_time_s": float(tree.attrs["sampling_time_s"]),
    }


@dataclasses.dataclass(frozen=True)
class KFoldResult:
    """One model's K-fold cross-validation: per subject (in the data's order) the held-out
    log predictive density, its Monte Carlo se and its importance-sampling Pareto k; the
    fold of each subject; each fold fit's diagnostics row and the messages of those that
    failed them."""

    name: str
    subject_ids: tuple[str, ...]
    elpd_i: np.ndarray
    mc_se_i: np.ndarray
    pareto_k_i: np.ndarray
    folds: np.ndarray
    fit_messages: dict[int, list[str]]
    sampling_time_s: float
    fold_diagnostics: dict[int, dict] = dataclasses.field(default_factory=dict)

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

    @property
    def folds_converged(self) -> int:
        return sum(bool(d.get("converged")) for d in self.fold_diagnostics.values())

    def subjects_table(self) -> pd.DataFrame:
        """One row per subject: elpd, mc_se, pareto_k and fold, with the model's name and
        the diagnostics row of the fold fit that held the subject out (``fit_<column>``)."""
        table = pd.DataFrame(
            {
                "subject": list(self.subject_ids),
                "elpd": self.elpd_i,
                "mc_se": self.mc_se_i,
                "pareto_k": self.pareto_k_i,
                "fold": self.folds,
            }
        )
        table.insert(0, "model", self.name)
        for column in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"):
            table[f"fit_{column}"] = [
                self.fold_diagnostics.get(int(f), {}).get(column, np.nan) for f in self.folds
            ]
        return table


def kfold(
    fits: Mapping[str, xr.DataTree],
    k: int = 10,
    *,
    data=None,
    seed: int = 0,
    out: str | Path | None = None,
    engine: Engine | None = None,
    refit: Mapping | None = None,
    heldout_draws: int = HELDOUT_DRAWS,
    population_draws: int = POPULATION_DRAWS,
) -> dict[str, KFoldResult]:
    """K-fold cross-validation by subject of every fit in ``fits`` (made on the same data,
    by models of one family), the refits run as tasks of the job driver.

    ``data`` is the data the fits were made on (default: rebuilt from the first fit, for
    the families whose fits hold it).  ``refit`` changes the fits' own sampler settings
    for the refits (e.g. ``{"chains": 2, "draws": 500}``); ``out`` is the job folder
    (results per fold, resumable; a temporary folder if None).  All models share one split
    of the subjects (``seed``), so their per-subject differences are paired.
    """
    fits = dict(fits)
    family = _one_family(fits)
    data = family.data_of(next(iter(fits.values()))) if data is None else data
    wanted = family.data_hash(data)
    hashes = {name: fit.attrs.get("data_sha256") for name, fit in fits.items()}
    if set(hashes.values()) != {wanted}:
        raise ValueError(
            f"K-fold needs fits of the data given; the data's hash is {wanted[:12]}, the fits' "
            + ", ".join(f"{name}: {str(h)[:12]}" for name, h in hashes.items())
        )
    folds = deal_folds(family.strata(data, k), k, seed)
    arguments = {}
    for name, fit in fits.items():
        settings, options = family.refit_arguments(fit)
        if options.get("hierarchical") is False:
            raise ValueError(
                f"fit {name!r} has no population (hierarchical=False): a held-out subject "
                "has nothing to be predicted from"
            )
        arguments[name] = (settings.replace(**dict(refit or {})), options)
    payloads = [
        {
            "family": family.name,
            "name": name,
            "model": str(fits[name].attrs["model"]),
            "fold": fold,
            "data": data,
            "folds": folds,
            "settings": arguments[name][0].as_dict(),
            "options": arguments[name][1],
            "heldout_draws": int(heldout_draws),
            "population_draws": int(population_draws),
        }
        for name in fits
        for fold in range(k)
    ]
    config = {
        "family": family.name,
        "data_sha256": wanted,
        "k": int(k),
        "heldout_draws": int(heldout_draws),
        "population_draws": int(population_draws),
        "fits": {
            name: {"settings": s.as_dict(), "options": _jsonable(o)}
            for name, (s, o) in arguments.items()
        },
    }
    spec = JobSpec("kfold", config, seed, f"{k}-fold refits")
    outcome = run_job(kfold_task, payloads, out, spec, engine=engine)
    ids = family.subject_ids(data)
    return {name: _assemble(name, ids, folds, outcome.results) for name in fits}


def _one_family(fits):
    if not fits:
        raise ValueError("K-fold needs at least one fit")
    families = {family_of(fit).name for fit in fits.values()}
    if len(families) > 1:
        raise ValueError(f"K-fold compares fits of one family; got {sorted(families)}")
    return family_of(next(iter(fits.values())))


def _assemble(name: str, subject_ids, folds: np.ndarray, results) -> KFoldResult:
    position = {subject: i for i, subject in enumerate(subject_ids)}
    n = len(subject_ids)
    elpd, mc_se, pareto_k = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    messages, rows, seconds = {}, {}, 0.0
    for result in results:
        if result["name"] != name:
            continue
        heldout = result["heldout"]
        where = [position[s] for s in heldout["subject"]]
        elpd[where] = heldout["elpd"]
        mc_se[where] = heldout["mc_se"]
        pareto_k[where] = heldout["pareto_k"]
        seconds += result["sampling_time_s"]
        rows[int(result["fold"])] = result["diagnostics"]
        if result["fit_messages"]:
            messages[int(result["fold"])] = result["fit_messages"]
    return KFoldResult(
        name, tuple(subject_ids), elpd, mc_se, pareto_k, folds, messages, seconds, rows
    )


def _jsonable(options: Mapping) -> dict:
    return {
        key: (value.to_dict() if hasattr(value, "to_dict") else repr(value))
        for key, value in options.items()
    }
