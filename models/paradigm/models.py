"""Paradigm-level models: what a child experiences per condition, and one final choice.

Many developmental studies publish only counts per condition: of n children, k chose
the counted option.  A ``Paradigm`` describes such a study the way the learner lives
it: in each condition, a sequence of feedback events from an adult (what the feedback
was about, as features; praise, no praise or disapproval; how many times; whether the
adult was there), then a test choice between two options described by features, with
the adult present at the test with some probability.

The learner's belief about what the adult values is the ISR of ``valueint.isr.belief``:
theta ~ N(0, prior_sd^2 R), where R has 1 on the diagonal and the free
``correlation`` off it (how far the child assumes that what the adult values in one
respect carries to another), updated by assumed-density filtering on each feedback
event with the adult's praise model y ~ Bernoulli(sigmoid(slope theta . phi + bias)).
The social value of the counted option is m_c = E[theta | events of c] . dphi, with
dphi the counted option's features minus the alternative's.

Models give the log-odds of choosing the counted option per condition; the counts are
binomial.  Each follows U = R_e + P R_s + (1 - P) R_i at the test, with R_e a common
``bias`` and the expected praise and the internal reward both equal to m_c:

- ``null_rate``: one rate for every condition, logit = bias.
- ``no_internalization``: praise is understood but valued only while the adult can
  give it: logit = bias + value_weight * P_test * m_c.
- ``isr``: the learner keeps its belief as an internal reward when alone:
  logit = bias + value_weight * (P_test m_c + (1 - P_test) m_c).
- ``reinforcement``: praise strengthens a habit whatever it was about and whoever is
  present: logit = bias + habit_weight * h_c, with h_c the net praise count of the
  condition divided by the largest |net count| over the conditions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pandera.pandas as pa

from valueint.isr.belief import GaussianBelief, adf_update
from valueint.pytree import pytree_dataclass
from valueint.trials.specs import Parameter
from valueint.trials.transforms import check_parameter, constrain_value

FEEDBACK_CODES = {"praise": 1, "none": 0, "disapproval": -1}


class ParadigmError(ValueError):
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


@pytree_dataclass
class ParadigmDesign:
    """A paradigm as dense arrays: events padded to [condition, event]."""

    about: jnp.ndarray  # [C, E, K]
    feedback: jnp.ndarray  # [C, E] in {-1, 0, 1}
    observed: jnp.ndarray  # [C, E] bool: a real event with the adult present
    test_present: jnp.ndarray  # [C]
    choice_features: jnp.ndarray  # [K]
    net_praise: jnp.ndarray  # [C]: sum of feedback over observed events, scaled to max |.| = 1
    praise_slope: jnp.ndarray
    praise_bias: jnp.ndarray
    disapproval: jnp.ndarray
    prior_sd: jnp.ndarray


def design_arrays(paradigm: Paradigm) -> ParadigmDesign:
    """Expand each condition's events (``count`` repeats, in order) into padded arrays."""
    n_features = len(paradigm.features)
    rows = []
    for condition in paradigm.conditions:
        expanded = []
        for event in condition.events:
            expanded += [event] * event.count
        rows.append(expanded)
    n_events = max(1, max(len(r) for r in rows))
    about = np.zeros((len(rows), n_events, n_features))
    feedback = np.zeros((len(rows), n_events))
    observed = np.zeros((len(rows), n_events), dtype=bool)
    for c, events in enumerate(rows):
        for e, event in enumerate(events):
            about[c, e] = event.about
            feedback[c, e] = FEEDBACK_CODES[event.feedback]
            observed[c, e] = event.adult_present
    net = (feedback * observed).sum(axis=1)
    scale = np.abs(net).max()
    return ParadigmDesign(
        about=jnp.asarray(about),
        feedback=jnp.asarray(feedback),
        observed=jnp.asarray(observed),
        test_present=jnp.asarray([c.test_adult_present for c in paradigm.conditions], float),
        choice_features=jnp.asarray(paradigm.choice_features, float),
        net_praise=jnp.asarray(net / scale if scale > 0 else net),
        praise_slope=jnp.asarray(paradigm.praise_slope, float),
        praise_bias=jnp.asarray(paradigm.praise_bias, float),
        disapproval=jnp.asarray(float(paradigm.disapproval)),
        prior_sd=jnp.asarray(paradigm.prior_sd, float),
    )


# --------------------------------------------------------------------------- belief


def correlated_prior(n_features: int, prior_sd, correlation) -> GaussianBelief:
    """theta ~ N(0, prior_sd^2 R), R = (1 - rho) I + rho 11^T (positive definite for rho in [0, 1))."""
    eye = jnp.eye(n_features)
    corr = (1.0 - correlation) * eye + correlation * jnp.ones((n_features, n_features))
    return GaussianBelief(mean=jnp.zeros(n_features), cov=prior_sd**2 * corr)


