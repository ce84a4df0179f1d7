"""The Beta belief and the optimal-stopping values: parity with the NumPy reference
(``valueint.testing.infosampling``) on every reachable state, and properties that any
correct belief and backward induction must have.

The JAX functions are called with [1, 1]-shaped parameters, as ``models`` calls them.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.infosampling import belief
from valueint.testing import infosampling as ref

N = belief.MAX_TILES + 1
REACHABLE = np.tril(np.ones((N, N), bool))  # [n, g] with g <= n
PARAMETER_SETS = [  # prior mean, prior strength, cost, trust threshold
    (0.5, 2.0, 0.02, 0.5),
    (0.3, 0.7, 0.005, 0.5),
    (0.82, 9.0, 0.1, 0.7),
    (0.61, 25.0, 0.001, 0.55),
    (0.07, 1.3, 0.04, 0.3),
]
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None)
prior_means = st.floats(0.02, 0.98)
prior_counts = st.floats(0.1, 50.0)
costs = st.floats(0.0005, 0.3)


def as_cell(x):
    return jnp.full((1, 1), x, jnp.float64)


@jax.jit
def tables(prior_mean, prior_count, cost, threshold=0.5):
    """(mean, sd, stop, open) [26, 26] from scalars, compiled once."""
    m, k, c = as_cell(prior_mean), as_cell(prior_count), as_cell(cost)
    stop, sample = belief.stopping_values(m, k, c, as_cell(threshold))
    return belief.posterior_mean(m, k), belief.posterior_sd(m, k), stop, sample


def reference_tables(prior_mean, prior_count, cost, threshold=0.5):
    """The reference's (mean, sd, stop, open) as [26, 26] arrays, NaN where g > n."""
    out = [np.full((N, N), np.nan) for _ in range(4)]
    stop, sample = ref.stopping_values(prior_mean, prior_count, cost, threshold)
    for n in range(N):
        for g in range(n + 1):
            out[0][n, g], out[1][n, g] = ref.posterior(prior_mean, prior_count, n, g)
            out[2][n, g], out[3][n, g] = stop[n, g], sample[n, g]
    return out


@pytest.mark.parametrize("prior_mean, prior_count, cost, threshold", PARAMETER_SETS)
def test_belief_and_values_match_the_reference_on_every_reachable_state(
    prior_mean, prior_count, cost, threshold
):
    got = [np.asarray(t) for t in tables(prior_mean, prior_count, cost, threshold)]
    expected = reference_tables(prior_mean, prior_count, cost, threshold)
    for name, a, b in zip(("mean", "sd", "stop", "open"), got, expected, strict=True):
        # atol: 2 mu - 1 and the values of opening cross 0, where rtol alone means nothing
        np.testing.assert_allclose(a[REACHABLE], b[REACHABLE], rtol=1e-10, atol=1e-13, err_msg=name)
    assert np.all(np.isneginf(got[3][-1]))  # no opening after 25 tiles


