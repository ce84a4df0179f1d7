"""SBC replications of every family's models, and the job around them."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valueint.cli.app import app
from valueint.inference.family import FAMILIES
from valueint.inference.parameters import unconstrain_value
from valueint.jobs import Engine
from valueint.trials.specs import get_spec
from valueint.workflows.calibration import CalibrationJob, calibrate, calibrate_all
from valueint.workflows.sbc import replication

ZHAO = Path(__file__).resolve().parents[2] / "data" / "zhao2017_praise_cheating" / "paradigm.toml"
PARADIGM = tomllib.loads(ZHAO.read_text())
# draws of a fixed number: these tests check the job, not the sampler's rounds
TINY_SAMPLER = {"chains": 2, "warmup": 60, "draws": 40, "until_converged": False}


def _payload(family: str, model: str, design: dict, rank_draws: int = 19) -> dict:
    job = CalibrationJob(f"{family}:{model}", design, TINY_SAMPLER, rank_draws=rank_draws)
    return job.payload()


def test_the_prior_draw_is_the_fitted_models_prior():
    """Population intercepts ~ Normal(prior_loc, prior_scale) and sds ~ HalfNormal(scale),
    as ``hierarchical_model`` states them: means within 4 standard errors over 300 draws."""
    trials = FAMILIES.get("trials")
    spec = get_spec("rw")
    design = trials.task_design("rw", size=2, trials=16)
    draws = [trials.prior_draw("rw", design, seed)[0] for seed in range(300)]
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


def test_a_trial_replication_ranks_every_quantity_and_repeats_exactly():
    payload = _payload("trials", "rw", {"size": 3, "trials": 16})
    first = replication(payload, 123)
    assert set(first["ranks"]) == {
        "mu_alpha", "sigma_alpha", "alpha[0]", "mu_beta", "sigma_beta", "beta[0]", "loglik"
    }  # fmt: skip
    assert all(0 <= r <= 19 for r in first["ranks"].values())
    assert np.isfinite(first["truth"]["loglik"]) and first["truth"]["loglik"] < 0
    assert {"max_rhat", "min_ess_tail", "divergences", "converged"} <= set(first)
    assert replication(payload, 123)["ranks"] == first["ranks"]
    assert not any("CPU device" in m for m in first["messages"])


def test_a_paradigm_replication_ranks_parameters_and_loglik():
    result = replication(_payload("paradigm", "isr", {"size": 10, "paradigm": PARADIGM}), 7)
    assert set(result["ranks"]) == {"bias", "value_weight", "correlation", "loglik"}
    assert all(0 <= r <= 19 for r in result["ranks"].values())


@pytest.mark.xdist_group("dask")
def test_a_job_writes_its_tables_and_figure_and_resumes(tmp_path):
    job = CalibrationJob(
        "null_rate", {"size": 10, "paradigm": PARADIGM}, TINY_SAMPLER, replications=4,
        rank_draws=19,
    )  # fmt: skip
    result = calibrate(job, tmp_path, engine=Engine(workers=2, progress=False))
    assert result.report.completed == 4
    for name in ("ranks.csv", "summary.csv", "ecdf.png", "run.json", "job.json"):
        assert (tmp_path / name).exists(), name
    ranks = pd.read_csv(tmp_path / "ranks.csv")
    assert sorted(ranks["quantity"].unique()) == ["bias", "loglik"] and len(ranks) == 8
    assert {"converged", "min_ess_tail"} <= set(ranks.columns)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["config"]["design"]["size"] == 10 and record["seeds"] == [0]
    assert record["config"]["family"] == "paradigm"
    again = calibrate(job, tmp_path, engine=Engine(workers=1, progress=False))
    assert (again.report.skipped, again.report.completed) == (4, 0)
    pd.testing.assert_frame_equal(again.ranks, result.ranks)
    summarized = calibrate(job, tmp_path, run=False)  # nothing runs, nothing is lost
    assert (summarized.report.skipped, summarized.report.completed) == (4, 0)
    pd.testing.assert_frame_equal(summarized.ranks, result.ranks)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"fits_with_divergences", "fits_rhat_above_1.01", "fits_not_converged"} <= set(
        summary.columns
    )


@pytest.mark.slow
@pytest.mark.xdist_group("dask")
def test_calibrate_all_summarizes_every_model_it_ran(tmp_path):
    calibrate_all(
        tmp_path,
        paradigm=PARADIGM,
        replications=2,
        rank_draws=19,
        designs={"paradigm": {"size": 10}},
        samplers={"paradigm": TINY_SAMPLER},
        models=["paradigm:null_rate", "paradigm:reinforcement"],
        engine=Engine(workers=2, progress=False),
    )
    assert (tmp_path / "paradigm-null_rate" / "ecdf.png").exists()
    assert (tmp_path / "paradigm-reinforcement" / "ranks.csv").exists()
    text = (tmp_path / "summary.md").read_text()
    assert "| paradigm | null_rate |" in text and "| paradigm | reinforcement |" in text
    assert (tmp_path / "overview.png").exists()


def test_model_names_find_their_family():
    assert CalibrationJob("rw").family.name == "trials"
    assert CalibrationJob("null_rate", {"paradigm": PARADIGM}).family.name == "paradigm"
    assert CalibrationJob("paradigm:isr", {"paradigm": PARADIGM}).model == "isr"
    with pytest.raises(KeyError, match="names a model of several families.*paradigm:isr"):
        CalibrationJob("isr")
    with pytest.raises(KeyError, match="unknown model 'rx'; the models are trials: .*rw"):
        CalibrationJob("rx")
    with pytest.raises(KeyError, match="unknown paradigm model 'rw'"):
        CalibrationJob("paradigm:rw")


@pytest.mark.parametrize(
    "design, sampler, message",
    [
        (
            {"subject": 3},
            None,
            "unknown design setting.*subject for a trials model; its settings are size, trials, task",
        ),
        ({}, {"draws": 0}, "draws must be an integer of at least 1"),
        ({}, {"chains": 1, "draws": 50, "until_converged": False}, "fewer than the 99 draws"),
        ({}, {"chains": 1}, "until_converged needs at least 2 chains"),
        ({}, {"target_accept_prob": 1.5}, "target_accept_prob must lie in"),
        ({"trials": 40}, None, "multiple of the block size 16"),
    ],
)
def test_bad_designs_are_named(design, sampler, message):
    with pytest.raises(ValueError, match=message):
        CalibrationJob("rw", design, sampler)


def test_a_paradigm_job_needs_its_paradigm():
    with pytest.raises(ValueError, match=r"needs design\['paradigm'\]"):
        CalibrationJob("null_rate")


def test_the_command_names_bad_models_and_folders(tmp_path):
    runner = CliRunner()
    done = runner.invoke(app, ["calibrate", "isr", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "paradigm:isr" in done.output
    (tmp_path / "job.json").write_text(json.dumps({"kind": "other", "config": {}, "seed": 0}))
    done = runner.invoke(app, ["calibrate", "rw", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "holds another job" in done.output
