"""The online ADF posterior (the ISR) against exact inference.

Reference: NUTS on the same likelihood (``valueint.testing.exact_posterior``), one praise
dataset per feedback model.  Tolerances are in units of the NUTS posterior sd and
were set from measurements (see the constants below), with the check that
deliberately broken updates fail the same criterion.
"""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpyro.diagnostics import split_gelman_rubin
from numpyro.infer.util import log_density
from scipy.special import expit, ndtr

from valueint.isr.belief import (
    PROBIT_SCALES,
    PROBIT_WEIGHTS,
    GaussianBelief,
    adf_update,
    filter_feedback,
    prior_belief,
)
from valueint.isr.feedback import feedback_log_likelihood, feedback_probabilities
from valueint.testing.exact_posterior import praise_model, sample_posterior, simulate_praise

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("isr.test_belief")

THETA = np.array([-1.0, 2.0, -2.0])
BETA, BIAS, PRIOR_SD = 2.0, -1.0, 2.0
# candy, book, crayons (the default gridworld types) and a sweet-and-messy object
OBJECTS = np.array([[1.0, 0, 0], [0, 1, 0], [0, 1, 1], [1, 0, 1]])
N_OBS, N_CONTINUOUS, DATA_SEED = 300, 100, 0
NUTS = dict(num_warmup=500, num_samples=1000, num_chains=2, seed=0)

# Tolerances per feedback model: (max_k |mean_adf - mean_nuts|_k / sd_nuts_k,
# ||cov_adf - cov_nuts||_F / ||cov_nuts||_F).  Measured on this dataset with the
# closed-form (probit-mixture) update: praise only 0.18, 0.45; with disapproval
# 0.25, 0.11.  With the earlier quadrature update, over data seeds 0-7 the errors
# were 0.12-0.33 (mean) and 0.07-0.48 (cov), and a second NUTS run differed from the
# first by <= 0.10 and <= 0.20.  Praise-only ADF is overconfident (sds 0.74-0.79 of
# NUTS here), hence the looser covariance bound.
TOLERANCE = {0.0: (0.4, 0.6), 1.0: (0.4, 0.25)}

filter_jit = jax.jit(filter_feedback)


def praise_dataset(seed, n, disapproval, n_continuous):
    rng = np.random.default_rng(seed)
    objects = OBJECTS[rng.integers(0, len(OBJECTS), n - n_continuous)]
    continuous = rng.normal(0.0, 0.7, (n_continuous, 3))
    phis = np.concatenate([objects, continuous])[rng.permutation(n)]
    ys = np.asarray(simulate_praise(seed, THETA, phis, BETA, BIAS, disapproval))
    return phis, ys


def run_adf(phis, ys, disapproval, beta=BETA):
    belief, _ = filter_jit(
        prior_belief(3, PRIOR_SD), jnp.asarray(phis), jnp.asarray(ys), beta, BIAS, disapproval
    )
    return np.asarray(belief.mean), np.asarray(belief.cov)


def discrepancy(mean, cov, draws):
    nuts_mean, nuts_cov = draws.mean(axis=0), np.cov(draws.T)
    mean_err = np.max(np.abs(mean - nuts_mean) / np.sqrt(np.diag(nuts_cov)))
    cov_err = np.linalg.norm(cov - nuts_cov) / np.linalg.norm(nuts_cov)
    return mean_err, cov_err


def within_tolerance(mean, cov, draws, disapproval):
    mean_err, cov_err = discrepancy(mean, cov, draws)
    mean_tol, cov_tol = TOLERANCE[disapproval]
    return mean_err <= mean_tol and cov_err <= cov_tol


@pytest.fixture(scope="session", params=[0.0, 1.0], ids=["praise-only", "disapproval"])
def reference(request):
    disapproval = request.param
    phis, ys = praise_dataset(DATA_SEED, N_OBS, disapproval, N_CONTINUOUS)
    prior = prior_belief(3, PRIOR_SD)
    draws = sample_posterior(phis, ys, prior.mean, prior.cov, BETA, BIAS, disapproval, **NUTS)
    return disapproval, phis, ys, draws


