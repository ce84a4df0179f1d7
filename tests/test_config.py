"""Bad configurations fail early with a message naming the field and what is allowed."""

import copy

import pytest
from typer.testing import CliRunner

import valueint
from valueint.cli import app


@pytest.fixture
def config():
    return copy.deepcopy(valueint.default_config())


def with_change(config, table, key, value):
    config.setdefault(table, {})[key] = value
    return config


@pytest.mark.parametrize(
    ("table", "key", "value", "expected"),
    [
        (
            "caregiver",
            "presence",
            1.5,
            r"caregiver\.presence = 1\.5 is outside the allowed range \[0\.0, 1\.0\]",
        ),
        (
            "caregiver",
            "presence",
            -0.1,
            r"caregiver\.presence = -0\.1 is outside the allowed range \[0\.0, 1\.0\]",
        ),
        ("caregiver", "autonomous_presence", 2, r"caregiver\.autonomous_presence = 2 is outside"),
        (
            "env",
            "name",
            "mars",
            r"env\.name = 'mars' is not a known environment; known: \['gridworld', 'prosocial'\]",
        ),
        ("caregiver", "theta", [1.0, 2.0], r"caregiver\.theta has 2 values; expected 3"),
        (
            "experiment",
            "n_episodes",
            -5,
            r"experiment\.n_episodes = -5 is outside the allowed range \[1, ",
        ),
        ("env", "horizon", -1, r"env\.horizon = -1 is outside the allowed range \[1, 10000\]"),
        (
            "caregiver",
            "socialization_episodes",
            -3,
            r"caregiver\.socialization_episodes = -3 is outside the allowed range \[0, inf\]",
        ),
        ("caregiver", "fade_episodes", 2.5, r"caregiver\.fade_episodes = 2\.5 must be an integer"),
        (
            "learner",
            "isr_mode",
            "median",
            r"learner\.isr_mode = 'median' is not one of the allowed values",
        ),
        (
            "learner",
            "epsilon",
            1.2,
            r"learner\.epsilon = 1\.2 is outside the allowed range \[0\.0, 1\.0\]",
        ),
        ("learner", "temperature", 0, r"learner\.temperature = 0 is outside the allowed range"),
        (
            "learner",
            "isr_budget",
            -1,
            r"learner\.isr_budget = -1 is outside the allowed range \[0, ",
        ),
        ("learner", "learning_rte", 0.1, r"learner\.learning_rte is not a known field"),
        (
            "caregiver",
            "presence_unit",
            "day",
            r"caregiver\.presence_unit = 'day' is not one of the allowed values: 'episode', 'step'",
        ),
    ],
)
def test_bad_field_is_named(config, table, key, value, expected):
    with pytest.raises(valueint.ConfigError, match=expected):
        valueint.resolve(with_change(config, table, key, value))


def test_condition_override_is_named(config):
    config["conditions"][1]["caregiver"] = {"presence": 3.0}
    with pytest.raises(valueint.ConfigError, match=r"conditions\[1\]\.caregiver\.presence = 3\.0"):
        valueint.resolve(config)


def test_condition_learner_kind_is_checked(config):
    config["conditions"][0]["learner"]["kind"] = "isr_magic"
    with pytest.raises(
        valueint.ConfigError,
        match=r"conditions\[0\]\.learner\.kind = 'isr_magic' is not one of the allowed values: "
        r"'no_isr', 'isr_point', 'isr_bayes'",
    ):
        valueint.resolve(config)


def test_feature_dimension_mismatch_in_object_types(config):
    config["env"]["object_types"][0]["features"] = [1.0, 0.0]
    with pytest.raises(
        valueint.ConfigError, match=r"env\.object_types\[0\]\.features has 2 values; expected 3"
    ):
        valueint.resolve(config)


def test_disapproval_needs_nonpositive_bias(config):
    config["caregiver"].update(disapproval=True, bias=0.5)
    with pytest.raises(
        valueint.ConfigError,
        match=r"caregiver\.bias = 0\.5 must be <= 0 when caregiver\.disapproval",
    ):
        valueint.resolve(config)


def test_conditions_must_share_the_world_shape(config):
    config["conditions"][2]["env"] = {"size": 6}
    with pytest.raises(
        valueint.ConfigError, match=r"conditions\[2\]\.env changes the shape of the world"
    ):
        valueint.resolve(config)


def test_unknown_table_and_duplicate_labels(config):
    with pytest.raises(valueint.ConfigError, match=r"config\.agent is not a known field"):
        valueint.resolve({**config, "agent": {}})
    config["conditions"][1]["label"] = "no_isr"
    with pytest.raises(
        valueint.ConfigError, match=r"conditions\[1\]\.label = 'no_isr' is used twice"
    ):
        valueint.resolve(config)


def test_cli_reports_bad_config_with_file_name(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[env]\nname = "gridworld"\n[caregiver]\ntheta = [0.0, 1.0, 0.0]\npresence = 7\n'
    )
    result = CliRunner().invoke(app, ["simulate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "bad.toml" in result.output and "caregiver.presence = 7" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_reports_missing_and_invalid_files(tmp_path):
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "does not exist" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[env\nname=")
    result = CliRunner().invoke(app, ["simulate", str(broken)])
    assert result.exit_code == 2 and "not valid TOML" in result.output
