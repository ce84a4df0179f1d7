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

from valueint.pytree import pytree_dataclass

# sigmoid(x) ~= sum_k PROBIT_WEIGHTS[k] * Phi(PROBIT_SCALES[k] * x); max error 7.1e-7,
# fitted by least squares on x in [0, 30] (the logistic and the mixture are both odd
# around 1/2).  tests/isr/test_belief.py checks the bound.
PROBIT_SCALES = np.array([0.29085247, 0.40938296, 0.57331954, 0.7996658, 1.11757409])
PROBIT_WEIGHTS = np.array([0.02270993, 0.20361044, 0.42741606, 0.29987239, 0.04639118])
PROBIT_WEIGHTS = PROBIT_WEIGHTS / PROBIT_WEIGHTS.sum()
_LOG_SQRT_2PI = float(0.5 * np.log(2.0 * np.pi))  # Python floats keep float32 inputs float32
_PROBIT_LAMBDA = float(np.sqrt(np.pi / 8.0))


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


def _probit_plain_mean(mu, var, slope, offset):
    """Posterior mean of u under N(u; mu, var) * sigmoid(slope u + offset), with the
    one-term probit approximation sigmoid(x) ~ Phi(sqrt(pi / 8) x): cheap, and only
    used to pick the form of the exact terms."""
    lam_slope = _PROBIT_LAMBDA * slope
    s = jnp.sqrt(1.0 + lam_slope**2 * var)
    z = (lam_slope * mu + _PROBIT_LAMBDA * offset) / s
    mills = jnp.exp(-0.5 * z**2 - _LOG_SQRT_2PI - log_ndtr(z))
    return mu + var * lam_slope * mills / s


def likelihood_terms(mu, var, y, beta, bias, disapproval, disapproval_possible=True):
    """P(y | u) as ten probit terms c_j exp(tilt_j u) Phi(alpha_j u + gamma_j), up to a
    constant factor.  Returns (c, alpha, gamma, tilt).

    For y = +1, -1, and 0 without disapproval, P(y | u) = sigmoid(a) with a = slope u
    + offset: the probit mixture fills the first five terms and the rest are zero.
    Where the posterior mean lies at a < 0 (feedback the belief found unlikely), the
    mixture is accurate only in absolute terms, so sigmoid(a) is written exp(a)
    sigmoid(-a) instead.  With disapproval, P(0 | u) = sigmoid(-beta u - b) -
    sigmoid(-beta u + b) fills all ten terms.

    ``disapproval_possible=False`` (static; the caller guarantees disapproval = 0)
    returns the first five terms only: the other five are zero then, and leaving them
    out halves the work without changing the result.
    """
    dtype = jnp.result_type(beta, float)
    scales = jnp.asarray(PROBIT_SCALES, dtype)
    weights = jnp.asarray(PROBIT_WEIGHTS, dtype)
    zeros = jnp.zeros_like(scales)
    window = jnp.logical_and(y == 0, disapproval > 0)  # an array even for Python scalars
    slope = jnp.where(y > 0, beta, -beta)
    offset = jnp.where(y == 0, -bias, bias)
    tail = ~window & (slope * _probit_plain_mean(mu, var, slope, offset) + offset < 0)
    sign = jnp.where(tail, -1.0, 1.0)
    sigmoid_terms = (weights, sign * scales * slope, sign * scales * offset)
    sigmoid_terms += (jnp.where(tail, slope, 0.0) + zeros,)
    if not disapproval_possible:
        return sigmoid_terms
    window_terms = (jnp.where(window, -weights, zeros), scales * -beta, scales * bias, zeros)
    return tuple(jnp.concatenate(pair) for pair in zip(sigmoid_terms, window_terms, strict=True))


def tilted_moments(mu, var, y, beta, bias, disapproval, disapproval_possible=True):
    """Mean and variance of u under N(u; mu, var) * P(y | u), in closed form."""
    c, alpha, gamma, tilt = likelihood_terms(
        mu, var, y, beta, bias, disapproval, disapproval_possible
    )
    # exp(tilt u) N(u; mu, var) is proportional to N(u; mu + tilt var, var)
    mean = mu + tilt * var
    s = jnp.sqrt(1.0 + alpha**2 * var)
    z = (alpha * mean + gamma) / s
    log_mass = log_ndtr(z)
    mills = jnp.exp(-0.5 * z**2 - _LOG_SQRT_2PI - log_mass)  # phi(z) / Phi(z)
    term_mean = mean + var * alpha * mills / s
    term_var = var - (var * alpha / s) ** 2 * mills * (z + mills)
    log_w = jnp.where(c != 0, jnp.log(jnp.abs(jnp.where(c != 0, c, 1.0))) + log_mass, -jnp.inf)
    w = jnp.sign(c) * jnp.exp(log_w - jnp.max(log_w))
    w = w / jnp.sum(w)
    new_mu = jnp.sum(w * term_mean)
    new_var = jnp.sum(w * (term_var + (term_mean - new_mu) ** 2))
    return new_mu, jnp.clip(new_var, 1e-12 * var, var)


def adf_update(
    belief: GaussianBelief,
    phi,
    y,
    beta,
    bias,
    disapproval,
    observed=True,
    disapproval_possible=True,
):
    """Posterior after one piece of feedback ``y`` on an action with features ``phi``.

    ``observed=False`` (or phi = 0) leaves the belief unchanged.
    ``disapproval_possible=False`` is a static promise that disapproval = 0
    (see ``likelihood_terms``).
    """
    s_phi = belief.cov @ phi
    var = jnp.dot(phi, s_phi)
    mu = jnp.dot(belief.mean, phi)
    informative = observed & (var > 1e-12)
    safe_var = jnp.where(informative, var, 1.0)
    new_mu, new_var = tilted_moments(mu, safe_var, y, beta, bias, disapproval, disapproval_possible)
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
