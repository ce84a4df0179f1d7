"""Reading and validating tidy trial data (the columns: ``valueint.trials.schema``).

Validation collects every problem at once and raises one ``TrialDataError`` that names
the file, the rows and the column.  Rows are numbered as a user sees them in a file:
data row 1 is the first line after the header.  Missed trials are kept: they stay in
the frame (and become ``mask=False`` entries of ``valueint.trials.arrays``), so they add
nothing to a likelihood.

pandera is imported on first validation, not at import, so that importing this module
stays cheap for command lines that never read data.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.errors import DataError
from valueint.text import value_text
from valueint.trials.schema import (
    CANONICAL_COLUMNS,
    CORE_COLUMNS,
    required_columns,
    trial_schema,
    usual_trial_count,
)
from valueint.trials.specs import ModelSpec

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet", ".pq")
MAX_ROWS_SHOWN = 5

# Said of a NaN in any column but choice and outcome (where NaN marks a missed trial).
_NAN_HINT = "NaN is allowed only in choice and outcome, where both mark a missed trial"


class TrialDataError(DataError):
    """Trial data that does not meet the schema; the message names file, rows and columns.

    ``problems`` holds one ``Problem`` per (column, kind of fault) for programs and tests.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = (), source: str = ""):
        super().__init__(message, source)
        self.problems = tuple(problems)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One kind of fault in one column: the offending rows and what was expected."""

    column: str
    check: str
    expected: str
    rows: tuple[Hashable, ...] = ()  # index labels, all of them
    found: str = ""
    hint: str = ""  # how to fix it, when there is more to say than what was expected


# ----------------------------------------------------------------------------- messages

_EXPECTED = {
    "integer": "a whole number",
    "one_based": "a trial number of 1 or more (trials are numbered from 1 within each block)",
    "binary": "0 or 1",
    "finite": "a finite number",
    "praise_values": "1 (praise), 0 (none) or -1 (disapproval), or NaN where no feedback was given",
    "non_negative": "an age of 0 or more",
    "number": "a number",
    "not_nullable": "a value in every row; " + _NAN_HINT,
    "outcome_where_chosen": (
        "an outcome on every trial with a choice (outcome is NaN only on a missed trial, "
        "where choice is NaN too)"
    ),
    "no_outcome_when_missed": (
        "a choice wherever an outcome is given (a missed trial has NaN in both choice and outcome)"
    ),
    "trials_increase": "trial numbers that increase within each subject and block, in row order",
    "multiple_fields_uniqueness": "one row per (subject, block, trial)",
    "praise_given": (
        "a praise value on every trial with a choice and the caregiver present "
        "(NaN only on missed trials or when caregiver_present is 0)"
    ),
    "no_praise_when_absent": "praise 0 or NaN when caregiver_present is 0 (no one gave feedback)",
    "one_group_per_subject": "one group label per subject",
    "one_age_per_subject": "one age per subject",
}
_EXPECTED_BY_COLUMN = {("choice", "binary"): "0 or 1 (NaN marks a missed trial)"}
_FRAME_CHECK_COLUMN = {
    "outcome_where_chosen": "outcome",
    "no_outcome_when_missed": "choice",
    "trials_increase": "trial",
    "multiple_fields_uniqueness": "subject, block, trial",
    "praise_given": "praise",
    "no_praise_when_absent": "praise",
    "one_group_per_subject": "group",
    "one_age_per_subject": "age",
    "equal_trial_counts": "subject",
}


def _by_file_row(df: pd.DataFrame, source: str) -> bool:
    # Rows are named as file rows only for data read from a file whose index still counts
    # the rows from 0; otherwise by index label.
    from_file = source != "trial data"
    return from_file and df.index.equals(pd.RangeIndex(len(df)))


def _rows_text(rows: Sequence[Hashable], by_file_row: bool) -> str:
    """'rows 4, 11' (file rows, from 1) or 'index 3, 10' (index labels); at most 5 shown."""
    if by_file_row:
        word = "row" if len(rows) == 1 else "rows"
        names = [str(int(label) + 1) for label in rows[:MAX_ROWS_SHOWN]]
    else:
        word, names = "index", [repr(label) for label in rows[:MAX_ROWS_SHOWN]]
    more = f" and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
    return f"{word} {', '.join(names)}{more}"


def _values_text(values: Iterable) -> str:
    unique = list(dict.fromkeys(value_text(v) for v in values))
    more = f", ... ({len(unique)} distinct)" if len(unique) > MAX_ROWS_SHOWN else ""
    return ", ".join(unique[:MAX_ROWS_SHOWN]) + more


def _describe_frame_rows(df: pd.DataFrame, check: str, rows: list) -> str:
    """What was found in the failing rows of a frame-level check, in the user's words."""
    sub = df.loc[rows]
    if check == "trials_increase":
        previous = pd.to_numeric(df["trial"], errors="coerce").groupby(
            [df["subject"], pd.to_numeric(df["block"], errors="coerce")], sort=False
        )
        previous = previous.shift().loc[rows]
        parts = [
            f"subject {r.subject!r}, block {value_text(r.block)}: "
            f"trial {value_text(r.trial)} after trial {value_text(p)}"
            for r, p in zip(sub.itertuples(), previous, strict=True)
        ]
        return "; ".join(parts[:MAX_ROWS_SHOWN])
    if check == "multiple_fields_uniqueness":
        groups = sub.groupby(["subject", "block", "trial"], sort=False).size()
        parts = [
            f"subject {s!r}, block {value_text(b)}, trial {value_text(t)} appears {n} times"
            for (s, b, t), n in groups.items()
        ]
        return "; ".join(parts[:MAX_ROWS_SHOWN])
    if check in ("one_group_per_subject", "one_age_per_subject"):
        column = _FRAME_CHECK_COLUMN[check]
        values = sub.groupby("subject", sort=False)[column].unique()
        parts = [f"subject {s!r} has {_values_text(v)}" for s, v in values.items()]
        return "; ".join(parts[:MAX_ROWS_SHOWN])
    if check in ("outcome_where_chosen", "no_outcome_when_missed"):
        return (
            "choice "
            + _values_text(sub["choice"])
            + " with outcome "
            + _values_text(sub["outcome"])
        )
    if check in ("praise_given", "no_praise_when_absent"):
        present = sub["caregiver_present"] if "caregiver_present" in sub else ["(no column)"]
        return (
            f"praise {_values_text(sub['praise'])} with caregiver_present {_values_text(present)}"
        )
    return ""


