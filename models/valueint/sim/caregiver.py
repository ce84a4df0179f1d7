"""The caregiver of a simulation: latent reward weights theta_c, a presence schedule and
sparse praise.

Feedback follows ``valueint.isr.feedback``: the caregiver answers salient actions
(phi(s, a) != 0) only.

Presence schedule, per episode e:  P during socialization (e < T); over the F
``fade_episodes`` a linear fade strictly between the two levels,
P + (e - T + 1) / (F + 1) * (autonomous_presence - P); then ``autonomous_presence``.
Presence is drawn once per episode or once per step (``presence_unit``).

The phases of an episode e: socialization (e < T), fade (T <= e < T + F), autonomous
(e >= T + F).  :func:`phase_starts` is the one place that boundary is computed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from valueint.isr.feedback import draw_feedback
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
    start = phase_starts(params)[0].astype(e.dtype)
    fade = jnp.maximum(params.fade_episodes.astype(e.dtype), 1.0)
    frac = jnp.clip((e - start + 1.0) / (fade + 1.0), 0.0, 1.0)
    frac = jnp.where(params.fade_episodes > 0, frac, (e >= start).astype(e.dtype))
    return params.presence + frac * (params.autonomous_presence - params.presence)


def phase_starts(params: CaregiverParams):
    """First episode of the fade and of the autonomous phase: (T, T + F).

    Works on traced, JAX or NumPy params alike, one condition or stacked conditions.
    """
    fade_start = params.socialization_episodes
    return fade_start, fade_start + params.fade_episodes


def autonomy_start(params: CaregiverParams):
    """The first autonomous episode (the caregiver has gone; a new task may start)."""
    return phase_starts(params)[1]


def phase_index(params: CaregiverParams, episode):
    """0 socialization, 1 fade, 2 autonomous; JAX in, JAX out, NumPy in, NumPy out."""
    fade_start, autonomous = phase_starts(params)
    xp = jnp if any(isinstance(x, jax.Array) for x in (fade_start, autonomous, episode)) else np
    return xp.where(episode < fade_start, 0, xp.where(episode < autonomous, 1, 2))


def phase_span(params: CaregiverParams, phase: str, n_episodes: int) -> tuple[int, int]:
    """(first episode, last episode + 1) of ``phase`` for one condition's params; the
    autonomous phase lasts to the end of the run."""
    fade_start, autonomous = (int(np.asarray(x)) for x in phase_starts(params))
    bounds = (0, fade_start, autonomous, n_episodes)
    i = PHASES.index(phase)
    return bounds[i], bounds[i + 1]


def sample_feedback(params: CaregiverParams, phi, uniform):
    """Draw y in {-1, 0, +1} for an action with features ``phi`` from one uniform number."""
    u = jnp.dot(params.theta, phi)
    return draw_feedback(u, params.beta, params.bias, params.disapproval, uniform)
