"""Predictive bands, points inside them and coverage per panel."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from valueint.inference.predictive import (
    COVERAGE_TARGET,
    coverage,
    inside,
    jeffreys_interval,
    predictive_band,
)


def test_the_band_holds_its_share_of_draws():
    draws = np.random.default_rng(0).normal(size=(3, 20_000))
    lower, upper = predictive_band(draws, 0.9)
    share = ((draws >= lower[:, None]) & (draws <= upper[:, None])).mean(axis=1)
    np.testing.assert_allclose(share, 0.9, atol=0.01)


def test_a_point_on_the_edge_is_inside():
    np.testing.assert_array_equal(inside([0.2, 0.5, 0.8], 0.2, 0.5), [True, True, False])


def test_coverage_is_per_panel_in_order_of_appearance():
    table = pd.DataFrame(
        {"panel": ["b", "b", "a", "a", "a"], "inside": [True, False, True, True, True]}
    )
    out = coverage(table, ["panel"])
    assert list(out["panel"]) == ["b", "a"]
    assert list(out["coverage"]) == [0.5, 1.0]
    assert list(out["meets_target"]) == [0.5 >= COVERAGE_TARGET, True]
    assert out["n_inside"].dtype == np.int64


@given(st.integers(0, 50), st.integers(1, 50))
def test_the_jeffreys_interval_holds_the_proportion(k, n):
    k = min(k, n)
    low, high = jeffreys_interval(k, n)
    assert 0.0 <= low <= high <= 1.0
    assert low <= k / n <= high or k in (0, n)
