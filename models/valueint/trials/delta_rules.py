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
* ``bayes_ck``         ``bayes`` plus a choice kernel [kappa, beta, alpha_c, beta_c].

Why Q starts at 0 and what identifies w is said once, in ``valueint.trials.catalogue``.
"""

from __future__ import annotations

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


choice_kernel = LearningRule(
    init=lambda p, o, dtype: jnp.zeros(N_OPTIONS, dtype),
    logit=lambda p, o, ck, t: p["beta_c"] * (ck[1] - ck[0]),
    update=lambda p, o, ck, t: _ck_step(ck, t.choice, p["alpha_c"]),
)

rw_ck = LearningRule(
    init=lambda p, o, dtype: (initial_values(o, dtype), jnp.zeros(N_OPTIONS, dtype)),
    logit=lambda p, o, s, t: p["beta"] * (s[0][1] - s[0][0]) + p["beta_c"] * (s[1][1] - s[1][0]),
    update=lambda p, o, s, t: (
        rw_step(s[0], t.choice, t.outcome, p["alpha"]),
        _ck_step(s[1], t.choice, p["alpha_c"]),
    ),
    delta_rule=lambda p, o, b: (_per_trial(p["alpha"], b), b.outcome),
    choice_kernel=True,
)

rw_asym_ck = LearningRule(
    init=lambda p, o, dtype: (initial_values(o, dtype), jnp.zeros(N_OPTIONS, dtype)),
    logit=lambda p, o, s, t: p["beta"] * (s[0][1] - s[0][0]) + p["beta_c"] * (s[1][1] - s[1][0]),
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
