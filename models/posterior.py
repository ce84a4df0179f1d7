"""The ISR as a Gaussian belief over caregiver weights theta, updated online.

Every piece of feedback y depends on theta only through u = theta . phi, so the
update is one-dimensional: project the Gaussian belief onto u, match the first
two moments of the tilted 1-D distribution N(u; mu, v) * P(y | u) by Gauss-Hermite
quadrature (assumed-density filtering), and lift the change back with a rank-one
update.  It is closed-form, has fixed cost, and runs inside ``lax.scan``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .caregiver import feedback_log_likelihood
from .pytree import pytree_dataclass

N_QUADRATURE = 48
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(N_QUADRATURE)
QUADRATURE_NODES = _NODES
QUADRATURE_LOG_WEIGHTS = np.log(_WEIGHTS)


@pytree_dataclass
class GaussianBelief:
    mean: jax.Array  # [K]
    cov: jax.Array  # [K, K]


def prior_belief(n_features: int, prior_sd, dtype=None) -> GaussianBelief:
    prior_sd = jnp.asarray(prior_sd, dtype=dtype)
    return GaussianBelief(
        mean=jnp.zeros(n_features, dtype=prior_sd.dtype),
        cov=jnp.eye(n_features, dtype=prior_sd.dtype) * prior_sd**2,
    )


def tilted_moments(mu, var, y, beta, bias, disapproval):
    """Mean and variance of u under N(u; mu, var) * P(y | u), by quadrature."""
    nodes = jnp.asarray(QUADRATURE_NODES, dtype=mu.dtype)
    logw = jnp.asarray(QUADRATURE_LOG_WEIGHTS, dtype=mu.dtype)
    u = mu + jnp.sqrt(2.0 * var) * nodes
    logp = logw + feedback_log_likelihood(y, u, beta, bias, disapproval)
    w = jax.nn.softmax(logp)
    new_mu = jnp.sum(w * u)
    new_var = jnp.sum(w * (u - new_mu) ** 2)
    return new_mu, new_var


def adf_update(belief: GaussianBelief, phi, y, beta, bias, disapproval, observed=True):
    """Posterior after one piece of feedback ``y`` on an action with features ``phi``.

    ``observed=False`` (or phi = 0) leaves the belief unchanged.
    """
    s_phi = belief.cov @ phi
    var = jnp.dot(phi, s_phi)
    mu = jnp.dot(belief.mean, phi)
    informative = observed & (var > 1e-12)
    safe_var = jnp.where(informative, var, 1.0)
    new_mu, new_var = tilted_moments(mu, safe_var, y, beta, bias, disapproval)
    gain = s_phi / safe_var
    mean = belief.mean + gain * (new_mu - mu)
    cov = belief.cov - jnp.outer(gain, gain) * (safe_var - new_var)
    cov = 0.5 * (cov + cov.T)
    return GaussianBelief(
        mean=jnp.where(informative, mean, belief.mean),
        cov=jnp.where(informative, cov, belief.cov),
    )


def filter_feedback(prior: GaussianBelief, phis, ys, beta, bias, disapproval):
    """Run ``adf_update`` over a sequence; returns the final belief and the path of means."""

    def body(belief, inputs):
        phi, y = inputs
        belief = adf_update(belief, phi, y, beta, bias, disapproval)
        return belief, belief.mean

    return jax.lax.scan(body, prior, (phis, ys))


def value_sd(belief: GaussianBelief, phi):
    """Posterior sd of u = theta . phi (phi may carry leading axes)."""
    return jnp.sqrt(jnp.maximum(jnp.einsum("...k,kl,...l->...", phi, belief.cov, phi), 0.0))
