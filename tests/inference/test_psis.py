"""PSIS for many points at once: parity with arviz-stats' one-point-at-a-time ``psislw``,
and the properties every set of smoothed weights has."""

from __future__ import annotations

import numpy as np
import pytest
from arviz_stats.base import array_stats
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference import psis


def _reference(log_likelihood, r_eff):
    """arviz-stats, point by point."""
    weights, k = [], []
    for row in log_likelihood:
        w, khat = array_stats.psislw(row, r_eff=r_eff)
        weights.append(w)
        k.append(khat)
    return np.array(weights), np.array(k)


@pytest.mark.parametrize(("n_draws", "r_eff"), [(64, 1.0), (400, 1.0), (2000, 0.7), (4000, 0.35)])
def test_matches_arviz_stats_point_by_point(n_draws, r_eff):
    """Light, heavy and very heavy tails (log-likelihood spread 0.1 to 3), both tail-length
    rules (S r_eff at or below 225 and above); weights and k to 1e-10."""
    rng = np.random.default_rng(n_draws)
    spread = np.repeat([0.1, 0.5, 1.0, 2.0, 3.0], 8)[:, None]
    log_likelihood = rng.normal(-0.7, 1.0, (spread.size, n_draws)) * spread
    weights, k, flat = psis.psislw(log_likelihood, r_eff=r_eff)
    want_weights, want_k = _reference(log_likelihood, r_eff)
    assert not flat.any()
    np.testing.assert_allclose(k, want_k, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-10, atol=1e-10)


def test_unfittable_tails_are_marked_as_arviz_stats_marks_them():
    """A tail whose first quartile is its minimum: k is NaN and the weights stay raw; a
    flat tail (arviz-stats raises) is flagged; too few draws for a tail is an error."""
    rng = np.random.default_rng(1)
    # 200 draws, a tail of 40 ratios: its lowest 16 (and the cutoff below them) are tied
    ratios = np.concatenate([rng.uniform(-3, -1, 159), np.zeros(17), rng.uniform(0.5, 2, 24)])
    tied = -rng.permutation(ratios)
    flat_tail = np.concatenate([np.full(100, -9.0), rng.normal(size=100)])
    weights, k, flat = psis.psislw(np.stack([tied, flat_tail]), r_eff=1.0)
    want, want_k = _reference(tied[None], 1.0)
    assert np.isnan(k[0]) and np.isnan(want_k[0])
    np.testing.assert_allclose(weights[0], want[0], rtol=1e-12)
    assert flat.tolist() == [False, True]
    with pytest.raises(ValueError, match="all tail values are the same|All tail values"):
        array_stats.psislw(flat_tail, r_eff=1.0)
    with pytest.raises(ValueError, match="at least 5"):
        psis.psislw(rng.normal(size=(2, 20)))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.01, 5.0),
    n_draws=st.integers(30, 600),
)
def test_weights_are_normalized_and_keep_the_order_of_the_ratios(seed, scale, n_draws):
    """Whatever the draws: each row's weights sum to 1, and smoothing never reorders them
    (a larger ratio keeps a weight at least as large); k is finite."""
    rng = np.random.default_rng(seed)
    log_likelihood = rng.standard_t(3, (3, n_draws)) * scale
    weights, k, flat = psis.psislw(log_likelihood)
    assert not flat.any()
    np.testing.assert_allclose(np.exp(weights).sum(axis=1), 1.0, rtol=1e-9)
    assert np.all(np.isfinite(k) | np.isnan(k))
    for row_weights, row in zip(weights, log_likelihood, strict=True):
        order = np.argsort(-row, kind="stable")  # ratio 1 / p: ascending
        assert np.all(np.diff(row_weights[order]) >= -1e-9)