def _count_problem(df: pd.DataFrame, rows: list) -> Problem:
    usual = usual_trial_count(df)
    counts = df.groupby("subject", sort=False).size()
    odd = counts[counts != usual]
    parts = [f"subject {s!r} has {n} rows" for s, n in odd.items()]
    found = "; ".join(parts[:MAX_ROWS_SHOWN])
    if len(parts) > MAX_ROWS_SHOWN:
        found += f"; and {len(parts) - MAX_ROWS_SHOWN} more subjects"
    multiple = bool(((odd % usual == 0) & (odd > usual)).any())
    hint = (
        "A count that is a multiple of the usual one is the typical sign of two participants "
        "sharing an ID: give each participant its own ID, or split that ID's rows in order "
        "with valueint.trials.datasets.split_shared_ids(df) (load_cutler2021 splits its shared ID this "
        "way). "
        if multiple
        else ""
    )
    hint += "If unequal counts are expected, validate with check_counts=False."
    expected = (
        f"{usual} rows per subject, the usual count "
        f"({int((counts == usual).sum())} of {len(counts)} subjects)"
    )
    return Problem("subject", "equal_trial_counts", expected, tuple(rows), found, hint)


def _problems_from_failures(
    df: pd.DataFrame, failures: pd.DataFrame, model: str | None
) -> list[Problem]:
    """Translate pandera's failure-case table into one Problem per (column, fault)."""
    problems: list[Problem] = []
    missing = failures.loc[failures["check"] == "column_in_dataframe", "failure_case"].tolist()
    if missing:
        if model:
            who = f"model {model!r}"
        elif set(missing) <= set(CORE_COLUMNS):
            who = "every model"
        else:
            who = "the requested columns"
        problems.append(
            Problem(
                ", ".join(map(str, missing)),
                "column_in_dataframe",
                f"column(s) {', '.join(map(repr, missing))} needed by {who}; "
                f"the data has columns: {', '.join(map(str, df.columns))}",
            )
        )
    rest = failures[failures["check"] != "column_in_dataframe"].copy()
    if not {"subject", "block", "trial"} <= set(df.columns):
        # pandera then tests uniqueness on the key columns that are left: meaningless.
        rest = rest[rest["check"] != "multiple_fields_uniqueness"]
    # One name for a failed read as a number, whichever step of pandera noticed it.
    unreadable = rest["check"].astype(str).str.startswith(("coerce_dtype", "dtype("))
    rest.loc[unreadable, "check"] = "number"
    unreadable_cells = set(
        zip(rest.loc[unreadable, "column"], rest.loc[unreadable, "index"], strict=True)
    )

    frame_level = rest["schema_context"] == "DataFrameSchema"
    # One fault is reported once.  A row whose cell is bad (unreadable, missing, out of
    # range) is not reported again by a check across columns that reads that cell; and a
    # duplicated row, or a bad subject, block or trial cell, also makes a subject's row
    # count odd: the count is then no fault of its own.
    bad_cells = rest[~frame_level]
    bad_rows = set(bad_cells["index"])
    duplicated = (rest.loc[frame_level, "check"] == "multiple_fields_uniqueness").any()
    bad_keys = bad_cells["column"].isin(["subject", "block", "trial"]).any()
    for check, cases in rest[frame_level].groupby("check", sort=False):
        rows = list(dict.fromkeys(cases["index"]))
        if check == "equal_trial_counts":
            if not (duplicated or bad_keys):
                problems.append(_count_problem(df, rows))
            continue
        rows = [row for row in rows if row not in bad_rows]
        if not rows:
            continue
        problems.append(
            Problem(
                _FRAME_CHECK_COLUMN.get(check, "(whole table)"),
                check,
                _EXPECTED.get(check, check),
                tuple(rows),
                _describe_frame_rows(df, check, rows),
            )
        )
    for (column, check), cases in rest[~frame_level].groupby(["column", "check"], sort=False):
        if check != "number":
            keep = [(column, i) not in unreadable_cells for i in cases["index"]]
            cases = cases[keep]
        if cases.empty:
            continue
        expected = _EXPECTED_BY_COLUMN.get((column, check), _EXPECTED.get(check, check))
        rows = list(dict.fromkeys(cases["index"]))
        problems.append(
            Problem(column, check, expected, tuple(rows), _values_text(cases["failure_case"]))
        )
    # Missing columns first, then the rest in canonical column order.
    order = {c: i for i, c in enumerate(CANONICAL_COLUMNS)}
    return sorted(
        problems,
        key=lambda p: -1 if p.check == "column_in_dataframe" else order.get(p.column, len(order)),
    )


