"""One declarative spec per model of the sampling task, and its decision tables.

Every model shares the belief (``valueint.infosampling.belief``) and the trust rule, and
has a stopping rule of its own.  Per state (n tiles opened, g green; ``belief.state_grid``):

    P(trust | n, g) = lapse / 2 + (1 - lapse) * sigmoid(trust_sharpness * (mu - 1/2) + trust_bias)
    P(stop | n, g)  = sigmoid(stop_logit(n, g)),                                   n < 25

where mu is the posterior mean under the prior Beta(prior_green, prior_red): a prior mean
m = green / (green + red) and a strength k = green + red pseudo-tiles (its uncertainty,
prior sd = sqrt(m (1 - m) / (k + 1)); ``prior_of``).  The prior is parameterized by its
two pseudo-counts, not by (m, k), because the data pin a participant's (log green, log
red) down along nearly straight lines where (logit m, log k) bend into a banana: NUTS
needs a third of the steps.  ``trust_bias`` > 0 is a bias toward trust (trusting a
peer believed to reciprocate less than half the time); ``lapse`` is the chance of a
trust choice made at random.  After 25 tiles the stop is forced and is not scored.

The stopping rules:

- ``fixed_evidence``: stop after about ``stop_tiles`` tiles, whatever they showed,
  stop_logit = stop_sharpness * (n - stop_tiles);
- ``sample_cost``: each tile costs ``cost`` (in units of the trust stake) and is weighed
  against what it is worth, the optimal-stopping value of going on (``belief.stopping_values``),
  stop_logit = stop_sharpness * (value of stopping - value of opening) / cost, which is
  stop_sharpness * (1 - VOI / cost) with VOI what opening is expected to add to the value
  of stopping now: indifference where a tile is worth its cost, log-odds stop_sharpness
  where it is worth nothing;
- ``uncertainty``: stop once the posterior sd falls to ``sd_threshold``,
  stop_logit = stop_sharpness * (log sd_threshold - log sd(n, g)).

Parameters are natural-scale scalars (or arrays that broadcast) in a dict; the tables
are [..., 26, 26] and jittable, vmappable and differentiable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from valueint.infosampling import belief
from valueint.registry import Registry
from valueint.trials.specs import Parameter

PRIOR_PARAMETERS = (
    Parameter(
        "prior_green",
        0.0,
        math.inf,
        "log",
        0.0,
        1.0,
        "green pseudo-tiles of the prior (the prior is Beta(green, red))",
    ),
    Parameter(
        "prior_red",
        0.0,
        math.inf,
        "log",
        0.0,
        1.0,
        "red pseudo-tiles of the prior",
    ),
)


def prior_of(p: dict):
    """(prior mean, prior strength) of parameters {prior_green, prior_red, ...}."""
    count = p["prior_green"] + p["prior_red"]
    return p["prior_green"] / count, count


TRUST_PARAMETERS = (
    Parameter(
        "trust_sharpness",
        0.0,
        math.inf,
        "log",
        math.log(10.0),
        1.0,
        "how sharply trust follows the posterior mean",
    ),
    Parameter(
        "trust_bias",
        -math.inf,
        math.inf,
        "identity",
        0.0,
        1.0,
        "bias toward trust on the logit scale (0: trust when mu > 1/2)",
    ),
    Parameter(
        "lapse",
        0.0,
        1.0,
        "logit",
        -3.0,
        1.0,
        "probability that a trust choice is made at random",
    ),
)


@dataclasses.dataclass(frozen=True)
class SamplingModel:
    """A model of the sampling task: the belief, one stopping rule and the trust rule.

    ``stop_logit(params, n, g)`` is the log-odds of stopping at states (n, g), parameter
    arrays broadcasting against them; a rule whose value at one state depends on every
    other (``needs_table``: optimal stopping) is evaluated on the whole grid, parameters
    [..., 1, 1], and read at the states wanted.  ``stop_parameters`` are the rule's own
    parameters (the first says how much is sampled: ``stopping_parameter``).
    """

    name: str
    description: str
    stop_parameters: tuple[Parameter, ...]
    stop_logit: Callable
    needs_table: bool = False

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return (*PRIOR_PARAMETERS, *self.stop_parameters, *TRUST_PARAMETERS)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def stopping_parameter(self) -> str:
        return self.stop_parameters[0].name


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DecisionTables:
    """log-probabilities of each decision per state, [..., 26, 26] each."""

    log_stop: jnp.ndarray  # 0 at n = 25 (forced, never scored)
    log_continue: jnp.ndarray  # -inf at n = 25
    log_trust: jnp.ndarray
    log_distrust: jnp.ndarray


MODELS: Registry[SamplingModel] = Registry("sampling model", defined_in=__name__)


def register(model: SamplingModel) -> SamplingModel:
    return MODELS.register(model.name, model)


def get_model(name: str | SamplingModel) -> SamplingModel:
    """The registered model ``name`` (a model passes through)."""
    return name if isinstance(name, SamplingModel) else MODELS.get(name)


def registered() -> tuple[str, ...]:
    return MODELS.names()


def _expand(params: dict) -> dict:
    # scalars or [...] arrays -> [..., 1, 1], to broadcast against the state tables
    return {k: jnp.asarray(v, float)[..., None, None] for k, v in params.items()}


def trust_logit(p: dict, n, g):
    """The trust rule's log-odds before lapses at states (n, g)."""
    mu = belief.posterior_mean(*prior_of(p), n, g)
    return p["trust_sharpness"] * (mu - 0.5) + p["trust_bias"]


