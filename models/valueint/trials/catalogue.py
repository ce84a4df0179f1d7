"""The trial-by-trial models of two-option choice data, registered as ``ModelSpec``s.

Each model is a learning rule (``valueint.trials.learning``) with its parameters, default
priors, design constants (``options``) and data columns; the delta-rule family lives in
``valueint.trials.delta_rules`` and the ISR rule in ``valueint.trials.isr_rule``.

Models (natural-scale parameters in brackets):

* ``rw``               Rescorla-Wagner values Q, softmax choice [alpha, beta].
* ``rw_recipient``     one learning rate per recipient/context: the learning-rate hypothesis
                       [alpha_self, alpha_other, alpha_none, beta].
* ``value_recipient``  one learning rate; the outcome is worth w_context to the learner
                       (w_self = 1): the subjective-value hypothesis [alpha, beta, w_other, w_none].
* ``isr``              RW on the extrinsic outcome plus a Gaussian belief over the caregiver's
                       reward weights learned from praise; acted on when watched and, with
                       weight w, when not [alpha, beta, w].
* ``no_internalization``  ``isr`` with w = 0: the belief matters only when watched
                       [alpha, beta].
* ``choice_kernel``    perseveration only, no reward learning [alpha_c, beta_c].
* ``rw_ck``            ``rw`` plus a choice kernel [alpha, beta, alpha_c, beta_c].
* ``rw_asym``          ``rw`` with one learning rate for outcomes above the chosen value
                       and another for outcomes below it [alpha_pos, alpha_neg, beta].
* ``rw_asym_ck``       ``rw_asym`` plus a choice kernel [alpha_pos, alpha_neg, beta,
                       alpha_c, beta_c].
* ``bayes``            each value is the posterior mean of the option's payoff rate, with
                       q_init worth kappa observations: the n-th outcome of an option moves
                       it by 1 / (kappa + n), fast at first and slower with experience
                       [kappa, beta].
* ``bayes_ck``         ``bayes`` plus a choice kernel [kappa, beta, alpha_c, beta_c].
* ``bayes_recipient``  ``bayes`` with one kappa per recipient [kappa_self, kappa_other,
                       kappa_none, beta].
* ``rw_anti``          ``rw`` on anticorrelated symbols: the unchosen value moves towards
                       1 - outcome, so an unrewarded choice is evidence for the other
                       symbol [alpha, beta].
* ``rw_anti_ck``       ``rw_anti`` plus a choice kernel [alpha, beta, alpha_c, beta_c].
* ``rw_wsls``          a mixture of win-stay/lose-shift (weight omega) and ``rw``'s softmax
                       [alpha, beta, omega].

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
* Simulated outcomes replay the data's outcome schedule where it is known
  (``TrialArrays.outcome_unchosen``) and are Bernoulli(reward_probs[choice]) where it is
  not (``learning.block_simulate``); on missed trials choice, outcome and praise are
  written as 0 and the mask is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from valueint.inference.parameters import Parameter
from valueint.trials import delta_rules
from valueint.trials.isr_rule import isr
from valueint.trials.learning import (
    N_OPTIONS,
    UNIFORM_NAMES,
    LearningRule,
    as_design,
    block_loglik,
    block_simulate,
    computation_dtype,
    draw_uniforms,
)
from valueint.trials.specs import TRIAL_FIELDS, ModelSpec, TrialArrays, register

ISR_MODELS = ("isr", "no_internalization")  # the models that learn from praise

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
    defaults = ISR_OPTIONS if model in ISR_MODELS else BASE_OPTIONS
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
    shapes = {name: jnp.shape(getattr(data, name)) for name in TRIAL_FIELDS}
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


# --- one model's loglik and simulator ----------------------------------------------


def _prepared(name, parameter_names, params, data, options):
    """Checked inputs in one precision: (params, data, options, dtype)."""
    _check_params(name, parameter_names, params)
    _check_shapes(name, data)
    options = resolve_options(name, options)
    dtype = computation_dtype(params, data)
    params = {k: jnp.asarray(v, dtype) for k, v in params.items()}
    return params, as_design(data, dtype), options, dtype


# The block loops are jitted once per model (options are arrays, not constants).  numpyro
# runs a model eagerly several times while it sets up a fit (initial values, the guide's
# prototype, predictive draws); an eager ``lax.scan`` with a fresh closure compiles anew
# each time, about a second apiece, while a jitted loop is compiled once per shape and
# inlined where it is traced inside a larger program.


def make_loglik(name: str, rule: LearningRule, parameter_names: tuple[str, ...]):
    @jax.jit
    def blocks_loglik(params, data, options):
        return jax.vmap(lambda block: block_loglik(rule, params, options, block))(data)

    def loglik(params: dict, data: TrialArrays, options: dict | None = None):
        params, data, options, _ = _prepared(name, parameter_names, params, data, options)
        return blocks_loglik(params, data, options)

    loglik.__doc__ = f"[block, trial] log p(choice) of model {name!r} (0 where missed)."
    return loglik


def make_simulate_from_uniforms(name: str, rule: LearningRule, parameter_names: tuple[str, ...]):
    @jax.jit
    def blocks_simulate(params, data, uniforms, options):
        return jax.vmap(lambda b, u: block_simulate(rule, params, options, b, u))(data, uniforms)

    def simulate_from_uniforms(params: dict, data: TrialArrays, uniforms: dict, options=None):
        params, data, options, dtype = _prepared(name, parameter_names, params, data, options)
        uniforms = {k: jnp.asarray(uniforms[k], dtype) for k in UNIFORM_NAMES}
        return blocks_simulate(params, data, uniforms, options)

    simulate_from_uniforms.__doc__ = (
        f"Model {name!r}'s simulated TrialArrays on the design in ``data``, driven by "
        "``uniforms`` (see ``draw_uniforms``); deterministic."
    )
    return simulate_from_uniforms


def make_simulate(simulate_from_uniforms: Callable):
    def simulate(params: dict, data: TrialArrays, key, options: dict | None = None):
        dtype = computation_dtype(params, data)
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
#     (0.14, 7.1); w = 0 is its own model, ``no_internalization``.
#   kappa on (0, inf), log-normal(0, 1.5): median 1, so that a first outcome moves the
#     value half way to it; 95% within (0.05, 19), from nearly all the way (a first loss
#     makes the option look worthless) to a learner whose values barely move in 16 trials.
#   beta_c on the real line, Normal(1, 2): mild perseveration expected; alternation
#     (beta_c < 0) and strong habits (beta_c ~ 5) are well inside the prior.


def learning_rate(name: str, description: str) -> Parameter:
    return Parameter(name, 0.0, 1.0, "logit", 0.0, 1.5, description)


BETA = Parameter(
    "beta", 0.0, math.inf, "log", math.log(4.0), 1.0, "inverse temperature of the softmax"
)
ALPHA = learning_rate("alpha", "learning rate of the option values")
ALPHA_C = learning_rate("alpha_c", "learning rate of the choice kernel")
ALPHA_POS = learning_rate("alpha_pos", "learning rate after an outcome above the chosen value")
ALPHA_NEG = learning_rate("alpha_neg", "learning rate after an outcome below the chosen value")
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


KAPPA = Parameter(
    "kappa",
    0.0,
    math.inf,
    "log",
    0.0,
    1.5,
    "weight of the initial value, in outcomes (the n-th outcome of an option moves its "
    "value by 1 / (kappa + n))",
)


def kappa(name: str, recipient: str) -> Parameter:
    """``KAPPA`` for the blocks whose reward is for ``recipient``."""
    description = f"weight of the initial value, in outcomes, when the reward is for {recipient}"
    return Parameter(name, 0.0, math.inf, "log", 0.0, 1.5, description)


#   omega on (0, 1), logit-normal(0, 1.5), as a learning rate: median 0.5, 95% within
#     (0.05, 0.95).
OMEGA = learning_rate("omega", "weight of win-stay/lose-shift in the choice mixture")

W_ISR = Parameter(
    "w", 0.0, math.inf, "log", 0.0, 1.0, "weight of the internalized praise when no one watches"
)

CORE = ("subject", "block", "trial", "choice")
DEFINITIONS = (
    (
        "rw",
        "Rescorla-Wagner values with softmax choice",
        (ALPHA, BETA),
        (*CORE, "outcome"),
        delta_rules.rw,
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
        delta_rules.rw_recipient,
    ),
    (
        "value_recipient",
        "Rescorla-Wagner on the subjective value w_recipient * outcome (w_self = 1)",
        (ALPHA, BETA, value_weight("w_other", "another"), value_weight("w_none", "no one")),
        (*CORE, "outcome", "context"),
        delta_rules.value_recipient,
    ),
    (
        "isr",
        "RW on outcomes plus a Bayesian belief about the caregiver's values from praise, "
        "kept with weight w when no one watches",
        (ALPHA, BETA, W_ISR),
        (*CORE, "outcome", "praise", "caregiver_present"),
        isr,
    ),
    (
        "no_internalization",
        "isr with w = 0: the caregiver's values count only when the caregiver watches",
        (ALPHA, BETA),
        (*CORE, "outcome", "praise", "caregiver_present"),
        isr,
    ),
    (
        "choice_kernel",
        "perseveration only: a choice kernel, no reward learning",
        (ALPHA_C, BETA_C),
        CORE,
        delta_rules.choice_kernel,
    ),
    (
        "rw_ck",
        "Rescorla-Wagner values plus a choice kernel",
        (ALPHA, BETA, ALPHA_C, BETA_C),
        (*CORE, "outcome"),
        delta_rules.rw_ck,
    ),
    (
        "rw_asym",
        "Rescorla-Wagner with separate learning rates for positive and negative prediction errors",
        (ALPHA_POS, ALPHA_NEG, BETA),
        (*CORE, "outcome"),
        delta_rules.rw_asym,
    ),
    (
        "rw_asym_ck",
        "rw_asym plus a choice kernel",
        (ALPHA_POS, ALPHA_NEG, BETA, ALPHA_C, BETA_C),
        (*CORE, "outcome"),
        delta_rules.rw_asym_ck,
    ),
    (
        "bayes",
        "each option's value is the running posterior mean of its payoffs, the initial "
        "value counting as kappa outcomes",
        (KAPPA, BETA),
        (*CORE, "outcome"),
        delta_rules.bayes,
    ),
    (
        "bayes_ck",
        "bayes plus a choice kernel",
        (KAPPA, BETA, ALPHA_C, BETA_C),
        (*CORE, "outcome"),
        delta_rules.bayes_ck,
    ),
    (
        "bayes_recipient",
        "bayes with one initial-value weight kappa per recipient (self, other, no one)",
        (
            kappa("kappa_self", "oneself"),
            kappa("kappa_other", "another"),
            kappa("kappa_none", "no one"),
            BETA,
        ),
        (*CORE, "outcome", "context"),
        delta_rules.bayes_recipient,
    ),
    (
        "rw_anti",
        "Rescorla-Wagner on anticorrelated symbols: the unchosen value moves towards 1 - outcome",
        (ALPHA, BETA),
        (*CORE, "outcome"),
        delta_rules.rw_anti,
    ),
    (
        "rw_anti_ck",
        "rw_anti plus a choice kernel",
        (ALPHA, BETA, ALPHA_C, BETA_C),
        (*CORE, "outcome"),
        delta_rules.rw_anti_ck,
    ),
    (
        "rw_wsls",
        "a mixture of win-stay/lose-shift (weight omega) and Rescorla-Wagner's softmax",
        (ALPHA, BETA, OMEGA),
        (*CORE, "outcome"),
        delta_rules.rw_wsls,
    ),
)

RULES: dict[str, LearningRule] = {}
SIMULATE_FROM_UNIFORMS: dict[str, Callable] = {}


def _build(name, description, parameters, columns, rule) -> ModelSpec:
    names = tuple(p.name for p in parameters)
    from_uniforms = make_simulate_from_uniforms(name, rule, names)
    RULES[name] = rule
    SIMULATE_FROM_UNIFORMS[name] = from_uniforms
    return register(
        ModelSpec(
            name=name,
            description=description,
            parameters=parameters,
            columns=columns,
            loglik=make_loglik(name, rule, names),
            simulate=make_simulate(from_uniforms),
        )
    )


SPECS: dict[str, ModelSpec] = {entry[0]: _build(*entry) for entry in DEFINITIONS}


def simulate_from_uniforms(
    model: str, params: dict, data: TrialArrays, uniforms: dict, options=None
) -> TrialArrays:
    """Simulate ``model`` replaying given uniforms [block, trial] (choice, outcome, praise)."""
    return SIMULATE_FROM_UNIFORMS[model](params, data, uniforms, options)
