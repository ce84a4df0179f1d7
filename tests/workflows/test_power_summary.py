"""Power from simulated studies: rates, Monte Carlo intervals and the answers."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.workflows.power_summary import (
    median_crossing,
    power_table,
    proportion_interval,
    smallest_size,
)


def studies_frame(rates: dict, n: int, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for size, rate in rates.items():
        for j in range(n):
            hit = j < round(rate * n)
            rows.append(
                {
                    "size": size,
                    "win": hit,
                    "lead_beyond": hit,
                    "weight_excludes": True,
                    "weight_sd": 1 / np.sqrt(size) + rng.normal(0, 0.001),
                    "lead_ratio": 2.0 * np.sqrt(size / 200),
                    "converged": j != 0,
                    "log10_bf": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_rates_and_their_intervals_per_size():
    power = power_table(studies_frame({100: 0.3, 200: 0.6, 400: 0.9}, 50))
    assert list(power["size"]) == [100, 200, 400]
    np.testing.assert_allclose(power["lead_rate"], [0.3, 0.6, 0.9])
    assert (power["lead_rate_low"] < power["lead_rate"]).all()
    assert (power["lead_rate"] < power["lead_rate_high"]).all()
    assert (power["unconverged"] == 1).all()
    assert power["weight_sd"].is_monotonic_decreasing
    assert smallest_size(power, "lead_rate", 0.8)["estimate"] == 400
    assert smallest_size(power, "lead_rate", 0.95)["estimate"] is None
    # the median lead grows as sqrt(size): 2 se at 200 exactly
    assert median_crossing(power, 2.0) == pytest.approx(200.0)
    assert median_crossing(power, 5.0) is None


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 200), st.data())
def test_the_interval_holds_the_rate(n, data):
    k = data.draw(st.integers(0, n))
    low, high = proportion_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
