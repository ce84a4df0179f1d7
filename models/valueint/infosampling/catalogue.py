"""One declarative spec per model of the sampling task, and its decision tables.

Every model shares the belief (``valueint.infosampling.belief``) and the trust rule, and
has a stopping rule of its own.  Per state (n tiles opened, g green; ``belief.state_grid``):

    P(trust | n, g) = lapse / 2 + (1 - lapse) * sigmoid(trust_sharpness * (mu - trust_threshold))
    P(stop | n, g)  = sigmoid(stop_logit(n, g)),                                   n < 25

where mu is the posterior mean under the prior Beta(prior_green, prior_red): a prior mean
m = green / (green + red) and a strength k = green + red pseudo-tiles (its uncertainty,
prior sd = sqrt(m (1 - m) / (k + 1)); ``prior_of``).  The prior is parameterized by its
two pseudo-counts, not by (m, k), because the data pin a participant's (log green, log
red) down along nearly straight lines where (logit m, log k) bend into a banana: NUTS
needs a third of the steps.  ``trust_threshold`` is the believed reciprocation at which
trusting and not trusting are equally likely: below 1/2 it is a bias toward trust
(trusting a peer believed to reciprocate less than half the time), above 1/2 a bias
against.  It is a threshold on the belief rather than an offset on the log-odds so that
it does not trade off with ``trust_sharpness`` (an offset's meaning changes with the
sharpness it is added to), and so that a stopping rule can weigh evidence against it.
``lapse`` is the chance of a trust choice made at random.  After 25 tiles the stop is
forced and is not scored.

The stopping rules:

- ``fixed_evidence``: stop after about ``stop_tiles`` tiles, whatever they showed,
  stop_logit = stop_sharpness * (n - stop_tiles);
- ``sample_cost``: each tile costs ``cost`` (in units of the trust stake) and is weighed
  against what it is worth, the optimal-stopping value of going on (``belief.stopping_values``)
  for a participant whose stakes put their indifference at their own ``trust_threshold``
  (soft values: every max of the induction is a soft max at the temperature of the
  participant's own choices, cost / stop_sharpness for stopping and 1 / trust_sharpness
  for trust, so the values are those of the choices this model makes),
  stop_logit = stop_sharpness * (value of stopping - value of opening) / cost, which is
  stop_sharpness * (1 - VOI / cost) with VOI what opening is expected to add to the value
  of stopping now: indifference where a tile is worth its cost, log-odds stop_sharpness
  where it is worth nothing;
- ``uncertainty``: stop once the posterior sd falls to ``sd_threshold``,
  stop_logit = stop_sharpness * (log sd_threshold - log sd(n, g));
- ``confidence``: stop once the posterior is sure enough on which side of the trust
  threshold the peer lies: z = (mu - trust_threshold) / sd(n, g) is that distance in
  posterior sds, and
  stop_logit = stop_sharpness * (log |z| - log confidence),
  with |z| smoothed within a posterior sd of the threshold, sqrt(z^2 + 1), so that the
  log-density has no kink where a belief crosses the threshold (a narrower smoothing,
  0.1 sd, left the population's trust threshold with a curvature that changed sharply
  wherever it crossed a visited belief: NUTS then ran 900 leapfrog steps a draw).
  Uncertainty that no longer bears on the decision does not keep it sampling: it is the
  ``uncertainty`` rule plus the belief's distance to the threshold;
- ``sd_and_distance``: the two weighed separately,
  stop_logit = stop_sharpness * (log sd_threshold - log sd(n, g))
  + distance_weight * log sqrt(z^2 + 1),
  so that the data say how much each counts (``distance_weight`` = 0 is ``uncertainty``;
  ``confidence`` ties the two weights together); the distance's weight has an age curve
  but no participant-level spread.

Parameters are natural-scale scalars (or arrays that broadcast) in a dict; the tables
are [..., 26, 26] and jittable, vmappable and differentiable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from valueint.inference.parameters import Parameter
from valueint.infosampling import belief
from valueint.registry import Registry

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
        "trust_threshold",
        0.0,
        1.0,
        "logit",
        0.0,
        1.0,
        "believed reciprocation at which trust is a coin flip (below 1/2: a bias toward trust)",
    ),
    Parameter(
        "trust_sharpness",
        0.0,
        math.inf,
        "log",
        math.log(15.0),
        1.0,
        "how sharply trust follows the posterior mean about the threshold",
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


POPULATION_ONLY = ("stop_sharpness", "trust_threshold", "trust_sharpness", "lapse")


@dataclasses.dataclass(frozen=True)
class SamplingModel:
    """A model of the sampling task: the belief, one stopping rule and the trust rule.

    ``stop_logit(params, n, g)`` is the log-odds of stopping at states (n, g), parameter
    arrays broadcasting against them; a rule whose value at one state depends on every
    other (``needs_table``: optimal stopping) is evaluated on the whole grid, parameters
    [..., 1, 1], and read at the states wanted.  ``stop_parameters`` are the rule's own
    parameters (the first says how much is sampled: ``stopping_parameter``).

    ``population_only`` names the parameters that a hierarchical fit gives an age curve
    but no participant-level spread (``varying`` are the others: the prior's two
    pseudo-counts and the rule's own stopping parameter).  Why: a participant's own stop
    sharpness, trust threshold, trust sharpness or lapse is pinned down only by a few
    near-deterministic choices, so its likelihood is a cliff on one side and flat on the
    other; 157 such parameters leave a sampler hundreds of leapfrog steps per draw and
    chains that never mix.  Individual differences in trust still come through each
    participant's prior, which moves their belief and so their trust choices.
    """

    name: str
    description: str
    stop_parameters: tuple[Parameter, ...]
    stop_logit: Callable
    needs_table: bool = False
    population_only: tuple[str, ...] = POPULATION_ONLY

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return (*PRIOR_PARAMETERS, *self.stop_parameters, *TRUST_PARAMETERS)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def varying(self) -> tuple[str, ...]:
        """The parameters that vary between participants in a hierarchical fit."""
        return tuple(p for p in self.parameter_names if p not in self.population_only)

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


SAMPLING_MODELS: Registry[SamplingModel] = Registry("sampling model", defined_in=__name__)


def register(model: SamplingModel) -> SamplingModel:
    return SAMPLING_MODELS.register(model.name, model)


def get_model(name: str | SamplingModel) -> SamplingModel:
    """The registered model ``name`` (a model passes through)."""
    return name if isinstance(name, SamplingModel) else SAMPLING_MODELS.get(name)


def registered() -> tuple[str, ...]:
    return SAMPLING_MODELS.names()


def _expand(params: dict) -> dict:
    # scalars or [...] arrays -> [..., 1, 1], to broadcast against the state tables
    return {k: jnp.asarray(v, float)[..., None, None] for k, v in params.items()}


def trust_logit(p: dict, n, g):
    """The trust rule's log-odds before lapses at states (n, g)."""
    mu = belief.posterior_mean(*prior_of(p), n, g)
    return p["trust_sharpness"] * (mu - p["trust_threshold"])


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
    # soft values: the participant's own stop and trust choices are logistic, at
    # temperatures cost / stop_sharpness and 1 / trust_sharpness
    stop, sample = belief.stopping_values(
        *prior_of(p),
        p["cost"],
        p["trust_threshold"],
        temperature=p["cost"] / p["stop_sharpness"],
        trust_temperature=1.0 / p["trust_sharpness"],
    )
    # at n = 25 opening is impossible (-inf): the forced stop is masked by the caller
    gap = jnp.where(n == belief.MAX_TILES, 0.0, stop - sample)
    return p["stop_sharpness"] * gap / p["cost"]


SMOOTHING = 1.0  # z^2 + SMOOTHING: |z| smoothed within a posterior sd of the threshold


def _confidence(p, n, g):
    mean_and_count = prior_of(p)
    z = (belief.posterior_mean(*mean_and_count, n, g) - p["trust_threshold"]) / (
        belief.posterior_sd(*mean_and_count, n, g)
    )
    log_distance = 0.5 * jnp.log(z**2 + SMOOTHING)
    return p["stop_sharpness"] * (log_distance - jnp.log(p["confidence"]))


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
CONFIDENCE = register(
    SamplingModel(
        "confidence",
        "stop once the posterior is sure, in posterior sds, on which side of the trust "
        "threshold the peer lies",
        (
            Parameter(
                "confidence",
                0.0,
                math.inf,
                "log",
                math.log(2.0),
                1.0,
                "distance of the belief from the trust threshold, in posterior sds, at "
                "which the stop becomes likelier than not",
            ),
            _sharpness(math.log(2.0)),
        ),
        _confidence,
    )
)


def _sd_and_distance(p, n, g):
    mean_and_count = prior_of(p)
    sd = belief.posterior_sd(*mean_and_count, n, g)
    z = (belief.posterior_mean(*mean_and_count, n, g) - p["trust_threshold"]) / sd
    log_distance = 0.5 * jnp.log(z**2 + SMOOTHING)
    return (
        p["stop_sharpness"] * (jnp.log(p["sd_threshold"]) - jnp.log(sd))
        + p["distance_weight"] * log_distance
    )


SD_AND_DISTANCE = register(
    SamplingModel(
        "sd_and_distance",
        "stop on the posterior's sd and its distance to the trust threshold, each with a "
        "weight of its own",
        (
            UNCERTAINTY.stop_parameters[0],
            _sharpness(math.log(5.0)),
            Parameter(
                "distance_weight",
                -math.inf,
                math.inf,
                "identity",
                0.0,
                1.0,
                "weight of the log distance to the trust threshold, in posterior sds, on "
                "the stop's log-odds (0: the uncertainty rule)",
            ),
        ),
        _sd_and_distance,
        population_only=(*POPULATION_ONLY, "distance_weight"),
    )
)
