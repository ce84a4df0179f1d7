"""The subject whitening: its linear algebra against NumPy, its limits, that it leaves
the target density unchanged, and that both approximations recover a Gaussian likelihood."""

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpyro.infer.util import log_density

from valueint.inference import whitening
from valueint.inference.whitening import LikelihoodApproximation, WhitenedReparam
from valueint.testing import whitening as reference

numpyro.enable_x64()


def random_problem(seed, n_subjects=5, n_parameters=3, flat=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_subjects, n_parameters, n_parameters))
    precision = np.einsum("spq,srq->spr", a, a) * (0.0 if flat else 1.0)
    h = rng.normal(size=(n_subjects, n_parameters))
    offset = rng.normal(size=(n_subjects, n_parameters))
    sigma = rng.uniform(0.3, 2.0, size=n_parameters)
    u = rng.normal(size=(n_subjects, n_parameters))
    return LikelihoodApproximation(h, precision), offset, sigma, u


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_unrolled_cholesky_and_solves_match_numpy(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, n, n))
    matrices = np.einsum("spq,srq->spr", a, a) + 0.1 * np.eye(n)
    factor = whitening.cholesky(jnp.asarray(matrices))
    dense = np.zeros_like(matrices)
    for i in range(n):
        for j in range(i + 1):
            dense[:, i, j] = np.asarray(factor[i][j])
    np.testing.assert_allclose(dense, np.linalg.cholesky(matrices), rtol=1e-10, atol=1e-12)
    b = rng.normal(size=(6, n))
    x = whitening.solve_upper(factor, whitening.solve_lower(factor, jnp.asarray(b)))
    np.testing.assert_allclose(x, np.linalg.solve(matrices, b[..., None])[..., 0], rtol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_transform_matches_the_numpy_reference_and_inverts(seed):
    approximation, offset, sigma, u = random_problem(seed)
    theta, log_jacobian = whitening.theta_from_whitened(approximation, offset, sigma, u)
    want, want_log_jacobian = reference.theta_from_whitened(
        approximation.h, approximation.precision, offset, sigma, u
    )
    np.testing.assert_allclose(theta, want, rtol=1e-10)
    np.testing.assert_allclose(log_jacobian, want_log_jacobian, rtol=1e-10)
    back = whitening.whitened_from_theta(approximation, offset, sigma, theta)
    np.testing.assert_allclose(back, u, rtol=1e-9, atol=1e-12)


def test_no_information_is_the_noncentred_form():
    approximation, offset, sigma, u = random_problem(0, flat=True)
    approximation = LikelihoodApproximation(np.zeros_like(approximation.h), approximation.precision)
    theta, log_jacobian = whitening.theta_from_whitened(approximation, offset, sigma, u)
    np.testing.assert_allclose(theta, offset + sigma * u, rtol=1e-12)
    np.testing.assert_allclose(log_jacobian, offset.shape[0] * np.sum(np.log(sigma)), rtol=1e-12)


def test_whitening_changes_coordinates_not_the_density():
    """log p_whitened(u) = log p(theta(u)) + log |det d theta / d u| for the same model."""
    approximation, offset, sigma, u = random_problem(1)

    def model():
        theta = numpyro.sample("theta", dist.Normal(jnp.asarray(offset), sigma).to_event(2))
        numpyro.factor("likelihood", -0.5 * jnp.sum((theta - 1.0) ** 2 * jnp.arange(1, 4)))

    reparam = numpyro.handlers.reparam(model, config={"theta": WhitenedReparam(approximation)})
    whitened_lp, trace = log_density(reparam, (), {}, {"theta_whitened": jnp.asarray(u)})
    theta = trace["theta"]["value"]
    plain_lp, _ = log_density(model, (), {}, {"theta": theta})
    _, log_jacobian = whitening.theta_from_whitened(approximation, offset, sigma, u)
    np.testing.assert_allclose(whitened_lp, plain_lp + log_jacobian, rtol=1e-12)


def test_hessian_of_a_quadratic_likelihood_is_exact():
    approximation, _, _, _ = random_problem(2)
    h, precision = approximation.h, approximation.precision

    def loglik(theta, data):
        h_s, precision_s = data
        return h_s @ theta - 0.5 * theta @ precision_s @ theta

    expansion_point = np.random.default_rng(3).normal(size=h.shape)
    found = whitening.from_hessian(
        loglik, expansion_point, (jnp.asarray(h), jnp.asarray(precision))
    )
    np.testing.assert_allclose(found.precision, precision, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(found.h, h, rtol=1e-9, atol=1e-10)


def test_moments_of_exact_draws_recover_the_likelihood():
    """Draws from the conditional posterior at a fixed population give back (h, precision)
    within Monte Carlo error (20,000 draws: about 2% on each entry)."""
    approximation, offset, sigma, _ = random_problem(4, n_subjects=3, n_parameters=2)
    means, covariances = reference.conditional_gaussian(
        approximation.h, approximation.precision, offset, sigma
    )
    rng = np.random.default_rng(5)
    n = 20_000
    draws = np.stack(
        [rng.multivariate_normal(m, c, size=n) for m, c in zip(means, covariances, strict=True)],
        axis=1,
    )
    found = whitening.from_draws(draws, np.tile(sigma, (n, 1)), np.tile(offset, (n, 1, 1)))
    scale = np.abs(approximation.precision).max() + 1.0 / sigma.min() ** 2
    np.testing.assert_allclose(found.precision, approximation.precision, atol=0.05 * scale)
    np.testing.assert_allclose(
        found.h, approximation.h, atol=0.05 * np.abs(approximation.h).max() + 0.05 * scale
    )


def test_bad_shapes_and_too_few_draws_are_refused():
    with pytest.raises(ValueError, match="h must be"):
        LikelihoodApproximation(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="3 draws cannot estimate"):
        whitening.from_draws(np.zeros((3, 4, 2)), np.ones((3, 2)), np.zeros((3, 4, 2)))


def test_a_negative_curvature_is_treated_as_flat():
    matrices = np.array([[[2.0, 0.0], [0.0, -1.0]]])
    np.testing.assert_allclose(
        whitening.nearest_psd(matrices), [[[2.0, 0.0], [0.0, 0.0]]], atol=1e-12
    )
