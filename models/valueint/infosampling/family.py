"""The information-sampling family behind the shared workflow (``valueint.inference.family``).

Its data are ``TrustSamplingData`` (steps, trials, participants); its design is the same
data before any decision (the participants, their ages, each trial's reciprocation);
its models (``valueint.infosampling.catalogue``) share a Beta belief and a trust rule and
differ in their stopping rule.  The prior's pseudo-counts and the stopping parameter vary
between participants; the others follow their age curves (``SamplingModel.varying``).
A fit keeps its log-likelihood: the steps it is computed from are not in the fit.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from valueint.inference.family import register_family
from valueint.inference.fit_files import fit_settings
from valueint.inference.parameters import Parameter, constrain_value, unconstrain_value
from valueint.infosampling import fit as sampling_fit
from valueint.infosampling.arrays import paths_from_trials
from valueint.infosampling.catalogue import SAMPLING_MODELS, get_model
from valueint.infosampling.data import TrustSamplingData
from valueint.infosampling.heldout import heldout_density as sampling_heldout_density
from valueint.infosampling.simulation import (
    draw_subjects,
    natural,
    population_from_prior,
    simulate_study,
)

AGE_BANDS = 5  # K-fold deals each age band's participants round-robin over the folds
# the scales on which the prior's derived quantities are scored in a recovery
DERIVED_SCALES = {
    "prior_mean": Parameter("prior_mean", 0.0, 1.0, "logit"),
    "prior_count": Parameter("prior_count", 0.0, math.inf, "log"),
    "prior_sd": Parameter("prior_sd", 0.0, math.inf, "log"),
}


class SamplingFamily:
    """Models of sampling evidence before a trust choice (see the module doc)."""

    name = "infosampling"
    unit = "participant"
    default_settings = sampling_fit.DEFAULT_SETTINGS
    models = SAMPLING_MODELS

    def accepts(self, data) -> bool:
        return isinstance(data, TrustSamplingData)

    def parameters(self, model: str):
        return get_model(model).parameters

    def varying(self, model: str, fit=None) -> tuple[str, ...]:
        spec = get_model(model)
        return spec.varying if fit is None else sampling_fit.fit_varying(fit, spec)

    def design(self, data, model: str | None = None) -> TrustSamplingData:
        return data

    def task_design(self, model: str, *, size: int, data: TrustSamplingData, seed: int = 0):
        """``size`` participants of ``data`` spread over the ages: their design."""
        return spread_subjects(data, size)

    def load(self, path=None, model: str | None = None) -> TrustSamplingData:
        """The trust-sampling data set (``valueint.infosampling.data.load_trust_sampling``)."""
        from valueint.infosampling.data import load_trust_sampling

        return load_trust_sampling(path)

    def draw_population(self, model: str, rng, design=None) -> dict:
        """A population {p: (coefficients, sd)} drawn from the fit's priors on the design
        columns of ``design``'s participants."""
        spec = get_model(model)
        return population_from_prior(spec, sampling_fit.design_for(spec, design.subjects), rng)

    def population_draws(self, fit, parameter: str) -> np.ndarray:
        """Posterior draws of ``parameter``'s intercept on its natural scale
        (``mu_<parameter>``)."""
        return np.asarray(fit["posterior"][f"mu_{parameter}"].values)

    def compare(self, fits):
        from valueint.inference.comparison import compare

        return compare(fits, ic="loo", by="trial")

    def simulate(self, model: str, design, params: dict, seed: int) -> TrustSamplingData:
        return simulate_study(model, params, design, seed)

    def loglik(self, model: str, data, params: dict, options=None) -> np.ndarray:
        spec = get_model(model)
        paths = paths_from_trials(data.trials, data.steps, list(data.subjects.index))
        return sampling_fit.pointwise_loglik(spec, params, paths)

    def fit(self, data, model: str, settings=None, *, seed: int = 0, **options):
        return sampling_fit.fit_sampling(data, model, settings, seed=seed, **options)

    def fit_options(self, design, model: str, *, light: bool = False) -> dict:
        return {}

    def refit_arguments(self, fit):
        recorded = json.loads(fit.attrs.get("settings", "{}"))
        options = {}
        if "formulas" in recorded:
            from valueint.inference.covariates import CovariateFormulas

            options["formulas"] = CovariateFormulas.from_dict(recorded["formulas"])
        if "varying" in recorded:
            options["varying"] = tuple(recorded["varying"])
        return fit_settings(fit, self.default_settings), options

    def log_likelihood(self, fit, chains=None):
        raise ValueError(
            "a sampling-model fit keeps its log-likelihood: the steps it is computed from "
            "are not stored in the fit"
        )

    def data_hash(self, data) -> str:
        return sampling_fit.data_sha256(data.trials)

    def data_of(self, fit):
        raise ValueError(
            "a sampling-model fit does not hold the steps of its data: give the data "
            "(valueint.infosampling.data.load_trust_sampling) along with the fits"
        )

    # -- simulation-based calibration and recovery ----------------------------------------
    def prior_draw(self, model: str, design, seed: int):
        """(a population from the fit's priors and participants drawn from it, on the
        unconstrained scale; the study simulated from them with ``seed + 1``)."""
        spec = get_model(model)
        rng = np.random.default_rng(seed)
        matrices = sampling_fit.design_for(spec, design.subjects)
        population = population_from_prior(spec, matrices, rng)
        truth = draw_subjects(spec, population, matrices, rng)
        study = simulate_study(spec, natural(spec, truth), design, seed + 1)
        return {"population": population, "subjects": truth}, study

    def calibration_quantities(self, model: str, fit, truth: dict, data) -> dict:
        """Each parameter's intercept, its sd where it varies, and the first
        participant's value."""
        spec = get_model(model)
        posterior = fit["posterior"]
        population, subjects = truth["population"], truth["subjects"]
        quantities = {}
        for p in spec.parameters:
            quantities[f"intercept_{p.name}"] = (
                float(population[p.name][0][0]),
                posterior[f"coef_{p.name}"].values[..., 0],
            )
            if f"sigma_{p.name}" in posterior:
                quantities[f"sigma_{p.name}"] = (
                    float(population[p.name][1]),
                    posterior[f"sigma_{p.name}"].values,
                )
            first = float(constrain_value(p, subjects[p.name][0]))
            quantities[f"{p.name}[0]"] = (first, posterior[p.name].values[..., 0])
        return quantities

    def draw_subjects(self, model: str, design, seed: int, population=None) -> dict:
        """Natural-scale participant parameters {p: [S]} drawn from ``population``
        ({p: (coefficients, sd)}; default: drawn from the fit's priors)."""
        spec = get_model(model)
        rng = np.random.default_rng(seed)
        matrices = sampling_fit.design_for(spec, design.subjects)
        population = population or population_from_prior(spec, matrices, rng)
        return natural(spec, draw_subjects(spec, population, matrices, rng))

    def recovery_draws(self, model: str, fit, truth: dict) -> list[tuple]:
        """(quantity, scale, truth, draws [participant, draw]) on the unconstrained scale
        of every parameter that varies between participants, and of the prior's mean,
        strength and sd (logit of the mean, logs of the others)."""
        spec = get_model(model)
        posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
        varying = sampling_fit.fit_varying(fit, spec)
        quantities = [
            (p, p.name, np.asarray(unconstrain_value(p, truth[p.name])))
            for p in spec.parameters
            if p.name in varying and np.ptp(truth[p.name]) > 0
        ]
        for name, value in sampling_fit.derived_prior(truth).items():
            scale = DERIVED_SCALES[name]
            quantities.append((scale, name, np.asarray(unconstrain_value(scale, value))))
        rows = []
        for scale, name, true in quantities:
            draws = posterior[name].transpose("subject", "sample").values
            rows.append((name, scale.transform, true, np.asarray(unconstrain_value(scale, draws))))
        return rows

    # -- K-fold by participant --------------------------------------------------------------
    def subject_ids(self, data) -> tuple[str, ...]:
        return tuple(str(s) for s in data.subjects.index)

    def select_subjects(self, data, ids):
        return data.select_subjects(list(ids))

    def strata(self, data, k: int) -> np.ndarray:
        """Age bands (quantiles), as many as leave each at least ``k`` participants."""
        ages = data.subjects.age.to_numpy(float)
        bands = min(AGE_BANDS, ages.size // k) or 1
        return np.asarray(pd.qcut(ages, bands, labels=False, duplicates="drop"))

    def heldout_density(self, fit, data, *, draws: int, population: int, seed: int):
        return sampling_heldout_density(fit, data, draws=draws, population=population, seed=seed)


def spread_subjects(data: TrustSamplingData, n: int | None) -> TrustSamplingData:
    """``n`` participants evenly spread over the age order (all when None)."""
    if n is None or n >= data.n_subjects:
        return data
    order = data.subjects.sort_values("age").index
    keep = order[np.unique(np.linspace(0, len(order) - 1, n).round().astype(int))]
    return data.select_subjects(list(keep))


INFOSAMPLING = register_family(SamplingFamily())
