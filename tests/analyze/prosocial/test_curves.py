"""Learning-curve helpers of the prosocial-learning analysis."""

import pandas as pd
import pytest

from valueint.analyze.prosocial.curves import COVERAGE_CRITERION, coverage_table, wilson_interval


def test_wilson_interval_matches_known_values():
    # 8 successes out of 10: Wilson 95% interval (0.490, 0.943)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)


def test_coverage_counts_points_inside_the_band_per_panel():
    """Two panels of one model: 3 of 4 points inside (one on the band's edge counts), then
    1 of 2; rows keep the curves' order and the criterion is 85%."""
    curves = pd.DataFrame(
        {
            "model": ["rw"] * 6,
            "group": ["young"] * 4 + ["older"] * 2,
            "context": ["self"] * 4 + ["none"] * 2,
            "trial": [1, 2, 3, 4, 1, 2],
            "observed": [0.5, 0.7, 0.9, 0.6, 0.2, 0.8],
            "predicted_q05": [0.4, 0.6, 0.6, 0.6, 0.1, 0.1],
            "predicted_q95": [0.6, 0.8, 0.8, 0.7, 0.3, 0.3],
        }
    )
    table = coverage_table(curves)
    assert list(zip(table["group"], table["context"], strict=True)) == [
        ("young", "self"),
        ("older", "none"),
    ]
    assert table["n_points"].tolist() == [4, 2] and table["n_inside"].tolist() == [3, 1]
    assert table["coverage"].tolist() == [0.75, 0.5]
    assert not table["meets_criterion"].any() and COVERAGE_CRITERION == 0.85
    all_inside = coverage_table(curves.assign(observed=curves["predicted_q05"]))
    assert all_inside["coverage"].tolist() == [1.0, 1.0] and all_inside["meets_criterion"].all()
