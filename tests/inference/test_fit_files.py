"""Fit files: fits written by earlier versions still load, compare and check.

``data/legacy_fit_rw.nc`` was written by the earlier version (arviz 0.23, Python 3.11)
from ``data/legacy_trials.csv`` (4 subjects x 20 trials, made with a fixed seed) by::

    valueint fit legacy_trials.csv --model rw --out legacy_fit_rw.nc \\
        --chains 2 --draws 50 --warmup 50 --seed 1 --group-covariate group
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from valueint.cli import fit as fit_cli
from valueint.inference.comparison import compare, loo
from valueint.inference.fit_files import load_fit, loglik_recomputes, save_fit, summarize
from valueint.trials.fit_data import as_fit_data, data_hash
from valueint.trials.fit_record import fit_data_from, fit_options
from valueint.trials.predictive_check import predictive_check

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("trials.test_fit_files")

DATA = Path(__file__).parents[1] / "data"
LEGACY_FIT = DATA / "legacy_fit_rw.nc"
LEGACY_TRIALS = DATA / "legacy_trials.csv"


@pytest.fixture(scope="session")
def legacy():
    return load_fit(LEGACY_FIT)


@pytest.fixture(scope="session")
def cli():
    app = typer.Typer()
    fit_cli.register(app)
    return app


def test_fixture_stays_small():
    assert LEGACY_FIT.stat().st_size < 300_000


def test_a_fit_of_an_earlier_version_loads_with_every_group(legacy):
    for group in (
        "posterior",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "sample_stats",
    ):
        assert group in legacy.children, group
    assert legacy.attrs["model"] == "rw" and legacy.attrs["method"] == "nuts"
    assert legacy["posterior"]["alpha"].dims == ("chain", "draw", "subject")
    assert legacy["posterior"].sizes["chain"] == 2 and legacy["posterior"].sizes["draw"] == 50
    assert list(legacy["posterior"]["group"].values) == ["young", "older"]
    assert legacy["log_likelihood"]["choice"].sizes["obs"] == 80


def test_its_data_are_rebuilt_and_match_the_csv(legacy):
    rebuilt = fit_data_from(legacy)
    assert rebuilt.subject_ids == ("s1", "s2", "s3", "s4")
    assert rebuilt.covariate("group").labels == ("young", "older")
    assert data_hash(rebuilt.arrays) == legacy.attrs["data_sha256"]
    # written before the schedule field existed: no schedule known
    assert np.isnan(rebuilt.arrays.outcome_unchosen).all()
    assert rebuilt.arrays.outcome_unchosen.shape == rebuilt.arrays.choice.shape
    again = as_fit_data(pd.read_csv(LEGACY_TRIALS))
    assert data_hash(again.arrays) == legacy.attrs["data_sha256"]


def test_it_summarizes_compares_and_checks(legacy):
    table = summarize(legacy)
    assert list(table.columns) == ["mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk"]
    assert table.loc["mu_alpha", "mean"] == pytest.approx(0.345, abs=5e-4)
    ranked = compare({"a": legacy, "b": legacy.copy()})
    # the earlier version's PSIS-LOO and WAIC of this file (arviz 0.23)
    assert ranked.loc["a", "elpd"] == pytest.approx(-52.034681, abs=1e-5)
    assert ranked.loc["a", "se"] == pytest.approx(3.020756, abs=1e-5)
    assert ranked.loc["a", "p"] == pytest.approx(3.124903, abs=1e-5)
    assert ranked.loc["a", "elpd_waic"] == pytest.approx(-51.939213, abs=1e-5)
    assert ranked.loc["a", "n_constant"] == 17 and ranked.loc["a", "n_pareto_k_bad"] == 0
    check = predictive_check(legacy)
    assert check["n"].sum() == 80


def test_loo_of_too_few_draws_to_smooth_falls_back_as_before(legacy):
    """One chain of 20 draws: tails of 4 draws cannot be fitted; the raw weights are used,
    with k = inf, and the numbers are the earlier version's (arviz 0.23)."""
    short = loo(legacy.isel(chain=[0], draw=slice(0, 20)))
    assert short.elpd == pytest.approx(-51.082661, abs=1e-5)
    assert short.se == pytest.approx(2.732395, abs=1e-5)
    assert np.isinf(short.pareto_k.values).sum() == 80 - 17  # every varying trial


