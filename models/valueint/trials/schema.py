"""The declared schema of tidy trial data, as a pandera schema.

One row per trial, long format.  Canonical columns:

========================  =====================================================================
``subject``               participant id (str or int)
``block``                 learning episode (int); the learner's values reset at each block
``trial``                 trial number within its block (int, 1-based, increasing in row order)
``choice``                1 or 0; NaN marks a *missed* trial
``outcome``               reward received (float); NaN exactly where the trial was missed
``outcome_unchosen``      reward the other option would have given (the task's schedule, when
                          known); NaN where unknown (optional; read only by simulation)
``praise``                social feedback: 1 praise, 0 none, -1 disapproval (optional)
``context``               recipient/context label, e.g. "self", "other", "none" (optional)
``caregiver_present``     1 when someone was there to give feedback, else 0 (optional)
``group``                 group label of the subject, e.g. "young" / "older" (optional)
``age``                   age of the subject (optional)
========================  =====================================================================

Missed trials are kept: choice and outcome are NaN there, and nowhere else is NaN
allowed.  The frame-level checks below say what else a trial table must satisfy; how a
failure reads to a user is ``valueint.trials.contract``'s business.

Other columns are kept as they are.  ``group``, ``age`` and any column outside this list
may serve as subject covariates once named (``as_fit_data(df, spec, covariates=("age",))``);
``subjects.subject_values`` then asks for one value per subject, never missing.

pandera is imported when the schema is first built, not at import, so that importing
this module stays cheap for command lines that never read data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from valueint.trials.specs import ModelSpec

if TYPE_CHECKING:
    import pandera.pandas as pa

CANONICAL_COLUMNS = (
    "subject",
    "block",
    "trial",
    "choice",
    "outcome",
    "outcome_unchosen",
    "praise",
    "context",
    "caregiver_present",
    "group",
    "age",
)
CORE_COLUMNS = ("subject", "block", "trial", "choice")  # every model needs these


def required_columns(model_columns: Iterable[str] | ModelSpec | None = None) -> tuple[str, ...]:
    """The canonical columns a model needs: the core four plus the model's own, in order.

    ``model_columns`` is ``ModelSpec.columns`` (or the spec itself).  Unknown names are an
    error here, so that a spec cannot ask for a column no data set will ever have.
    """
    if isinstance(model_columns, ModelSpec):
        model_columns = model_columns.columns
    wanted = set(CORE_COLUMNS) | set(model_columns or ())
    unknown = sorted(wanted - set(CANONICAL_COLUMNS))
    if unknown:
        raise ValueError(
            f"unknown trial column(s) {', '.join(map(repr, unknown))}; "
            f"canonical columns are: {', '.join(CANONICAL_COLUMNS)}"
        )
    return tuple(c for c in CANONICAL_COLUMNS if c in wanted)


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    # Checks run even when a column failed to coerce; unreadable values count as NaN here
    # (they are reported by the column's own check).
    return pd.to_numeric(df[column], errors="coerce")


def _all_ok(df: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=df.index)


def _outcome_where_chosen(df: pd.DataFrame) -> pd.Series:
    if "outcome" not in df or "choice" not in df:
        return _all_ok(df)
    return ~(_numeric(df, "choice").notna() & _numeric(df, "outcome").isna())


def _no_outcome_when_missed(df: pd.DataFrame) -> pd.Series:
    if "outcome" not in df or "choice" not in df:
        return _all_ok(df)
    return ~(df["choice"].isna() & df["outcome"].notna())


def _trials_increase(df: pd.DataFrame) -> pd.Series:
    if not {"subject", "block", "trial"} <= set(df):
        return _all_ok(df)
    keys = pd.DataFrame({"s": df["subject"], "b": _numeric(df, "block")})
    step = _numeric(df, "trial").groupby([keys["s"], keys["b"]], sort=False).diff()
    return ~(step < 0)  # equal numbers are duplicates, reported by the uniqueness check


def _praise_given(df: pd.DataFrame) -> pd.Series:
    # Praise may be absent (NaN) only on missed trials or when no one was there.
    if "praise" not in df:
        return _all_ok(df)
    no_feedback = df["choice"].isna() if "choice" in df else pd.Series(False, index=df.index)
    if "caregiver_present" in df:
        no_feedback = no_feedback | (_numeric(df, "caregiver_present") == 0)
    return ~(df["praise"].isna() & ~no_feedback)


def _no_praise_when_absent(df: pd.DataFrame) -> pd.Series:
    if "praise" not in df or "caregiver_present" not in df:
        return _all_ok(df)
    praise = _numeric(df, "praise")
    return ~((_numeric(df, "caregiver_present") == 0) & praise.notna() & (praise != 0))


def _one_value_per_subject(column: str):
    def check(df: pd.DataFrame) -> pd.Series:
        if column not in df or "subject" not in df:
            return _all_ok(df)
        n_values = df.groupby("subject", sort=False)[column].transform("nunique")
        return ~(n_values > 1)

    check.__name__ = f"one_{column}_per_subject"
    return check


def usual_trial_count(df: pd.DataFrame) -> int | None:
    """The most common number of rows per subject (the smallest on a tie); None if < 2."""
    counts = df.groupby("subject", sort=False).size()
    if len(counts) < 2:
        return None
    frequency = counts.value_counts()
    return int(min(frequency.index[frequency == frequency.max()]))


def _equal_trial_counts(df: pd.DataFrame) -> pd.Series:
    if "subject" not in df:
        return _all_ok(df)
    usual = usual_trial_count(df)
    if usual is None:
        return _all_ok(df)
    counts = df.groupby("subject", sort=False)["subject"].transform("size")
    return counts.isna() | (counts == usual)


@functools.cache
def _declared_schema() -> pa.DataFrameSchema:
    """The one schema of tidy trial data; every column optional here (see ``trial_schema``)."""
    import pandera.pandas as pa

    def numeric_check(test, name):
        # When a column fails to coerce, pandera still runs its checks on the raw values;
        # values that are not numbers pass here, as they are reported once as such.
        def check(series):
            values = pd.to_numeric(series, errors="coerce")
            return values.isna() | test(values)

        return pa.Check(check, name=name)

    integer = numeric_check(lambda s: s == np.round(s), "integer")
    finite = numeric_check(np.isfinite, "finite")
    binary = numeric_check(lambda s: s.isin([0, 1]), "binary")

    def number(checks, nullable: bool):
        """A numeric column: read as float (integers are checked as such), optional."""
        return pa.Column(float, nullable=nullable, coerce=True, required=False, checks=checks)

    def label():
        """A column of names: any text or number, never empty."""
        return pa.Column(nullable=False, required=False)

    return pa.DataFrameSchema(
        {
            "subject": label(),
            "block": number(integer, nullable=False),
            "trial": number([integer, numeric_check(lambda s: s >= 1, "one_based")], False),
            "choice": number(binary, nullable=True),
            "outcome": number(finite, nullable=True),
            "outcome_unchosen": number(finite, nullable=True),
            "praise": number(numeric_check(lambda s: s.isin([-1, 0, 1]), "praise_values"), True),
            "context": label(),
            "caregiver_present": number(binary, nullable=False),
            "group": label(),
            "age": number([finite, numeric_check(lambda s: s >= 0, "non_negative")], True),
        },
        checks=[
            pa.Check(_outcome_where_chosen, name="outcome_where_chosen"),
            pa.Check(_no_outcome_when_missed, name="no_outcome_when_missed"),
            pa.Check(_trials_increase, name="trials_increase"),
            pa.Check(_praise_given, name="praise_given"),
            pa.Check(_no_praise_when_absent, name="no_praise_when_absent"),
            pa.Check(_one_value_per_subject("group"), name="one_group_per_subject"),
            pa.Check(_one_value_per_subject("age"), name="one_age_per_subject"),
            pa.Check(_equal_trial_counts, name="equal_trial_counts"),
        ],
        unique=["subject", "block", "trial"],
        name="trials",
    )


@functools.cache
def trial_schema(
    columns: tuple[str, ...] = CORE_COLUMNS, check_counts: bool = True
) -> pa.DataFrameSchema:
    """The declared schema with ``columns`` required (and the per-subject count check or not)."""
    import pandera.pandas as pa

    schema = _declared_schema().update_columns(
        {c: {"required": True} for c in required_columns(columns)}
    )
    if check_counts:
        return schema
    checks = [c for c in schema.checks if c.name != "equal_trial_counts"]
    return pa.DataFrameSchema(schema.columns, checks=checks, unique=schema.unique, name="trials")