def test_nuts_reference_is_converged_and_covers_truth(reference):
    disapproval, phis, ys, draws = reference
    assert draws.shape == (NUTS["num_chains"] * NUTS["num_samples"], 3)
    if disapproval == 0.0:
        assert set(np.unique(ys)) <= {0, 1}
    else:
        assert set(np.unique(ys)) == {-1, 0, 1}
    by_chain = draws.reshape(NUTS["num_chains"], NUTS["num_samples"], 3)
    assert np.all(split_gelman_rubin(by_chain) < 1.01)
    z = np.abs(draws.mean(axis=0) - THETA) / draws.std(axis=0)
    assert np.all(z < 3.0)


def test_adf_matches_nuts(reference):
    disapproval, phis, ys, draws = reference
    mean, cov = run_adf(phis, ys, disapproval)
    mean_err, cov_err = discrepancy(mean, cov, draws)
    mean_tol, cov_tol = TOLERANCE[disapproval]
    assert mean_err <= mean_tol, f"mean off by {mean_err:.3f} NUTS sd (tolerance {mean_tol})"
    assert cov_err <= cov_tol, f"relative covariance error {cov_err:.3f} (tolerance {cov_tol})"


def frozen_covariance_filter(phis, ys, disapproval):
    """Mean updates only: the likelihood's curvature never shrinks the covariance."""

    def body(belief, inputs):
        updated = adf_update(belief, inputs[0], inputs[1], BETA, BIAS, disapproval)
        return GaussianBelief(mean=updated.mean, cov=belief.cov), None

    belief, _ = jax.lax.scan(body, prior_belief(3, PRIOR_SD), (jnp.asarray(phis), ys))
    return np.asarray(belief.mean), np.asarray(belief.cov)


def test_broken_updates_fail_the_same_criterion(reference):
    disapproval, phis, ys, draws = reference
    half = N_OBS // 2
    praised = ys != 0
    broken = {
        "first half of the data": run_adf(phis[:half], ys[:half], disapproval),
        "covariance never updated": frozen_covariance_filter(phis, ys, disapproval),
        "silence treated as no evidence": run_adf(phis[praised], ys[praised], disapproval),
        "wrong beta (1 instead of 2)": run_adf(phis, ys, disapproval, beta=1.0),
    }
    for name, (mean, cov) in broken.items():
        errors = discrepancy(mean, cov, draws)
        assert not within_tolerance(mean, cov, draws, disapproval), (name, errors)


@pytest.mark.parametrize("disapproval", [0.0, 1.0])
def test_posterior_concentrates_on_truth(disapproval):
    phis, ys = praise_dataset(DATA_SEED, 3200, disapproval, 1066)
    sds = []
    for n in (50, 200, 800, 3200):
        mean, cov = run_adf(phis[:n], ys[:n], disapproval)
        sd = np.sqrt(np.diag(cov))
        assert np.all(np.abs(mean - THETA) <= 3.0 * sd), (n, mean, sd)
        sds.append(sd)
    sds = np.array(sds)
    assert np.all(np.diff(sds, axis=0) < 0)
    # 16x the data should cut the sd by about 4x; measured 0.23-0.28
    assert np.all(sds[3] <= 0.4 * sds[1])


def trapezoid_posterior(m0, s0, phi, y, beta, bias, disapproval):
    grid = np.linspace(m0 - 14 * s0, m0 + 14 * s0, 400_001)
    loglik = np.asarray(
        feedback_log_likelihood(y, jnp.asarray(phi * grid), beta, bias, disapproval)
    )
    log_post = -0.5 * ((grid - m0) / s0) ** 2 + loglik
    w = np.exp(log_post - log_post.max())
    z = np.trapezoid(w, grid)
    mean = np.trapezoid(w * grid, grid) / z
    return mean, np.trapezoid(w * (grid - mean) ** 2, grid) / z