def test_saving_a_loaded_fit_round_trips(legacy, tmp_path):
    path = save_fit(legacy, tmp_path / "again.nc")
    with xr.open_datatree(path, engine="h5netcdf") as raw:  # on disk: compact
        assert "log_likelihood" not in raw.children
        assert raw["posterior_predictive"]["choice"].dtype == np.int8
    again = load_fit(path)
    assert dict(again.attrs) == dict(legacy.attrs)
    assert set(again.children) == set(legacy.children)
    for group in legacy.children:
        xr_old, xr_new = legacy[group].to_dataset(), again[group].to_dataset()
        for name in xr_old.data_vars:
            if group == "log_likelihood":  # recomputed: the same to float64 round-off
                np.testing.assert_allclose(xr_new[name].values, xr_old[name].values, atol=1e-12)
                assert xr_new[name].dims == xr_old[name].dims
            else:
                np.testing.assert_array_equal(xr_new[name].values, xr_old[name].values)
                assert xr_new[name].dtype == xr_old[name].dtype
        for name, coord in xr_old.coords.items():
            np.testing.assert_array_equal(xr_new[name].values, coord.values)
    # the same PSIS-LOO as before saving, to 1e-8 relative
    before, after = loo(legacy), loo(again)
    assert after.elpd == pytest.approx(before.elpd, rel=1e-8)
    assert after.se == pytest.approx(before.se, rel=1e-8)
    np.testing.assert_allclose(after.pareto_k.values, before.pareto_k.values, rtol=1e-8)
    # at this size HDF5's own overhead dominates; the 64 kB log-likelihood is gone
    full = save_fit(legacy, tmp_path / "full.nc", compact=False)
    assert path.stat().st_size < 0.7 * full.stat().st_size
    skipped = load_fit(path, log_likelihood=False)
    assert "log_likelihood" not in skipped.children


def test_a_log_likelihood_that_does_not_recompute_is_kept(legacy, tmp_path):
    """Compaction never changes numbers: a stored log-likelihood that the posterior and
    design do not reproduce (here one entry moved by 1e-6), or a fit whose options cannot
    be read back, keeps its log-likelihood in the file."""
    assert loglik_recomputes(legacy)
    moved = legacy.copy(deep=True)
    values = moved["log_likelihood"]["choice"].values
    values[1, 7, 33] += 1e-6
    assert not loglik_recomputes(moved)
    again = load_fit(save_fit(moved, tmp_path / "moved.nc"))
    np.testing.assert_array_equal(again["log_likelihood"]["choice"].values, values)

    unreadable = legacy.copy(deep=True)
    settings = json.loads(unreadable.attrs["settings"])
    unreadable.attrs["settings"] = json.dumps({**settings, "options": "{'q_init': Array(0.)}"})
    with pytest.raises(ValueError, match="cannot be read back"):
        fit_options(unreadable)
    assert not loglik_recomputes(unreadable)
    kept = load_fit(save_fit(unreadable, tmp_path / "unreadable.nc"))
    np.testing.assert_array_equal(
        kept["log_likelihood"]["choice"].values, legacy["log_likelihood"]["choice"].values
    )


def test_cli_compare_and_ppc_on_a_fit_of_an_earlier_version(cli, tmp_path):
    copy = shutil.copy(LEGACY_FIT, tmp_path / "legacy_copy.nc")
    runner = CliRunner()
    out, plot = tmp_path / "table.csv", tmp_path / "compare.png"
    result = runner.invoke(
        cli, ["compare", str(LEGACY_FIT), str(copy), "--out", str(out), "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, index_col=0)
    assert set(table.index) == {"legacy_fit_rw", "legacy_copy"}
    assert plot.stat().st_size > 1000
    result = runner.invoke(cli, ["compare", str(LEGACY_FIT), str(copy), "--ic", "waic"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["ppc", str(LEGACY_FIT), "--out", str(tmp_path / "ppc.png")])
    assert result.exit_code == 0, result.output
    assert "observed" in result.output and (tmp_path / "ppc.png").stat().st_size > 1000


def test_a_file_that_is_no_fit_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no fit file"):
        load_fit(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="junk.nc"):
        load_fit(tmp_path / "junk.nc")
