"""The held-out density of a new subject, for any model: importance sampling against a
case with a closed form, and the estimate's Monte Carlo error."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

from valueint.inference.heldout import importance_log_weights, log_mean_and_se, pareto_k


def test_a_normal_mean_model_gets_its_exact_predictive_density():
    """y_i ~ N(theta, 1), i = 1..5, with theta ~ N(offset_n, sigma_n) under 3 population
    draws: p(y) is an equal mixture of multivariate normals N(offset_n 1, I + sigma_n^2 11').
    The estimate is within 4 Monte Carlo standard errors of it, for every subject."""
    rng = np.random.default_rng(0)
    offsets = np.array([[[0.2], [1.0]], [[0.0], [1.3]], [[0.5], [0.8]]])  # [n, subject, P]
    sigma = np.array([[0.7], [1.0], [0.5]])  # [n, P]
    y = np.stack([rng.normal(0.3, 1.2, 5), rng.normal(1.1, 1.0, 5)])  # [subject, 5]

    def loglik(theta, data):
        return jnp.sum(jax.scipy.stats.norm.logpdf(data, theta[0], 1.0))

    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(1), 2)
        weights = np.asarray(
            jax.jit(importance_log_weights, static_argnums=(0, 5))(
                loglik, jnp.asarray(y), jnp.asarray(offsets), jnp.asarray(sigma), keys, 4000
            )
        )
    estimate, se = log_mean_and_se(weights)
    for j in range(2):
        exact = [
            stats.multivariate_normal(
                np.full(5, offsets[n, j, 0]), np.eye(5) + sigma[n, 0] ** 2
            ).logpdf(y[j])
            for n in range(3)
        ]
        truth = np.logaddexp.reduce(exact) - math.log(3)
        assert abs(estimate[j] - truth) < 4 * se[j] + 1e-3, (j, estimate[j], truth, se[j])
    assert np.all(pareto_k(weights) < 0.7)


def test_equal_weights_are_exact():
    np.testing.assert_array_equal(pareto_k(np.zeros((2, 500))), 0.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=2, max_size=30),
    st.floats(-500, 500),
)
def test_log_mean_is_shift_equivariant_and_exact(values, shift):
    values = np.asarray(values)[None]
    estimate, se = log_mean_and_se(values)
    shifted, shifted_se = log_mean_and_se(values + shift)
    np.testing.assert_allclose(shifted, estimate + shift, rtol=0, atol=1e-9)
    np.testing.assert_allclose(shifted_se, se, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(estimate, logsumexp(values) - math.log(values.size), atol=1e-9)
