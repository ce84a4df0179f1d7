"""Study files: what they say, and clear errors when they say it wrong."""

import tomllib
from pathlib import Path

import pytest

from valueint.workflows.power_study import StudyError, load_study, study_from_dict

ZHAO = Path(__file__).parents[2] / "data" / "zhao2017_praise_cheating" / "power.toml"


def zhao_raw():
    return tomllib.loads(ZHAO.read_text())


def test_the_shipped_zhao_study_reads():
    study = load_study(ZHAO)
    assert study.level == "paradigm" and study.truth_model == "isr"
    assert study.truth_from == "posterior" and study.pilot_counts.endswith("counts.csv")
    assert study.sizes == (100, 150, 200, 300, 400, 600)
    assert study.paradigm["choice"]["counted"] == "peek"
    assert "studies" not in study.identity()  # more studies resume the same job


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"level": "survey"}, "level must be one of paradigm, trial"),
        ({"sizes": [200, 100]}, "sizes must increase"),
        ({"sizes": [0]}, "every entry of sizes must be a positive integer"),
        ({"truth": {"model": "isr", "from": "guess"}}, "from must be one of"),
        ({"fit": {"models": ["null_rate", "reinforcement"]}}, "must list the truth model 'isr'"),
        ({"fit": {"models": ["isr", "null_rate"], "draw": 3}}, "unknown key\\(s\\) draw"),
        ({"fit": {"models": ["isr", "nobody"]}}, "nobody"),
        ({"criteria": {"weight": "w"}}, "weight 'w' is no parameter of 'isr'"),
        ({"criteria": {"weight": "value_weight", "power": 1.5}}, "power must lie in"),
        # a misspelled key is refused in every table, not silently ignored
        ({"studeis": 1}, "unknown key\\(s\\) studeis; known: name, level, sizes, studies"),
        ({"truth": {"model": "isr", "form": "prior"}}, r"\[truth\]: unknown key\(s\) form"),
        ({"criteria": {"weight": "value_weight", "powr": 0.9}}, r"\[criteria\]: unknown key"),
        ({"fit": {"models": ["isr", "null_rate"], "chains": 0}}, "chains must be an integer"),
        ({"socialization": {"n_blocks": 2}}, "for level = 'trial' studies"),
    ],
)
def test_a_bad_study_is_refused_naming_the_key(change, message):
    raw = zhao_raw() | change
    with pytest.raises(StudyError, match=message):
        study_from_dict(raw, str(ZHAO), ZHAO.parent)


def test_trial_studies_take_a_socialization_design_and_no_pilot_counts():
    raw = {
        "level": "trial",
        "sizes": [10, 20],
        "truth": {"model": "isr", "from": "prior"},
        "fit": {"models": ["isr", "no_internalization"]},
        "criteria": {"weight": "w"},
        "socialization": {"n_blocks": 2, "n_trials": 16},
    }
    study = study_from_dict(raw, "trial.toml")
    assert study.fit["method"] == "svi" and study.size_label == "participants"
    with pytest.raises(StudyError, match="for paradigm studies"):
        study_from_dict(raw | {"truth": {"model": "isr", "from": "posterior", "counts": "x"}})
    with pytest.raises(StudyError, match="unknown key\\(s\\) blocks"):
        study_from_dict(raw | {"socialization": {"blocks": 2}})


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no study file"):
        load_study(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("level = ")
    with pytest.raises(StudyError, match="bad.toml: not valid TOML"):
        load_study(tmp_path / "bad.toml")
