"""A test reference for the ISR's belief update: the exact posterior by batch NUTS.

The likelihood is the one the online ISR filters
(``valueint.isr.feedback.feedback_log_likelihood`` of y given u = theta . phi), so NUTS
samples from the exact posterior that the assumed-density filter of
``valueint.isr.belief`` approximates; the tests hold the filter against it.
``simulate_praise`` draws feedback as the caregiver does
(``valueint.isr.feedback.draw_feedback``), so both ends see the same data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from valueint.isr.feedback import draw_feedback, feedback_log_likelihood


def praise_model(phis, ys, prior_mean, prior_cov, beta, bias, disapproval):
    """The batch model the ADF is tested against (a reference, not used for fitting):
    theta ~ N(prior_mean, prior_cov); each y_n scored by log P(y_n | theta . phi_n)."""
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
    """Feedback y in {-1, 0, +1} for each row of ``phis`` [N, K], as the caregiver draws it."""
    key = key_or_seed
    if isinstance(key_or_seed, int | np.integer):
        key = jax.random.key(int(key_or_seed))
    phis = jnp.asarray(phis)
    u = phis @ jnp.asarray(theta, dtype=phis.dtype)
    uniform = jax.random.uniform(key, u.shape, dtype=u.dtype)
    return draw_feedback(u, beta, bias, disapproval, uniform)
