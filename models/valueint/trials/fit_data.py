"""The data a fit is made on: dense trial arrays plus the names of their rows.

``as_fit_data`` turns a trial DataFrame, a ``TrialArrays`` (with or without its
``TrialMeta``) or a ``FitData`` into a checked ``FitData``: subject ids, per-subject
categorical covariates (integer codes into labels, code 0 the reference level), numeric
subject covariates and the context labels; ``data_hash`` fingerprints the arrays for a
fit's record.

Subject covariates come from the columns named in ``as_fit_data(df, spec,
covariates=...)``: ``group`` is always taken when the frame has it (as before); any other
per-subject column, ``age`` or one outside the trial schema, is taken only when named,
e.g. ``covariates=("age",)`` or ``{"age": "numeric", "site": ("A", "B")}`` (levels in
order, reference first).  ``FitData.subject_table()`` gives them as one table, the input
of ``valueint.inference.covariates.build_design``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from valueint.trials import catalogue as learning_models  # noqa: F401  (registers the models by name)
from valueint.trials.catalogue import check_trial_arrays
from valueint.trials.specs import (
    CONTEXTS,
    SCHEDULE_FIELDS,
    TRIAL_FIELDS,
    ModelSpec,
    TrialArrays,
    get_spec,
)


@dataclasses.dataclass(frozen=True)
class Covariate:
    """A per-subject categorical covariate: integer codes into ``labels``."""

    name: str
    codes: np.ndarray  # int [subject], 0 = reference level
    labels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class NumericCovariate:
    """A per-subject numeric covariate (e.g. age in years), one finite value per subject."""

    name: str
    values: np.ndarray  # float [subject]


@dataclasses.dataclass(frozen=True)
class FitData:
    """Dense trial arrays [subject, block, trial] plus what names their rows.

    ``covariates`` are the categorical subject covariates (``Covariate``; fits shift
    population means by them with ``group_covariates``), ``numeric_covariates`` the
    numeric ones; ``subject_table()`` shows both.
    """

    arrays: TrialArrays
    subject_ids: tuple[str, ...]
    covariates: tuple[Covariate, ...] = ()
    context_labels: tuple[str, ...] = CONTEXTS
    numeric_covariates: tuple[NumericCovariate, ...] = ()

    def __post_init__(self):
        names = self.covariate_names
        if len(set(names)) != len(names):
            raise ValueError(f"subject covariate names must be distinct; got {names}")
        for covariate in self.numeric_covariates:
            values = np.asarray(covariate.values)
            if values.shape != (self.n_subjects,) or not np.isfinite(values).all():
                raise ValueError(
                    f"numeric covariate {covariate.name!r}: expected {self.n_subjects} finite "
                    f"values, one per subject; got shape {values.shape}"
                )

    @property
    def n_subjects(self) -> int:
        return len(self.subject_ids)

    @property
    def covariate_names(self) -> tuple[str, ...]:
        """Every subject covariate: the categorical ones, then the numeric ones."""
        return tuple(c.name for c in (*self.covariates, *self.numeric_covariates))

    def covariate(self, name: str) -> Covariate:
        """The categorical covariate ``name`` (the kind that shifts group means)."""
        for covariate in self.covariates:
            if covariate.name == name:
                return covariate
        if name in self.covariate_names:
            raise ValueError(
                f"subject covariate {name!r} is numeric; group covariates are categorical "
                "(a numeric one enters through a covariate formula, trials.covariates)"
            )
        known = ", ".join(self.covariate_names) or "none"
        raise ValueError(f"no subject covariate named {name!r} in the data (available: {known})")

    def subject_table(self) -> pd.DataFrame:
        """One row per subject (index: the subject ids, in FitData order), one column per
        covariate: categorical ones as ``pd.Categorical`` (categories = labels, reference
        level first), numeric ones as float."""
        columns = {
            c.name: pd.Categorical.from_codes(np.asarray(c.codes), categories=list(c.labels))
            for c in self.covariates
        }
        columns |= {c.name: np.asarray(c.values, dtype=np.float64) for c in self.numeric_covariates}
        return pd.DataFrame(columns, index=pd.Index(self.subject_ids, name="subject"))

    def select_subjects(self, index) -> FitData:
        """The same data for some subjects (positions, a slice or a boolean mask), in order."""
        positions = np.arange(self.n_subjects)[index]
        arrays = TrialArrays(
            **{name: np.asarray(getattr(self.arrays, name))[positions] for name in TRIAL_FIELDS}
        )
        return FitData(
            arrays,
            tuple(self.subject_ids[i] for i in positions),
            tuple(Covariate(c.name, c.codes[positions], c.labels) for c in self.covariates),
            self.context_labels,
            tuple(
                NumericCovariate(c.name, np.asarray(c.values)[positions])
                for c in self.numeric_covariates
            ),
        )


def resolve_spec(model) -> ModelSpec:
    """A ModelSpec given as itself or by its registered name."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return get_spec(model)
    raise TypeError(f"model must be a registered name or a ModelSpec; got {type(model).__name__}")


