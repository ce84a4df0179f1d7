"""The trial-level family behind the shared workflow (``valueint.inference.family``).

Its data are trial tables (one row per trial; ``valueint.trials.contract``) or the dense
arrays made from them (``FitData``); its design is the trials as the subjects met them,
``TrialDesign``: the arrays with the choices still to be made, and, for a simulated study,
the task that laid them out (its model options and the feedback it adds); its models are
the registered learning rules (``valueint.trials.catalogue``), whose every parameter
varies by subject in a hierarchical fit.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd

from valueint.inference.comparison import compare
from valueint.inference.family import register_family
from valueint.inference.reparam import SUBJECT_SITE
from valueint.trials import fit as trial_fit
from valueint.trials.fit_data import FitData, as_fit_data, data_hash
from valueint.trials.fit_record import fit_data_from, fit_options, recompute_log_likelihood
from valueint.trials.fit_record import refit_arguments as trial_refit_arguments
from valueint.trials.heldout import heldout_density as trial_heldout_density
from valueint.trials.population import hierarchical_model, subject_loglik
from valueint.trials.simulation import (
    N_TRIALS,
    POPULATION_SD_FRACTION,
    RecipientBlocks,
    Task,
    draw_parameters,
    simulate_data,
    simulated_ids,
)
from valueint.trials.specs import CONTEXTS, MODEL_SPECS, TrialArrays, get_spec


@dataclasses.dataclass(frozen=True)
class TrialDesign:
    """The trials as the subjects met them: ``data``'s arrays (the choices, outcomes and
    praise are what a simulation fills in) and, for a simulated study, the ``task`` that
    laid them out."""

    data: FitData
    task: Task | None = None

    def options(self, model: str) -> dict | None:
        """The model options the design asks for (a task's; None for real data)."""
        return None if self.task is None else self.task.options(model)

    @property
    def n_subjects(self) -> int:
        return self.data.n_subjects


class TrialFamily:
    """Trial-by-trial learning models (see the module doc)."""

    name = "trials"
    unit = "subject"
    default_settings = trial_fit.DEFAULT_SETTINGS
    models = MODEL_SPECS

    # -- the core --------------------------------------------------------------------------
    def accepts(self, data) -> bool:
        if isinstance(data, pd.DataFrame):
            return "choice" in data.columns
        if isinstance(data, tuple) and len(data) == 2:
            data = data[0]
        return isinstance(data, FitData | TrialArrays)

    def parameters(self, model: str):
        return get_spec(model).parameters

    def varying(self, model: str, fit=None) -> tuple[str, ...]:
        return get_spec(model).parameter_names

    def design(self, data, model: str | None = None) -> TrialDesign:
        return TrialDesign(as_fit_data(data, model))

    def task_design(
        self,
        model: str,
        *,
        size: int,
        seed: int = 0,
        trials: int = N_TRIALS,
        task: Task | None = None,
        socialization: dict | None = None,
    ) -> TrialDesign:
        """A simulated study's design: ``size`` subjects on ``task`` (or on the
        socialization task with the settings ``socialization``), by default the task the
        model is identified on (``default_task``) with ``trials`` per subject."""
        if socialization is not None:
            from valueint.trials.socialization import SocializationTask

            values = {k: tuple(v) if isinstance(v, list) else v for k, v in socialization.items()}
            task = SocializationTask(**values)
        task = default_task(model, trials) if task is None else task
        arrays = task.arrays(size, seed)
        return TrialDesign(FitData(arrays, simulated_ids(size), (), CONTEXTS), task)

    def load(self, path, model: str | None = None, **options) -> pd.DataFrame:
        """A validated trial table from a CSV or Parquet file, with the columns ``model``
        needs (``valueint.trials.contract.load_trials``)."""
        from valueint.trials.contract import load_trials

        return load_trials(path, get_spec(model) if model else None, **options)

    def simulate(self, model: str, design: TrialDesign, params: dict, seed: int) -> FitData:
        """Choices (and the outcomes and praise they cause) of subjects with ``params``
        {name: [subject]} on ``design``; the task's feedback drawn with ``seed + 1``."""
        spec = get_spec(model)
        data = design.data
        arrays = simulate_data(spec, params, data.arrays, seed, design.options(model))
        if design.task is not None:
            arrays = design.task.feedback(spec.name, arrays, seed + 1)
        return dataclasses.replace(data, arrays=arrays)

    def loglik(self, model: str, data, params: dict, options=None) -> np.ndarray:
        fit_data = as_fit_data(data, model)
        return trial_fit.pointwise_loglik(get_spec(model), options, fit_data.arrays, params)

    def fit(self, data, model: str, settings=None, *, seed: int = 0, **options):
        return trial_fit.fit(data, model, settings, seed=seed, **options)

    def fit_options(self, design: TrialDesign, model: str, *, light: bool = False) -> dict:
        """The options a fit on ``design`` needs (the task's model options); ``light``
        leaves out what a replication does not read (all but one predictive draw)."""
        options = {"options": design.options(model)}
        return options | ({"predictive_draws": 1} if light else {})

    def refit_arguments(self, fit):
        return trial_refit_arguments(fit)

    def log_likelihood(self, fit, chains=None):
        return recompute_log_likelihood(fit, chains=chains)

    def data_of(self, fit) -> FitData:
        """The data ``fit`` was made on, from its ``constant_data`` group."""
        return fit_data_from(fit)

    def data_hash(self, data) -> str:
        return data_hash(as_fit_data(data).arrays)

    # -- simulation-based calibration and recovery ----------------------------------------
    def prior_draw(self, model: str, design: TrialDesign, seed: int):
        """(every site of the hierarchical model drawn from its prior, an intercept-only
        population: ``mu_<p>``, ``sigma_<p>`` and the subject parameters ``<p>``
        [subject]; the data simulated from it with ``seed + 1``)."""
        spec = get_spec(model)
        arrays = design.data.arrays
        matrices = [jnp.ones((design.n_subjects, 1)) for _ in spec.parameters]
        traced = numpyro.handlers.seed(hierarchical_model, jax.random.key(seed))
        trace = numpyro.handlers.trace(traced).get_trace(
            spec, design.options(model), jax.tree.map(jnp.asarray, arrays), matrices
        )
        names = [*spec.parameter_names]
        names += [f"{kind}_{p}" for p in spec.parameter_names for kind in ("mu", "sigma")]
        truth = {name: np.asarray(trace[name]["value"]) for name in names}
        truth[SUBJECT_SITE] = np.asarray(trace[SUBJECT_SITE]["value"])
        params = {p: truth[p] for p in spec.parameter_names}
        return truth, self.simulate(model, design, params, seed + 1)

    def calibration_quantities(self, model: str, fit, truth: dict, data) -> dict:
        """``mu_<p>`` and ``sigma_<p>``, the first subject's ``<p>[0]`` and ``loglik``, the
        data's log-likelihood (a test quantity that depends on the data)."""
        spec = get_spec(model)
        posterior = fit["posterior"].to_dataset()
        quantities = {}
        for p in spec.parameter_names:
            for name in (f"mu_{p}", f"sigma_{p}"):
                quantities[name] = (float(truth[name]), posterior[name].values)
            quantities[f"{p}[0]"] = (float(truth[p][0]), posterior[p].values[..., 0])
        loglik_draws = fit["log_likelihood"]["choice"].values.sum(axis=-1)
        true_params = {p: truth[p] for p in spec.parameter_names}
        true_loglik = total_loglik(spec, fit_options(fit), as_fit_data(data).arrays, true_params)
        quantities["loglik"] = (true_loglik, loglik_draws)
        return quantities

    def draw_population(self, model: str, rng) -> dict:
        """A population {name: [mean, sd]} on the unconstrained scale: each mean drawn from
        its prior, each sd ``POPULATION_SD_FRACTION`` of the prior's scale."""
        return {
            p.name: [
                float(rng.normal(p.prior_loc, p.prior_scale)),
                POPULATION_SD_FRACTION * p.prior_scale,
            ]
            for p in get_spec(model).parameters
        }

    def population_draws(self, fit, parameter: str) -> np.ndarray:
        """Posterior draws of the population median of ``parameter`` (``mu_<parameter>``)."""
        return np.asarray(fit["posterior"][f"mu_{parameter}"].values)

    def compare(self, fits):
        return compare(fits, ic="loo", by="trial")

    def draw_subjects(self, model: str, design: TrialDesign, seed: int, population=None):
        """Natural-scale subject parameters {name: [subject]} drawn from ``population``
        ({name: (mean, sd)} on the unconstrained scale; default: from the priors)."""
        return draw_parameters(get_spec(model), design.n_subjects, seed, population)

    def recovery_draws(self, model: str, fit, truth: dict) -> list[tuple]:
        """(quantity, scale, truth [subject], posterior draws [subject, draw]) of every
        parameter, on its natural scale."""
        posterior = fit["posterior"]
        return [
            (name, "natural", np.asarray(truth[name]), _by_subject(posterior[name]))
            for name in get_spec(model).parameter_names
        ]

    # -- K-fold by subject ------------------------------------------------------------------
    def subject_ids(self, data) -> tuple[str, ...]:
        if isinstance(data, pd.DataFrame):
            return tuple(str(s) for s in pd.unique(data["subject"]))
        return as_fit_data(data).subject_ids

    def select_subjects(self, data, ids):
        """The rows of those subjects of a trial table (its attributes kept), or the
        subjects of ``FitData``, in the order given."""
        if isinstance(data, pd.DataFrame):
            rows = data[data["subject"].astype(str).isin([str(s) for s in ids])]
            rows.attrs = dict(data.attrs)
            return rows
        data = as_fit_data(data)
        position = {s: i for i, s in enumerate(data.subject_ids)}
        return data.select_subjects([position[s] for s in ids])

    def strata(self, data, k: int) -> np.ndarray:
        """Each subject's combination of categorical covariate levels."""
        data = as_fit_data(data)
        strata = np.zeros(data.n_subjects, dtype=np.int64)
        for covariate in data.covariates:
            strata = strata * len(covariate.labels) + np.asarray(covariate.codes)
        return strata

    def heldout_density(self, fit, data, *, draws: int, population: int, seed: int):
        return trial_heldout_density(
            fit, as_fit_data(data), draws=draws, population=population, seed=seed
        )


def default_task(model: str, trials: int) -> Task:
    """The task a model is identified on: the socialization task (watched, then alone)
    for the ISR models, which read praise and presence; the recipient blocks for the
    others.  ``trials`` per subject, in blocks of 16."""
    from valueint.trials.catalogue import ISR_MODELS
    from valueint.trials.socialization import SocializationTask

    if model in ISR_MODELS:
        if trials % 16:
            raise ValueError(f"trials must be a multiple of 16; got {trials}")
        return SocializationTask(n_blocks=trials // 16, n_trials=16)
    return RecipientBlocks(trials)


def total_loglik(spec, options, arrays, params: dict) -> float:
    """The data's summed log-likelihood under subject parameters {name: [subject]}."""
    arrays = jax.tree.map(jnp.asarray, arrays)
    params = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
    loglik = subject_loglik(spec, options)(params, arrays)
    return float(jnp.sum(jnp.where(arrays.mask, loglik, 0.0)))


def _by_subject(values) -> np.ndarray:
    """Posterior draws [subject, draw] of a [chain, draw, subject] variable."""
    return values.stack(sample=("chain", "draw")).transpose("subject", "sample").values


TRIALS = register_family(TrialFamily())
