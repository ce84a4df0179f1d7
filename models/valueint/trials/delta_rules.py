"""The delta-rule family of learning rules, and the choice kernel.

Option values move towards what followed the choice, Q_c <- Q_c + alpha (target - Q_c),
and choice follows sigmoid(beta (Q_1 - Q_0)):

* ``rw``               target = outcome [alpha, beta];
* ``rw_recipient``     one learning rate per recipient/context [alpha_self, alpha_other,
                       alpha_none, beta];
* ``value_recipient``  target = w_context * outcome, w_self = 1 [alpha, beta, w_other, w_none];
* ``choice_kernel``    a kernel that moves towards the last choice, no reward learning
                       [alpha_c, beta_c];
* ``rw_ck``            ``rw`` plus a choice kernel [alpha, beta, alpha_c, beta_c];
* ``rw_asym``          one learning rate when the outcome is above the chosen value (a
                       positive prediction error) and another when it is below
                       [alpha_pos, alpha_neg, beta];
* ``rw_asym_ck``       ``rw_asym`` plus a choice kernel [alpha_pos, alpha_neg, beta,
                       alpha_c, beta_c];
* ``bayes``            each option's value is the posterior mean of its payoff rate: Q
                       starts at q_init with the weight of kappa pseudo-observations, so the
                       n-th outcome of an option moves it at rate 1 / (kappa + n) [kappa, beta];
* ``bayes_ck``         ``bayes`` plus a choice kernel [kappa, beta, alpha_c, beta_c];
* ``bayes_recipient``  ``bayes`` with one kappa per recipient/context [kappa_self,
                       kappa_other, kappa_none, beta];
* ``rw_anti``          the two symbols are anticorrelated: the chosen value moves towards
                       the outcome and the other's towards its complement 1 - outcome (an
                       unrewarded choice is evidence for the other symbol; outcomes on
                       [0, 1]) [alpha, beta];
* ``rw_anti_ck``       ``rw_anti`` plus a choice kernel [alpha, beta, alpha_c, beta_c];
* ``rw_wsls``          a mixture: with weight omega, win-stay/lose-shift (repeat a
                       rewarded choice, switch after an unrewarded one, a coin flip on a
                       block's first trial), else ``rw``'s softmax [alpha, beta, omega].

Why Q starts at 0 and what identifies w is said once, in ``valueint.trials.catalogue``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from valueint.trials.learning import N_OPTIONS, LearningRule, valence_rate


def one_hot(choice, dtype):
    return (jnp.arange(N_OPTIONS) == choice).astype(dtype)


def initial_values(options, dtype):
    """Q at the start of a block: ``q_init`` for both options."""
    return jnp.full(N_OPTIONS, options["q_init"], dtype)


def rw_step(q, choice, target, alpha):
    """Q_choice <- Q_choice + alpha (target - Q_choice); the other option is untouched."""
    return q + alpha * one_hot(choice, q.dtype) * (target - q)


def _contextual(values, context):
    """The value for this trial's context from (self, other, none); a select, not a
    gather, which is cheaper under grad."""
    self_value, other_value, none_value = values
    return jnp.where(context == 0, self_value, jnp.where(context == 1, other_value, none_value))


def _per_trial(value, block):
    return jnp.broadcast_to(value, block.outcome.shape)


rw = LearningRule(
    init=lambda p, o, dtype: initial_values(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: rw_step(q, t.choice, t.outcome, p["alpha"]),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
)

rw_recipient = LearningRule(
    init=lambda p, o, dtype: initial_values(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: rw_step(
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

value_recipient = LearningRule(
    init=lambda p, o, dtype: initial_values(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: rw_step(
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


def rw_asym_step(q, choice, target, alpha_pos, alpha_neg):
    alpha = valence_rate(jnp.where(choice == 1, q[1], q[0]), target, alpha_pos, alpha_neg)
    return rw_step(q, choice, target, alpha)


def _valence_rates(p, block):
    """(alpha_pos, target, alpha_neg) per trial: the faster loop picks one by the sign of
    each trial's prediction error."""
    return _per_trial(p["alpha_pos"], block), block.outcome, _per_trial(p["alpha_neg"], block)


