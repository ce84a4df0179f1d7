"""The data a fit is made on: dense trial arrays plus the names of their rows.

``as_fit_data`` turns a trial DataFrame, a ``TrialArrays`` (with or without its
``TrialMeta``) or a ``FitData`` into a checked ``FitData``: subject ids, per-subject
categorical covariates (integer codes into labels, code 0 the reference level) and the
context labels; ``data_hash`` fingerprints the arrays for a fit's record.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from valueint.trials import models as learning_models  # noqa: F401  (registers the models by name)
from valueint.trials.models import check_trial_arrays
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
class FitData:
    """Dense trial arrays [subject, block, trial] plus what names their rows."""

    arrays: TrialArrays
    subject_ids: tuple[str, ...]
    covariates: tuple[Covariate, ...] = ()
    context_labels: tuple[str, ...] = CONTEXTS

    @property
    def n_subjects(self) -> int:
        return len(self.subject_ids)

    def covariate(self, name: str) -> Covariate:
        for covariate in self.covariates:
            if covariate.name == name:
                return covariate
        known = ", ".join(c.name for c in self.covariates) or "none"
        raise ValueError(f"no subject covariate named {name!r} in the data (available: {known})")


def resolve_spec(model) -> ModelSpec:
    """A ModelSpec given as itself or by its registered name."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return get_spec(model)
    raise TypeError(f"model must be a registered name or a ModelSpec; got {type(model).__name__}")


def as_fit_data(data, spec: ModelSpec | str | None = None) -> FitData:
    """``FitData`` from a FitData, a (TrialArrays, meta) pair, a TrialArrays or a DataFrame.

    A DataFrame is validated (against the columns ``spec`` needs) and converted by
    ``valueint.trials.contract``.  ``meta`` is a ``trials.TrialMeta`` or a mapping with the same
    names (``subjects``, ``group_labels``, ``group_codes``, ``contexts``); extra per-subject
    categorical covariates may come as ``covariates={name: (codes, labels)}``.
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

        fit_data = _with_meta(*to_arrays(validate(data, spec)))
    else:
        raise TypeError(
            "data must be a DataFrame of trials, a TrialArrays, a (TrialArrays, meta) pair or "
            f"FitData; got {type(data).__name__}"
        )
    if spec is not None:
        _check_for_model(fit_data, spec)
    return fit_data


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
    for name, (codes, levels) in dict(_meta_get(meta, ("covariates",), {})).items():
        covariates.append(_covariate(name, codes, tuple(str(x) for x in levels), n_subjects))
    contexts = _meta_get(meta, ("contexts", "context_labels"), CONTEXTS)
    return FitData(arrays, subject_ids, tuple(covariates), tuple(str(c) for c in contexts))


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
    """sha256 of the trial arrays (names, dtypes, shapes and bytes, in a fixed order).

    The schedule fields (``SCHEDULE_FIELDS``) are left out: they steer simulation only,
    so fits of the same choices, with or without a known schedule, stay comparable.
    """
    digest = hashlib.sha256()
    for name in (f for f in TRIAL_FIELDS if f not in SCHEDULE_FIELDS):
        value = np.ascontiguousarray(getattr(arrays, name))
        digest.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()
