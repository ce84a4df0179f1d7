"""SBC replications of the trial-level and paradigm models, and the job around them."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valueint.calibration import CalibrationJob, calibrate, calibrate_all, resolve_level
from valueint.calibration.paradigm_sbc import paradigm_replication
from valueint.calibration.trial_sbc import prior_draw, trial_replication
from valueint.cli.app import app
from valueint.inference.parameters import unconstrain_value
from valueint.trials.recovery import make_design
from valueint.trials.specs import get_spec

ZHAO = Path(__file__).resolve().parents[2] / "data" / "zhao2017_praise_cheating" / "paradigm.toml"
PARADIGM = tomllib.loads(ZHAO.read_text())
TINY_TRIAL = {"subjects": 3, "trials": 16, "chains": 2, "warmup": 60, "draws": 40}
TINY_PARADIGM = {"children": 10, "chains": 2, "warmup": 60, "draws": 40, "paradigm": PARADIGM}


def test_the_prior_draw_is_the_fitted_models_prior():
    """Population intercepts ~ Normal(prior_loc, prior_scale) and sds ~ HalfNormal(scale),
    as ``hierarchical_model`` states them: means within 4 standard errors over 300 draws."""
    spec = get_spec("rw")
    arrays = make_design(2, 16, 0)
    draws = [prior_draw(spec, None, arrays, seed) for seed in range(300)]
    for parameter in spec.parameters:
        intercept = np.array(
            [unconstrain_value(parameter, d[f"mu_{parameter.name}"]) for d in draws]
        )
        assert abs(intercept.mean() - parameter.prior_loc) < 4 * parameter.prior_scale / np.sqrt(
            300
        )
        assert intercept.std() == pytest.approx(parameter.prior_scale, rel=0.15)
        sigma = np.array([d[f"sigma_{parameter.name}"] for d in draws])
        half_normal_mean = parameter.prior_scale * np.sqrt(2 / np.pi)
        assert sigma.mean() == pytest.approx(half_normal_mean, rel=0.15)
    # the subject parameters are the population's draws, on the natural scale
    assert draws[0]["alpha"].shape == (2,) and np.all(
        (draws[0]["alpha"] > 0) & (draws[0]["alpha"] < 1)
    )


@pytest.mark.slow
def test_a_trial_replication_ranks_every_quantity_and_repeats_exactly():
    payload = {"model": "rw", **TINY_TRIAL, "target_accept_prob": 0.9, "rank_draws": 19}
    first = trial_replication(payload, 123)
    assert set(first["ranks"]) == {
        "mu_alpha", "sigma_alpha", "alpha[0]", "mu_beta", "sigma_beta", "beta[0]", "loglik"
    }  # fmt: skip
    assert all(0 <= r <= 19 for r in first["ranks"].values())
    assert np.isfinite(first["truth"]["loglik"]) and first["truth"]["loglik"] < 0
    assert trial_replication(payload, 123)["ranks"] == first["ranks"]
    assert not any("CPU device" in m for m in first["messages"])


@pytest.mark.slow
def test_a_paradigm_replication_ranks_parameters_and_loglik():
    payload = {"model": "isr", **TINY_PARADIGM, "rank_draws": 19}
    result = paradigm_replication(payload, 7)
    assert set(result["ranks"]) == {"bias", "value_weight", "correlation", "loglik"}
    assert len(result["counts"]) == 3 and all(0 <= k <= 10 for k in result["counts"])


@pytest.mark.slow
@pytest.mark.xdist_group("dask")
def test_a_job_writes_its_tables_and_figure_and_resumes(tmp_path):
    job = CalibrationJob("null_rate", "paradigm", TINY_PARADIGM, replications=4, rank_draws=19)
    result = calibrate(job, tmp_path, workers=2, progress=False)
    assert result.report.completed == 4
    for name in ("ranks.csv", "summary.csv", "ecdf.png", "run.json", "job.json"):
        assert (tmp_path / name).exists(), name
    ranks = pd.read_csv(tmp_path / "ranks.csv")
    assert sorted(ranks["quantity"].unique()) == ["bias", "loglik"] and len(ranks) == 8
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["config"]["design"]["children"] == 10 and record["seeds"] == [0]
    again = calibrate(job, tmp_path, workers=1, progress=False)
    assert (again.report.skipped, again.report.completed) == (4, 0)
    pd.testing.assert_frame_equal(again.ranks, result.ranks)
    summarized = calibrate(job, tmp_path, run=False)  # nothing runs, nothing is lost
    assert (summarized.report.skipped, summarized.report.completed) == (4, 0)
    pd.testing.assert_frame_equal(summarized.ranks, result.ranks)


@pytest.mark.slow
@pytest.mark.xdist_group("dask")
def test_calibrate_all_summarizes_every_model_it_ran(tmp_path):
    models = [("paradigm", "null_rate"), ("paradigm", "reinforcement")]
    calibrate_all(
        tmp_path,
        paradigm=PARADIGM,
        replications=2,
        rank_draws=19,
        trial_design={k: v for k, v in TINY_TRIAL.items()},
        paradigm_design={k: v for k, v in TINY_PARADIGM.items() if k != "paradigm"},
        models=models,
        workers=2,
        progress=False,
    )
    assert (tmp_path / "paradigm-null_rate" / "ecdf.png").exists()
    assert (tmp_path / "paradigm-reinforcement" / "ranks.csv").exists()
    text = (tmp_path / "summary.md").read_text()
    assert "| paradigm | null_rate |" in text and "| paradigm | reinforcement |" in text
    assert (tmp_path / "overview.png").exists()


def test_model_names_resolve_to_one_level():
    assert resolve_level("rw", None) == "trial"
    assert resolve_level("null_rate", None) == "paradigm"
    assert resolve_level("isr", "paradigm") == "paradigm"
    with pytest.raises(ValueError, match="names a trial-level and a paradigm-level model"):
        resolve_level("isr", None)
    with pytest.raises(ValueError, match="unknown model 'rx'; trial-level: .*rw"):
        resolve_level("rx", None)
    with pytest.raises(ValueError, match="no paradigm-level model called 'rw'"):
        resolve_level("rw", "paradigm")


@pytest.mark.parametrize(
    "design, message",
    [
        ({"subject": 3}, "unknown design setting.*subject"),
        ({"draws": 0}, "draws must be a positive integer"),
        ({"chains": 1, "draws": 50}, "fewer than the 99 draws"),
        ({"target_accept_prob": 1.5}, "target_accept_prob must lie in"),
    ],
)
def test_bad_designs_are_named(design, message):
    with pytest.raises(ValueError, match=message):
        CalibrationJob("rw", "trial", design)


def test_the_command_names_bad_models_and_folders(tmp_path):
    runner = CliRunner()
    done = runner.invoke(app, ["calibrate", "isr", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "--level trial or --level paradigm" in done.output
    (tmp_path / "job.json").write_text(json.dumps({"kind": "other", "config": {}, "seed": 0}))
    done = runner.invoke(app, ["calibrate", "rw", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "holds another job" in done.output
