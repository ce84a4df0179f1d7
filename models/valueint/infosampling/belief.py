"""The Beta belief about a peer's reciprocation, over every state of a trial.

A state is (n, g): n tiles opened, g of them green (reciprocated).  Tiles are draws with
replacement from the peer's reciprocation probability (the data show any number of
greens at every probability but 0 and 1), so with a Beta(m * k, (1 - m) * k) prior (mean
m, strength k pseudo-tiles) the posterior after (n, g) is Beta(m * k + g, (1 - m) * k + n - g).
Every function returns a table over states, indexed [n, g] for n, g in 0..MAX_TILES;
entries with g > n are unreachable; the belief there is that of (n, n), so that every
table is finite (a zero count times a NaN would poison a gradient), and they are never read.

``stopping_values`` solves the optimal-stopping problem of a participant who pays ``cost``
per tile and, with a trust threshold t, earns 2 (1 - t) for trusting a peer who
reciprocates, -2 t for one who does not and 0 for not trusting (at t = 1/2: +1 and -1),
by backward induction over the states.  With temperatures, every max of the induction
is a soft max, T log(e^(a / T) + e^(b / T)): the values of a participant whose choices
are themselves soft (a logistic choice between a and b at temperature T), and a
likelihood that is smooth in the parameters (the hard max puts kinks with slopes of
thousands into it, where NUTS cannot find a step size).
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


def soft_maximum(a, b, temperature=None):
    """max(a, b), or T log(e^(a / T) + e^(b / T)) at temperature T."""
    if temperature is None:
        return jnp.maximum(a, b)
    return temperature * jnp.logaddexp(a / temperature, b / temperature)


def stopping_values(
    prior_mean, prior_count, cost, threshold=0.5, temperature=None, trust_temperature=None
):
    """(value of stopping, value of opening one more tile) per state, in stake units.

    Stopping earns max(2 (mu - threshold), 0): trust when the posterior mean beats the
    threshold (the stakes that make the participant indifferent there); with a
    ``trust_temperature`` the max is soft, as the trust rule's choice is.  The value of a
    state is the (soft, with ``temperature``) max of stopping and opening.
    Opening costs ``cost`` and moves to (n + 1, g + 1) with probability mu, else to
    (n + 1, g); after MAX_TILES tiles a participant must stop (the value of opening is
    then -inf).
    """
    mu = posterior_mean(prior_mean, prior_count)
    cost, threshold = jnp.asarray(cost, mu.dtype), jnp.asarray(threshold, mu.dtype)
    # parameters: scalars or [..., 1, 1]
    shape = jnp.broadcast_shapes(mu.shape, cost.shape, threshold.shape)
    mu, cost = jnp.broadcast_to(mu, shape), jnp.broadcast_to(cost, shape)
    stop = 2.0 * soft_maximum(mu - threshold, 0.0, trust_temperature)
    if temperature is not None:
        temperature = jnp.broadcast_to(jnp.asarray(temperature, mu.dtype), shape)[..., 0, :]
    # scan over n from 24 down to 0 with the n axis first; batch axes (if any) ride along
    mu_n, stop_n = jnp.moveaxis(mu, -2, 0), jnp.moveaxis(stop, -2, 0)

    def back(value_next, n):
        # value_next[..., g]: the value at (n + 1, g); opening from (n, g) reaches g or g + 1
        shifted = jnp.concatenate([value_next[..., 1:], value_next[..., -1:]], axis=-1)
        sample = -cost[..., 0, :] + mu_n[n] * shifted + (1.0 - mu_n[n]) * value_next
        return soft_maximum(stop_n[n], sample, temperature), sample

    steps = jnp.arange(MAX_TILES - 1, -1, -1)
    _, sample = jax.lax.scan(back, stop_n[MAX_TILES], steps)
    sample = jnp.concatenate([sample[::-1], jnp.full_like(sample[:1], -jnp.inf)])
    return stop, jnp.moveaxis(sample, 0, -2)
