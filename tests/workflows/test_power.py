"""Study design end to end on the job engine: paradigm and trial-level studies."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from valueint.jobs import Engine
from valueint.workflows.power import design
from valueint.workflows.power_study import study_from_dict

ZHAO = Path(__file__).parents[2] / "data" / "zhao2017_praise_cheating" / "power.toml"

pytestmark = pytest.mark.xdist_group("dask")


def paradigm_study(studies=3):
    raw = {
        "name": "strong-effect",
        "level": "paradigm",
        "paradigm": "paradigm.toml",
        "sizes": [10, 300],
        "studies": studies,
        "seed": 1,
        "truth": {
            "model": "isr",
            "values": {"bias": -0.4, "value_weight": 3.0, "correlation": 0.3},
        },
        "fit": {"models": ["isr", "null_rate"], "chains": 2, "warmup": 150, "draws": 200},
        "criteria": {"weight": "value_weight"},
    }
    return study_from_dict(raw, "strong.toml", ZHAO.parent)


def test_one_simulated_study_is_fitted_and_scored(tmp_path):
    """A tiny paradigm study end to end on the job engine: every number the criteria read
    is there, and a rerun resumes without fitting again."""
    study = paradigm_study(studies=1)
    study = dataclasses.replace(
        study,
        sizes=(20,),
        fit={**study.fit, "chains": 1, "warmup": 30, "draws": 40, "until_converged": False},
    )
    result = design(study, tmp_path, engine=Engine(workers=1, progress=False))
    row = result.studies.iloc[0]
    assert row["size"] == 20 and row["winner"] in ("isr", "null_rate")
    assert 0 <= row["weight_low"] < row["weight_high"] and np.isfinite(row["lead"])
    assert row["log10_bf"] is None or np.isfinite(row["log10_bf"])
    assert set(result.power.columns) >= {"win_rate", "lead_rate", "weight_rate", "weight_sd"}
    again = design(study, tmp_path, engine=Engine(workers=1, progress=False))
    assert (again.report.skipped, again.report.completed) == (1, 0)


@pytest.mark.slow
def test_a_strong_effect_is_found_at_the_large_size_and_the_job_resumes(tmp_path):
    result = design(paradigm_study(), tmp_path, engine=Engine(workers=1, progress=False))
    power = result.power.set_index("size")
    # value_weight 3: P(peek) 0.40 -> about 0.75 after ability praise; 300 per condition
    # separate the models in every study, 10 per condition rarely do
    assert power.loc[300, "win_rate"] == 1.0 and power.loc[300, "lead_rate"] == 1.0
    assert power.loc[10, "lead_rate"] < 1.0
    assert power.loc[300, "weight_sd"] < power.loc[10, "weight_sd"]
    for name in ("studies.csv", "power.csv", "power.png", "summary.md", "run.json"):
        assert (tmp_path / name).is_file()
    assert "## Answers" in (tmp_path / "summary.md").read_text()
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["seeds"] == [1] and record["studies_finished"] == 6
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()}
    # one more study per size: only its 2 new tasks run; the others are kept
    more = design(paradigm_study(studies=4), tmp_path, engine=Engine(workers=1, progress=False))
    assert (more.report.skipped, more.report.completed) == (6, 2)
    for name, mtime in written.items():
        assert (tmp_path / "tasks" / name).stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(
        more.studies[more.studies["study"] < 3]["lead"], result.studies["lead"]
    )


@pytest.mark.slow
def test_a_trial_level_study_runs_its_socialization_design(tmp_path):
    raw = {
        "level": "trial",
        "sizes": [6],
        "studies": 1,
        "truth": {"model": "isr", "values": {"w": [0.5, 0.3]}},
        "fit": {"models": ["isr", "no_internalization"], "svi_steps": 300, "draws": 100},
        "criteria": {"weight": "w"},
        "socialization": {"n_blocks": 2, "n_trials": 16},
    }
    result = design(
        study_from_dict(raw, "trial.toml"), tmp_path, engine=Engine(workers=1, progress=False)
    )
    row = result.studies.iloc[0]
    assert row["size"] == 6 and row["winner"] in ("isr", "no_internalization")
    assert 0 < row["weight_low"] < row["weight_high"] and row["weight_sd"] > 0
    assert np.isfinite(row["lead"]) and row["lead_se"] >= 0
