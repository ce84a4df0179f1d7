"""Paradigm-level choice models: one final choice per child, after a study's feedback.

A study (``valueint.paradigm.conditions.Paradigm``) becomes dense design arrays
(``condition_arrays``); the models read those.

The learner's belief about what the adult values is the ISR of ``valueint.isr.belief``:
theta ~ N(0, prior_sd^2 R), where R has 1 on the diagonal and the free
``correlation`` off it (how far the child assumes that what the adult values in one
respect carries to another), updated by assumed-density filtering on each feedback
event with the adult's praise model y ~ Bernoulli(sigmoid(slope theta . phi + bias)).
The social value of the counted option is m_c = E[theta | events of c] . dphi, with
dphi the counted option's features minus the alternative's.

Models give the log-odds of choosing the counted option per condition; the counts are
binomial.  Each follows U = R_e + P R_s + (1 - P) w R_i at the test
(``valueint.isr.utility``), with R_e a common ``bias``, the expected praise and the
internal reward both equal to m_c, and w = 1 for ``isr``, 0 for ``no_internalization``:

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
import math
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from valueint.inference.parameters import Parameter, check_parameter, constrain_value
from valueint.isr.belief import GaussianBelief, adf_update
from valueint.isr.utility import presence_weights
from valueint.paradigm.conditions import FEEDBACK_CODES, Paradigm
from valueint.pytree import pytree_dataclass
from valueint.registry import Registry

# --------------------------------------------------------------------------- design


@pytree_dataclass
class ConditionArrays:
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


def condition_arrays(paradigm: Paradigm) -> ConditionArrays:
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
    return ConditionArrays(
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
def condition_beliefs(design: ConditionArrays, correlation) -> GaussianBelief:
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


def social_value(design: ConditionArrays, correlation) -> jnp.ndarray:
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

    def predict(self, params: Mapping, design: ConditionArrays) -> jnp.ndarray:
        """P(counted option) per condition."""
        return jax.nn.sigmoid(self.logit(params, design))

    def loglik(self, params: Mapping, design: ConditionArrays, n, k) -> jnp.ndarray:
        """Binomial log-likelihood of k of n per condition, [C]."""
        logit = self.logit(params, design)
        n, k = jnp.asarray(n, float), jnp.asarray(k, float)
        log_choose = (
            jax.scipy.special.gammaln(n + 1)
            - jax.scipy.special.gammaln(k + 1)
            - jax.scipy.special.gammaln(n - k + 1)
        )
        return log_choose + k * jax.nn.log_sigmoid(logit) + (n - k) * jax.nn.log_sigmoid(-logit)

    def simulate(self, params: Mapping, design: ConditionArrays, n, key) -> jnp.ndarray:
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
        # R_s and R_i are both m, so U's social part is (P + (1 - P) w) m
        social_weight, internal_weight = presence_weights(design.test_present, internalized)
        weight = social_weight + internal_weight
        return params["bias"] + params["value_weight"] * weight * m

    return logit


def _reinforcement_logit(params, design):
    return params["bias"] + params["habit_weight"] * design.net_praise


PARADIGM_MODELS: Registry[ParadigmModel] = Registry("paradigm model")
for _model in (
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
):
    for _parameter in _model.parameters:
        check_parameter(_parameter)
    PARADIGM_MODELS.register(_model.name, _model)


def get_paradigm_model(name: str | ParadigmModel) -> ParadigmModel:
    """The registered model called ``name`` (a model is passed through); a KeyError lists
    the known ones."""
    if isinstance(name, ParadigmModel):
        return name
    return PARADIGM_MODELS.get(name)
