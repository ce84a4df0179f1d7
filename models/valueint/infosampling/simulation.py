"""Simulated participants on the real design: the sampling models' side of recovery and
simulation-based calibration.

The real design is the data set's own: its participants with their ages, their 60
trials and each trial's reciprocation probability (``synthetic_design`` makes one of the
same shape).  A *population* is every parameter's coefficients on its design columns and
sd (the layout of a fit's posterior: ``population_from_fit``; or drawn from the fit's
priors: ``population_from_prior``); ``draw_subjects`` draws participants from it,
``simulate_study`` plays the design with them (fresh tiles), and the result is a
``TrustSamplingData`` that any fit takes.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from valueint.datasets import DatasetReport
from valueint.inference.covariates import DesignMatrices
from valueint.inference.parameters import constrain_value
from valueint.infosampling.arrays import simulate_paths
from valueint.infosampling.catalogue import get_model
from valueint.infosampling.data import RECIPROCATION_LEVELS, TrustSamplingData
from valueint.infosampling.fit import design_for


def population_from_fit(fit, subjects=None) -> dict:
    """The posterior-mean population of a fit: {p: (coefficients [K_p], sd)}.  With
    ``subjects`` (a subject table) the coefficients are re-expressed for them: the fit's
    basis (its standardization and knots) applied to their ages, then refitted by least
    squares in the basis those subjects' own design uses."""
    model = get_model(fit.attrs["model"])
    posterior = fit["posterior"]
    # a parameter without a participant-level sd follows its age curve exactly (sd 0)
    population = {
        p: (
            posterior[f"coef_{p}"].mean(("chain", "draw")).values,
            float(posterior[f"sigma_{p}"].mean()) if f"sigma_{p}" in posterior else 0.0,
        )
        for p in model.parameter_names
    }
    if subjects is None:
        return population
    fitted = DesignMatrices.from_json(fit.attrs["covariate_design"])
    design = design_for(model, subjects)
    out = {}
    for p, (coef, sd) in population.items():
        curve = fitted.matrix_for(p, subjects) @ coef
        out[p] = (np.linalg.lstsq(design.matrix(p), curve, rcond=None)[0], sd)
    return out


def population_from_prior(model, design, rng) -> dict:
    """A population drawn from the fit's priors (``valueint.infosampling.fit``): the
    model's population-only parameters get sd 0."""
    model = get_model(model)
    out = {}
    for p in model.parameters:
        k = design.matrix(p.name).shape[1]
        coef = rng.normal(0.0, p.prior_scale, size=k)
        coef[0] += p.prior_loc
        sd = abs(rng.normal(0.0, p.prior_scale)) if p.name in model.varying else 0.0
        out[p.name] = (coef, sd)
    return out


def draw_subjects(model, population: dict, design, rng) -> dict:
    """Unconstrained subject parameters {p: [S]} drawn from ``population``."""
    model = get_model(model)
    return {
        p: design.matrix(p) @ np.asarray(population[p][0])
        + population[p][1] * rng.normal(size=design.matrix(p).shape[0])
        for p in model.parameter_names
    }


def natural(model, unconstrained: dict) -> dict:
    model = get_model(model)
    return {p.name: np.asarray(constrain_value(p, unconstrained[p.name])) for p in model.parameters}


def synthetic_design(n_subjects: int, seed: int = 0, ages=(10.0, 24.9)) -> TrustSamplingData:
    """A design of the real task's shape for ``n_subjects`` participants with ages spread
    evenly over ``ages``: 60 trials each, 10 per reciprocation level in a random order
    (no decisions yet: ``simulate_study`` plays it)."""
    rng = np.random.default_rng(seed)
    ids = [f"{i + 1:03d}" for i in range(n_subjects)]
    age = np.round(np.linspace(*ages, n_subjects), 2)
    levels = np.repeat(RECIPROCATION_LEVELS, 10)
    trials = pd.DataFrame(
        {
            "subject": np.repeat(ids, len(levels)),
            "age": np.repeat(age, len(levels)),
            "trial": np.tile(np.arange(1, len(levels) + 1), n_subjects),
            "reciprocation": np.concatenate([rng.permutation(levels) for _ in ids]),
        }
    )
    years = np.floor(age).astype(int)
    subjects = pd.DataFrame(
        {"age": age, "age_years": years, "source_age": years, "gender": 0, "n_trials": len(levels)},
        index=pd.Index(ids, name="subject"),
    )
    report = DatasetReport(
        "synthetic design", "valueint.infosampling.simulation", 0, n_subjects, 0, (), (), ()
    )
    return TrustSamplingData(trials.iloc[:0], trials, subjects, report)


def simulate_study(model, params: dict, data: TrustSamplingData, seed: int) -> TrustSamplingData:
    """``data``'s design played by participants with natural-scale ``params`` {p: [S]}."""
    subject_ids = list(data.subjects.index)
    index = {s: i for i, s in enumerate(subject_ids)}
    subject = data.trials.subject.astype(str).map(index).to_numpy(np.int32)
    with jax.enable_x64(True):
        paths = simulate_paths(
            model,
            {k: np.asarray(v, float) for k, v in params.items()},
            subject,
            data.trials.reciprocation.to_numpy(float),
            jax.random.key(seed),
        )
    tiles, greens, trust = (np.asarray(x) for x in (paths.tiles, paths.greens, paths.trust))
    trials = data.trials[["subject", "age", "trial", "reciprocation"]].copy()
    trials["tiles"] = tiles
    trials["green"] = greens[np.arange(len(tiles)), tiles]
    trials["red"] = trials.tiles - trials.green
    trials["forced_stop"] = tiles == 25
    trials["trust"] = trust.astype(np.int64)
    trials["trial_start_s"] = np.nan
    step_rows = np.repeat(np.arange(len(tiles)), tiles + 1)
    opened = np.concatenate([np.arange(t + 1) for t in tiles])
    steps = pd.DataFrame(
        {
            "subject": trials.subject.to_numpy()[step_rows],
            "age": trials.age.to_numpy()[step_rows],
            "trial": trials.trial.to_numpy()[step_rows],
            "reciprocation": trials.reciprocation.to_numpy()[step_rows],
            "opened": opened,
            "green": greens[step_rows, opened],
        }
    )
    last = opened == tiles[step_rows]
    steps["decision"] = np.where(last, "stop", "open")
    steps["forced"] = last & (opened == 25)
    steps["trust"] = np.where(last, trust[step_rows].astype(float), np.nan)
    return TrustSamplingData(steps, trials.reset_index(drop=True), data.subjects, data.report)
