"""The trial loop of a delta-rule learner, with its gradient written out by hand.

Why.  A hierarchical fit spends nearly all its time in the gradient of this loop, and
XLA's own reverse mode of a ``lax.scan`` keeps about a dozen intermediate arrays per trial
and runs twice as many kernels per trial as the loop needs: on the Cutler data (152
subjects x 9 blocks x 16 trials) most of a gradient's time is spent starting small kernels,
not computing.  Here the forward pass keeps only the three states before each trial, and
the backward pass is one reverse ``lax.scan`` of the adjoint recursion below.

The learner, per block (``learning._block_loglik_delta_rule`` builds the inputs): before
trial t the values q0, q1 and the choice-kernel difference d give the log-odds
z_t = beta (q1 - q0) + beta_c d of choosing 1; with s_t = +1 (chose 1) or -1,

    log p_t = log sigmoid(s_t z_t)
    q_c    <- q_c + a_t (r_t - q_c)            (the chosen option c only)
    d      <- d + k_t (s_t - d)

where a_t is ``rate`` (or ``rate_neg`` when r_t falls short of q_c, for the asymmetric
learners) and k_t is ``kernel_rate``.  Reverse mode: with G_t = dL/dlog p_t * s_t
sigmoid(-s_t z_t) and the adjoints Q0, Q1, D of the states after trial t,

    dL/da_t = Q_c (r_t - q_c)       dL/dr_t = a_t Q_c       dL/dk_t = D (s_t - d)
    dL/dbeta += G_t (q1 - q0)       dL/dbeta_c += G_t d
    Q_c <- (1 - a_t) Q_c + ...,     Q_k <- Q_k + s_k G_t beta,     D <- (1 - k_t) D + G_t beta_c

and dL/dq_init = Q0 + Q1 after the first trial.  The choice between a_t and rate_neg is a
step function of the state, with derivative 0 almost everywhere.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def valence_rate(q_chosen, target, alpha_pos, alpha_neg):
    """alpha_neg when the target falls short of the chosen value (a negative prediction
    error), alpha_pos otherwise (at a zero error the two give the same step)."""
    return jnp.where(target < q_chosen, alpha_neg, alpha_pos)


def _step_rate(asymmetric, c1, r, q0, q1, a, a_neg):
    """(a_t, whether it is the negative-error rate)."""
    if not asymmetric:
        return a, None
    below = r < jnp.where(c1 > 0, q1, q0)
    return jnp.where(below, a_neg, a), below


def _forward(kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg):
    """(log p [T], the states (q0, q1[, d]) [T] before each trial); ``kind`` is
    (asymmetric, choice_kernel): a loop without them carries and stores nothing for them."""
    asymmetric, choice_kernel = kind

    def step(state, trial):
        q0, q1, d = state if choice_kernel else (*state, 0.0)
        c1, r, a, k, a_neg = trial
        sign = 2.0 * c1 - 1.0
        logp = jax.nn.log_sigmoid(sign * (beta * (q1 - q0) + beta_c * d))
        a, _ = _step_rate(asymmetric, c1, r, q0, q1, a, a_neg)
        new = (q0 + a * (1.0 - c1) * (r - q0), q1 + a * c1 * (r - q1))
        if choice_kernel:
            new = (*new, d + k * (sign - d))
        return new, (logp, state)

    start = (q_init, q_init) + ((jnp.zeros_like(q_init),) if choice_kernel else ())
    trials = (
        chose_1,
        target,
        rate,
        kernel_rate if choice_kernel else None,
        rate_neg if asymmetric else None,
    )
    _, (logp, states) = jax.lax.scan(step, start, trials)
    return logp, states


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def delta_rule_logp(kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg):
    """[T] log p(choice_t) of one block; every array argument is [T] but the scalars beta,
    beta_c and q_init.  ``kind`` (static) = (asymmetric, choice_kernel): whether
    ``rate_neg`` replaces ``rate`` after a negative error, and whether the choice kernel
    (``kernel_rate``, ``beta_c``) is there at all."""
    return _forward(kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg)[0]


def _fwd(kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg):
    logp, states = _forward(
        kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg
    )
    return logp, (beta, beta_c, chose_1, target, rate, kernel_rate, rate_neg, states)


def _bwd(kind, residuals, g):
    asymmetric, choice_kernel = kind
    beta, beta_c, chose_1, target, rate, kernel_rate, rate_neg, states = residuals

    def step(carry, trial):
        adj0, adj1, adj_d, grad_beta, grad_beta_c = carry
        g_t, c1, r, a, k, a_neg, state = trial
        q0, q1, d = state if choice_kernel else (*state, 0.0)
        sign = 2.0 * c1 - 1.0
        z = beta * (q1 - q0) + beta_c * d
        big_g = g_t * sign * jax.nn.sigmoid(-sign * z)
        a, below = _step_rate(asymmetric, c1, r, q0, q1, a, a_neg)
        grad_a = c1 * adj1 * (r - q1) + (1.0 - c1) * adj0 * (r - q0)
        grads = {"target": a * (c1 * adj1 + (1.0 - c1) * adj0), "rate": grad_a}
        if asymmetric:
            grads["rate"] = jnp.where(below, 0.0, grad_a)
            grads["rate_neg"] = jnp.where(below, grad_a, 0.0)
        carry = (
            adj0 * (1.0 - a * (1.0 - c1)) - big_g * beta,
            adj1 * (1.0 - a * c1) + big_g * beta,
            adj_d,
            grad_beta + big_g * (q1 - q0),
            grad_beta_c,
        )
        if choice_kernel:
            grads["kernel_rate"] = adj_d * (sign - d)
            carry = (
                *carry[:2],
                adj_d * (1.0 - k) + big_g * beta_c,
                carry[3],
                grad_beta_c + big_g * d,
            )
        return carry, grads

    zero = jnp.zeros_like(beta)
    trials = (
        g,
        chose_1,
        target,
        rate,
        kernel_rate if choice_kernel else None,
        rate_neg if asymmetric else None,
        states,
    )
    (adj0, adj1, _, grad_beta, grad_beta_c), grads = jax.lax.scan(
        step, (zero, zero, zero, zero, zero), trials, reverse=True
    )
    return (
        grad_beta,
        grad_beta_c,
        adj0 + adj1,  # both values start at q_init
        jnp.zeros_like(chose_1),  # data
        grads["target"],
        grads["rate"],
        grads.get("kernel_rate", jnp.zeros_like(kernel_rate)),
        grads.get("rate_neg", jnp.zeros_like(rate_neg)),
    )


delta_rule_logp.defvjp(_fwd, _bwd)
