"""The paradigm family behind the shared workflow (``valueint.inference.family``).

Its data are a study's counts per condition with the paradigm they were counted in
(``ParadigmData``); its design, ``CountDesign``, is the paradigm with the number of
children per condition; its models (``valueint.paradigm.catalogue``) have parameters that
every child of a study shares, so none varies by subject, and there are no subjects to
hold out: its models are compared by PSIS-LOO leaving out one child, and by their
marginal likelihoods (``valueint.paradigm.fit.compare_paradigm``).
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import xarray as xr

from valueint.inference.family import register_family
from valueint.inference.fit_files import fit_settings
from valueint.inference.parameters import constrain_value
from valueint.paradigm import fit as paradigm_fit
from valueint.paradigm.catalogue import PARADIGM_MODELS, condition_arrays, get_paradigm_model
from valueint.paradigm.conditions import (
    Counts,
    Paradigm,
    ParadigmData,
    as_paradigm_data,
    paradigm_from_dict,
)

# importance draws of the marginal likelihood where a fit's Bayes factor is not read
LIGHT_EVIDENCE_SAMPLES = 500


@dataclasses.dataclass(frozen=True)
class CountDesign:
    """A paradigm and the number of children in each of its conditions."""

    paradigm: Paradigm
    n: np.ndarray  # int [condition]


class ParadigmFamily:
    """Count-level models of developmental paradigms (see the module doc)."""

    name = "paradigm"
    unit = "child"
    default_settings = paradigm_fit.DEFAULT_SETTINGS
    models = PARADIGM_MODELS

    def accepts(self, data) -> bool:
        try:
            as_paradigm_data(data)
        except TypeError:
            return False
        return True

    def parameters(self, model: str):
        return get_paradigm_model(model).parameters

    def varying(self, model: str, fit=None) -> tuple[str, ...]:
        return ()  # every child of a study shares the parameters

    def design(self, data, model: str | None = None) -> CountDesign:
        data = as_paradigm_data(data)
        return CountDesign(data.paradigm, np.asarray(data.counts.n))

    def task_design(self, model: str, *, size: int, paradigm, seed: int = 0) -> CountDesign:
        """``size`` children in each condition of ``paradigm`` (a ``Paradigm``, or its
        TOML as a dict)."""
        if not isinstance(paradigm, Paradigm):
            paradigm = paradigm_from_dict(paradigm, "paradigm of the study")
        return CountDesign(paradigm, np.full(len(paradigm.condition_names), int(size)))

    def load(self, path, *, paradigm=None, model: str | None = None) -> ParadigmData:
        """A count table from a CSV file, checked against ``paradigm`` (a ``Paradigm``, its
        TOML as a dict, or its file)."""
        from valueint.paradigm.conditions import load_counts, load_paradigm

        if paradigm is None:
            raise ValueError(f"{path}: a count table is read with its paradigm (paradigm=...)")
        if isinstance(paradigm, dict):
            paradigm = paradigm_from_dict(paradigm, "paradigm")
        elif not isinstance(paradigm, Paradigm):
            paradigm = load_paradigm(paradigm)
        return ParadigmData(paradigm, load_counts(path, paradigm))

    def draw_population(self, model: str, rng) -> dict:
        """Natural-scale parameters, each drawn from its prior."""
        return {
            p.name: float(constrain_value(p, rng.normal(p.prior_loc, p.prior_scale)))
            for p in get_paradigm_model(model).parameters
        }

    def simulate(self, model: str, design: CountDesign, params: dict, seed: int) -> ParadigmData:
        """Counts k ~ Binomial(n, p_c) under natural-scale ``params``."""
        spec = get_paradigm_model(model)
        params = {name: float(v) for name, v in params.items()}
        k = spec.simulate(params, condition_arrays(design.paradigm), design.n, jax.random.key(seed))
        counts = Counts(
            design.paradigm.condition_names, design.n, np.asarray(k).round().astype(int)
        )
        return ParadigmData(design.paradigm, counts)

    def loglik(self, model: str, data, params: dict, options=None) -> np.ndarray:
        """One Bernoulli term per child [draw, child] (``params`` {name: [draw]})."""
        data = as_paradigm_data(data)
        spec = get_paradigm_model(model)
        arrays = condition_arrays(data.paradigm)
        p = np.asarray(jax.vmap(lambda one: spec.predict(one, arrays))(params))
        terms = paradigm_fit.child_log_likelihood(p[None], data.counts, [0], np.arange(len(p)))
        return terms["choice"].values[0]

    def fit(self, data, model: str, settings=None, *, seed: int = 0, **options):
        data = as_paradigm_data(data)
        return paradigm_fit.fit_paradigm(
            data.paradigm, data.counts, model, settings, seed=seed, **options
        )

    def fit_options(self, design, model: str, *, light: bool = False) -> dict:
        return {"evidence_samples": LIGHT_EVIDENCE_SAMPLES} if light else {}

    def refit_arguments(self, fit):
        recorded = json.loads(fit.attrs.get("settings", "{}"))
        options = {}
        if "evidence_samples" in recorded:
            options["evidence_samples"] = int(recorded["evidence_samples"])
        return fit_settings(fit, self.default_settings), options

    def log_likelihood(self, fit, chains=None) -> xr.Dataset:
        """One Bernoulli term per child from the posterior's ``p`` and the observed counts."""
        posterior = fit["posterior"].to_dataset()
        if chains is not None:
            posterior = posterior.isel(chain=list(chains))
        observed = fit["observed_data"].to_dataset()
        conditions = tuple(str(c) for c in observed["condition"].values)
        counts = Counts(conditions, observed["n"].values, observed["k"].values)
        p = posterior["p"].transpose("chain", "draw", "condition").values
        return paradigm_fit.child_log_likelihood(
            p, counts, posterior["chain"].values, posterior["draw"].values
        )

    def data_hash(self, data) -> str:
        return as_paradigm_data(data).counts.sha256()

    def prior_draw(self, model: str, design: CountDesign, seed: int):
        """(the parameters and ``p`` drawn from the fit's prior, counts drawn with them):
        the fit's numpyro model with the counts left unobserved, its prior predictive."""
        spec = get_paradigm_model(model)
        seeded = numpyro.handlers.seed(paradigm_fit.numpyro_model, jax.random.key(seed))
        trace = numpyro.handlers.trace(seeded).get_trace(
            spec, condition_arrays(design.paradigm), jnp.asarray(design.n)
        )
        k = np.asarray(trace["k"]["value"]).round().astype(int)
        truth = {name: float(trace[name]["value"]) for name in spec.parameter_names}
        truth["p"] = np.asarray(trace["p"]["value"])
        counts = Counts(design.paradigm.condition_names, design.n, k)
        return truth, ParadigmData(design.paradigm, counts)

    def calibration_quantities(self, model: str, fit, truth: dict, data) -> dict:
        """Every parameter, and ``loglik``: the counts' log-likelihood (one Bernoulli term
        per child, as in the fit's ``log_likelihood`` group)."""
        counts = as_paradigm_data(data).counts
        posterior = fit["posterior"].to_dataset()
        quantities = {
            name: (truth[name], posterior[name].values)
            for name in get_paradigm_model(model).parameter_names
        }
        quantities["loglik"] = (
            float(paradigm_fit.bernoulli_loglik(truth["p"], counts.n, counts.k)),
            paradigm_fit.bernoulli_loglik(posterior["p"].values, counts.n, counts.k),
        )
        return quantities

    def draw_subjects(self, model: str, design, seed: int, population=None) -> dict:
        """The parameters every child shares: ``population`` itself (natural scale)."""
        if population is None:
            raise ValueError("a paradigm study is simulated from stated parameter values")
        return {name: float(v) for name, v in population.items()}

    def recovery_draws(self, model: str, fit, truth: dict) -> list[tuple]:
        """Every parameter on its natural scale, one value for the whole study."""
        posterior = fit["posterior"]
        return [
            (
                name,
                "natural",
                np.asarray([truth[name]], float),
                posterior[name].values.reshape(1, -1),
            )
            for name in get_paradigm_model(model).parameter_names
        ]

    def population_draws(self, fit, parameter: str) -> np.ndarray:
        """Posterior draws of ``parameter`` (shared by every child)."""
        return np.asarray(fit["posterior"][parameter].values)

    def compare(self, fits) -> object:
        return paradigm_fit.compare_paradigm(fits)

    # -- no subjects ----------------------------------------------------------------------
    def _no_subjects(self, *args, **kwargs):
        raise ValueError(
            "paradigm data are counts per condition: there are no subjects to hold out "
            "(compare paradigm models by PSIS-LOO per child and by marginal likelihood)"
        )

    subject_ids = select_subjects = strata = heldout_density = data_of = _no_subjects


PARADIGM = register_family(ParadigmFamily())