def stop_log_probabilities(stop_logit, n):
    """(log P(stop), log P(open another)) from the stop's log-odds at states with n tiles:
    the forced stop at 25 tiles is certain (log 1) and opening there impossible."""
    forced = n == belief.MAX_TILES
    log_stop = jnp.where(forced, 0.0, jax.nn.log_sigmoid(stop_logit))
    log_continue = jnp.where(forced, -jnp.inf, jax.nn.log_sigmoid(-stop_logit))
    return log_stop, log_continue


def trust_log_probabilities(p: dict, n, g):
    """(log P(trust), log P(not)) at states (n, g), lapses included."""
    logit = trust_logit(p, n, g)
    lapse = p["lapse"]
    half = jnp.log(lapse / 2.0)
    log_trust = jnp.logaddexp(half, jnp.log1p(-lapse) + jax.nn.log_sigmoid(logit))
    log_distrust = jnp.logaddexp(half, jnp.log1p(-lapse) + jax.nn.log_sigmoid(-logit))
    return log_trust, log_distrust


def decision_tables(model: SamplingModel | str, params: dict) -> DecisionTables:
    """Every decision's log-probability per state under ``model`` with ``params``."""
    model = get_model(model)
    p = _expand(params)
    n, g = belief.state_grid(jnp.result_type(*p.values()))
    log_stop, log_continue = stop_log_probabilities(model.stop_logit(p, n, g), n)
    return DecisionTables(log_stop, log_continue, *trust_log_probabilities(p, n, g))


def stop_logit_at(model: SamplingModel | str, params: dict, subject, n, g):
    """The stop's log-odds at states (n, g) of participants ``subject`` (int arrays of one
    shape), parameters {name: [S]}."""
    model = get_model(model)
    if model.needs_table:
        table = model.stop_logit(_expand(params), *belief.state_grid(params["prior_green"].dtype))
        return table[subject, n, g]
    cells = {k: jnp.asarray(v)[subject] for k, v in params.items()}
    dtype = cells["prior_green"].dtype
    return model.stop_logit(cells, n.astype(dtype), g.astype(dtype))


# ----------------------------------------------------------------------------- stopping rules


def _fixed_evidence(p, n, g):
    return p["stop_sharpness"] * (n - p["stop_tiles"])


def _sample_cost(p, n, g):
    # the grid's own (n, g): optimal stopping values are solved over every state at once
    stop, sample = belief.stopping_values(*prior_of(p), p["cost"])
    # at n = 25 opening is impossible (-inf): the forced stop is masked by the caller
    gap = jnp.where(n == belief.MAX_TILES, 0.0, stop - sample)
    return p["stop_sharpness"] * gap / p["cost"]


def _uncertainty(p, n, g):
    sd = belief.posterior_sd(*prior_of(p), n, g)
    return p["stop_sharpness"] * (jnp.log(p["sd_threshold"]) - jnp.log(sd))


def _sharpness(loc: float) -> Parameter:
    return Parameter(
        "stop_sharpness",
        0.0,
        math.inf,
        "log",
        loc,
        1.0,
        "how sharply the stop follows the rule",
    )


FIXED_EVIDENCE = register(
    SamplingModel(
        "fixed_evidence",
        "stop after a fixed number of tiles, whatever they show",
        (
            Parameter(
                "stop_tiles",
                0.0,
                math.inf,
                "log",
                math.log(12.0),
                1.0,
                "tiles opened before the stop becomes likelier than not",
            ),
            _sharpness(0.0),
        ),
        _fixed_evidence,
    )
)
SAMPLE_COST = register(
    SamplingModel(
        "sample_cost",
        "each tile has a cost, weighed against the value of the information it may bring "
        "(optimal stopping)",
        (
            Parameter(
                "cost",
                0.0,
                math.inf,
                "log",
                math.log(0.02),
                1.5,
                "cost of one tile, in units of the trust stake",
            ),
            _sharpness(math.log(3.0)),
        ),
        _sample_cost,
        needs_table=True,
    )
)
UNCERTAINTY = register(
    SamplingModel(
        "uncertainty",
        "stop once the posterior's uncertainty (its sd) falls to a threshold",
        (
            Parameter(
                "sd_threshold",
                0.0,
                0.5,
                "logit",
                -1.4,
                1.0,
                "posterior sd at which the stop becomes likelier than not",
            ),
            _sharpness(math.log(5.0)),
        ),
        _uncertainty,
    )
)
