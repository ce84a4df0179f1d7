"""The ISR as a Gaussian belief over caregiver weights theta, updated online.

Every piece of feedback y depends on theta only through u = theta . phi, so the
update is one-dimensional: project the Gaussian belief onto u, match the first
two moments of the tilted 1-D distribution N(u; mu, v) * P(y | u) (assumed-density
filtering), and lift the change back with a rank-one update.

The tilted moments are computed in closed form.  The logistic is written as a
five-term probit mixture, sigmoid(x) = sum_k A_k Phi(S_k x) to within 7e-7, and a
Gaussian times a probit has exact moments.  Unlike quadrature this stays accurate
however broad the belief is compared with the praise slope 1/beta; in the far left
tail, where the mixture's Gaussian tails fall faster than the logistic's, the
identity sigmoid(a) = exp(a) sigmoid(-a) keeps it accurate (see
``likelihood_terms``).  It has fixed cost and runs inside ``lax.scan``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from .pytree import pytree_dataclass

# sigmoid(x) ~= sum_k PROBIT_WEIGHTS[k] * Phi(PROBIT_SCALES[k] * x); max error 7.1e-7,
# fitted by least squares on x in [0, 30] (the logistic and the mixture are both odd
# around 1/2).  tests/test_posterior.py checks the bound.
PROBIT_SCALES = np.array([0.29085247, 0.40938296, 0.57331954, 0.7996658, 1.11757409])
PROBIT_WEIGHTS = np.array([0.02270993, 0.20361044, 0.42741606, 0.29987239, 0.04639118])
PROBIT_WEIGHTS = PROBIT_WEIGHTS / PROBIT_WEIGHTS.sum()
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


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


def likelihood_terms(y, beta, bias, disapproval):
    """P(y | u) as probit terms in two alternative groups, arrays of length 10.

    Term j is c_j * exp(tilt_j * u) * Phi(alpha_j * u + gamma_j), up to a factor
    common to its group.  For
    y = +1, -1, and 0 without disapproval, P(y | u) = sigmoid(a) with a = slope u +
    offset, and group 0 writes sigmoid(a) as the probit mixture while group 1 writes
    it as exp(a) * sigmoid(-a): the same function, but accurate (relative to its
    value) where sigmoid(a) is tiny.  With disapproval, P(0 | u) = sigmoid(-beta u -
    b) - sigmoid(-beta u + b) fills group 0 and group 1 is empty.
    Returns (c, alpha, gamma, tilt, group).
    """
    dtype = jnp.result_type(beta, float)
    scales = jnp.asarray(PROBIT_SCALES, dtype)
    weights = jnp.asarray(PROBIT_WEIGHTS, dtype)
    zeros = jnp.zeros_like(scales)
    window = (y == 0) & (disapproval > 0)
    slope = jnp.where(y > 0, beta, -beta)
    offset = jnp.where(y == 0, -bias, bias)
    c = jnp.concatenate([weights, jnp.where(window, -weights, weights)])
    alpha = jnp.concatenate([scales * slope, jnp.where(window, scales * -beta, -scales * slope)])
    gamma = jnp.concatenate([scales * offset, jnp.where(window, scales * bias, -scales * offset)])
    tilt = jnp.concatenate([zeros, jnp.where(window, zeros, zeros + slope)])
    group = jnp.concatenate(
        [jnp.zeros(5, jnp.int32), jnp.where(window, 0, 1) + jnp.zeros(5, jnp.int32)]
    )
    return c, alpha, gamma, tilt, group


def tilted_moments(mu, var, y, beta, bias, disapproval):
    """Mean and variance of u under N(u; mu, var) * P(y | u), in closed form.

    Both groups of terms are evaluated.  The tail form (group 1) is used when the
    plain form puts the posterior mean where P(y | u) < 1/2, i.e. where the mixture
    would be accurate only in absolute, not relative, terms.
    """
    c, alpha, gamma, tilt, group = likelihood_terms(y, beta, bias, disapproval)
    # exp(tilt u) N(u; mu, var) = exp(tilt mu + tilt^2 var / 2) N(u; mu + tilt var, var)
    mean = mu + tilt * var
    s = jnp.sqrt(1.0 + alpha**2 * var)
    z = (alpha * mean + gamma) / s
    log_mass = log_ndtr(z)
    mills = jnp.exp(-0.5 * z**2 - _LOG_SQRT_2PI - log_mass)  # phi(z) / Phi(z)
    term_mean = mean + var * alpha * mills / s
    term_var = var - (var * alpha / s) ** 2 * mills * (z + mills)
    safe_c = jnp.where(c != 0, c, 1.0)
    log_w = jnp.where(c != 0, jnp.log(jnp.abs(safe_c)) + log_mass, -jnp.inf)

    def moments(g):
        lw = jnp.where(group == g, log_w, -jnp.inf)
        w = jnp.sign(c) * jnp.exp(lw - jnp.max(lw))
        w = w / jnp.sum(w)
        m = jnp.sum(w * term_mean)
        return m, jnp.sum(w * (term_var + (term_mean - m) ** 2))

    plain_mu, plain_var = moments(0)
    tail_mu, tail_var = moments(1)
    single = (y != 0) | (disapproval <= 0)
    slope = jnp.where(y > 0, beta, -beta)
    offset = jnp.where(y == 0, -bias, bias)
    use_tail = single & (slope * plain_mu + offset < 0)
    new_mu = jnp.where(use_tail, tail_mu, plain_mu)
    new_var = jnp.where(use_tail, tail_var, plain_var)
    return new_mu, jnp.clip(new_var, 1e-12 * var, var)


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