rw_asym = LearningRule(
    init=lambda p, o, dtype: initial_values(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: rw_asym_step(q, t.choice, t.outcome, p["alpha_pos"], p["alpha_neg"]),
    delta_rule=lambda p, o, b: _valence_rates(p, b),
)


def _experience_rates(kappa, block):
    """1 / (kappa + n) per trial, n the number of observed choices of the chosen option
    so far in the block, this one included (missed trials count for nothing)."""
    chose = [(block.choice == k) & block.mask for k in range(N_OPTIONS)]
    counts = [jnp.cumsum(c.astype(block.outcome.dtype)) for c in chose]
    n = jnp.where(block.choice == 1, counts[1], counts[0])
    return 1.0 / (kappa + jnp.maximum(n, 1.0))


def bayes_step(state, choice, outcome, kappa):
    """The chosen option's count goes up by one and its value moves 1 / (kappa + n) of the
    way to the outcome: Q stays the mean of kappa pseudo-outcomes q_init and the real ones."""
    q, n = state
    chosen = one_hot(choice, q.dtype)
    n = n + chosen
    return q + chosen * (outcome - q) / (kappa + n), n


def _bayes_init(options, dtype):
    return initial_values(options, dtype), jnp.zeros(N_OPTIONS, dtype)


bayes = LearningRule(
    init=lambda p, o, dtype: _bayes_init(o, dtype),
    logit=lambda p, o, s, t: p["beta"] * (s[0][1] - s[0][0]),
    update=lambda p, o, s, t: bayes_step(s, t.choice, t.outcome, p["kappa"]),
    delta_rule=lambda p, o, b: (_experience_rates(p["kappa"], b), b.outcome),
)


def _ck_step(ck, choice, alpha_c):
    """The choice kernel moves towards the one-hot of the last choice."""
    return ck + alpha_c * (one_hot(choice, ck.dtype) - ck)


def _values_and_kernel(p, o, dtype):
    """(Q, choice kernel K) at a block's start: Q at q_init, K at 0."""
    return initial_values(o, dtype), jnp.zeros(N_OPTIONS, dtype)


def _values_and_kernel_logit(p, o, s, t):
    """beta (Q_1 - Q_0) + beta_c (K_1 - K_0) from the state (Q, K)."""
    q, ck = s
    return p["beta"] * (q[1] - q[0]) + p["beta_c"] * (ck[1] - ck[0])


choice_kernel = LearningRule(
    init=lambda p, o, dtype: jnp.zeros(N_OPTIONS, dtype),
    logit=lambda p, o, ck, t: p["beta_c"] * (ck[1] - ck[0]),
    update=lambda p, o, ck, t: _ck_step(ck, t.choice, p["alpha_c"]),
)

rw_ck = LearningRule(
    init=_values_and_kernel,
    logit=_values_and_kernel_logit,
    update=lambda p, o, s, t: (
        rw_step(s[0], t.choice, t.outcome, p["alpha"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
    choice_kernel=True,
)

rw_asym_ck = LearningRule(
    init=_values_and_kernel,
    logit=_values_and_kernel_logit,
    update=lambda p, o, s, t: (
        rw_asym_step(s[0], t.choice, t.outcome, p["alpha_pos"], p["alpha_neg"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
    delta_rule=lambda p, o, b: _valence_rates(p, b),
    choice_kernel=True,
)

bayes_ck = LearningRule(
    init=lambda p, o, dtype: (_bayes_init(o, dtype), jnp.zeros(N_OPTIONS, dtype)),
    logit=lambda p, o, s, t: (
        p["beta"] * (s[0][0][1] - s[0][0][0]) + p["beta_c"] * (s[1][1] - s[1][0])
    ),
    update=lambda p, o, s, t: (
        bayes_step(s[0], t.choice, t.outcome, p["kappa"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
    delta_rule=lambda p, o, b: (_experience_rates(p["kappa"], b), b.outcome),
    choice_kernel=True,
)


def _kappas(p, context):
    return _contextual((p["kappa_self"], p["kappa_other"], p["kappa_none"]), context)


bayes_recipient = LearningRule(
    init=lambda p, o, dtype: _bayes_init(o, dtype),
    logit=lambda p, o, s, t: p["beta"] * (s[0][1] - s[0][0]),
    update=lambda p, o, s, t: bayes_step(s, t.choice, t.outcome, _kappas(p, t.context)),
    delta_rule=lambda p, o, b: (_experience_rates(_kappas(p, b.context), b), b.outcome),
)


def anti_step(q, choice, outcome, alpha):
    """Both values move at rate alpha: the chosen one towards the outcome, the other
    towards 1 - outcome."""
    chosen = one_hot(choice, q.dtype)
    target = chosen * outcome + (1.0 - chosen) * (1.0 - outcome)
    return q + alpha * (target - q)


rw_anti = LearningRule(
    init=lambda p, o, dtype: initial_values(o, dtype),
    logit=lambda p, o, q, t: p["beta"] * (q[1] - q[0]),
    update=lambda p, o, q, t: anti_step(q, t.choice, t.outcome, p["alpha"]),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
    anticorrelated=True,
)

rw_anti_ck = LearningRule(
    init=_values_and_kernel,
    logit=_values_and_kernel_logit,
    update=lambda p, o, s, t: (
        anti_step(s[0], t.choice, t.outcome, p["alpha"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
    choice_kernel=True,
    anticorrelated=True,
)


def _wsls_init(options, dtype):
    """(Q, the win-stay/lose-shift choice's P(option 1)): a coin flip before any outcome."""
    return initial_values(options, dtype), jnp.asarray(0.5, dtype)


def _wsls_logit(p, state, _trial):
    """log-odds of option 1 under the mixture (1 - omega) softmax + omega WSLS, in log
    space so that a sure WSLS choice (P = 0 or 1) stays finite."""
    q, p_shift = state
    x = p["beta"] * (q[1] - q[0])
    log_rl, log_wsls = jnp.log1p(-p["omega"]), jnp.log(p["omega"])
    with_zero = jnp.where(p_shift > 0, jnp.log(jnp.maximum(p_shift, 1e-30)), -jnp.inf)
    without = jnp.where(p_shift < 1, jnp.log(jnp.maximum(1.0 - p_shift, 1e-30)), -jnp.inf)
    log_p1 = jnp.logaddexp(log_rl + jax.nn.log_sigmoid(x), log_wsls + with_zero)
    log_p0 = jnp.logaddexp(log_rl + jax.nn.log_sigmoid(-x), log_wsls + without)
    return log_p1 - log_p0


def _wsls_update(p, state, trial):
    q, _ = state
    stay = trial.outcome > 0
    next_one = jnp.where(stay, trial.choice == 1, trial.choice == 0).astype(q.dtype)
    return rw_step(q, trial.choice, trial.outcome, p["alpha"]), next_one


rw_wsls = LearningRule(
    init=lambda p, o, dtype: _wsls_init(o, dtype),
    logit=lambda p, o, s, t: _wsls_logit(p, s, t),
    update=lambda p, o, s, t: _wsls_update(p, s, t),
)
