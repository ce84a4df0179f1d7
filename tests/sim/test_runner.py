"""The runner: tidy output, schedule, invariances, and the unlearning effect."""

import copy
import json

import jax
import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import valueint
from valueint.cli.app import app
from valueint.sim import caregiver as cg
from valueint.sim.config import resolve
from valueint.sim.runner import METRICS, run_experiment


def short_config(n_episodes=60, socialization=30, **caregiver):
    config = copy.deepcopy(valueint.default_config())
    config["experiment"].update(n_episodes=n_episodes, chunk_episodes=25)
    config["caregiver"].update(socialization_episodes=socialization, **caregiver)
    return config


def t_interval(x, level=0.95):
    x = np.asarray(x, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def test_unlearning_isr_keeps_what_no_isr_loses():
    """16 seeds in one run: after the caregiver leaves, isr_bayes keeps the socialized
    choice and no_isr drifts to what extrinsic reward alone produces (a learner that
    never met the caregiver).  Claims are 95% t-intervals over seeds; rates are over
    choices, and time-outs are checked separately."""
    config = short_config(n_episodes=300, socialization=120)
    config["conditions"].append(
        {"label": "extrinsic_only", "learner": {"kind": "no_isr"}, "caregiver": {"presence": 0.0}}
    )
    df = valueint.simulate(config, seeds=16)
    df["timed_out"] = (df.salient_actions == 0).astype(float)
    late_social = df[df.episode.between(90, 119)]
    late_auto = df[df.episode >= 260]

    def per_seed(frame, condition, column="socialized_rate"):
        sub = frame[frame.condition == condition]
        return sub.groupby("seed")[column].mean().sort_index().to_numpy()

    bayes_auto, none_auto = per_seed(late_auto, "isr_bayes"), per_seed(late_auto, "no_isr")
    low, _ = t_interval(bayes_auto - none_auto)
    assert low > 0.5, f"isr_bayes - no_isr after the caregiver left: 95% CI lower bound {low:.2f}"
    # no_isr unlearns: its rate falls from the socialized level ...
    low_drop, _ = t_interval(per_seed(late_social, "no_isr") - none_auto)
    assert low_drop > 0.5
    # ... to what extrinsic reward alone produces
    _, high_gap = t_interval(none_auto - per_seed(late_auto, "extrinsic_only"))
    assert high_gap < 0.1
    # isr_bayes keeps it: the change is not a loss beyond 0.1
    low_keep, _ = t_interval(bayes_auto - per_seed(late_social, "isr_bayes"))
    assert low_keep > -0.1
    # both make choices: the effect is not time-outs
    for condition in ("no_isr", "isr_bayes"):
        assert per_seed(late_auto, condition, "timed_out").mean() < 0.3
    # the socialized phase is the same for every learner (common random numbers)
    social = df[df.phase == "socialization"]
    assert np.allclose(per_seed(social, "no_isr"), per_seed(social, "isr_bayes"))


def test_frame_is_tidy_and_complete():
    config = short_config(n_episodes=20, socialization=10)
    df = valueint.simulate(config, seeds=[3, 5])
    assert len(df) == 3 * 2 * 20 * 1
    assert list(df.condition.cat.categories) == ["no_isr", "isr_point", "isr_bayes"]
    assert set(df.seed) == {3, 5}
    assert not df.duplicated(["condition", "seed", "episode", "agent"]).any()
    for column in (
        *METRICS,
        "phase",
        "presence_prob",
        "learner",
        "theta_mean_sweet",
        "theta_sd_messy",
    ):
        assert column in df
    assert (df[df.episode < 10].phase == "socialization").all()
    assert (df[df.episode >= 10].phase == "autonomous").all()
    # a rate over the episode's choices; undefined (NaN) when it made none
    assert df.socialized_rate.dropna().between(0, 1).all()
    assert (df.socialized_rate.isna() == (df.salient_actions == 0)).all()
    assert df[df.learner == "no_isr"].isr_reward.isna().all()
    assert df[df.learner != "no_isr"].isr_reward.notna().all()
    assert df[df.learner == "no_isr"].theta_mean_educational.isna().all()
    assert df[df.learner == "isr_bayes"].theta_sd_messy.notna().all()
    auto = df[df.phase == "autonomous"]
    assert (
        (auto.presence == 0).all() and (auto.social_reward == 0).all() and (auto.praise == 0).all()
    )
    assert (df[df.phase == "socialization"].presence == 1).all()


def test_results_do_not_depend_on_chunking():
    base = short_config(n_episodes=30, socialization=15)
    other = copy.deepcopy(base)
    other["experiment"]["chunk_episodes"] = 7
    a, b = valueint.simulate(base, seeds=2), valueint.simulate(other, seeds=2)
    np.testing.assert_allclose(a[list(METRICS)].to_numpy(), b[list(METRICS)].to_numpy(), rtol=1e-12)


def test_fade_schedule_and_per_step_presence():
    config = short_config(
        n_episodes=40, socialization=10, fade_episodes=10, presence=0.8, presence_unit="step"
    )
    config["conditions"] = [{"label": "isr_bayes"}]
    df = valueint.simulate(config, seeds=8)
    by_episode = df.groupby("episode").presence_prob.first()
    np.testing.assert_allclose(by_episode[:10], 0.8)
    # the fade lies strictly between the two levels: 0.8 * (1 - k / 11), k = 1..10
    np.testing.assert_allclose(by_episode[10:20], 0.8 * (1 - np.arange(1, 11) / 11))
    np.testing.assert_allclose(by_episode[20:], 0.0)
    assert set(df.phase.unique()) == {"socialization", "fade", "autonomous"}
    # per-step presence: the observed fraction of present steps matches P = 0.8
    social = df[df.phase == "socialization"]
    observed = np.average(social.presence, weights=social.steps)
    assert abs(observed - 0.8) < 0.05, observed


def test_one_phase_schedule_for_jax_numpy_and_the_experiment():
    """phase_index agrees on JAX and NumPy input and with the spans and the autonomy
    start the reproductions and figures read off an experiment."""
    config = short_config(n_episodes=40, socialization=10, fade_episodes=5)
    experiment = resolve(config)
    care = jax.tree.map(lambda x: x[0], experiment.params.caregiver)
    episodes = np.arange(experiment.n_episodes)
    from_jax = cg.phase_index(care, jax.numpy.asarray(episodes))
    from_numpy = cg.phase_index(jax.tree.map(np.asarray, care), episodes)
    assert isinstance(from_jax, jax.Array) and isinstance(from_numpy, np.ndarray)
    expected = np.repeat([0, 1, 2], [10, 5, 25])
    np.testing.assert_array_equal(np.asarray(from_jax), expected)
    np.testing.assert_array_equal(from_numpy, expected)
    spans = {phase: experiment.phase_span(phase) for phase in cg.PHASES}
    assert spans == {"socialization": (0, 10), "fade": (10, 15), "autonomous": (15, 40)}
    assert experiment.autonomy_start == int(cg.autonomy_start(care)) == 15


def test_isr_budget_controls_internalization():
    """Fewer feedback observations leave the posterior wider: the internalization knob."""
    config = short_config(n_episodes=60, socialization=60)
    config["conditions"] = [
        {"label": f"budget_{b}", "learner": {"kind": "isr_bayes", "isr_budget": b}}
        for b in (2, 10, 1000)
    ]
    df = valueint.simulate(config, seeds=4)
    final = df[df.episode == 59].groupby("condition", observed=True)
    sd = final.theta_sd_educational.mean()
    assert sd["budget_2"] > sd["budget_10"] > sd["budget_1000"]
    # posterior mean of the praised feature moves toward the truth (+2) with more data
    mean = final.theta_mean_educational.mean()
    assert mean["budget_1000"] > mean["budget_2"] > 0


def test_prosocial_world_runs_with_several_agents():
    config = {
        "experiment": {"n_episodes": 20, "chunk_episodes": 10},
        "env": {"name": "prosocial", "n_agents": 3, "horizon": 5},
        "caregiver": {"theta": [1.0, 0.0, -0.5], "socialization_episodes": 10},
        "learner": {"temperature": 0.3, "discount": 0.0},
    }
    df = valueint.simulate(config, seeds=2)
    assert len(df) == 2 * 20 * 3
    assert set(df.agent) == {0, 1, 2}
    assert (df.salient_actions == 5).all() and (df.steps == 5).all()


def test_cli_writes_results_and_record_and_refuses_to_overwrite(tmp_path):
    config_path = tmp_path / "small.toml"
    import tomli_w

    config_path.write_text(tomli_w.dumps(short_config(n_episodes=10, socialization=5)))
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(config_path), "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["seeds"] == [0, 1]
    assert record["versions"]["jax"] and record["config"]["experiment"]["n_episodes"] == 10
    frame = (out / "episodes.csv").read_text().splitlines()
    assert len(frame) == 1 + 3 * 2 * 10
    before = (out / "episodes.csv").read_bytes()
    again = runner.invoke(app, ["simulate", str(config_path), "--seeds", "3", "--out", str(out)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    assert (out / "episodes.csv").read_bytes() == before
    forced = runner.invoke(
        app, ["simulate", str(config_path), "--seeds", "3", "--out", str(out), "--overwrite"]
    )
    assert forced.exit_code == 0 and json.loads((out / "run.json").read_text())["seeds"] == [
        0,
        1,
        2,
    ]


@pytest.mark.parametrize("bad", [[], [-1]])
def test_seeds_must_be_valid(bad):
    experiment = resolve(short_config(n_episodes=5, socialization=2))
    with pytest.raises(ValueError, match="seed"):
        run_experiment(experiment, bad)


def test_float32_runs_stay_finite():
    """The CLI simulates in float32 (the tests otherwise run in float64): every metric
    stays finite there too, Thompson draws and all (rates are NaN only for time-outs)."""
    config = short_config(n_episodes=80, socialization=40)
    config["conditions"].append(
        {"label": "thompson", "learner": {"kind": "isr_bayes", "isr_mode": "thompson"}}
    )
    with jax.enable_x64(False):
        experiment = resolve(config)
        assert experiment.params.caregiver.theta.dtype == np.float32
        low = valueint.simulate(experiment, seeds=8)
    high = valueint.simulate(config, seeds=8)
    for df in (low, high):
        numeric = df.drop(columns=["socialized_rate"]).select_dtypes("number")
        no_isr = df.learner == "no_isr"
        theta = [c for c in numeric if c.startswith("theta_")] + ["isr_reward"]
        assert np.isfinite(numeric.drop(columns=theta).to_numpy()).all()
        assert np.isfinite(df.loc[~no_isr, theta].to_numpy()).all()
        assert (df.socialized_rate.isna() == (df.salient_actions == 0)).all()


def test_a_learner_that_misreads_praise_infers_other_values():
    """Same praise, flatter assumed link (praise_beta 1 instead of the caregiver's 2):
    to explain the book's near-certain praise the learner must infer a larger weight."""
    config = short_config(n_episodes=60, socialization=60)
    config["conditions"] = [
        {"label": "true_model", "learner": {"kind": "isr_bayes"}},
        {"label": "flatter", "learner": {"kind": "isr_bayes", "praise_beta": 1.0}},
    ]
    df = valueint.simulate(config, seeds=4)
    final = df[df.episode == 59].groupby("condition", observed=True).theta_mean_educational.mean()
    assert final["flatter"] > 1.3 * final["true_model"] > 0


def test_layout_of_seeds_over_devices_and_blocks():
    from valueint.sim.runner import seed_layout

    for n, devices in [(1, 2), (3, 2), (1024, 2), (16384, 2), (2049, 2), (5, 1), (3000, 4)]:
        layout = seed_layout(n, devices, block=1024)
        assert layout.padded >= n and layout.padded - n < devices * layout.blocks
        assert layout.block <= 1024 and layout.padded % (devices * layout.blocks) == 0


def test_a_seed_plays_the_same_whatever_shares_its_batch(monkeypatch):
    """Seed 4 alone, and among 5 seeds in blocks of 2 (padded): the same run."""
    from valueint.sim import runner

    experiment = resolve(short_config(n_episodes=20, socialization=10))
    alone = run_experiment(experiment, [4])
    monkeypatch.setattr(runner, "SEED_BLOCK", 2)
    assert runner.seed_layout(5, 2).blocks == 2
    blocked = run_experiment(experiment, [9, 8, 4, 7, 6])
    for field in ("socialized_rate", "extrinsic_return", "theta_mean", "steps"):
        a, b = (np.asarray(getattr(m, field)) for m in (alone, blocked))
        np.testing.assert_allclose(b[:, 2], a[:, 0], rtol=1e-12, err_msg=field)