@jax.jit
def condition_beliefs(design: ParadigmDesign, correlation) -> GaussianBelief:
    """The learner's belief about the adult's values at the end of each condition: [C, ...]."""
    n_features = design.about.shape[-1]
    prior = correlated_prior(n_features, design.prior_sd, correlation)

    def one_condition(about, feedback, observed):
        def step(belief, event):
            phi, y, seen = event
            new = adf_update(
                belief,
                phi,
                y,
                design.praise_slope,
                design.praise_bias,
                design.disapproval,
                observed=seen,
            )
            return new, None

        belief, _ = jax.lax.scan(step, prior, (about, feedback, observed))
        return belief

    return jax.vmap(one_condition)(design.about, design.feedback, design.observed)


def social_value(design: ParadigmDesign, correlation) -> jnp.ndarray:
    """m_c: the posterior mean value of the counted option over the alternative, [C]."""
    beliefs = condition_beliefs(design, correlation)
    return beliefs.mean @ design.choice_features


# --------------------------------------------------------------------------- models


@dataclasses.dataclass(frozen=True)
class ParadigmModel:
    """A model of the test choice: parameters (bounds, transform, prior) and log-odds.

    ``logit(params, design) -> [C]`` gives the log-odds of the counted option per
    condition from natural-scale parameters; ``predict`` and ``simulate`` follow from it.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    logit: Callable

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def predict(self, params: Mapping, design: ParadigmDesign) -> jnp.ndarray:
        """P(counted option) per condition."""
        return jax.nn.sigmoid(self.logit(params, design))

    def loglik(self, params: Mapping, design: ParadigmDesign, n, k) -> jnp.ndarray:
        """Binomial log-likelihood of k of n per condition, [C]."""
        logit = self.logit(params, design)
        n, k = jnp.asarray(n, float), jnp.asarray(k, float)
        log_choose = (
            jax.scipy.special.gammaln(n + 1)
            - jax.scipy.special.gammaln(k + 1)
            - jax.scipy.special.gammaln(n - k + 1)
        )
        return log_choose + k * jax.nn.log_sigmoid(logit) + (n - k) * jax.nn.log_sigmoid(-logit)

    def simulate(self, params: Mapping, design: ParadigmDesign, n, key) -> jnp.ndarray:
        """Counts k ~ Binomial(n, p_c) per condition."""
        p = self.predict(params, design)
        return jax.random.binomial(key, jnp.asarray(n, float), p)

    def constrain(self, unconstrained) -> dict:
        """Natural-scale parameters from an array [..., n_parameters] on the unconstrained scale."""
        return {
            p.name: constrain_value(p, unconstrained[..., i]) for i, p in enumerate(self.parameters)
        }


BIAS = Parameter(
    "bias",
    -math.inf,
    math.inf,
    "identity",
    0.0,
    1.5,
    "log-odds of the counted option when it carries no social value (common to all conditions)",
)
VALUE_WEIGHT = Parameter(
    "value_weight",
    0.0,
    math.inf,
    "log",
    0.0,
    1.0,
    "log-odds of the counted option per unit of believed social value",
)
CORRELATION = Parameter(
    "correlation",
    0.0,
    1.0,
    "logit",
    0.0,
    1.5,
    "prior correlation between the adult's values on different features (how far feedback "
    "about one feature speaks to the others)",
)
HABIT_WEIGHT = Parameter(
    "habit_weight",
    -math.inf,
    math.inf,
    "identity",
    0.0,
    1.0,
    "log-odds of the counted option per unit of net praise received, whatever it was about",
)


def _null_logit(params, design):
    return jnp.broadcast_to(params["bias"], design.test_present.shape)


def _social_logit(internalized: float):
    def logit(params, design):
        m = social_value(design, params["correlation"])
        present = design.test_present
        weight = present + (1.0 - present) * internalized
        return params["bias"] + params["value_weight"] * weight * m

    return logit


def _reinforcement_logit(params, design):
    return params["bias"] + params["habit_weight"] * design.net_praise


PARADIGM_MODELS: dict[str, ParadigmModel] = {
    model.name: model
    for model in (
        ParadigmModel("null_rate", "one rate for every condition", (BIAS,), _null_logit),
        ParadigmModel(
            "no_internalization",
            "praise is understood but counts only while the adult can give it",
            (BIAS, VALUE_WEIGHT, CORRELATION),
            _social_logit(0.0),
        ),
        ParadigmModel(
            "isr",
            "the belief about the adult's values is kept as an internal reward when alone",
            (BIAS, VALUE_WEIGHT, CORRELATION),
            _social_logit(1.0),
        ),
        ParadigmModel(
            "reinforcement",
            "praise strengthens a habit, whatever it was about and whoever is present",
            (BIAS, HABIT_WEIGHT),
            _reinforcement_logit,
        ),
    )
}
for _model in PARADIGM_MODELS.values():
    for _parameter in _model.parameters:
        check_parameter(_parameter)


def get_paradigm_model(name: str | ParadigmModel) -> ParadigmModel:
    if isinstance(name, ParadigmModel):
        return name
    try:
        return PARADIGM_MODELS[name]
    except KeyError:
        raise KeyError(
            f"unknown paradigm model {name!r}; available: {', '.join(PARADIGM_MODELS)}"
        ) from None


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
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no paradigm file at {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ParadigmError(f"{path}: not valid TOML ({err})") from None
    return paradigm_from_dict(raw, str(path))


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
