"""Whitening each subject's parameters by a Gaussian approximation of its own likelihood.

Why.  The subject parameters of a hierarchical fit are where NUTS loses its time.  A
learning rate and an inverse temperature trade off within a subject (posterior
correlations of 0.9 are typical: a slower learner with a sharper choice rule predicts
much the same choices), and how strongly the data pin a subject down differs from subject
to subject, so no single centred or non-centred form, and no mass matrix shared by all
subjects, fits them all.  Here every subject gets its own coordinates.

How.  Approximate subject s's log-likelihood by a quadratic in its unconstrained
parameters, log p(y_s | theta) ~ h_s . theta - theta' Lambda_s theta / 2 (Lambda_s >= 0).
Given the population (means offset_s, sds sigma) the subject's posterior is then
Gaussian with precision Q_s = Lambda_s + diag(1 / sigma^2) and mean
m_s = Q_s^-1 (h_s + offset_s / sigma^2), so NUTS samples u_s with

    theta_s = m_s + R_s^-T u_s,        Q_s = R_s R_s'  (Cholesky)

and the exact density (the approximation only sets the coordinates, never the target).
Where the data say nothing (Lambda_s = 0) this is the non-centred form; where they
dominate, the centred one; the cross terms of Lambda_s take out the within-subject
trade-offs; and because m_s and R_s follow the population, the subjects do not hold the
population means and sds in place as they do in a centred model.

(h, Lambda) come first from each subject's Hessian at a warm start (``from_hessian``),
then from the moments of a short NUTS run (``from_draws``), which sees the likelihood's
real width where it is far from quadratic.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.infer.reparam import Reparam

WHITENED_SUFFIX = "_whitened"


@dataclasses.dataclass(frozen=True)
class LikelihoodApproximation:
    """log p(y_s | theta) ~ h[s] . theta - theta' precision[s] theta / 2 per subject;
    ``h`` [S, P], ``precision`` [S, P, P], positive semi-definite."""

    h: np.ndarray
    precision: np.ndarray

    def __post_init__(self) -> None:
        h, precision = self.h, self.precision
        if not isinstance(h, jax.core.Tracer) and not isinstance(precision, jax.core.Tracer):
            # concrete arrays are kept as NumPy; traced ones (inside a chain program) as they are
            h, precision = np.asarray(h, float), np.asarray(precision, float)
        if h.ndim != 2 or precision.shape != h.shape + h.shape[-1:]:
            raise ValueError(
                f"h must be [subject, parameter] and precision [subject, parameter, "
                f"parameter]; got {h.shape} and {precision.shape}"
            )
        object.__setattr__(self, "h", h)
        object.__setattr__(self, "precision", precision)


def nearest_psd(matrices: np.ndarray) -> np.ndarray:
    """Symmetric matrices [..., P, P] with negative eigenvalues set to 0: a likelihood that
    is not concave somewhere is treated as flat there (the population prior takes over)."""
    symmetric = (matrices + np.swapaxes(matrices, -1, -2)) / 2
    values, vectors = np.linalg.eigh(symmetric)
    return np.einsum("...pq,...q,...rq->...pr", vectors, np.clip(values, 0, None), vectors)


def from_hessian(subject_loglik, theta_hat, data) -> LikelihoodApproximation:
    """The second-order expansion of each subject's log-likelihood at ``theta_hat``
    [S, P]; ``subject_loglik(theta_s, data_s)`` is one subject's summed log-likelihood and
    ``data`` a pytree with subjects on the first axis of every leaf."""
    theta_hat = jnp.asarray(theta_hat)
    hessian = np.asarray(jax.vmap(jax.hessian(subject_loglik))(theta_hat, data))
    gradient = np.asarray(jax.vmap(jax.grad(subject_loglik))(theta_hat, data))
    precision = nearest_psd(-hessian)
    h = np.einsum("spq,sq->sp", precision, np.asarray(theta_hat)) + gradient
    return LikelihoodApproximation(h, precision)


def from_draws(theta, sigma, offset) -> LikelihoodApproximation:
    """The Gaussian likelihood that, combined with the population prior at its posterior
    median sd, gives the draws' mean and covariance: precision = Cov(theta_s)^-1 -
    diag(1 / median(sigma)^2) and h = Cov(theta_s)^-1 E[theta_s] - E[offset_s] / median(sigma)^2.

    The median, not E[1 / sigma^2]: with few subjects sigma's posterior reaches towards 0,
    and the mean of 1 / sigma^2 would then swamp what the data say.
    ``theta`` [draw, S, P], ``sigma`` [draw, P], ``offset`` [draw, S, P]."""
    theta, sigma, offset = (np.asarray(x, float) for x in (theta, sigma, offset))
    n_draws, _, n_parameters = theta.shape
    if n_draws <= n_parameters + 1:
        raise ValueError(
            f"{n_draws} draws cannot estimate a {n_parameters} x {n_parameters} covariance"
        )
    mean = theta.mean(axis=0)
    centred = theta - mean
    covariance = np.einsum("nsp,nsq->spq", centred, centred) / (n_draws - 1)
    # a tiny ridge keeps a subject whose draws barely moved invertible
    covariance += 1e-9 * np.eye(n_parameters)
    inverse = np.linalg.inv(covariance)
    prior_precision = 1.0 / np.median(sigma, axis=0) ** 2
    precision = nearest_psd(inverse - np.eye(n_parameters) * prior_precision)
    h = np.einsum("spq,sq->sp", inverse, mean) - offset.mean(axis=0) * prior_precision
    return LikelihoodApproximation(h, precision)


# ------------------------------------------------------------------ the transform


def cholesky(matrices):
    """Lower Cholesky factors of SPD matrices [..., P, P], unrolled for small P as a list
    of lists of [...] arrays (a handful of fused elementwise ops per entry: on CPU much
    cheaper under grad than a batched LAPACK call per subject)."""
    n = matrices.shape[-1]
    factor = [[None] * n for _ in range(n)]
    for j in range(n):
        diagonal = matrices[..., j, j] - sum((factor[j][k] ** 2 for k in range(j)), 0.0)
        factor[j][j] = jnp.sqrt(diagonal)
        for i in range(j + 1, n):
            below = matrices[..., i, j] - sum((factor[i][k] * factor[j][k] for k in range(j)), 0.0)
            factor[i][j] = below / factor[j][j]
    return factor


def solve_lower(factor, b):
    """y with L y = b for a factor from ``cholesky``; b [..., P], y a list of P arrays."""
    y = []
    for i in range(len(factor)):
        y.append((b[..., i] - sum((factor[i][k] * y[k] for k in range(i)), 0.0)) / factor[i][i])
    return y


def solve_upper(factor, y):
    """x [..., P] with L' x = y, for a factor from ``cholesky`` and y a list of P arrays."""
    n = len(factor)
    x = [None] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum((factor[k][i] * x[k] for k in range(i + 1, n)), 0.0)) / factor[i][i]
    return jnp.stack(x, axis=-1)


