"""The protocol every family of models implements, and how a model name finds its family.

valueint fits three families of models: trial-by-trial learning models
(``valueint.trials``), models of sampling evidence before a choice
(``valueint.infosampling``) and count-level models of developmental paradigms
(``valueint.paradigm``).  Each keeps its own registry of models, and none imports another.
What they share, the Bayesian workflow (``valueint.inference``) and the workflows over many
fits (``valueint.workflows``: recovery, SBC, K-fold, study design), reaches a family only
through ``ModelFamily``: build a design from data, simulate data from parameters, give the
log-likelihood, name the parameters and which of them vary by subject, and fit.

A family registers itself in ``FAMILIES`` when its ``family`` module is imported; a lookup
imports every shipped family first.  ``family_for(model, data)`` chooses the family by the
model's name: a name that two families share (``isr``: a trial model and a paradigm model)
is settled by the data, or written with its family, ``"paradigm:isr"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from valueint.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import xarray as xr

    from valueint.inference.parameters import Parameter
    from valueint.inference.settings import SamplerSettings

# the shipped families, imported on the first lookup (each registers itself)
SHIPPED = ("valueint.trials.family", "valueint.infosampling.family", "valueint.paradigm.family")
QUALIFIER = ":"  # "paradigm:isr": the model isr of the family paradigm


@runtime_checkable
class ModelFamily(Protocol):
    """A family of models behind the shared workflow.

    ``name`` (``"trials"``), ``unit`` (what one of its data's units is: ``"subject"``,
    ``"participant"``, ``"child"``), ``default_settings`` (its sampler's defaults) and
    ``models`` (its own registry of models, by name).  A member a family cannot offer
    (a paradigm's counts have no subjects to hold out) raises a ValueError that says why.
    """

    name: str
    unit: str
    default_settings: SamplerSettings
    models: Registry

    # -- the core: data, design, parameters, simulation, likelihood, fit ----------------
    def accepts(self, data) -> bool:
        """Whether ``data`` is data this family fits (a trial table, a study's counts)."""

    def load(self, path, **options):
        """The family's data, read and checked from a file."""

    def parameters(self, model: str) -> tuple[Parameter, ...]:
        """The model's parameters, in order."""

    def varying(self, model: str, fit: xr.DataTree | None = None) -> tuple[str, ...]:
        """The parameters that vary by subject (in ``fit``, as it was fitted)."""

    def design(self, data, model: str | None = None):
        """The design of ``data``: the task as the subjects met it, responses aside."""

    def task_design(self, model: str, *, size: int, seed: int = 0, **task):
        """The design of a simulated study of ``size`` subjects (the family's ``task``
        options: trials per subject, a paradigm, a real design's participants)."""

    def simulate(self, model: str, design, params: dict, seed: int):
        """Data simulated on ``design`` under natural-scale ``params`` {name: [subject]}."""

    def loglik(self, model: str, data, params: dict, options=None) -> np.ndarray:
        """log p(observation) [draw, observation] under ``params`` {name: [draw, subject]}."""

    def fit(self, data, model: str, settings=None, *, seed: int = 0, **options) -> xr.DataTree:
        """A fit of ``model`` to ``data`` (``valueint.inference``'s layout), with the sampler
        ``settings`` (a ``SamplerSettings``, changes to the family's defaults, or None)."""

    def fit_options(self, design, model: str, *, light: bool = False) -> dict:
        """The fit options that ``design`` asks for (a task's model options); ``light``:
        the cheapest extras (no predictive draws, a short evidence estimate)."""

    def refit_arguments(self, fit: xr.DataTree) -> tuple[SamplerSettings, dict]:
        """The settings and options that made ``fit``, to fit other data the same way."""

    def log_likelihood(self, fit: xr.DataTree, chains=None) -> xr.Dataset:
        """``fit``'s ``log_likelihood`` group, recomputed from its posterior and design."""

    def data_hash(self, data) -> str:
        """The data's fingerprint, as its fits record it (``attrs["data_sha256"]``)."""

    def compare(self, fits) -> pd.DataFrame:
        """The family's comparison table of fits to one data set, best first."""

    # -- what the workflows ask of it: recovery, SBC, study design --------------------------
    def draw_population(self, model: str, rng) -> dict:
        """A population drawn from the priors (what ``draw_subjects`` takes)."""

    def draw_subjects(self, model: str, design, seed: int, population=None) -> dict:
        """Natural-scale subject parameters drawn from ``population`` (default: from the
        priors) for ``design``'s subjects."""

    def recovery_draws(self, model: str, fit: xr.DataTree, truth: dict) -> list[tuple]:
        """(quantity, scale, truth [subject], posterior draws [subject, draw]) to score."""

    def population_draws(self, fit: xr.DataTree, parameter: str) -> np.ndarray:
        """Posterior draws of ``parameter``'s population value."""

    def prior_draw(self, model: str, design, seed: int) -> tuple[dict, Any]:
        """(the truth, data simulated from it) drawn from the fit's own prior: SBC."""

    def calibration_quantities(self, model: str, fit, truth: dict, data) -> dict:
        """{quantity: (its true value, posterior draws [chain, draw])} to rank: SBC."""

    # -- K-fold by subject ------------------------------------------------------------------
    def subject_ids(self, data) -> tuple[str, ...]:
        """The ids of the data's subjects, in order."""

    def select_subjects(self, data, ids) -> Any:
        """The data of some subjects (ids, in the order given)."""

    def strata(self, data, k: int) -> np.ndarray:
        """A stratum per subject that K-fold balances its folds over."""

    def heldout_density(self, fit, data, *, draws: int, population: int, seed: int):
        """log p(a new subject's data | the fit's data) per subject of ``data``:
        a ``valueint.inference.heldout.HeldOutDensity``."""

    def data_of(self, fit: xr.DataTree):
        """The data ``fit`` was made on, where the fit holds it."""


FAMILIES: Registry[ModelFamily] = Registry("model family", defined_in=SHIPPED)


def register_family(family: ModelFamily) -> ModelFamily:
    """Add a family under its name; it must implement ``ModelFamily``."""
    missing = sorted(name for name in ModelFamily.__protocol_attrs__ if not hasattr(family, name))
    if missing:
        raise TypeError(f"{family!r} does not implement ModelFamily: it lacks {', '.join(missing)}")
    return FAMILIES.register(family.name, family)


def families() -> tuple[ModelFamily, ...]:
    return tuple(FAMILIES.values())


def split_name(model: str) -> tuple[str | None, str]:
    """("paradigm", "isr") from "paradigm:isr"; (None, "rw") from "rw"."""
    if not isinstance(model, str):
        raise TypeError(f"a model is named by a string; got {type(model).__name__}")
    family, sep, name = model.partition(QUALIFIER)
    return (family, name) if sep else (None, model)


def family_for(model: str, data=None) -> tuple[ModelFamily, str]:
    """(the family of ``model``, the model's name within it).

    ``model`` is a registered name, or ``"family:name"``.  A name that several families
    register is settled by ``data`` (the family that accepts it), else refused with the
    qualified names that would work."""
    qualifier, name = split_name(model)
    if qualifier is not None:
        family = FAMILIES.get(qualifier, where="model family")
        if name not in family.models:
            known = ", ".join(family.models.names())
            raise KeyError(f"unknown {family.name} model {name!r}; known: {known}")
        return family, name
    owners = [f for f in families() if name in f.models]
    if len(owners) > 1 and data is not None:
        owners = [f for f in owners if f.accepts(data)] or owners
    if len(owners) == 1:
        return owners[0], name
    if not owners:
        known = "; ".join(f"{f.name}: {', '.join(f.models.names())}" for f in families())
        raise KeyError(f"unknown model {name!r}; the models are {known}")
    qualified = ", ".join(f"{f.name}{QUALIFIER}{name}" for f in owners)
    raise KeyError(f"{name!r} names a model of several families; write one of {qualified}")


def family_of(fit: xr.DataTree) -> ModelFamily:
    """The family that made ``fit``: ``attrs["family"]``; for fits written before it was
    recorded, a paradigm fit by its ``paradigm`` attribute, else a trial fit."""
    name = fit.attrs.get("family") or ("paradigm" if "paradigm" in fit.attrs else "trials")
    return FAMILIES.get(str(name), where="the fit's family")


def registered_models() -> dict[str, tuple[str, ...]]:
    """Every family's registered models: {family: names}."""
    return {family.name: family.models.names() for family in families()}


def fit(data, model: str, settings=None, **options):
    """Fit ``model`` (a registered name, or ``"family:name"``) to ``data``: the family is
    chosen by the model's name (and, for a name two families share, by the data).

    ``settings`` is a ``valueint.inference.settings.SamplerSettings`` (or a mapping of
    changes to the family's defaults, or None), and ``options`` are changes to it
    (``chains=2``) and the family's own fit options (a trial fit's ``formulas``,
    ``options``, ``hierarchical``; a paradigm fit's ``evidence_samples``; ...)."""
    family, name = family_for(model, data)
    return family.fit(data, name, settings, **options)


def fit_in_task(family: ModelFamily, data, model: str, settings, *, progress=False, **options):
    """``family.fit`` inside a workflow's task: no progress bar (unless asked), and the
    warnings it gives (its diagnostics) recorded instead of shown, returned beside the fit
    as ``(fit, caught)`` for the task's result."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = family.fit(data, model, settings, progress=progress, **options)
    return fitted, caught


def load_data(source, model: str | None = None, *, subjects: int | None = None, **options):
    """Data to fit: a named data set (``valueint.datasets.NAMED_DATASETS``, e.g.
    ``"cutler2021"``; ``options`` go to its loader, e.g. ``path``, where it lives), or a
    file read and checked by the family of ``model`` (default: a trial table; ``options``
    go to the family's ``load``).  ``subjects`` keeps the first N subjects.  Data of a
    named data set carry the model options it declares (``attrs["model_options"]``),
    which its fits start from."""
    from pathlib import Path

    from valueint.datasets import MODEL_OPTIONS_ATTR, NAMED_DATASETS

    declared = {}
    if isinstance(source, str) and source in NAMED_DATASETS:
        dataset = NAMED_DATASETS.get(source)
        data = dataset.loader(**{k: v for k, v in options.items() if v is not None})
        declared = dict(dataset.model_options)
        family = FAMILIES.get(dataset.family)
    else:
        family, name = family_for(model) if model is not None else (FAMILIES.get("trials"), None)
        path = Path(source)
        if not path.exists():
            named = ", ".join(NAMED_DATASETS.names())
            raise FileNotFoundError(
                f"no data file {path}; give a data file, or one of the named data sets: {named}"
            )
        data = family.load(path, model=name, **{k: v for k, v in options.items() if k != "path"})
    if subjects is not None:
        data = family.select_subjects(data, family.subject_ids(data)[:subjects])
    if declared and isinstance(getattr(data, "attrs", None), dict):
        data.attrs[MODEL_OPTIONS_ATTR] = declared  # what its fits start from
    return data