@pytest.mark.parametrize(
    "y, phi, beta, bias, disapproval, s0, m0",
    [
        (1, 1.0, 2.0, -1.0, 0.0, 0.8, 0.3),
        (0, 1.0, 2.0, -1.0, 0.0, 0.8, 0.3),
        (0, -0.7, 2.0, -1.0, 1.0, 0.8, 0.3),
        (-1, 1.0, 2.0, -1.0, 1.0, 0.8, 0.3),
        (1, 0.5, 1.0, -0.2, 1.0, 0.8, 0.3),
        (0, 1.2, 1.0, -2.0, 1.0, 0.8, 0.3),
        # broad beliefs, steep praise: sd(u) * beta up to 50
        (0, 1.0, 5.0, -1.0, 1.0, 5.0, 0.3),
        (0, 1.0, 10.0, -1.0, 1.0, 5.0, 0.3),
        (1, 1.0, 10.0, -1.0, 0.0, 5.0, 0.3),
        (-1, 2.0, 3.0, -0.5, 1.0, 3.0, 0.3),
        (0, 1.0, 2.0, -0.05, 1.0, 2.0, 0.3),
        # far tails: praise where the belief is confident none will come
        (1, 1.0, 50.0, -1.0, 0.0, 0.1, -5.0),
        (1, 1.0, 2.0, -1.0, 0.0, 0.2, -6.0),
        (-1, 1.0, 3.0, -1.0, 1.0, 0.2, 3.0),
        (0, 1.0, 2.0, -1.0, 0.0, 0.5, 4.0),
    ],
)
def test_single_update_equals_numerical_integration(y, phi, beta, bias, disapproval, s0, m0):
    # Closed-form moments of the probit mixture: exact up to the mixture's 7e-7 error.
    prior = GaussianBelief(mean=jnp.array([m0]), cov=jnp.array([[s0**2]]))
    belief = adf_update(prior, jnp.array([phi]), y, beta, bias, disapproval)
    mean, var = trapezoid_posterior(m0, s0, phi, y, beta, bias, disapproval)
    assert abs(float(belief.mean[0]) - mean) <= 1e-5 * s0
    assert abs(float(belief.cov[0, 0]) - var) <= 1e-5 * s0**2


def test_probit_mixture_approximates_the_logistic():
    x = np.linspace(-40.0, 40.0, 200_001)
    mixture = (PROBIT_WEIGHTS[None] * ndtr(PROBIT_SCALES[None] * x[:, None])).sum(axis=1)
    assert np.max(np.abs(mixture - expit(x))) < 7.2e-7
    assert abs(PROBIT_WEIGHTS.sum() - 1.0) < 1e-15


