"""The study description: what a child experiences per condition, and the counts.

Many developmental studies publish only counts per condition: of n children, k chose
the counted option.  A ``Paradigm`` describes such a study the way the learner lives
it: in each condition, a sequence of feedback events from an adult (what the feedback
was about, as features; praise, no praise or disapproval; how many times; whether the
adult was there), then a test choice between two options described by features, with
the adult present at the test with some probability.  ``load_paradigm`` reads one from
TOML and ``load_counts`` its count table; both raise ``ParadigmError`` naming the file,
the key, the column or the row.  The choice models are ``valueint.paradigm.catalogue``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from valueint.errors import DataError, read_toml

FEEDBACK_CODES = {"praise": 1, "none": 0, "disapproval": -1}


class ParadigmError(DataError):
    """A paradigm file or a count table that cannot be used; the message says where."""


# --------------------------------------------------------------------------- description


@dataclasses.dataclass(frozen=True)
class FeedbackEvent:
    """``count`` identical pieces of feedback on an action whose features are ``about``."""

    about: tuple[float, ...]  # [n_features]: what the feedback speaks to
    feedback: str = "praise"  # praise | none (withheld while present) | disapproval
    count: int = 1
    adult_present: bool = True  # absent: nothing is learned from the event


@dataclasses.dataclass(frozen=True)
class Condition:
    name: str
    events: tuple[FeedbackEvent, ...]  # in the order the child meets them
    test_adult_present: float = 0.0  # probability that the adult watches the test choice
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Paradigm:
    """A study design: features, conditions, the test choice and the adult's praise model."""

    name: str
    features: tuple[str, ...]
    conditions: tuple[Condition, ...]
    choice_features: tuple[float, ...]  # counted option minus alternative, [n_features]
    counted_option: str = "chosen"
    alternative_option: str = "other"
    praise_slope: float = 1.0
    praise_bias: float = 0.0
    disapproval: bool = False  # the adult may disapprove (y = -1) as well as praise
    prior_sd: float = 1.0
    title: str = ""
    source: str = ""
    condition_column: str = "condition"
    n_column: str = "n"
    k_column: str = "k"

    @property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.conditions)


# --------------------------------------------------------------------------- files