def _error_message(source: str, problems: Sequence[Problem], by_file_row: bool) -> str:
    where = "rows numbered from 1 after the header line" if by_file_row else "rows by index label"
    lines = [f"{source}: {len(problems)} problem(s) found ({where}):"]
    for p in problems:
        head = f"column '{p.column}'"
        if p.check == "column_in_dataframe":
            lines.append(f"  - missing {p.expected}")
            continue
        if p.rows:
            head += ", " + _rows_text(p.rows, by_file_row)
        found = f"; found {p.found}" if p.found else ""
        hint = f". {p.hint}" if p.hint else ""
        lines.append(f"  - {head}: expected {p.expected}{found}{hint}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- validation


def missed(df: pd.DataFrame) -> pd.Series:
    """True where the trial was missed (no choice was made)."""
    return df["choice"].isna()


def validate(
    df: pd.DataFrame,
    columns: Iterable[str] | ModelSpec | None = None,
    *,
    source: str | Path | None = None,
    model: str | None = None,
    check_counts: bool = True,
) -> pd.DataFrame:
    """Check ``df`` against the trial schema and return it with canonical dtypes.

    ``columns`` are the columns a model needs (``ModelSpec.columns``, or the spec itself,
    whose name then appears in the message); the core columns are always required and
    optional canonical columns are checked whenever present.  Every fault is collected and
    reported in one ``TrialDataError``.  ``check_counts`` asks that all subjects have the
    same number of rows (off for designs where they legitimately differ).

    Returned frame: same rows, index and extra columns; ``block`` and ``trial`` int64,
    numeric columns float64 (NaN marks missed trials).
    """
    import pandera.errors

    if isinstance(columns, ModelSpec):
        model = model or columns.name
    required = required_columns(columns)
    source = str(source or df.attrs.get("source") or "trial data")
    try:
        checked = trial_schema(required, check_counts).validate(df, lazy=True)
    except pandera.errors.SchemaErrors as err:
        problems = _problems_from_failures(df, err.failure_cases, model)
        message = _error_message(source, problems, _by_file_row(df, source))
        raise TrialDataError(message, problems, source) from None
    for column in ("block", "trial"):
        if column in checked:
            checked[column] = checked[column].astype("int64")
    checked.attrs = dict(df.attrs)
    return checked


def load_trials(
    path: str | Path,
    columns: Iterable[str] | ModelSpec | None = None,
    rename: Mapping[str, str] | None = None,
    *,
    check_counts: bool = True,
) -> pd.DataFrame:
    """Read a CSV or Parquet file of trials, rename columns to canonical names and validate.

    ``rename`` maps the file's column names to canonical ones (e.g. ``{"ID": "subject"}``).
    Missed trials are kept; their number is logged and stored in ``df.attrs["n_missed"]``.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise TrialDataError(
            f"{path}: cannot read trial data from a '{path.suffix}' file; "
            f"expected one of: {', '.join(SUFFIXES)}",
            source=str(path),
        )
    if not path.is_file():
        raise FileNotFoundError(f"trial data file not found: {path}")
    try:
        if path.suffix.lower() == ".csv":
            # tolerate a byte-order mark; read a semicolon- or tab-separated file as such
            # (a semicolon-separated file writes decimals with a comma, as spreadsheets do)
            sep = csv_separator(path)
            decimal = "," if sep == ";" else "."
            df = pd.read_csv(path, encoding="utf-8-sig", sep=sep, decimal=decimal)
        else:
            df = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise TrialDataError(
            f"{path}: the file is empty; expected a header line naming the columns "
            f"({', '.join(CORE_COLUMNS)}, ...) and one row per trial",
            source=str(path),
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise TrialDataError(f"{path}: could not read the file: {err}", source=str(path)) from err
    if df.empty:
        raise TrialDataError(
            f"{path}: the file has a header ({', '.join(map(str, df.columns))}) but no rows; "
            "expected one row per trial",
            source=str(path),
        )
    df = rename_columns(df, rename or {}, source=str(path))
    df.attrs["source"] = str(path)
    df = validate(df, columns, source=path, check_counts=check_counts)
    df.attrs["n_missed"] = int(missed(df).sum())
    logger.info("%s: %d rows, %d missed trials kept (masked)", path, len(df), df.attrs["n_missed"])
    return df


SEPARATORS = (",", ";", "\t")


def csv_separator(path: str | Path) -> str:
    """The separator of a delimited text file, read off its header line: a comma, unless
    the header holds more semicolons or tabs (files written with a decimal comma)."""
    with open(path, encoding="utf-8-sig") as file:
        header = next((line for line in file if line.strip()), "")
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def rename_columns(df: pd.DataFrame, rename: Mapping[str, str], source: str = "") -> pd.DataFrame:
    """Rename columns, refusing names that are absent or that would collide."""
    where = f"{source}: " if source else ""
    absent = [c for c in rename if c not in df.columns]
    if absent:
        raise TrialDataError(
            f"{where}cannot rename column(s) {', '.join(map(repr, absent))}: not in the data; "
            f"the data has columns: {', '.join(map(str, df.columns))}",
            source=source,
        )
    kept = [c for c in df.columns if c not in rename]
    clash = sorted(set(rename.values()) & set(kept))
    if clash:
        raise TrialDataError(
            f"{where}renaming would create a second column named {', '.join(map(repr, clash))}",
            source=source,
        )
    return df.rename(columns=dict(rename))


def label_codes(labels: pd.Series, order: Sequence, what: str, df, source: str) -> np.ndarray:
    """Integer code of each label (its position in ``order``); unknown labels are an error."""
    codes = labels.map({label: code for code, label in enumerate(order)})
    unknown = codes.isna()
    if unknown.any():
        problem = Problem(
            str(labels.name),
            "known_label",
            f"one of the {what} {', '.join(map(repr, order))} (pass {what}=... to name others)",
            tuple(labels.index[unknown]),
            _values_text(labels[unknown]),
        )
        message = _error_message(source, [problem], _by_file_row(df, source))
        raise TrialDataError(message, [problem], source)
    return codes.to_numpy(dtype=np.int32)