def conditional_gaussian(approximation, offset, sigma):
    """The subjects' Gaussian posterior given the population: mean m [S, P], the Cholesky
    factor of its precision (see ``cholesky``) and log |det d theta / d u|."""
    precision = jnp.asarray(approximation.precision)
    prior_precision = 1.0 / sigma**2
    factor = cholesky(precision + jnp.eye(precision.shape[-1]) * prior_precision)
    mean = solve_upper(factor, solve_lower(factor, approximation.h + offset * prior_precision))
    log_jacobian = -sum(jnp.sum(jnp.log(factor[j][j])) for j in range(len(factor)))
    return mean, factor, log_jacobian


def theta_from_whitened(approximation, offset, sigma, u):
    """theta = m + R^-T u and log |det d theta / d u|, given the population."""
    mean, factor, log_jacobian = conditional_gaussian(approximation, offset, sigma)
    theta = mean + solve_upper(factor, [u[..., i] for i in range(u.shape[-1])])
    return theta, log_jacobian


def whitened_from_theta(approximation, offset, sigma, theta):
    """The inverse map u = R' (theta - m): a starting point for the whitened chain."""
    mean, factor, _ = conditional_gaussian(approximation, offset, sigma)
    residual = theta - mean
    n = len(factor)
    columns = [sum(factor[k][i] * residual[..., k] for k in range(i, n)) for i in range(n)]
    return jnp.stack(columns, axis=-1)


class WhitenedReparam(Reparam):
    """Samples ``<site>_whitened`` in place of a Normal(offset, sigma) site [S, P]."""

    def __init__(self, approximation: LikelihoodApproximation):
        self.approximation = approximation

    def __call__(self, name, fn, obs):
        assert obs is None, "WhitenedReparam does not support observed sites"
        base = fn.base_dist if isinstance(fn, dist.Independent) else fn
        if not isinstance(base, dist.Normal) or len(fn.shape()) != 2:
            raise ValueError(
                f"site {name!r}: whitening needs a Normal [subject, parameter] site, got {fn}"
            )
        offset = jnp.broadcast_to(base.loc, fn.shape())
        sigma = jnp.broadcast_to(base.scale, fn.shape())[0]
        u = numpyro.sample(
            f"{name}{WHITENED_SUFFIX}",
            dist.ImproperUniform(constraints.real, (), event_shape=fn.shape()),
        )
        theta, log_jacobian = theta_from_whitened(self.approximation, offset, sigma, u)
        numpyro.factor(f"{name}_density", fn.log_prob(theta) + log_jacobian)
        return None, theta