def _need(table: Mapping, key: str, where: str, kind: type):
    if key not in table:
        raise ParadigmError(f"{where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise ParadigmError(f"{where}: {key!r} must be a {kind.__name__}; got {value!r}")
    return value


def _feature_vector(table, features: Sequence[str], where: str) -> tuple[float, ...]:
    if not isinstance(table, Mapping):
        raise ParadigmError(f"{where}: expected a table {{feature = value}}; got {table!r}")
    unknown = sorted(set(table) - set(features))
    if unknown:
        raise ParadigmError(
            f"{where}: unknown feature(s) {', '.join(unknown)}; declared: {', '.join(features)}"
        )
    values = []
    for name in features:
        value = table.get(name, 0.0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ParadigmError(f"{where}: feature {name!r} must be a finite number; got {value!r}")
        values.append(float(value))
    return tuple(values)


def paradigm_from_dict(raw: Mapping, source: str = "paradigm") -> Paradigm:
    """A ``Paradigm`` from its TOML structure; errors name the key and condition."""
    known = {"name", "title", "source", "features", "choice", "feedback_model", "data"}
    unknown = sorted(set(raw) - known - {"conditions"})
    if unknown:
        raise ParadigmError(f"{source}: unknown key(s) {', '.join(unknown)}")
    name = _need(raw, "name", source, str)
    features = _need(raw, "features", source, list)
    if not features or not all(isinstance(f, str) and f for f in features):
        raise ParadigmError(f"{source}: 'features' must be a non-empty list of names")
    if len(set(features)) != len(features):
        raise ParadigmError(f"{source}: 'features' has repeated names")
    choice = _need(raw, "choice", source, dict)
    choice_features = _feature_vector(
        _need(choice, "features", f"{source} [choice]", dict), features, f"{source} [choice]"
    )
    praise = raw.get("feedback_model", {})
    praise_values = {}
    disapproval = praise.get("disapproval", False)
    if not isinstance(disapproval, bool):
        raise ParadigmError(
            f"{source} [feedback_model]: 'disapproval' must be true or false; got {disapproval!r}"
        )
    for key, default, lower in (
        ("slope", 1.0, 0.0),
        ("bias", 0.0, -math.inf),
        ("prior_sd", 1.0, 0.0),
    ):
        value = praise.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= lower:
            raise ParadigmError(
                f"{source} [feedback_model]: {key!r} must be a number >= {lower}; got {value!r}"
            )
        if key in ("slope", "prior_sd") and value <= 0:
            raise ParadigmError(f"{source} [feedback_model]: {key!r} must be > 0; got {value!r}")
        praise_values[key] = float(value)
    if disapproval and praise_values["bias"] > 0:
        raise ParadigmError(
            f"{source} [feedback_model]: bias = {praise_values['bias']} must be <= 0 when "
            "disapproval is true (otherwise P(praise) + P(disapproval) can exceed 1)"
        )
    columns = raw.get("data", {})
    conditions_raw = raw.get("conditions")
    if not isinstance(conditions_raw, list) or not conditions_raw:
        raise ParadigmError(f"{source}: needs at least one [[conditions]] table")
    conditions = []
    for i, entry in enumerate(conditions_raw):
        where = f"{source} [[conditions]] #{i + 1}"
        cname = _need(entry, "name", where, str)
        where = f"{source} condition {cname!r}"
        present = entry.get("test_adult_present", 0.0)
        if (
            isinstance(present, bool)
            or not isinstance(present, int | float)
            or not 0 <= present <= 1
        ):
            raise ParadigmError(
                f"{where}: 'test_adult_present' must lie in [0, 1]; got {present!r}"
            )
        events = []
        for j, ev in enumerate(entry.get("feedback", [])):
            ewhere = f"{where}, feedback #{j + 1}"
            kind = ev.get("feedback", "praise")
            if kind not in FEEDBACK_CODES:
                raise ParadigmError(
                    f"{ewhere}: 'feedback' must be one of {', '.join(FEEDBACK_CODES)}; got {kind!r}"
                )
            count = ev.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ParadigmError(f"{ewhere}: 'count' must be a whole number >= 0; got {count!r}")
            adult_present = ev.get("adult_present", True)
            if not isinstance(adult_present, bool):
                raise ParadigmError(f"{ewhere}: 'adult_present' must be true or false")
            if kind == "none" and adult_present and disapproval and praise_values["bias"] == 0:
                raise ParadigmError(
                    f"{ewhere}: with disapproval and bias 0 the adult always answers, so "
                    "feedback 'none' while present is impossible; set [feedback_model] bias < 0"
                )
            about = _feature_vector(_need(ev, "about", ewhere, dict), features, ewhere)
            events.append(FeedbackEvent(about, kind, count, adult_present))
        conditions.append(
            Condition(cname, tuple(events), float(present), str(entry.get("description", "")))
        )
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ParadigmError(f"{source}: condition names must be unique; got {names}")
    return Paradigm(
        name=name,
        features=tuple(features),
        conditions=tuple(conditions),
        choice_features=choice_features,
        counted_option=str(choice.get("counted", "chosen")),
        alternative_option=str(choice.get("alternative", "other")),
        praise_slope=praise_values["slope"],
        praise_bias=praise_values["bias"],
        disapproval=disapproval,
        prior_sd=praise_values["prior_sd"],
        title=str(raw.get("title", "")),
        source=str(raw.get("source", "")),
        condition_column=str(columns.get("condition", "condition")),
        n_column=str(columns.get("n", "n")),
        k_column=str(columns.get("k", "k")),
    )


def load_paradigm(path: str | Path) -> Paradigm:
    return paradigm_from_dict(read_toml(path, "paradigm", ParadigmError), str(path))


@dataclasses.dataclass(frozen=True)
class Counts:
    """k of n children chose the counted option, per condition (in the paradigm's order)."""

    conditions: tuple[str, ...]
    n: np.ndarray  # int [C]
    k: np.ndarray  # int [C]

    @property
    def proportion(self) -> np.ndarray:
        return self.k / self.n

    def sha256(self) -> str:
        text = ";".join(
            f"{c}:{n}:{k}" for c, n, k in zip(self.conditions, self.n, self.k, strict=True)
        )
        return hashlib.sha256(text.encode()).hexdigest()


def counts_schema(paradigm: Paradigm) -> pa.DataFrameSchema:
    cond, n, k = paradigm.condition_column, paradigm.n_column, paradigm.k_column
    return pa.DataFrameSchema(
        {
            cond: pa.Column(str, pa.Check.isin(paradigm.condition_names), unique=True),
            n: pa.Column(int, pa.Check.gt(0)),
            k: pa.Column(int, pa.Check.ge(0)),
        },
        checks=pa.Check(lambda df: df[k] <= df[n], error=f"{k} must not exceed {n}"),
        strict=False,
        coerce=False,
    )


def counts_from_frame(frame: pd.DataFrame, paradigm: Paradigm, source: str = "counts") -> Counts:
    """Validate a count table against the paradigm: every condition once, 0 <= k <= n."""
    cond, n, k = paradigm.condition_column, paradigm.n_column, paradigm.k_column
    missing = [c for c in (cond, n, k) if c not in frame.columns]
    if missing:
        raise ParadigmError(
            f"{source}: missing column(s) {', '.join(missing)}; the paradigm reads condition "
            f"from {cond!r}, children from {n!r} and counted choices from {k!r} "
            f"(found: {', '.join(map(str, frame.columns))})"
        )
    frame = frame.copy()
    for column in (n, k):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ParadigmError(
                f"{source}: column {column!r}, row {row + 2} (file line): expected a whole "
                f"number; got {frame[column].iloc[row]!r}"
            )
        frame[column] = values.astype(int)
    frame[cond] = frame[cond].astype(str)
    try:
        counts_schema(paradigm).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        lines = []
        for _, case in cases.head(5).iterrows():
            row = case.get("index")
            where = f"row {int(row) + 2} (file line)" if pd.notna(row) else "table"
            lines.append(
                f"column {case['column']!r}, {where}: {case['check']} failed "
                f"(value {case['failure_case']!r})"
            )
        raise ParadigmError(f"{source}: " + "; ".join(lines)) from None
    absent = [c for c in paradigm.condition_names if c not in set(frame[cond])]
    if absent:
        raise ParadigmError(f"{source}: no row for condition(s) {', '.join(absent)}")
    ordered = frame.set_index(cond).loc[list(paradigm.condition_names)]
    return Counts(paradigm.condition_names, ordered[n].to_numpy(), ordered[k].to_numpy())


def load_counts(path: str | Path, paradigm: Paradigm) -> Counts:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no count table at {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ParadigmError(f"{path}: not a readable CSV ({err})") from None
    return counts_from_frame(frame, paradigm, str(path))


@dataclasses.dataclass(frozen=True)
class ParadigmData:
    """A study's counts with the paradigm they were counted in: what a paradigm fit takes."""

    paradigm: Paradigm
    counts: Counts


def as_paradigm_data(data) -> ParadigmData:
    """``ParadigmData`` from itself or a (Paradigm, Counts) pair."""
    if isinstance(data, ParadigmData):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        paradigm, counts = data
        if isinstance(paradigm, Paradigm) and isinstance(counts, Counts):
            return ParadigmData(paradigm, counts)
    raise TypeError(
        f"paradigm data are a ParadigmData or a (Paradigm, Counts) pair; got {type(data).__name__}"
    )
