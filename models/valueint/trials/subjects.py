"""The per-subject columns of a trial table: subject covariates (``group``, ``age`` or any
column outside the trial schema), one value per subject, never missing.

``covariate_kinds`` reads the ``covariates=`` argument of the loaders and fits;
``subject_values`` takes the named columns of a validated trial frame as one row per
subject, and names in one ``TrialDataError`` every column, subject and row that is absent,
empty, varies within a subject or holds a value of the wrong kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.text import label_text
from valueint.trials.contract import (
    MAX_ROWS_SHOWN,
    Problem,
    TrialDataError,
    _by_file_row,
    _error_message,
    _values_text,
)
from valueint.trials.schema import CANONICAL_COLUMNS

NUMERIC, CATEGORICAL = "numeric", "categorical"

# Columns that vary by design within a subject, never a subject covariate (group and age
# are per-subject columns of the schema; any column outside it may be one).
_PER_TRIAL_COLUMNS = frozenset(CANONICAL_COLUMNS) - {"group", "age"}


def covariate_kinds(covariates) -> dict[str, str | tuple[str, ...] | None]:
    """The ``covariates=`` argument as {column: kind}: kind "numeric", "categorical", the
    categorical levels (reference first) or None (numeric if the column holds numbers).

    ``covariates`` is None, one name, a sequence of names or such a mapping.
    """
    if covariates is None:
        return {}
    if isinstance(covariates, str):
        covariates = (covariates,)
    if not isinstance(covariates, Mapping):
        covariates = dict.fromkeys(covariates)
    kinds: dict[str, str | tuple[str, ...] | None] = {}
    for name, kind in covariates.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"a covariate is named by its column; got {name!r}")
        if name in _PER_TRIAL_COLUMNS:
            raise ValueError(
                f"column {name!r} is a per-trial column, not a subject covariate; subject "
                f"covariates are 'group', 'age' or any column outside the trial schema"
            )
        if kind is None or kind in (NUMERIC, CATEGORICAL):
            kinds[name] = kind
        elif isinstance(kind, str):
            raise ValueError(
                f"covariate {name!r}: kind {kind!r} is not one of {NUMERIC!r}, {CATEGORICAL!r} "
                "or a sequence of levels"
            )
        else:
            levels = tuple(label_text(level) for level in kind)
            if len(set(levels)) != len(levels) or not levels:
                raise ValueError(
                    f"covariate {name!r}: levels must be distinct and at least one; got {levels}"
                )
            kinds[name] = levels
    return kinds


def subject_values(
    df: pd.DataFrame,
    covariates,
    *,
    subjects: Sequence | None = None,
    source: str | Path | None = None,
) -> pd.DataFrame:
    """One row per subject with the named per-subject columns of a validated trial frame.

    ``covariates`` as for ``covariate_kinds``.  The index holds the subject ids (in the
    order of ``subjects``, default their first appearance); numeric columns are float64,
    categorical ones ``pd.Categorical`` with the reference level first (the levels given,
    else in order of first appearance).  A column that is absent, empty for a subject,
    differs within a subject or holds values of the wrong kind is named, with the subject
    and rows, in one ``TrialDataError``.
    """
    kinds = covariate_kinds(covariates)
    source = str(source or df.attrs.get("source") or "trial data")
    subjects = list(pd.unique(df["subject"])) if subjects is None else list(subjects)
    index = pd.Index(subjects, name="subject")
    problems: list[Problem] = []
    absent = [name for name in kinds if name not in df.columns]
    if absent:
        problems.append(
            Problem(
                ", ".join(absent),
                "column_in_dataframe",
                f"column(s) {', '.join(map(repr, absent))} named as subject covariates; "
                f"the data has columns: {', '.join(map(str, df.columns))}",
            )
        )
    table = {}
    for name, kind in kinds.items():
        if name in absent:
            continue
        values, problem = _subject_column(df, name, kind, index)
        problems.extend(problem)
        table[name] = values
    if problems:
        raise TrialDataError(
            _error_message(source, problems, _by_file_row(df, source)), problems, source
        )
    return pd.DataFrame(table, index=index)


def _subject_column(df: pd.DataFrame, name: str, kind, index: pd.Index):
    """One subject covariate: its values per subject (or None) and the problems found."""
    raw = df[name]
    numeric = kind == NUMERIC or (
        kind is None and pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    )
    problems = []
    if numeric:
        values = pd.to_numeric(raw, errors="coerce")
        unreadable = values.isna() & raw.notna()
        infinite = values.notna() & ~np.isfinite(values.to_numpy(np.float64, na_value=np.nan))
        checks = [(unreadable, "number", "a number"), (infinite, "finite", "a finite number")]
        for rows, check, expected in checks:
            if rows.any():
                where = tuple(df.index[rows])
                problems.append(Problem(name, check, expected, where, _values_text(raw[rows])))
    else:
        values = raw.map(label_text, na_action="ignore")
    empty = raw.isna()
    if empty.any():
        counts = empty.groupby(df["subject"], sort=False).agg(["sum", "size"])
        counts = counts[counts["sum"] > 0]
        problems.append(
            Problem(
                name,
                "subject_value_missing",
                f"a value of {name} for every subject (a subject covariate cannot be missing)",
                tuple(df.index[empty]),
                "; ".join(
                    f"subject {s!r} empty in {k} of {n} rows"
                    for s, (k, n) in list(counts.iterrows())[:MAX_ROWS_SHOWN]
                ),
            )
        )
    by_subject = values.groupby(df["subject"], sort=False)
    varies = by_subject.transform("nunique") > 1
    if varies.any():
        found = by_subject.unique()[lambda s: s.map(len) > 1]
        parts = [f"subject {s!r} has {_values_text(v)}" for s, v in found.items()]
        problems.append(
            Problem(
                name,
                "one_value_per_subject",
                f"one {name} per subject (a subject covariate is constant within a subject)",
                tuple(df.index[varies]),
                "; ".join(parts[:MAX_ROWS_SHOWN]),
            )
        )
    first = by_subject.first().reindex(index)
    if numeric:
        return first.to_numpy(np.float64), problems
    levels = kind if isinstance(kind, tuple) else tuple(pd.unique(values.dropna()))
    unknown = values.notna() & ~values.isin(levels)
    if unknown.any():
        problems.append(
            Problem(
                name,
                "known_label",
                f"one of the levels {', '.join(map(repr, levels))} given for {name}",
                tuple(df.index[unknown]),
                _values_text(values[unknown]),
            )
        )
    if problems:
        return None, problems
    return pd.Categorical(first, categories=list(levels)), problems