@pytest.mark.parametrize("y", [-1, 0, 1])
def test_unobserved_or_zero_phi_leaves_belief_unchanged(y):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 3))
    belief = GaussianBelief(mean=jnp.asarray(rng.normal(size=3)), cov=jnp.asarray(a @ a.T + 0.1))
    phi = jnp.asarray(rng.normal(size=3))
    for updated in (
        adf_update(belief, phi, y, BETA, BIAS, 1.0, observed=False),
        adf_update(belief, jnp.zeros(3), y, BETA, BIAS, 1.0),
    ):
        np.testing.assert_array_equal(updated.mean, belief.mean)
        np.testing.assert_array_equal(updated.cov, belief.cov)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 4),
    prior_sd=st.floats(0.3, 6.0),
    beta=st.floats(0.1, 10.0),
    bias=st.floats(-4.0, -0.05),  # at bias = 0 with disapproval, y = 0 is impossible
    disapproval=st.sampled_from([0.0, 1.0]),
    scale=st.floats(0.1, 2.0),
)
def test_covariance_stays_symmetric_positive_definite(
    seed, k, prior_sd, beta, bias, disapproval, scale
):
    rng = np.random.default_rng(seed)
    n = 300
    # one in five actions is a plain move (phi = 0); feedback drawn at random, not from theta
    phis = rng.normal(0.0, scale, (n, k)) * (rng.random((n, 1)) < 0.8)
    ys = rng.integers(-1 if disapproval else 0, 2, n)
    belief, means = filter_jit(
        prior_belief(k, prior_sd), jnp.asarray(phis), jnp.asarray(ys), beta, bias, disapproval
    )
    cov = np.asarray(belief.cov)
    assert np.all(np.isfinite(cov)) and np.all(np.isfinite(np.asarray(means)))
    np.testing.assert_array_equal(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > 0.0


def test_praise_model_log_density_is_prior_plus_feedback_likelihood():
    phis, ys = praise_dataset(5, 40, 1.0, 10)
    mean, cov = jnp.array([0.1, -0.2, 0.3]), jnp.diag(jnp.array([1.0, 2.0, 0.5]))
    theta = jnp.array([-0.5, 1.5, -1.0])
    args = (jnp.asarray(phis), jnp.asarray(ys), mean, cov, BETA, BIAS, 1.0)
    log_joint, _ = log_density(praise_model, args, {}, {"theta": theta})
    expected = dist.MultivariateNormal(mean, covariance_matrix=cov).log_prob(theta) + jnp.sum(
        feedback_log_likelihood(jnp.asarray(ys), jnp.asarray(phis) @ theta, BETA, BIAS, 1.0)
    )
    np.testing.assert_allclose(float(log_joint), float(expected), rtol=1e-12)


@pytest.mark.parametrize("disapproval", [0.0, 1.0])
def test_simulated_praise_frequencies_match_caregiver_model(disapproval):
    n = 20_000
    phis = np.tile([[0.0, 1.0, 1.0]], (n, 1))  # u = theta . phi = 0
    ys = np.asarray(simulate_praise(jax.random.key(11), THETA, phis, BETA, BIAS, disapproval))
    p_plus, p_minus = (float(p) for p in feedback_probabilities(0.0, BETA, BIAS, disapproval))
    for value, p in ((1, p_plus), (-1, p_minus)):
        # 5 binomial standard errors: about 0.015 here
        se = np.sqrt(max(p * (1 - p), 1e-12) / n)
        assert abs(np.mean(ys == value) - p) <= 5 * se


@pytest.mark.parametrize(
    "beta, sd_ratio_range",
    [
        (2.0, (0.9, 1.1)),  # gentle praise: ADF matches the exact posterior
        # steep, saturating praise: ADF is overconfident (a known limit of one-pass
        # filtering; README states it).  Measured ratios: 0.59 at beta 5, 0.46 at 10.
        (5.0, (0.45, 0.75)),
        (10.0, (0.35, 0.6)),
    ],
)
def test_adf_against_exact_posterior_in_one_dimension(beta, sd_ratio_range):
    rng = np.random.default_rng(0)
    n, theta, bias = 300, 1.3, -1.0
    p_praise, _ = feedback_probabilities(theta, beta, bias, 0.0)
    ys = (rng.random(n) < float(p_praise)).astype(int)
    belief, _ = filter_jit(prior_belief(1, 1.0), jnp.ones((n, 1)), jnp.asarray(ys), beta, bias, 0.0)
    grid = np.linspace(-4.0, 6.0, 200_001)
    log_post = -0.5 * grid**2
    for y, count in ((1, ys.sum()), (0, n - ys.sum())):
        log_post = log_post + count * np.asarray(
            feedback_log_likelihood(y, jnp.asarray(grid), beta, bias, 0.0)
        )
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = np.sum(w * grid)
    sd = np.sqrt(np.sum(w * (grid - mean) ** 2))
    # measured: 0.12, 0.24 and 0.11 sd at beta 2, 5, 10
    assert abs(float(belief.mean[0]) - mean) <= 0.3 * sd
    ratio = float(np.sqrt(belief.cov[0, 0])) / sd
    assert sd_ratio_range[0] <= ratio <= sd_ratio_range[1], ratio


def test_update_keeps_float32_beliefs_float32_under_x64():
    """The simulation runs in float32 while tests and fits enable x64: constants must
    not promote a float32 belief to float64 (which would change the compiled program)."""
    f32 = jnp.float32
    belief = prior_belief(3, f32(1.0), f32)
    for y in (1.0, 0.0, -1.0):
        new = adf_update(belief, jnp.ones(3, f32), f32(y), f32(2.0), f32(-1.0), f32(1.0))
        assert new.mean.dtype == jnp.float32 and new.cov.dtype == jnp.float32
