"""Trial-by-trial learning models of two-option choice data, as registered ``ModelSpec``s.

Each model is a learner: a state that starts afresh at every block, a choice rule
p(choice = 1) = sigmoid(logit(state, trial)) and an update after the choice.  One
generic ``lax.scan`` turns a learner into a per-trial log-likelihood and into a
simulator, so the two cannot drift apart.  Missed trials (``mask`` False) score 0
and leave the state as it was; their data are never read.

Models (natural-scale parameters in brackets):

* ``rw``               Rescorla-Wagner values Q, softmax choice [alpha, beta].
* ``rw_recipient``     one learning rate per recipient/context: the learning-rate hypothesis
                       [alpha_self, alpha_other, alpha_none, beta].
* ``value_recipient``  one learning rate; the outcome is worth w_context to the learner
                       (w_self = 1): the subjective-value hypothesis [alpha, beta, w_other, w_none].
* ``isr_bayes``        RW on the extrinsic outcome plus a Gaussian belief over the caregiver's
                       reward weights learned from praise; acted on when watched and, with
                       weight w, when not [alpha, beta, w].
* ``no_isr``           ``isr_bayes`` with w = 0: the belief matters only when watched
                       [alpha, beta].
* ``choice_kernel``    perseveration only, no reward learning [alpha_c, beta_c].
* ``rw_ck``            ``rw`` plus a choice kernel [alpha, beta, alpha_c, beta_c].

Shared choices, documented once:

* Q starts at ``q_init`` = 0 for both options (an option): no reward is expected before any
  is seen.  Then ``value_recipient``'s values are exactly w_context times a plain RW learner's,
  so w scales the asymptotic value difference and never the learning speed, and a w = 0
  context learns nothing at all (with q_init = 0.5 the chosen option's value would decay
  towards 0, a spurious alternation).  Within one context w and beta enter only as the
  product beta * w; w_self = 1 fixes the scale, so w_other and w_none are identified by
  a subject's self trials (one beta for all contexts), never from other trials alone.
* beta is an inverse temperature on (0, inf) with a log transform rather than a hard ceiling:
  the scale of the value difference differs between models (w rescales it, praise adds to it),
  so a ceiling right for one would bind in another; the prior keeps it finite.
* Simulated outcomes are Bernoulli(reward_probs[choice]); on missed trials choice, outcome
  and praise are written as 0 and the mask is kept.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from valueint.isr.belief import adf_update, prior_belief
from valueint.isr.feedback import expected_feedback, feedback_probabilities
from valueint.trials.specs import ModelSpec, Parameter, TrialArrays, register

N_OPTIONS = 2
CONTEXTS = ("self", "other", "none")
FIELDS = ("choice", "outcome", "praise", "present", "context", "mask")

# --- design constants (``options``) ---------------------------------------------------

BASE_OPTIONS = {
    "reward_probs": (0.25, 0.75),  # P(reward) for option 0 and 1; option 1 is the better symbol
    "q_init": 0.0,
}
ISR_OPTIONS = {
    **BASE_OPTIONS,
    # feature vector phi_k of each option (rows); one-hot: each option is its own feature
    "features": ((1.0, 0.0), (0.0, 1.0)),
    # the simulated caregiver's weights theta_c: approves of option 1, disapproves of option 0
    "caregiver_theta": (-1.0, 1.0),
    # P(y = 1 | theta) = sigmoid(praise_beta * theta . phi + praise_bias), as in the core;
    # the learner's model of the praise is the caregiver's own
    "praise_beta": 2.0,
    "praise_bias": -1.0,
    "disapproval": 0.0,  # 1.0: the caregiver may answer -1
    "prior_sd": 1.0,  # the learner's prior N(0, prior_sd^2 I) over theta_c (core default)
    "social_reward": 1.0,  # value of one expected praise, in units of one reward point
}


def _is_concrete(x) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def resolve_options(model: str, options: dict | None) -> dict:
    """The model's design constants: its defaults updated with ``options``, checked.

    Unknown names and wrong shapes raise ValueError naming the model and the option;
    values are range-checked where they are concrete (not traced).
    """
    defaults = ISR_OPTIONS if model in ("isr_bayes", "no_isr") else BASE_OPTIONS
    options = {} if options is None else dict(options)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(
            f"model {model!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(defaults)}"
        )
    resolved = {**defaults, **options}
    reward_probs = jnp.asarray(resolved["reward_probs"])
    if reward_probs.shape != (N_OPTIONS,):
        raise ValueError(
            f"model {model!r}: option 'reward_probs' has shape {reward_probs.shape}; "
            f"expected ({N_OPTIONS},), one reward probability per option"
        )
    if _is_concrete(reward_probs) and not np.all(
        (np.asarray(reward_probs) >= 0) & (np.asarray(reward_probs) <= 1)
    ):
        raise ValueError(
            f"model {model!r}: option 'reward_probs' = {np.asarray(reward_probs).tolist()} "
            "must lie in [0, 1]"
        )
    if "features" in resolved:
        features = jnp.asarray(resolved["features"])
        theta = jnp.asarray(resolved["caregiver_theta"])
        if features.ndim != 2 or features.shape[0] != N_OPTIONS:
            raise ValueError(
                f"model {model!r}: option 'features' has shape {features.shape}; "
                f"expected ({N_OPTIONS}, n_features), one feature row per option"
            )
        if theta.shape != features.shape[1:]:
            raise ValueError(
                f"model {model!r}: option 'caregiver_theta' has shape {theta.shape}; "
                f"expected ({features.shape[1]},), one weight per feature"
            )
        prior_sd = resolved["prior_sd"]
        if _is_concrete(prior_sd) and not float(prior_sd) > 0:
            raise ValueError(f"model {model!r}: option 'prior_sd' = {prior_sd} must be > 0")
    return resolved


# --- checks on data and parameters --------------------------------------------------


def _check_shapes(model: str, data: TrialArrays):
    shapes = {name: jnp.shape(getattr(data, name)) for name in FIELDS}
    if len(shapes["choice"]) != 2 or len(set(shapes.values())) != 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(
            f"model {model!r}: one subject's trial arrays must all have the shape "
            f"[block, trial]; got {listed}"
        )


def _check_params(model: str, names: tuple[str, ...], params: dict):
    missing = [n for n in names if n not in params]
    extra = sorted(set(params) - set(names))
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(extra)}"] if extra else []
        )
        raise KeyError(
            f"model {model!r}: parameters {'; '.join(problems)} "
            f"(expected exactly: {', '.join(names)})"
        )


def check_trial_arrays(data: TrialArrays, model: str = "") -> TrialArrays:
    """Raise ValueError at the first (block, trial) whose values a model cannot use.

    For concrete arrays [block, trial] (run before fitting, not inside ``jit``): observed
    trials need choice in {0, 1}, context in {0, 1, 2}, present in {0, 1}, finite outcome
    and praise in {-1, 0, 1}.  Missed trials may hold anything.
    """
    where = f"model {model!r}: " if model else ""
    _check_shapes(model or "trial data", data)
    mask = np.asarray(data.mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"{where}mask has dtype {mask.dtype}; expected bool")
    checks = (
        ("choice", lambda x: np.isin(x, (0, 1)), "0 or 1"),
        ("context", lambda x: np.isin(x, (0, 1, 2)), "0 (self), 1 (other) or 2 (no one)"),
        ("present", lambda x: np.isin(x, (0.0, 1.0)), "0 or 1"),
        ("outcome", np.isfinite, "a finite number"),
        ("praise", lambda x: np.isin(x, (-1.0, 0.0, 1.0)), "-1, 0 or 1"),
    )
    for name, ok, expected in checks:
        values = np.asarray(getattr(data, name))
        bad = np.argwhere(mask & ~ok(values))
        if len(bad):
            block, trial = (int(i) for i in bad[0])
            raise ValueError(
                f"{where}{name} = {values[block, trial].item()!r} at block {block}, trial {trial} "
                f"(an observed trial); expected {expected}"
            )
    return data


# --- learners -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Learner:
    """The parts of a model that differ; ``block_loglik`` / ``block_simulate`` do the rest.

    init(params, options, dtype) -> state;  logit(params, options, state, trial) -> the
    log-odds of choice 1 (reads only the trial's design: context, present);
    update(params, options, state, trial) -> state after the trial's choice and feedback.
    """

    init: Callable
    logit: Callable
    update: Callable
    simulates_praise: bool = False
    # Delta-rule learners (Q_c <- Q_c + alpha_t (target_t - Q_c), choice by
    # sigmoid(beta (Q_1 - Q_0))) also give delta_rule(params, options, block) ->
    # (alpha[T], target[T]), which the log-likelihood uses for a faster loop.
    delta_rule: Callable | None = None


def _one_hot(choice, dtype):
    return (jnp.arange(N_OPTIONS) == choice).astype(dtype)


def _q_init(options, dtype):
    return jnp.full(N_OPTIONS, options["q_init"], dtype)


def _rw_step(q, choice, target, alpha):
    """Q_choice <- Q_choice + alpha (target - Q_choice); the other option is untouched."""
    return q + alpha * _one_hot(choice, q.dtype) * (target - q)


def _contextual(values, context):
    """The value for this trial's context from (self, other, none); a select, not a
    gather, which is cheaper under grad."""
    self_value, other_value, none_value = values
    return jnp.where(context == 0, self_value, jnp.where(context == 1, other_value, none_value))


def _per_trial(value, block):
    return jnp.broadcast_to(value, block.outcome.shape)


rw = Learner(
    init=lambda p, o, dtype: _q_init(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: _rw_step(q, t.choice, t.outcome, p["alpha"]),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
)

rw_recipient = Learner(
    init=lambda p, o, dtype: _q_init(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: _rw_step(
        q,
        t.choice,
        t.outcome,
        _contextual((p["alpha_self"], p["alpha_other"], p["alpha_none"]), t.context),
    ),
    delta_rule=lambda p, o, b: (
        _contextual((p["alpha_self"], p["alpha_other"], p["alpha_none"]), b.context),
        b.outcome,
    ),
)

value_recipient = Learner(
    init=lambda p, o, dtype: _q_init(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: _rw_step(
        q,
        t.choice,
        _contextual((jnp.ones_like(p["w_other"]), p["w_other"], p["w_none"]), t.context)
        * t.outcome,
        p["alpha"],
    ),
    delta_rule=lambda p, o, b: (
        _per_trial(p["alpha"], b),
        _contextual((jnp.ones_like(p["w_other"]), p["w_other"], p["w_none"]), b.context)
        * b.outcome,
    ),
)


def _ck_step(ck, choice, alpha_c):
    """The choice kernel moves towards the one-hot of the last choice."""
    return ck + alpha_c * (_one_hot(choice, ck.dtype) - ck)


choice_kernel = Learner(
    init=lambda p, o, dtype: jnp.zeros(N_OPTIONS, dtype),
    logit=lambda p, o, ck, t: p["beta_c"] * (ck[1] - ck[0]),
    update=lambda p, o, ck, t: _ck_step(ck, t.choice, p["alpha_c"]),
)

rw_ck = Learner(
    init=lambda p, o, dtype: (_q_init(o, dtype), jnp.zeros(N_OPTIONS, dtype)),
    logit=lambda p, o, s, t: p["beta"] * (s[0][1] - s[0][0]) + p["beta_c"] * (s[1][1] - s[1][0]),
    update=lambda p, o, s, t: (
        _rw_step(s[0], t.choice, t.outcome, p["alpha"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
)


# ISR learner.  State: Q (RW on the extrinsic outcome only) and a Gaussian belief over the
# caregiver's weights theta_c, updated by ``adf_update`` from the praise y that follows
# the chosen option's features, on present trials only (absent: no evidence).
# Choice: U_k = Q_k + (present + (1 - present) w) R_k with R_k = social_reward E[y | mu . phi_k],
# the praise the learner expects for option k from its posterior mean mu (0 for an option
# with phi_k = 0, which the caregiver ignores), as the core's internal reward.  Watched, the
# learner anticipates the caregiver's praise in full; unwatched, it keeps a fraction w of it
# as internal social reward: w = 1 is full internalization, w = 0 (``no_isr``) acts on
# extrinsic value alone when no one watches.  Beliefs restart each block (new symbols).


def _isr_w(params):
    return params["w"] if "w" in params else jnp.zeros_like(params["beta"])


def _praise_model(options, dtype):
    """(praise_beta, praise_bias, disapproval) at the computation's precision."""
    return tuple(
        jnp.asarray(options[k], dtype) for k in ("praise_beta", "praise_bias", "disapproval")
    )


def _isr_init(params, options, dtype):
    features = jnp.asarray(options["features"], dtype)
    return _q_init(options, dtype), prior_belief(features.shape[1], options["prior_sd"], dtype)


def _isr_logit(params, options, state, trial):
    q, belief = state
    features = jnp.asarray(options["features"], q.dtype)
    expected_praise = expected_feedback(features @ belief.mean, *_praise_model(options, q.dtype))
    salient = jnp.any(features != 0, axis=1)
    social_reward = jnp.asarray(options["social_reward"], q.dtype)
    social = social_reward * jnp.where(salient, expected_praise, 0.0)
    weight = trial.present + (1.0 - trial.present) * _isr_w(params)
    utility = q + weight * social
    return params["beta"] * (utility[1] - utility[0])


def _isr_update(params, options, state, trial):
    q, belief = state
    phi = jnp.asarray(options["features"], q.dtype)[trial.choice]
    belief = adf_update(
        belief, phi, trial.praise, *_praise_model(options, q.dtype), observed=trial.present > 0
    )
    # posterior.py's NumPy float64 constants promote float32 inputs when x64 is on
    belief = jax.tree.map(lambda x: x.astype(q.dtype), belief)
    return _rw_step(q, trial.choice, trial.outcome, params["alpha"]), belief


isr = Learner(init=_isr_init, logit=_isr_logit, update=_isr_update, simulates_praise=True)


# --- the generic scan ---------------------------------------------------------------------


def _observed_only(trial: TrialArrays) -> TrialArrays:
    """Missed trials' feedback is replaced by 0 so that padding (even nan) is never read."""
    return trial.replace(
        choice=jnp.where(trial.mask, trial.choice, 0),
        outcome=jnp.where(trial.mask, trial.outcome, 0.0),
        praise=jnp.where(trial.mask, trial.praise, 0.0),
    )


def _keep_if_missed(mask, new_state, old_state):
    return jax.tree.map(lambda new, old: jnp.where(mask, new, old), new_state, old_state)


def _dtype(params, data):
    return jnp.result_type(float, data.outcome, *params.values())


def block_loglik(learner: Learner, params, options, block: TrialArrays):
    """[trial] log p(observed choice) for one block (0 where missed)."""
    if learner.delta_rule is not None:
        return _block_loglik_delta_rule(learner, params, options, block)
    return block_loglik_scan(learner, params, options, block)


def _block_loglik_delta_rule(learner: Learner, params, options, block: TrialArrays):
    """The same numbers as ``block_loglik_scan`` for a delta-rule learner choosing by
    sigmoid(beta (Q_1 - Q_0)), in a leaner loop: per-trial learning rates and targets are
    computed for the whole block first, and each step is a handful of fused array ops
    (this loop is where a hierarchical fit spends its time)."""
    block = _observed_only(block)
    alpha, target = learner.delta_rule(params, options, block)
    dtype = alpha.dtype
    chose_1 = (block.choice == 1).astype(dtype)
    rate = alpha * block.mask.astype(dtype)  # a missed trial changes nothing
    beta = params["beta"]

    def step(q, trial):
        q0, q1 = q
        c1, r, a = trial
        logp = jax.nn.log_sigmoid((2.0 * c1 - 1.0) * beta * (q1 - q0))
        q1 = q1 + a * c1 * (r - q1)
        q0 = q0 + a * (1.0 - c1) * (r - q0)
        return (q0, q1), logp

    q_init = jnp.asarray(options["q_init"], dtype)
    _, logp = jax.lax.scan(step, (q_init, q_init), (chose_1, target, rate))
    return jnp.where(block.mask, logp, 0.0)


def block_loglik_scan(learner: Learner, params, options, block: TrialArrays):
    """[trial] log p(observed choice) for one block by stepping through its trials."""
    dtype = _dtype(params, block)

    def step(state, trial):
        trial = _observed_only(trial)
        logit = learner.logit(params, options, state, trial)
        logp = jnp.where(trial.choice == 1, jax.nn.log_sigmoid(logit), jax.nn.log_sigmoid(-logit))
        state = _keep_if_missed(trial.mask, learner.update(params, options, state, trial), state)
        return state, jnp.where(trial.mask, logp, 0.0)

    _, loglik = jax.lax.scan(step, learner.init(params, options, dtype), block)
    return loglik


def _caregiver_praise(options, choice, present, uniform, dtype):
    """y in {-1, 0, 1} from the caregiver, by inverse CDF; 0 when absent or not salient."""
    phi = jnp.asarray(options["features"], dtype)[choice]
    u = jnp.dot(jnp.asarray(options["caregiver_theta"], dtype), phi)
    p_plus, p_minus = feedback_probabilities(u, *_praise_model(options, dtype))
    y = jnp.where(uniform < p_plus, 1.0, jnp.where(uniform < p_plus + p_minus, -1.0, 0.0))
    return jnp.where((present > 0) & jnp.any(phi != 0), y, 0.0).astype(dtype)


def block_simulate(learner: Learner, params, options, block: TrialArrays, uniforms: dict):
    """One block's trials with simulated choice, outcome (and praise), from given uniforms."""
    dtype = _dtype(params, block)
    reward_probs = jnp.asarray(options["reward_probs"], dtype)

    def step(state, inputs):
        trial, u = inputs
        logit = learner.logit(params, options, state, trial)
        choice = (u["choice"] < jax.nn.sigmoid(logit)).astype(jnp.int32)
        outcome = (u["outcome"] < reward_probs[choice]).astype(dtype)
        praise = trial.praise
        if learner.simulates_praise:
            praise = _caregiver_praise(options, choice, trial.present, u["praise"], dtype)
        trial = _observed_only(
            trial.replace(choice=choice, outcome=outcome, praise=praise.astype(trial.praise.dtype))
        )
        state = _keep_if_missed(trial.mask, learner.update(params, options, state, trial), state)
        return state, trial

    _, trials = jax.lax.scan(step, learner.init(params, options, dtype), (block, uniforms))
    return trials


def draw_uniforms(key, shape, dtype=None) -> dict:
    """The uniform numbers one simulation uses, [block, trial] each: choice, outcome, praise."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    keys = jax.random.split(key, 3)
    return {
        name: jax.random.uniform(k, shape, dtype)
        for name, k in zip(("choice", "outcome", "praise"), keys, strict=True)
    }


def _as_design(data: TrialArrays, dtype) -> TrialArrays:
    """Integer indices, a boolean mask and floats of the computation's precision."""
    return TrialArrays(
        choice=jnp.asarray(data.choice).astype(jnp.int32),
        outcome=jnp.asarray(data.outcome).astype(dtype),
        praise=jnp.asarray(data.praise).astype(dtype),
        present=jnp.asarray(data.present).astype(dtype),
        context=jnp.asarray(data.context).astype(jnp.int32),
        mask=jnp.asarray(data.mask).astype(bool),
    )


def _prepared(name, parameter_names, params, data, options):
    """Checked inputs in one precision: (params, data, options, dtype)."""
    _check_params(name, parameter_names, params)
    _check_shapes(name, data)
    options = resolve_options(name, options)
    dtype = _dtype(params, data)
    params = {k: jnp.asarray(v, dtype) for k, v in params.items()}
    return params, _as_design(data, dtype), options, dtype


def make_loglik(name: str, learner: Learner, parameter_names: tuple[str, ...]):
    def loglik(params: dict, data: TrialArrays, options: dict | None = None):
        params, data, options, _ = _prepared(name, parameter_names, params, data, options)
        return jax.vmap(lambda block: block_loglik(learner, params, options, block))(data)

    loglik.__doc__ = f"[block, trial] log p(choice) of model {name!r} (0 where missed)."
    return loglik


def make_simulate_from_uniforms(name: str, learner: Learner, parameter_names: tuple[str, ...]):
    def simulate_from_uniforms(params: dict, data: TrialArrays, uniforms: dict, options=None):
        params, data, options, dtype = _prepared(name, parameter_names, params, data, options)
        uniforms = {k: jnp.asarray(uniforms[k], dtype) for k in ("choice", "outcome", "praise")}
        return jax.vmap(lambda b, u: block_simulate(learner, params, options, b, u))(data, uniforms)

    simulate_from_uniforms.__doc__ = (
        f"Model {name!r}'s simulated TrialArrays on the design in ``data``, driven by "
        "``uniforms`` (see ``draw_uniforms``); deterministic."
    )
    return simulate_from_uniforms


def make_simulate(simulate_from_uniforms: Callable):
    def simulate(params: dict, data: TrialArrays, key, options: dict | None = None):
        dtype = _dtype(params, data)
        uniforms = draw_uniforms(key, jnp.shape(data.choice), dtype)
        return simulate_from_uniforms(params, data, uniforms, options)

    return simulate


# --- parameters and their default priors ----------------------------------------------
# Priors are Normal(loc, scale) on the unconstrained scale.
#   Learning rates: logit-normal(0, 1.5), close to flat on (0, 1) without piling mass at
#     the bounds (a scale above ~1.8 would).
#   beta: log-normal(log 4, 1): median 4 (a learned value difference of 0.5 then gives
#     p = 0.88), 95% within (0.6, 28).
#   w_other, w_none on (-1, 2), logit-normal(0, 1): median 0.5, halfway between
#     indifference (0) and valuing the recipient's reward as one's own (1); 95% within
#     (-0.6, 1.6).  0 lies inside the range so that "no value" is not a boundary, and a
#     negative w can express a preference against the recipient's reward.
#   ISR w on (0, inf), log-normal(0, 1): median 1 (full internalization), 95% within
#     (0.14, 7.1); w = 0 is its own model, ``no_isr``.
#   beta_c on the real line, Normal(1, 2): mild perseveration expected; alternation
#     (beta_c < 0) and strong habits (beta_c ~ 5) are well inside the prior.


def learning_rate(name: str, description: str) -> Parameter:
    return Parameter(name, 0.0, 1.0, "logit", 0.0, 1.5, description)


BETA = Parameter(
    "beta", 0.0, math.inf, "log", math.log(4.0), 1.0, "inverse temperature of the softmax"
)
ALPHA = learning_rate("alpha", "learning rate of the option values")
ALPHA_C = learning_rate("alpha_c", "learning rate of the choice kernel")
BETA_C = Parameter(
    "beta_c",
    -math.inf,
    math.inf,
    "identity",
    1.0,
    2.0,
    "weight of the choice kernel (> 0 perseveration, < 0 alternation)",
)


def value_weight(name: str, recipient: str) -> Parameter:
    return Parameter(
        name, -1.0, 2.0, "logit", 0.0, 1.0, f"value of a reward for {recipient}, self = 1"
    )


W_ISR = Parameter(
    "w", 0.0, math.inf, "log", 0.0, 1.0, "weight of the internalized praise when no one watches"
)

CORE = ("subject", "block", "trial", "choice")
MODELS = (
    (
        "rw",
        "Rescorla-Wagner values with softmax choice",
        (ALPHA, BETA),
        (*CORE, "outcome"),
        rw,
    ),
    (
        "rw_recipient",
        "Rescorla-Wagner with one learning rate per recipient (self, other, no one)",
        (
            learning_rate("alpha_self", "learning rate when the reward is for oneself"),
            learning_rate("alpha_other", "learning rate when the reward is for another"),
            learning_rate("alpha_none", "learning rate when the reward is for no one"),
            BETA,
        ),
        (*CORE, "outcome", "context"),
        rw_recipient,
    ),
    (
        "value_recipient",
        "Rescorla-Wagner on the subjective value w_recipient * outcome (w_self = 1)",
        (ALPHA, BETA, value_weight("w_other", "another"), value_weight("w_none", "no one")),
        (*CORE, "outcome", "context"),
        value_recipient,
    ),
    (
        "isr_bayes",
        "RW on outcomes plus a Bayesian belief about the caregiver's values from praise, "
        "kept with weight w when no one watches",
        (ALPHA, BETA, W_ISR),
        (*CORE, "outcome", "praise", "caregiver_present"),
        isr,
    ),
    (
        "no_isr",
        "isr_bayes with w = 0: the caregiver's values count only when the caregiver watches",
        (ALPHA, BETA),
        (*CORE, "outcome", "praise", "caregiver_present"),
        isr,
    ),
    (
        "choice_kernel",
        "perseveration only: a choice kernel, no reward learning",
        (ALPHA_C, BETA_C),
        CORE,
        choice_kernel,
    ),
    (
        "rw_ck",
        "Rescorla-Wagner values plus a choice kernel",
        (ALPHA, BETA, ALPHA_C, BETA_C),
        (*CORE, "outcome"),
        rw_ck,
    ),
)

LEARNERS: dict[str, Learner] = {}
SIMULATE_FROM_UNIFORMS: dict[str, Callable] = {}


def _build(name, description, parameters, columns, learner) -> ModelSpec:
    names = tuple(p.name for p in parameters)
    from_uniforms = make_simulate_from_uniforms(name, learner, names)
    LEARNERS[name] = learner
    SIMULATE_FROM_UNIFORMS[name] = from_uniforms
    return register(
        ModelSpec(
            name=name,
            description=description,
            parameters=parameters,
            columns=columns,
            loglik=make_loglik(name, learner, names),
            simulate=make_simulate(from_uniforms),
        )
    )


SPECS: dict[str, ModelSpec] = {entry[0]: _build(*entry) for entry in MODELS}


def simulate_from_uniforms(
    model: str, params: dict, data: TrialArrays, uniforms: dict, options=None
) -> TrialArrays:
    """Simulate ``model`` replaying given uniforms [block, trial] (choice, outcome, praise)."""
    return SIMULATE_FROM_UNIFORMS[model](params, data, uniforms, options)
