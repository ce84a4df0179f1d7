"""Bad configurations fail early with a message naming the field and what is allowed."""

import copy
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import valueint
from valueint.cli.app import app
from valueint.sim.config import resolve


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
            r"caregiver\.socialization_episodes = -3 is outside the allowed range \[0, 10000000\]",
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
        resolve(with_change(config, table, key, value))


def test_condition_override_is_named(config):
    config["conditions"][1]["caregiver"] = {"presence": 3.0}
    with pytest.raises(valueint.ConfigError, match=r"conditions\[1\]\.caregiver\.presence = 3\.0"):
        resolve(config)


def test_condition_learner_kind_is_checked(config):
    config["conditions"][0]["learner"]["kind"] = "isr_magic"
    with pytest.raises(
        valueint.ConfigError,
        match=r"conditions\[0\]\.learner\.kind = 'isr_magic' is not one of the allowed values: "
        r"'no_isr', 'isr_point', 'isr_bayes'",
    ):
        resolve(config)


def test_feature_dimension_mismatch_in_object_types(config):
    config["env"]["object_types"][0]["features"] = [1.0, 0.0]
    with pytest.raises(
        valueint.ConfigError, match=r"env\.object_types\[0\]\.features has 2 values; expected 3"
    ):
        resolve(config)


def test_disapproval_needs_nonpositive_bias(config):
    config["caregiver"].update(disapproval=True, bias=0.5)
    with pytest.raises(
        valueint.ConfigError,
        match=r"caregiver\.bias = 0\.5 must be <= 0 when caregiver\.disapproval",
    ):
        resolve(config)


def test_conditions_must_share_the_world_shape(config):
    config["conditions"][2]["env"] = {"size": 6}
    with pytest.raises(
        valueint.ConfigError, match=r"conditions\[2\]\.env changes the shape of the world"
    ):
        resolve(config)


def test_unknown_table_and_duplicate_labels(config):
    with pytest.raises(valueint.ConfigError, match=r"config\.agent is not a known field"):
        resolve({**config, "agent": {}})
    config["conditions"][1]["label"] = "no_isr"
    with pytest.raises(
        valueint.ConfigError, match=r"conditions\[1\]\.label = 'no_isr' is used twice"
    ):
        resolve(config)


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
    assert result.exit_code == 2 and "no config file at" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[env\nname=")
    result = CliRunner().invoke(app, ["simulate", str(broken)])
    assert result.exit_code == 2 and "not valid TOML" in result.output


INF, NAN = math.inf, math.nan


@pytest.mark.parametrize(
    ("table", "key", "value", "expected"),
    [
        # non-finite numbers, also where no bound is given
        ("caregiver", "social_reward", INF, r"^caregiver\.social_reward = inf must be a finite"),
        ("caregiver", "theta", [0.0, -INF, 0.0], r"^caregiver\.theta\[1\] = -inf must be a finite"),
        ("caregiver", "beta", NAN, r"^caregiver\.beta = nan must be a finite number"),
        ("caregiver", "fade_episodes", INF, r"^caregiver\.fade_episodes = inf must be a finite"),
        (
            "caregiver",
            "social_reward",
            1e39,
            r"^caregiver\.social_reward = 1e\+39 must be a finite",
        ),
        # integer episode counts stay far below the int32 limit
        (
            "caregiver",
            "socialization_episodes",
            3e9,
            r"^caregiver\.socialization_episodes = 3000000000\.0 is outside the allowed range "
            r"\[0, 10000000\]",
        ),
        (
            "caregiver",
            "fade_episodes",
            10**7 + 1,
            r"^caregiver\.fade_episodes = 10000001 is outside the allowed range \[0, 10000000\]",
        ),
        ("learner", "isr_budget", 2**31, r"learner\.isr_budget = 2147483648 is outside"),
        ("learner", "isr_budget", 10**400, r"learner\.isr_budget = 1000+ is outside"),
        # types
        ("caregiver", "disapproval", "false", r"^caregiver\.disapproval = 'false' must be true or"),
        ("caregiver", "disapproval", 0, r"^caregiver\.disapproval = 0 must be true or false"),
        ("experiment", "name", 3, r"^experiment\.name = 3 must be a string"),
        ("env", "name", ["gridworld"], r"^env\.name = \['gridworld'\] must be a string"),
        # a tiny prior sd would silently switch learning off
        ("learner", "prior_sd", 1e-4, r"learner\.prior_sd = 0\.0001 is outside .*\[0\.001, inf\]"),
    ],
)
def test_bad_number_or_type_is_named(config, table, key, value, expected):
    with pytest.raises(valueint.ConfigError, match=expected):
        resolve(with_change(config, table, key, value))


def test_check_range_integers_default_to_int32():
    from valueint.errors import check_range

    assert check_range("x", 2**31 - 1, integer=True) == 2**31 - 1
    with pytest.raises(valueint.ConfigError, match=r"^x = -2147483649 is outside .*2147483647\]"):
        check_range("x", -(2**31) - 1, integer=True)
    with pytest.raises(valueint.ConfigError, match=r"^x = -inf must be a finite number"):
        check_range("x", -INF, integer=True)


def test_smallest_prior_sd_is_accepted(config):
    resolve(with_change(config, "learner", "prior_sd", 1e-3))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"conditions": [1]}, r"^conditions\[0\] = 1 must be a table"),
        ({"caregiver": 3}, r"^caregiver = 3 must be a table"),
        ({"learner": "x"}, r"^learner = 'x' must be a table"),
        ({"experiment": []}, r"^experiment = \[\] must be a table"),
        ({"env_autonomous": 1.0}, r"^env_autonomous = 1\.0 must be a table"),
        ({"conditions": [{"label": "a", "learner": 1}]}, r"^conditions\[0\]\.learner = 1 must be"),
        ({"conditions": [{"label": 7}]}, r"^conditions\[0\]\.label = 7 must be a string"),
    ],
)
def test_non_table_is_named(config, change, expected):
    with pytest.raises(valueint.ConfigError, match=expected):
        resolve({**config, **change})


