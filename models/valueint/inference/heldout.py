"""The log predictive density of new subjects under a fitted population, for any family.

A subject left out of a hierarchical fit is predicted by the population, not by
parameters of its own: for posterior draw n of the population (coefficients b_n, sds
sigma_n) a new subject with covariate row x has theta ~ Normal(x . b_n, sigma_n) on the
unconstrained scale, and its choices y have density

    p(y | training data) = E_n [ integral p(y | theta) Normal(theta; x . b_n, sigma_n) dtheta ].

That integral over a whole choice sequence is dominated by the few theta that fit the
subject, so drawing theta from the population would need millions of draws.  It is
estimated here by importance sampling from a proposal fitted to the subject: a Gaussian
at the mode of log p(y | theta) + log (population predictive), with its Laplace
covariance doubled, mixed with the population predictive itself (weight
``DEFENSIVE_WEIGHT``), which keeps every importance weight below
p(y | theta) / DEFENSIVE_WEIGHT and so its variance finite (Hesterberg 1995).  The same
proposal draws serve every population draw n, whose densities are cheap.

Each subject's estimate comes with its Monte Carlo standard error (the delta method on
the mean weight) and the Pareto k of its weights (above 0.7: the estimate is unreliable;
draw more, or the proposal misses the subject).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from valueint.inference import psis

# a held-out subject's proposal draws, and the thinned population draws they are scored under
HELDOUT_DRAWS = 2000
POPULATION_DRAWS = 400
DEFENSIVE_WEIGHT = 0.3
COVARIANCE_INFLATION = 2.0
MODE_STEPS = 60
MAX_NEWTON_STEP = 2.0  # the largest Newton move toward the mode, in unconstrained units


@dataclasses.dataclass(frozen=True)
class HeldOutDensity:
    """Per held-out subject: ``elpd`` = log p(y | training data), its Monte Carlo
    standard error ``mc_se`` and the Pareto k of the importance weights."""

    subject_ids: tuple[str, ...]
    elpd: np.ndarray
    mc_se: np.ndarray
    pareto_k: np.ndarray
    n_draws: int
    n_population_draws: int

    def to_dict(self) -> dict:
        return {
            "subject": list(self.subject_ids),
            "elpd": self.elpd.tolist(),
            "mc_se": self.mc_se.tolist(),
            "pareto_k": self.pareto_k.tolist(),
            "n_draws": self.n_draws,
            "n_population_draws": self.n_population_draws,
        }


def log_mean_and_se(log_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log of the mean weight per row and its standard error (delta method: the sd of
    the weights over sqrt(draws) x their mean)."""
    log_weights = np.asarray(log_weights, dtype=np.float64)
    top = log_weights.max(axis=1, keepdims=True)
    scaled = np.exp(log_weights - top)
    mean = scaled.mean(axis=1)
    log_mean = np.log(mean) + top[:, 0]
    se = scaled.std(axis=1, ddof=1) / math.sqrt(log_weights.shape[1]) / mean
    return log_mean, se


def pareto_k(log_weights: np.ndarray) -> np.ndarray:
    # psislw smooths the ratios 1 / p, i.e. exp(-values): hand it the negated log weights
    try:
        _, k, flat = psis.psislw(-log_weights)
    except ValueError:
        return np.full(log_weights.shape[0], math.inf)
    k[flat] = 0.0  # equal weights: the estimate is exact
    return k


def _normal_logpdf(theta, mean, sd):
    return jnp.sum(
        -0.5 * ((theta - mean) / sd) ** 2 - jnp.log(sd) - 0.5 * math.log(2 * math.pi), -1
    )


def importance_log_weights(loglik, data, offsets, sigma, keys, draws: int):
    """[subject, draws] log importance weights of p(y_j | theta) p(theta | population) for
    any model: ``loglik(theta [P], data_j)`` is subject j's summed log-likelihood, ``data``
    a pytree with a leading subject axis, ``offsets`` [n, subject, P] the population means
    of the subjects under n population draws and ``sigma`` [n, P] their sds.  Trace it
    inside ``jax.jit`` (``draws`` static)."""
    n_population = offsets.shape[0]

    def one_subject(data, subject_offsets, key):
        # the population predictive: an equal mixture of Normal(offset_n, sigma_n)
        def log_predictive(theta):
            return logsumexp(_normal_logpdf(theta, subject_offsets, sigma)) - math.log(n_population)

        predictive_mean = subject_offsets.mean(0)
        predictive_sd = jnp.sqrt((sigma**2).mean(0) + subject_offsets.var(0))

        mode, covariance = _laplace_proposal(
            lambda theta: loglik(theta, data), predictive_mean, predictive_sd
        )
        factor = jnp.linalg.cholesky(covariance)

        key_pick, key_laplace, key_population, key_which = jax.random.split(key, 4)
        n_params = mode.shape[0]
        laplace = mode + jax.random.normal(key_laplace, (draws, n_params)) @ factor.T
        pick = jax.random.randint(key_pick, (draws,), 0, n_population)
        population = subject_offsets[pick] + sigma[pick] * jax.random.normal(
            key_population, (draws, n_params)
        )
        defensive = jax.random.uniform(key_which, (draws,)) < DEFENSIVE_WEIGHT
        theta = jnp.where(defensive[:, None], population, laplace)

        log_prior = jax.vmap(log_predictive)(theta)
        log_laplace = jax.vmap(
            lambda t: jax.scipy.stats.multivariate_normal.logpdf(t, mode, covariance)
        )(theta)
        log_proposal = jnp.logaddexp(
            math.log(DEFENSIVE_WEIGHT) + log_prior, math.log(1 - DEFENSIVE_WEIGHT) + log_laplace
        )
        log_lik = jax.vmap(lambda t: loglik(t, data))(theta)
        log_lik = jnp.where(jnp.isnan(log_lik), -jnp.inf, log_lik)
        return log_lik + log_prior - log_proposal

    return jax.lax.map(lambda args: one_subject(*args), (data, jnp.swapaxes(offsets, 0, 1), keys))


