"""The caregiver: latent reward weights theta_c, a presence schedule and sparse praise.

Feedback model (the learner's only evidence about theta_c).  With u = theta_c . phi(s, a):

    P(y = +1) = sigmoid(beta * u + bias)
    P(y = -1) = disapproval * sigmoid(-beta * u + bias)
    P(y =  0) = the rest

``bias <= 0`` keeps the three probabilities valid when disapproval is on.  The
caregiver only responds to *salient* actions, those with phi(s, a) != 0 (touching
an object, sharing or keeping); plain moves get no feedback and carry no evidence.

Presence schedule, per episode e:  P during socialization (e < T); over the F
``fade_episodes`` a linear fade strictly between the two levels,
P + (e - T + 1) / (F + 1) * (autonomous_presence - P); then ``autonomous_presence``.
Presence is drawn once per episode or once per step (``presence_unit``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from valueint.pytree import pytree_dataclass

PHASES = ("socialization", "fade", "autonomous")
PRESENCE_UNITS = ("episode", "step")


@pytree_dataclass
class CaregiverParams:
    theta: jax.Array  # [n_features] latent reward weights
    beta: jax.Array  # praise sharpness
    bias: jax.Array  # praise baseline (logit); negative = sparse
    disapproval: jax.Array  # 1.0: may answer -1; 0.0: praise only
    social_reward: jax.Array  # R_s = social_reward * y
    presence: jax.Array  # P during socialization
    autonomous_presence: jax.Array  # P after the fade
    socialization_episodes: jax.Array  # T
    fade_episodes: jax.Array
    presence_per_step: jax.Array  # 1.0: draw presence each step; 0.0: each episode


def presence_probability(params: CaregiverParams, episode):
    """P at ``episode`` under the schedule."""
    e = jnp.asarray(episode, dtype=params.presence.dtype)
    start = params.socialization_episodes.astype(e.dtype)
    fade = jnp.maximum(params.fade_episodes.astype(e.dtype), 1.0)
    frac = jnp.clip((e - start + 1.0) / (fade + 1.0), 0.0, 1.0)
    frac = jnp.where(params.fade_episodes > 0, frac, (e >= start).astype(e.dtype))
    return params.presence + frac * (params.autonomous_presence - params.presence)


def phase_index(params: CaregiverParams, episode):
    """0 socialization, 1 fade, 2 autonomous."""
    start = params.socialization_episodes
    end = start + params.fade_episodes
    return jnp.where(episode < start, 0, jnp.where(episode < end, 1, 2))


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


def sample_feedback(params: CaregiverParams, phi, uniform):
    """Draw y in {-1, 0, +1} from one uniform number (inverse CDF)."""
    u = jnp.dot(params.theta, phi)
    p_plus, p_minus = feedback_probabilities(u, params.beta, params.bias, params.disapproval)
    return jnp.where(uniform < p_plus, 1, jnp.where(uniform < p_plus + p_minus, -1, 0))
