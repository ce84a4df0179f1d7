"""Each participant's sampling coordinates: their mode, posterior moments and the Gaussian
likelihood approximation that whitens their parameters in a hierarchical fit.

``subject_modes`` finds each participant's penalized maximum (log-likelihood plus the
parameters' default priors) by damped Newton steps in a trust region; ``subject_moments``
their posterior mean and covariance under those priors by self-normalized importance
sampling from a widened Laplace proposal (the curvature at the mode alone misjudges a
likelihood that is skewed or flat on one side); ``approximation_from_moments`` the
Gaussian likelihood that, with the priors, has those moments: the
``valueint.inference.whitening.LikelihoodApproximation`` that ``valueint.infosampling.fit``
whitens with.  All vmapped over participants, each from their count tables.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from valueint.inference.parameters import constrain_value
from valueint.inference.whitening import LikelihoodApproximation, nearest_psd
from valueint.infosampling.arrays import count_loglik
from valueint.infosampling.catalogue import decision_tables

NEWTON_STEPS = 60
MAX_STEP = 1.5  # the largest Newton move, in unconstrained units
IS_DRAWS = 2000  # importance draws per participant for the moments
MIN_IS_ESS = 50.0  # fewer effective draws than this: the moments fall back to the Laplace


def subject_loglik(model):
    """One participant's summed log-likelihood from unconstrained parameters [P] and their
    count tables [26, 26] each."""

    def loglik(theta, counts):
        params = {p.name: constrain_value(p, theta[i]) for i, p in enumerate(model.parameters)}
        return count_loglik(decision_tables(model, params), counts)

    return loglik


def subject_modes(model, counts, steps: int = NEWTON_STEPS):
    """Each participant's penalized maximum [S, P]: log-likelihood plus the parameters'
    default priors, by damped Newton steps (vmapped over participants)."""
    loglik = subject_loglik(model)
    loc = jnp.asarray([p.prior_loc for p in model.parameters])
    scale = jnp.asarray([p.prior_scale for p in model.parameters])

    def target(theta, data):
        return loglik(theta, data) - 0.5 * jnp.sum(((theta - loc) / scale) ** 2)

    def newton(data):
        def step(theta, _):
            gradient = jax.grad(target)(theta, data)
            hessian = jax.hessian(target)(theta, data)
            values, vectors = jnp.linalg.eigh(-(hessian + hessian.T) / 2)
            precision = (vectors * jnp.maximum(values, 1.0 / scale.max() ** 2)) @ vectors.T
            move = jnp.linalg.solve(precision, gradient)
            # a trust region: far from the mode the quadratic model overshoots wildly
            move = move * jnp.minimum(1.0, MAX_STEP / (jnp.linalg.norm(move) + 1e-12))
            candidates = theta + move * jnp.asarray([1.0, 0.5, 0.25, 0.1, 0.03, 0.0])[:, None]
            scores = jax.vmap(lambda t: target(t, data))(candidates)
            scores = jnp.where(jnp.isfinite(scores), scores, -jnp.inf)
            return candidates[jnp.argmax(scores)], None

        return jax.lax.scan(step, loc, None, length=steps)[0]

    return jax.jit(jax.vmap(newton))(counts)


def subject_moments(model, counts, modes, key, draws: int = IS_DRAWS):
    """Each participant's posterior mean [S, P] and covariance [S, P, P] under the default
    priors, by self-normalized importance sampling from a widened Laplace proposal at the
    mode (half of the draws at twice, half at four times its covariance).  The curvature at
    the mode alone misjudges a likelihood that is skewed or flat on one side."""
    loglik = subject_loglik(model)
    loc = jnp.asarray([p.prior_loc for p in model.parameters])
    scale = jnp.asarray([p.prior_scale for p in model.parameters])

    def target(theta, data):
        return loglik(theta, data) - 0.5 * jnp.sum(((theta - loc) / scale) ** 2)

    def one(mode, data, key):
        hessian = jax.hessian(target)(mode, data)
        values, vectors = jnp.linalg.eigh(-(hessian + hessian.T) / 2)
        covariance = (vectors / jnp.maximum(values, 1.0 / scale.max() ** 2)) @ vectors.T
        factor = jnp.linalg.cholesky(covariance)
        z = jax.random.normal(key, (draws, mode.shape[0]))
        widen = jnp.where(jnp.arange(draws) < draws // 2, jnp.sqrt(2.0), 2.0)[:, None]
        theta = mode + widen * (z @ factor.T)

        def log_q(t):
            parts = [
                jax.scipy.stats.multivariate_normal.logpdf(t, mode, c * covariance)
                for c in (2.0, 4.0)
            ]
            return jnp.logaddexp(*parts) - jnp.log(2.0)

        log_w = jax.vmap(lambda t: target(t, data))(theta) - jax.vmap(log_q)(theta)
        log_w = jnp.where(jnp.isfinite(log_w), log_w, -jnp.inf)
        w = jnp.exp(log_w - log_w.max())
        w = w / w.sum()
        mean = w @ theta
        centred = theta - mean
        weighted = (centred * w[:, None]).T @ centred
        # too few effective draws (one weight dominates): the weighted covariance is near
        # singular; the widened Laplace covariance is the safer guess then
        ess = 1.0 / jnp.sum(w**2)
        usable = ess >= MIN_IS_ESS
        return jnp.where(usable, mean, mode), jnp.where(usable, weighted, 2.0 * covariance)

    keys = jax.random.split(key, modes.shape[0])
    return jax.jit(jax.vmap(one))(jnp.asarray(modes), counts, keys)


def approximation_from_moments(model, mean, covariance, varying) -> LikelihoodApproximation:
    """The Gaussian likelihood that, with the default priors, gives these posterior moments
    (as ``valueint.inference.whitening.from_draws`` does for draws under the population),
    in the parameters that vary between participants, the others held at their means."""
    index = list(varying)
    n_parameters = np.asarray(mean).shape[-1]
    # the joint posterior precision's block is the varying parameters' conditional
    # precision given the others (the marginal covariance's block would be widened by
    # every trade-off with a parameter that the fit in fact holds at its age curve)
    joint = np.linalg.inv(np.asarray(covariance) + 1e-9 * np.eye(n_parameters))
    inverse = joint[:, index][:, :, index]
    mean = np.asarray(mean)[:, index]
    loc = np.asarray([model.parameters[i].prior_loc for i in index])
    prior_precision = 1.0 / np.asarray([model.parameters[i].prior_scale for i in index]) ** 2
    precision = nearest_psd(inverse - np.diag(prior_precision))
    h = np.einsum("spq,sq->sp", inverse, mean) - loc * prior_precision
    return LikelihoodApproximation(h, precision)
