"""The one MCMC diagnostics module: thresholds, messages, convergence and the summary table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from valueint.inference.diagnostics import (
    ESS_MIN,
    RHAT_MAX,
    SUMMARY_COLUMNS,
    diagnostics,
    parameter_convergence,
    posterior_summary,
)
from valueint.inference.fit_files import load_fit

LEGACY_FIT = Path(__file__).parents[1] / "data" / "legacy_fit_rw.nc"


def _fit(values, method="nuts", divergent=0) -> xr.DataTree:
    """A fit with one variable ``x`` [chain, draw] and, for NUTS, sampler statistics."""
    values = np.asarray(values, dtype=float)
    groups = {
        "posterior": xr.Dataset(
            {
                "x": (("chain", "draw"), values),
                "y": (("chain", "draw", "subject"), values[..., None]),
            },
            coords={"subject": ["s1"]},
        )
    }
    if method == "nuts":
        diverging = np.zeros(values.shape, bool)
        diverging.flat[:divergent] = True
        groups["sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    tree = xr.DataTree.from_dict(groups)
    tree.attrs["method"] = method
    return tree


def test_thresholds_are_the_recommended_ones():
    assert RHAT_MAX == 1.01 and ESS_MIN == 400


def test_well_mixed_chains_converge_without_messages():
    report = diagnostics(_fit(np.random.default_rng(0).normal(size=(4, 500))))
    assert report.converged and report.messages == ()
    assert report.max_rhat <= RHAT_MAX and report.min_ess_bulk >= ESS_MIN
    assert report.min_ess_tail >= ESS_MIN and report.divergences == 0 and report.n_draws == 2000


def test_chains_that_disagree_are_named_in_plain_words():
    values = np.random.default_rng(1).normal(size=(2, 500))
    values[1] += 3.0
    report = diagnostics(_fit(values))
    assert not report.converged and report.max_rhat > RHAT_MAX
    assert "R-hat up to" in report.messages[0] and "have not mixed" in report.messages[0]


def test_divergences_and_low_ess_fail_convergence():
    rng = np.random.default_rng(2)
    report = diagnostics(_fit(rng.normal(size=(4, 500)), divergent=3))
    assert not report.converged and report.divergences == 3
    assert any("3 divergent transition(s)" in m for m in report.messages)
    short = diagnostics(_fit(rng.normal(size=(2, 60))))
    assert not short.converged and short.min_ess_bulk < ESS_MIN
    assert any("bulk effective sample size" in m for m in short.messages)
    assert any("tail effective sample size" in m for m in short.messages)


def test_one_chain_and_stuck_chains_say_what_to_do():
    one = diagnostics(_fit(np.random.default_rng(3).normal(size=(1, 2000))))
    assert not one.converged and "only one chain" in one.messages[0]
    stuck = diagnostics(_fit(np.ones((2, 500))))
    assert stuck.max_rhat == math.inf and not stuck.converged
    assert "never moved" in stuck.messages[0]


def test_svi_fits_skip_the_sampler_checks():
    report = diagnostics(_fit(np.random.default_rng(4).normal(size=(1, 100)), method="svi"))
    assert report.method == "svi" and report.messages == () and report.n_draws == 100
    assert math.isnan(report.max_rhat) and report.divergences == 0
    assert report.converged and not report.messages


def test_parameter_convergence_of_one_array():
    rng = np.random.default_rng(5)
    rhat, ess = parameter_convergence(rng.normal(size=(2, 500)))
    assert rhat == pytest.approx(1.0, abs=0.01) and ess > 500
    rhat, ess = parameter_convergence(rng.normal(size=(1, 500)))
    assert math.isnan(rhat) and ess > 200


def test_diagnostics_and_summary_of_a_saved_fit_match_earlier_versions():
    """Numbers read from the legacy fixture by the earlier version (arviz 0.23)."""
    fit = load_fit(LEGACY_FIT)
    report = diagnostics(fit)
    assert report.max_rhat == pytest.approx(1.050, abs=5e-4)
    assert report.min_ess_bulk == pytest.approx(40, abs=0.5)
    assert report.min_ess_tail == pytest.approx(55, abs=0.5)
    assert len(report.messages) == 3 and not report.converged
    table = posterior_summary(fit, ["mu_alpha", "alpha_by_group", "sigma_alpha"])
    assert tuple(table.columns) == SUMMARY_COLUMNS
    expected = {
        "mu_alpha": (0.345, 0.237, 0.041, 0.809, 0.030, 0.019, 63, 81, 1.00),
        "alpha_by_group[older]": (0.306, 0.285, 0.004, 0.906, 0.035, 0.028, 79, 60, 1.01),
        "sigma_alpha": (1.141, 0.913, 0.037, 2.806, 0.102, 0.069, 62, 81, 0.99),
    }
    for name, row in expected.items():
        np.testing.assert_allclose(table.loc[name].to_numpy(), row, atol=1e-9, err_msg=name)
