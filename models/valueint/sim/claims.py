"""Statistical statements about simulated learners: estimates with 95% t-intervals over seeds.

A ``Claim`` is one sentence of a figure's result (e.g. "with an ISR the socialized
rate stays above the rate without one") with the number that supports it, its
interval and the criterion the interval must meet.  Seeds are independent runs, and
conditions of one run share each seed's random numbers, so differences between
conditions are taken per seed (paired) before the interval.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class Claim:
    name: str
    statement: str
    estimate: float
    low: float
    high: float
    n_seeds: int
    criterion: str
    holds: bool

    def describe(self) -> str:
        verdict = "holds" if self.holds else "DOES NOT HOLD"
        return (
            f"{self.statement}: {self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
            f"(95% CI, {self.n_seeds} seeds; needs {self.criterion}) -> {verdict}"
        )


def t_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high) of a t-interval for the mean; NaNs are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def errorbar(values) -> tuple[float, float]:
    """The 95% t-interval as seaborn's ``errorbar=`` callable wants it."""
    _, low, high = t_interval(values)
    return low, high


def _claim(name, statement, values, criterion, test) -> Claim:
    mean, low, high = t_interval(values)
    finite = int(np.isfinite(np.asarray(values, dtype=float)).sum())
    holds = bool(np.isfinite(low) and test(low, high))
    return Claim(name, statement, mean, low, high, finite, criterion, holds)


def above(name: str, statement: str, values, bound: float = 0.0) -> Claim:
    """The interval lies above ``bound``."""
    return _claim(name, statement, values, f"lower bound > {bound:g}", lambda lo, hi: lo > bound)


def below(name: str, statement: str, values, bound: float = 0.0) -> Claim:
    """The interval lies below ``bound``."""
    return _claim(name, statement, values, f"upper bound < {bound:g}", lambda lo, hi: hi < bound)


def within(name: str, statement: str, values, margin: float) -> Claim:
    """The interval lies inside (-margin, margin): equal up to ``margin``."""
    return _claim(
        name,
        statement,
        values,
        f"interval inside (-{margin:g}, {margin:g})",
        lambda lo, hi: -margin < lo and hi < margin,
    )