def test_isr_mode_needs_a_posterior(config):
    del config["conditions"]
    config["learner"].update(kind="isr_point", isr_mode="pessimistic")
    with pytest.raises(
        valueint.ConfigError,
        match=r"^learner\.isr_mode = 'pessimistic' needs learner\.kind = 'isr_bayes' "
        r"\(a point ISR has no posterior to draw from or be pessimistic about\)",
    ):
        resolve(config)


def test_isr_mode_in_a_condition_is_named(config):
    resolve(config)  # the shipped default mixes kinds with the default isr_mode
    config["conditions"][1]["learner"]["isr_mode"] = "thompson"  # conditions[1] is isr_point
    with pytest.raises(
        valueint.ConfigError,
        match=r"^conditions\[1\]\.learner\.isr_mode = 'thompson' needs "
        r"conditions\[1\]\.learner\.kind = 'isr_bayes'",
    ):
        resolve(config)
    config["conditions"][1]["learner"]["kind"] = "isr_bayes"
    resolve(config)


def test_env_autonomous_error_names_the_condition(config):
    config["conditions"][2]["env_autonomous"] = {"horizon": 0}
    with pytest.raises(
        valueint.ConfigError, match=r"^conditions\[2\]\.env_autonomous\.horizon = 0 is outside"
    ):
        resolve(config)
    config["conditions"][2]["env_autonomous"] = {"size": 6}
    with pytest.raises(
        valueint.ConfigError, match=r"^conditions\[2\]\.env_autonomous changes the shape"
    ):
        resolve(config)
    del config["conditions"][2]["env_autonomous"]
    config["env_autonomous"] = {"horizon": 0}
    with pytest.raises(valueint.ConfigError, match=r"^env_autonomous\.horizon = 0 is outside"):
        resolve(config)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("keep_reward", INF, r"^env\.keep_reward = inf must be a finite number"),
        ("benefit", NAN, r"^env\.benefit = nan must be a finite number"),
        ("cost", -0.5, r"^env\.cost = -0\.5 is outside the allowed range \[0\.0, inf\]"),
        ("need_boost", "1", r"^env\.need_boost = '1' must be a number"),
        ("need_prob", 1.5, r"^env\.need_prob = 1\.5 is outside the allowed range \[0\.0, 1\.0\]"),
        ("n_agents", 2.5, r"^env\.n_agents = 2\.5 must be an integer"),
        ("horizon", 10**5, r"^env\.horizon = 100000 is outside the allowed range \[1, 10000\]"),
    ],
)
def test_bad_prosocial_option_is_named(config, key, value, expected):
    config["env"] = {"name": "prosocial", key: value}
    with pytest.raises(valueint.ConfigError, match=expected):
        resolve(config)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("conditions = [1]\n", "conditions[0] = 1 must be a table"),
        ('learner = "x"\n', "learner = 'x' must be a table"),
        ("[caregiver]\ntheta = [0.0, 1.0, 0.0]\nbeta = inf\n", "caregiver.beta = inf must be a"),
        ("[experiment]\nname = 1\n[caregiver]\ntheta = [0, 1, 0]\n", "experiment.name = 1 must"),
    ],
)
def test_cli_reports_every_config_problem(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text('env = { name = "gridworld" }\n' + text)
    result = CliRunner().invoke(app, ["simulate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())


def test_cli_reports_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe[env]")
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_tabular_q_needs_a_fixed_layout(config):
    config["learner"]["q"] = "tabular"
    with pytest.raises(valueint.ConfigError, match=r"learner\.q = 'tabular' needs a world"):
        resolve(config)
    config["env"].update(agent_cells=[12], fixed_cells=[0, 24])
    assert resolve(config).q_representation == "tabular"


def test_learner_praise_model_defaults_to_the_caregiver_and_is_checked(config):
    experiment = resolve(config)
    np.testing.assert_array_equal(
        experiment.params.learner.praise_beta, experiment.params.caregiver.beta
    )
    np.testing.assert_array_equal(
        experiment.params.learner.praise_bias, experiment.params.caregiver.bias
    )
    config["learner"]["praise_beta"] = -1.0
    with pytest.raises(valueint.ConfigError, match=r"learner\.praise_beta = -1\.0 is outside"):
        resolve(config)
    config["learner"].update(praise_beta=1.0, praise_bias=0.5)
    config["caregiver"]["disapproval"] = True
    with pytest.raises(valueint.ConfigError, match=r"learner\.praise_bias = 0\.5 must be <= 0"):
        resolve(config)
