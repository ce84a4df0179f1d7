"""The Beta belief about a peer's reciprocation, over every state of a trial.

A state is (n, g): n tiles opened, g of them green (reciprocated).  Tiles are draws with
replacement from the peer's reciprocation probability (the data show any number of
greens at every probability but 0 and 1), so with a Beta(m * k, (1 - m) * k) prior (mean
m, strength k pseudo-tiles) the posterior after (n, g) is Beta(m * k + g, (1 - m) * k + n - g).
Every function returns a table over states, indexed [n, g] for n, g in 0..MAX_TILES;
entries with g > n are unreachable; the belief there is that of (n, n), so that every
table is finite (a zero count times a NaN would poison a gradient), and they are never read.

``stopping_values`` solves the optimal-stopping problem of a participant who pays ``cost``
per tile and earns +1 for trusting a peer who reciprocates, -1 for one who does not and 0
for not trusting, by backward induction over the states.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

MAX_TILES = 25
N_STATES = MAX_TILES + 1


def state_grid(dtype=jnp.float64):
    """(n, g) as float tables [N_STATES, N_STATES], g clipped to n where g > n."""
    index = jnp.arange(N_STATES, dtype=dtype)
    return index[:, None] + jnp.zeros((1, N_STATES), dtype), jnp.minimum(
        index[None, :], index[:, None]
    )


def _states(n, g, like):
    if n is None:
        return state_grid(jnp.result_type(like, float))
    return n, g


def posterior_mean(prior_mean, prior_count, n=None, g=None):
    """E[reciprocation | n, g]: (m k + g) / (k + n), per state of the grid or at the
    states (n, g) given (arrays that broadcast against the parameters)."""
    n, g = _states(n, g, prior_mean)
    return (prior_mean * prior_count + g) / (prior_count + n)


def posterior_sd(prior_mean, prior_count, n=None, g=None):
    """sd[reciprocation | n, g]: sqrt(mu (1 - mu) / (k + n + 1)), as ``posterior_mean``."""
    n, g = _states(n, g, prior_mean)
    mu = posterior_mean(prior_mean, prior_count, n, g)
    return jnp.sqrt(mu * (1.0 - mu) / (prior_count + n + 1.0))


def prior_sd(prior_mean, prior_count):
    """The prior's sd, sqrt(m (1 - m) / (k + 1)): the prior uncertainty on the natural scale."""
    return jnp.sqrt(prior_mean * (1.0 - prior_mean) / (prior_count + 1.0))


def stopping_values(prior_mean, prior_count, cost):
    """(value of stopping, value of opening one more tile) per state, in stake units.

    Stopping earns max(2 mu - 1, 0): trust when the posterior mean beats one half.
    Opening costs ``cost`` and moves to (n + 1, g + 1) with probability mu, else to
    (n + 1, g); after MAX_TILES tiles a participant must stop (the value of opening is
    then -inf).
    """
    mu = posterior_mean(prior_mean, prior_count)
    cost = jnp.asarray(cost, mu.dtype)
    shape = jnp.broadcast_shapes(mu.shape, cost.shape)  # parameters: scalars or [..., 1, 1]
    mu, cost = jnp.broadcast_to(mu, shape), jnp.broadcast_to(cost, shape)
    stop = jnp.maximum(2.0 * mu - 1.0, 0.0)
    # scan over n from 24 down to 0 with the n axis first; batch axes (if any) ride along
    mu_n, stop_n = jnp.moveaxis(mu, -2, 0), jnp.moveaxis(stop, -2, 0)

    def back(value_next, n):
        # value_next[..., g]: the value at (n + 1, g); opening from (n, g) reaches g or g + 1
        shifted = jnp.concatenate([value_next[..., 1:], value_next[..., -1:]], axis=-1)
        sample = -cost[..., 0, :] + mu_n[n] * shifted + (1.0 - mu_n[n]) * value_next
        return jnp.maximum(stop_n[n], sample), sample

    steps = jnp.arange(MAX_TILES - 1, -1, -1)
    _, sample = jax.lax.scan(back, stop_n[MAX_TILES], steps)
    sample = jnp.concatenate([sample[::-1], jnp.full_like(sample[:1], -jnp.inf)])
    return stop, jnp.moveaxis(sample, 0, -2)