def _laplace_proposal(loglik, predictive_mean, predictive_sd):
    """(mode, covariance) of the Laplace proposal: the mode of log p(y | theta) + a
    Gaussian stand-in for the predictive, by Newton steps on that (concave near the mode)
    target, damped when a step would go downhill; its covariance inflated."""

    def target(theta):
        return loglik(theta) + _normal_logpdf(theta, predictive_mean, predictive_sd)

    def newton(theta, _):
        gradient = jax.grad(target)(theta)
        hessian = jax.hessian(target)(theta)
        precision = _positive_definite(-hessian, 1.0 / predictive_sd**2)
        step = jnp.linalg.solve(precision, gradient)
        # a trust region: far from the mode the quadratic model can overshoot wildly
        step = step * jnp.minimum(1.0, MAX_NEWTON_STEP / (jnp.linalg.norm(step) + 1e-12))
        candidates = theta + step * jnp.asarray([1.0, 0.5, 0.25, 0.1, 0.0])[:, None]
        values = jax.vmap(target)(candidates)
        values = jnp.where(jnp.isfinite(values), values, -jnp.inf)
        return candidates[jnp.argmax(values)], None

    mode, _ = jax.lax.scan(newton, predictive_mean, None, length=MODE_STEPS)
    precision = _positive_definite(-jax.hessian(target)(mode), 1.0 / predictive_sd**2)
    return mode, COVARIANCE_INFLATION * jnp.linalg.inv(precision)


def importance_log_weights_partial(loglik, data, offsets, sigma, fixed, keys, draws: int):
    """``importance_log_weights`` for a population in which only some parameters vary
    between subjects: ``loglik(theta [V], fixed_values [F], data_j)``, ``offsets``
    [n, subject, V] and ``sigma`` [n, V] of the varying ones, and ``fixed`` [n, subject, F]
    the others' values (their age curves, say) under each population draw.

    The draws are of the pair (population draw n, theta): n in turn (stratified), theta
    from a defensive mixture of Normal(offset_n, sigma_n) and a Laplace proposal that
    follows the fixed parameters: its mode at their mean over n, moved to first order as
    they move (mode_n = mode + J (fixed_n - mean), J from the joint Hessian, the implicit
    function theorem), because a subject's likely theta moves with them.  Each weight is
    p(y | theta, fixed_n) Normal(theta; offset_n, sigma_n) / q(theta | n), whose mean is
    p(y | training data)."""
    n_population = offsets.shape[0]

    def one_subject(data, subject_offsets, subject_fixed, key):
        predictive_mean = subject_offsets.mean(0)
        predictive_sd = jnp.sqrt((sigma**2).mean(0) + subject_offsets.var(0))
        typical = subject_fixed.mean(0)
        mode, covariance = _laplace_proposal(
            lambda theta: loglik(theta, typical, data), predictive_mean, predictive_sd
        )
        factor = jnp.linalg.cholesky(covariance)
        n_params = mode.shape[0]

        def joint(vector):
            theta, fixed = vector[:n_params], vector[n_params:]
            return loglik(theta, fixed, data) + _normal_logpdf(
                theta, predictive_mean, predictive_sd
            )

        hessian = jax.hessian(joint)(jnp.concatenate([mode, typical]))
        precision = _positive_definite(-hessian[:n_params, :n_params], 1.0 / predictive_sd**2)
        response = jnp.linalg.solve(precision, hessian[:n_params, n_params:])
        modes = mode + (subject_fixed - typical) @ response.T  # [n, V]
        key_laplace, key_population, key_which = jax.random.split(key, 3)
        pick = jnp.arange(draws) % n_population
        laplace = modes[pick] + jax.random.normal(key_laplace, (draws, n_params)) @ factor.T
        population = subject_offsets[pick] + sigma[pick] * jax.random.normal(
            key_population, (draws, n_params)
        )
        defensive = jax.random.uniform(key_which, (draws,)) < DEFENSIVE_WEIGHT
        theta = jnp.where(defensive[:, None], population, laplace)
        log_prior = _normal_logpdf(theta, subject_offsets[pick], sigma[pick])
        log_laplace = jax.vmap(
            lambda t, m: jax.scipy.stats.multivariate_normal.logpdf(t, m, covariance)
        )(theta, modes[pick])
        log_proposal = jnp.logaddexp(
            math.log(DEFENSIVE_WEIGHT) + log_prior, math.log(1 - DEFENSIVE_WEIGHT) + log_laplace
        )
        log_lik = jax.vmap(lambda t, f: loglik(t, f, data))(theta, subject_fixed[pick])
        log_lik = jnp.where(jnp.isnan(log_lik), -jnp.inf, log_lik)
        return log_lik + log_prior - log_proposal

    return jax.lax.map(
        lambda args: one_subject(*args),
        (data, jnp.swapaxes(offsets, 0, 1), jnp.swapaxes(fixed, 0, 1), keys),
    )


def _positive_definite(matrix, floor):
    """``matrix`` with eigenvalues below ``floor`` (per-axis prior precision) raised to it."""
    symmetric = (matrix + matrix.T) / 2
    values, vectors = jnp.linalg.eigh(symmetric)
    values = jnp.maximum(values, jnp.min(floor))
    return (vectors * values) @ vectors.T