def as_fit_data(data, spec: ModelSpec | str | None = None, covariates=None) -> FitData:
    """``FitData`` from a FitData, a (TrialArrays, meta) pair, a TrialArrays or a DataFrame.

    A DataFrame is validated (against the columns ``spec`` needs) and converted by
    ``valueint.trials.contract``.  ``meta`` is a ``trials.TrialMeta`` or a mapping with the same
    names (``subjects``, ``group_labels``, ``group_codes``, ``contexts``); extra per-subject
    categorical covariates may come as ``covariates={name: (codes, labels)}`` or as a
    subject table (``TrialMeta.covariates``), numeric ones as
    ``numeric_covariates={name: values}``.

    ``covariates`` names the subject covariates to take from a DataFrame (a name, names,
    or {name: "numeric" | "categorical" | levels}; ``subjects.covariate_kinds``): each must
    be one value per subject, never missing (a ``TrialDataError`` names the column, the
    subject and the rows otherwise).  For other inputs the named covariates must already
    be in the data.
    """
    spec = None if spec is None else resolve_spec(spec)
    if isinstance(data, FitData):
        fit_data = data
    elif isinstance(data, TrialArrays):
        fit_data = _with_meta(data, None)
    elif isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], TrialArrays):
        fit_data = _with_meta(*data)
    elif isinstance(data, pd.DataFrame):
        from valueint.trials.arrays import to_arrays
        from valueint.trials.contract import validate

        checked = validate(data, spec)
        fit_data = _with_meta(*to_arrays(checked, covariates=covariates, checked=True))
    else:
        raise TypeError(
            "data must be a DataFrame of trials, a TrialArrays, a (TrialArrays, meta) pair or "
            f"FitData; got {type(data).__name__}"
        )
    if not isinstance(data, pd.DataFrame):
        _check_named(fit_data, covariates)
    if spec is not None:
        _check_for_model(fit_data, spec)
    return fit_data


def _check_named(fit_data: FitData, covariates) -> None:
    from valueint.trials.subjects import covariate_kinds

    absent = [name for name in covariate_kinds(covariates) if name not in fit_data.covariate_names]
    if absent:
        known = ", ".join(fit_data.covariate_names) or "none"
        raise ValueError(
            f"subject covariate(s) {', '.join(map(repr, absent))} not in the data "
            f"(available: {known}); name them when the FitData is made from a DataFrame"
        )


def _check_for_model(fit_data: FitData, spec: ModelSpec) -> None:
    """Name the first subject, block and trial whose values the model cannot use."""
    arrays = fit_data.arrays
    for s, subject in enumerate(fit_data.subject_ids):
        one = TrialArrays(**{name: getattr(arrays, name)[s] for name in TRIAL_FIELDS})
        try:
            check_trial_arrays(one, spec.name)
        except ValueError as err:
            raise ValueError(f"subject {subject!r}: {err}") from None


def _meta_get(meta, names, default=None):
    for name in names:
        value = meta.get(name) if isinstance(meta, Mapping) else getattr(meta, name, None)
        if value is not None:
            return value
    return default


