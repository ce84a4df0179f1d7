"""Learning-curve helpers of the prosocial-learning analysis."""

import pytest

from valueint.analyze.prosocial_curves import wilson_interval


def test_wilson_interval_matches_known_values():
    # 8 successes out of 10: Wilson 95% interval (0.490, 0.943)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
