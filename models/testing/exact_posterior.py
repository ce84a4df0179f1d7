"""Batch inference over the caregiver's weights from praise, as a numpyro model.

The likelihood is the one the online ISR filters (``caregiver.feedback_log_likelihood``
of y given u = theta . phi), so NUTS samples from the exact posterior that the
assumed-density filter in ``posterior.py`` approximates.  ``simulate_praise`` draws
feedback the way the caregiver does, which makes both ends testable against each other.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from valueint.isr.feedback import feedback_log_likelihood, feedback_probabilities


def praise_model(phis, ys, prior_mean, prior_cov, beta, bias, disapproval):
    """theta ~ N(prior_mean, prior_cov); each y_n scored by log P(y_n | theta . phi_n)."""
    prior_mean = jnp.asarray(prior_mean)
    theta = numpyro.sample(
        "theta", dist.MultivariateNormal(prior_mean, covariance_matrix=jnp.asarray(prior_cov))
    )
    u = jnp.asarray(phis, dtype=prior_mean.dtype) @ theta
    loglik = feedback_log_likelihood(jnp.asarray(ys), u, beta, bias, disapproval)
    numpyro.factor("feedback", jnp.sum(loglik))


def sample_posterior(
    phis,
    ys,
    prior_mean,
    prior_cov,
    beta,
    bias,
    disapproval,
    *,
    num_warmup=500,
    num_samples=1000,
    num_chains=2,
    seed=0,
):
    """NUTS draws of theta, chains pooled: a NumPy array [num_chains * num_samples, K]."""
    mcmc = MCMC(
        NUTS(praise_model),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        chain_method="parallel",
        progress_bar=False,
    )
    mcmc.run(
        jax.random.key(seed),
        jnp.asarray(phis),
        jnp.asarray(ys),
        jnp.asarray(prior_mean),
        jnp.asarray(prior_cov),
        beta,
        bias,
        disapproval,
    )
    return np.asarray(mcmc.get_samples()["theta"])


def simulate_praise(key_or_seed, theta, phis, beta, bias, disapproval):
    """Feedback y in {-1, 0, +1} for each row of ``phis`` [N, K], by inverse CDF."""
    key = key_or_seed
    if isinstance(key_or_seed, int | np.integer):
        key = jax.random.key(int(key_or_seed))
    phis = jnp.asarray(phis)
    u = phis @ jnp.asarray(theta, dtype=phis.dtype)
    uniform = jax.random.uniform(key, u.shape, dtype=u.dtype)
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    return jnp.where(uniform < p_plus, 1, jnp.where(uniform < p_plus + p_minus, -1, 0))
