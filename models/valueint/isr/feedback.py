"""The feedback likelihood: how a caregiver's praise depends on its values.

The learner's only evidence about the caregiver's weights theta_c.  With u = theta_c . phi(s, a):

    P(y = +1) = sigmoid(beta * u + bias)
    P(y = -1) = disapproval * sigmoid(-beta * u + bias)
    P(y =  0) = the rest

``bias <= 0`` keeps the three probabilities valid when disapproval is on.  The
caregiver only responds to *salient* actions, those with phi(s, a) != 0 (touching
an object, sharing or keeping); plain moves get no feedback and carry no evidence.

Every half of valueint shares this one model: the simulated caregiver draws from it,
the ISR's belief update and the cognitive models score it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def feedback_probabilities(u, beta, bias, disapproval):
    """(P(y=+1), P(y=-1)) given the latent value u = theta . phi."""
    p_plus = jax.nn.sigmoid(beta * u + bias)
    p_minus = disapproval * jax.nn.sigmoid(-beta * u + bias)
    return p_plus, p_minus


def _log_cosh(x):
    x = jnp.abs(x)
    return x + jnp.log1p(jnp.exp(-2.0 * x)) - jnp.log(2.0)


def _log_sinh(x):
    """log sinh(x) for x >= 0 (-inf at 0)."""
    safe = jnp.where(x > 0, x, 1.0)
    return jnp.where(x > 0, safe + jnp.log(-jnp.expm1(-2.0 * safe)) - jnp.log(2.0), -jnp.inf)


def feedback_log_likelihood(y, u, beta, bias, disapproval):
    """log P(y | u) for y in {-1, 0, +1}; vectorizes over u.

    With disapproval, P(y=0) = sigmoid(x + d) - sigmoid(x - d) with x = -beta u and
    d = -bias >= 0, which equals sinh(d) / (cosh(x) + cosh(d)): written so, it has no
    cancellation (and is exactly 0 when bias = 0: the caregiver always answers).
    """
    a = beta * u + bias
    log_plus = jax.nn.log_sigmoid(a)
    log_minus = jnp.log(jnp.maximum(disapproval, 1e-300)) + jax.nn.log_sigmoid(-beta * u + bias)
    d = jnp.maximum(-bias, 0.0)
    log_silence = jnp.where(
        disapproval > 0,
        _log_sinh(d) - jnp.logaddexp(_log_cosh(beta * u), _log_cosh(d)),
        jax.nn.log_sigmoid(-a),
    )
    return jnp.where(y > 0, log_plus, jnp.where(y < 0, log_minus, log_silence))


def expected_feedback(u, beta, bias, disapproval):
    """E[y | u]: the praise a learner expects, in units of y."""
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    return p_plus - p_minus


def draw_feedback(u, beta, bias, disapproval, uniform):
    """Draw y in {-1, 0, +1} given u = theta . phi by inverse CDF of ``uniform`` ~ U(0, 1)."""
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    return jnp.where(uniform < p_plus, 1, jnp.where(uniform < p_plus + p_minus, -1, 0))
