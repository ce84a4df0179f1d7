"""Posterior predictive checks, for every family: the band a model's predictive draws give
each observed point, whether the point lies inside it, and the coverage per panel.

A family's check summarizes the data into points (a learning curve's trial, a trust rate
at one reciprocation level and age band) and draws the same summaries from the posterior
predictive; ``predictive_band`` gives each point's central band, ``inside`` says whether
the observed value lies in it (ties at the band's edge count as inside), and
``coverage`` the share of points inside, per panel.  A model reproduces a panel when the
share reaches ``COVERAGE_TARGET``: with a 90% band a right model misses about one point
in ten by chance.  ``jeffreys_interval`` is the interval of an observed proportion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

COVERAGE_TARGET = 0.85  # share of a panel's observed points its predictive band must cover
BAND = 0.90  # the central predictive band of a point
TIE = 1e-12  # an observed share on the band's edge counts as inside


def predictive_band(draws, band: float = BAND, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper): the central ``band`` interval of the draws along ``axis``."""
    tail = (1 - band) / 2
    lower, upper = np.quantile(np.asarray(draws, float), [tail, 1 - tail], axis=axis)
    return lower, upper


def inside(observed, lower, upper) -> np.ndarray:
    """Whether each observed value lies in its band (edges included)."""
    observed = np.asarray(observed, float)
    return (observed >= np.asarray(lower) - TIE) & (observed <= np.asarray(upper) + TIE)


def coverage(table: pd.DataFrame, by: Sequence[str], column: str = "inside") -> pd.DataFrame:
    """Per group of ``by``: n_points, n_inside (points whose ``column`` is true), coverage
    and ``meets_target`` (coverage >= ``COVERAGE_TARGET``); groups in order of appearance."""
    out = (
        table.groupby(list(by), sort=False, observed=True)[column]
        .agg(n_points="size", n_inside="sum")
        .reset_index()
    )
    out["n_inside"] = out["n_inside"].astype(np.int64)
    out["coverage"] = out["n_inside"] / out["n_points"]
    out["meets_target"] = out["coverage"] >= COVERAGE_TARGET
    return out


def jeffreys_interval(k, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed Jeffreys interval of a binomial proportion (Beta(k + 1/2, n - k + 1/2))."""
    tail = (1 - level) / 2
    k, n = np.asarray(k, float), np.asarray(n, float)
    lower = np.where(k > 0, stats.beta.ppf(tail, k + 0.5, n - k + 0.5), 0.0)
    upper = np.where(k < n, stats.beta.ppf(1 - tail, k + 0.5, n - k + 0.5), 1.0)
    return lower, upper