def test_batched_parameters_give_each_set_its_own_tables():
    m, k, c, t = (
        jnp.asarray(v, jnp.float64)[:, None, None] for v in zip(*PARAMETER_SETS, strict=True)
    )
    stop, sample = belief.stopping_values(m, k, c, t)
    mean = belief.posterior_mean(m, k)
    assert stop.shape == sample.shape == mean.shape == (len(PARAMETER_SETS), N, N)
    for i, params in enumerate(PARAMETER_SETS):
        single = tables(*params)
        np.testing.assert_allclose(mean[i], single[0], rtol=1e-12)
        np.testing.assert_allclose(stop[i], single[2], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(sample[i], single[3], rtol=1e-12, atol=1e-15)


def test_reference_values_by_hand():
    """The reference itself on a case worked by hand: uniform prior (m = 1/2, k = 2)."""
    mean, sd = ref.posterior(0.5, 2.0, 2, 2)  # Beta(3, 1)
    assert mean == pytest.approx(0.75) and sd == pytest.approx(np.sqrt(3 / 80))
    stop, sample = ref.stopping_values(0.5, 2.0, 0.1)
    # at (24, g) opening leads to the forced stop: -c + mu stop(25, g+1) + (1 - mu) stop(25, g)
    mu = 25 / 26  # (1 + 24) / (2 + 24)
    by_hand = -0.1 + mu * (2 * 26 / 27 - 1) + (1 - mu) * (2 * 25 / 27 - 1)
    assert sample[24, 24] == pytest.approx(by_hand, rel=1e-12)
    assert stop[0, 0] == 0.0


@PROPERTY_SETTINGS
@given(prior_means, prior_counts)
def test_posterior_mean_lies_between_the_prior_mean_and_the_green_fraction(m, k):
    mean, sd, _, _ = (np.asarray(t) for t in tables(m, k, 0.01))
    for n in range(1, N):
        g = np.arange(n + 1)
        low, high = np.minimum(m, g / n), np.maximum(m, g / n)
        assert np.all(mean[n, : n + 1] >= low - 1e-12) and np.all(mean[n, : n + 1] <= high + 1e-12)
    # the posterior mean is a martingale: E[mu(n + 1) | n, g] = mu(n, g)
    mu, reach = mean[:-1, :-1], REACHABLE[:-1, :-1]
    expected = mu * mean[1:, 1:] + (1 - mu) * mean[1:, :-1]
    np.testing.assert_allclose(expected[reach], mu[reach], rtol=1e-12, atol=1e-14)
    assert np.all(sd > 0) and np.all(sd < 0.5)


@PROPERTY_SETTINGS
@given(prior_means, prior_counts)
def test_information_is_never_worth_less_than_nothing_when_it_is_free(m, k):
    """At cost 0, opening is never worse than stopping (n < 25): the value is convex in
    mu and mu is a martingale."""
    _, _, stop, sample = (np.asarray(t) for t in tables(m, k, 0.0))
    reach = REACHABLE[:-1]
    assert np.all(sample[:-1][reach] >= stop[:-1][reach] - 1e-12)
    # stopping never beats V = max(stop, open), and V is at least the sure thing 0
    assert np.all(np.maximum(stop, sample)[REACHABLE] >= 0.0)


@PROPERTY_SETTINGS
@given(prior_means, prior_counts, costs, st.floats(1.05, 10.0))
def test_opening_is_worth_less_when_tiles_cost_more(m, k, cost, factor):
    _, _, stop_a, open_a = (np.asarray(t) for t in tables(m, k, cost))
    _, _, stop_b, open_b = (np.asarray(t) for t in tables(m, k, cost * factor))
    np.testing.assert_array_equal(stop_a, stop_b)  # stopping does not depend on the cost
    rise = cost * factor - cost
    # open(c) = -c + E[V(c)] and V is non-increasing in c, so open falls by at least the rise
    reach = REACHABLE[:-1]
    assert np.all(open_a[:-1][reach] - open_b[:-1][reach] >= rise - 1e-12)
    # and V(c) never rises with c
    assert np.all(np.maximum(stop_a, open_a) >= np.maximum(stop_b, open_b) - 1e-12)


@PROPERTY_SETTINGS
@given(prior_means, prior_counts, costs)
def test_tables_are_finite_everywhere_including_unreachable_states(m, k, cost):
    mean, sd, stop, sample = (np.asarray(t) for t in tables(m, k, cost))
    for table in (mean, sd, stop):
        assert np.all(np.isfinite(table))
    assert np.all(np.isfinite(sample[:-1])) and np.all(np.isneginf(sample[-1]))
    # the posterior tables hold the values of (n, n) where g > n
    for n in range(N):
        np.testing.assert_array_equal(mean[n, n:], mean[n, n])
        np.testing.assert_array_equal(sd[n, n:], sd[n, n])


@pytest.mark.parametrize("temperature, trust_temperature", [(0.01, 0.05), (0.002, 0.02)])
def test_soft_values_match_the_reference_and_approach_the_hard_ones(temperature, trust_temperature):
    m, k, c, t = 0.4, 3.0, 0.01, 0.55
    cell = as_cell
    stop, sample = belief.stopping_values(
        cell(m), cell(k), cell(c), cell(t), cell(temperature), cell(trust_temperature)
    )
    ref_stop, ref_sample = ref.stopping_values(m, k, c, t, temperature, trust_temperature)
    for n in range(N):
        for g in range(n + 1):
            assert float(stop[n, g]) == pytest.approx(ref_stop[n, g], rel=1e-10, abs=1e-13)
            assert float(sample[n, g]) == pytest.approx(ref_sample[n, g], rel=1e-10, abs=1e-13)
    # a soft max is above the hard one by at most T log 2 per max taken
    _, _, hard_stop, hard_sample = (np.asarray(x) for x in tables(m, k, c, t))
    gap = np.asarray(stop)[REACHABLE] - hard_stop[REACHABLE]
    assert np.all(gap >= -1e-12) and np.all(gap <= 2 * trust_temperature * np.log(2) + 1e-12)
    finite = REACHABLE & np.isfinite(hard_sample)
    assert np.all(np.asarray(sample)[finite] >= hard_sample[finite] - 1e-12)