def _with_meta(arrays: TrialArrays, meta) -> FitData:
    arrays = check_arrays(arrays)
    meta = {} if meta is None else meta
    n_subjects = arrays.choice.shape[0]
    subject_ids = _meta_get(meta, ("subjects", "subject_ids"))
    if subject_ids is None:
        subject_ids = [str(s) for s in range(n_subjects)]
    subject_ids = tuple(str(s) for s in subject_ids)
    if len(subject_ids) != n_subjects:
        raise ValueError(f"meta names {len(subject_ids)} subjects but the arrays hold {n_subjects}")
    if len(set(subject_ids)) != n_subjects:
        raise ValueError("subject ids must be unique (as text)")
    covariates = []
    labels = tuple(str(label) for label in _meta_get(meta, ("group_labels",), ()))
    if labels:
        codes = _meta_get(meta, ("group_codes",))
        covariates.append(_covariate("group", codes, labels, n_subjects))
    extra = _meta_get(meta, ("covariates",), {})
    numeric = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in dict(_meta_get(meta, ("numeric_covariates",), {})).items()
    }
    if isinstance(extra, pd.DataFrame):  # a subject table (TrialMeta.covariates)
        table, extra = extra, {}
        for name, column in table.items():
            if isinstance(column.dtype, pd.CategoricalDtype):
                extra[name] = (column.cat.codes.to_numpy(), column.cat.categories)
            else:
                numeric[name] = column.to_numpy(np.float64)
    for name, (codes, levels) in dict(extra).items():
        covariates.append(_covariate(name, codes, tuple(str(x) for x in levels), n_subjects))
    numeric_covariates = []
    for name, values in numeric.items():
        if values.shape != (n_subjects,):
            raise ValueError(
                f"covariate {name!r}: expected {n_subjects} values, got shape {values.shape}"
            )
        numeric_covariates.append(NumericCovariate(name, values))
    contexts = _meta_get(meta, ("contexts", "context_labels"), CONTEXTS)
    return FitData(
        arrays,
        subject_ids,
        tuple(covariates),
        tuple(str(c) for c in contexts),
        tuple(numeric_covariates),
    )


def _covariate(name, codes, labels, n_subjects) -> Covariate:
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape != (n_subjects,):
        raise ValueError(f"covariate {name!r}: expected {n_subjects} codes, got {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= len(labels)):
        raise ValueError(f"covariate {name!r}: codes must lie in 0..{len(labels) - 1}")
    return Covariate(name, codes, labels)


def check_arrays(arrays: TrialArrays) -> TrialArrays:
    """Arrays of one shape [subject, block, trial] in their dtypes; choices 0/1 where observed."""
    dtypes = {
        "choice": np.int32,
        "outcome": np.float64,
        "praise": np.float64,
        "present": np.float64,
        "context": np.int32,
        "mask": np.bool_,
        "outcome_unchosen": np.float64,
    }
    values = {name: np.asarray(getattr(arrays, name)) for name in TRIAL_FIELDS}
    shape = values["choice"].shape
    if len(shape) != 3:
        raise ValueError(f"trial arrays must be [subject, block, trial]; choice has shape {shape}")
    for name, value in values.items():
        if value.shape != shape:
            raise ValueError(f"trial array {name!r} has shape {value.shape}, expected {shape}")
    choice, mask = values["choice"], values["mask"].astype(bool)
    bad = mask & ~np.isin(choice, (0, 1))
    if bad.any():
        s, b, t = np.argwhere(bad)[0]
        raise ValueError(
            f"choice must be 0 or 1 on observed trials; subject {s}, block {b}, trial {t} "
            f"has {choice[s, b, t]}"
        )
    if not mask.any():
        raise ValueError("the data hold no observed trial (mask is all False)")
    return TrialArrays(**{name: np.asarray(values[name], dtype=dtypes[name]) for name in values})


def data_hash(arrays: TrialArrays) -> str:
    """sha256 of the trial arrays (``valueint.inference.fit_files.data_hash``, fields in
    their fixed order).

    The schedule fields (``SCHEDULE_FIELDS``) are left out: they steer simulation only,
    so fits of the same choices, with or without a known schedule, stay comparable.
    """
    from valueint.inference.fit_files import data_hash as named_arrays_hash

    return named_arrays_hash(
        {name: getattr(arrays, name) for name in TRIAL_FIELDS if name not in SCHEDULE_FIELDS}
    )
