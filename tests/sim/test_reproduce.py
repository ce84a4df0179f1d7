"""The paper's four results, reproduced in quick mode (16 seeds), each claim tested.

Every claim is a 95% t-interval over seeds (paired across conditions, which share
each seed's random numbers).  If a claim stops holding, the design must change, not
the test.  Each experiment also writes its four files, checked here.
"""

import functools
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valueint.cli.app import app
from valueint.sim import claims as cl
from valueint.sim import reproduce as rp

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("sim.test_reproduce")


@functools.cache
def reproduced(name: str):
    """One quick run of a reproduction and its files, once per test process (a fixture
    parametrized at module scope would run it again whenever the tests' order switches
    between parameters)."""
    res = rp.run(name, quick=True)
    return res, rp.save(res, Path(tempfile.mkdtemp(prefix=f"reproduce-{name}-")))


@pytest.fixture(params=rp.NAMES)
def result(request):
    return reproduced(request.param)


def test_every_claim_holds(result):
    res, _ = result
    assert len(res.seeds) == rp.QUICK_SEEDS
    assert res.claims, "a reproduction must make at least one claim"
    failing = [c.describe() for c in res.claims if not c.holds]
    assert not failing, "\n".join(failing)


def test_outputs_are_written_with_a_record(result):
    res, paths = result
    assert set(paths) == {"png", "pdf", "csv", "json"}
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    table = pd.read_csv(paths["csv"])
    assert len(table) == len(res.summary)
    assert sorted(table["seed"].unique()) == res.seeds
    record = json.loads(paths["json"].read_text())
    assert record["seeds"] == res.seeds
    assert record["config"] == json.loads(json.dumps(res.config))
    assert {"jax", "numpyro", "numpy", "python"} <= set(record["versions"])
    assert record["all_claims_hold"] is True
    assert len(record["claims"]) == len(res.claims)
    assert record["wall_time_s"] > 0


def _late_difference(summary, a, b, last_windows=5):
    """Paired per-seed difference of the mean socialized rate over the last windows."""
    first = summary["episode_start"].max() - rp.WINDOW * (last_windows - 1)
    late = summary[summary["episode_start"] >= first]
    per_seed = late.groupby(["seed", "condition"])["socialized_rate"].mean().unstack()
    return per_seed[a] - per_seed[b]


def test_plotted_numbers_show_the_isr_effect(result):
    """Recomputed from the plotted table alone: Bayesian ISR minus no ISR, late alone."""
    res, paths = result
    name = res.reproduction.name
    if name == "reward-hacking":
        pytest.skip("a sweep, not a time course: checked below")
    table = pd.read_csv(paths["csv"])
    rows_per_seed = table.groupby("seed").size()
    assert rows_per_seed.nunique() == 1  # one row per condition and window for every seed
    mean, low, _ = cl.t_interval(_late_difference(table, "isr_bayes", "no_isr"))
    assert low > 0.3, f"{name}: isr_bayes - no_isr = {mean:.3f}, lower bound {low:.3f}"
    socialized = table[table["condition"] != rp.BASELINE]
    first_alone = socialized.loc[socialized["phase"] == "autonomous", "episode_start"].min()
    assert first_alone == rp.build_config(name)["caregiver"]["socialization_episodes"]
    baseline = table[table["condition"] == rp.BASELINE]
    assert set(baseline["phase"]) == {"autonomous"}  # it never meets the caregiver


def test_reward_hacking_table_is_one_row_per_seed_learner_and_budget(result):
    res, paths = result
    if res.reproduction.name != "reward-hacking":
        pytest.skip("checked with its own reproduction")
    table = pd.read_csv(paths["csv"])
    assert len(table) == rp.QUICK_SEEDS * len(rp.HACKING_LEARNERS) * len(rp.HACKING_BUDGETS)
    gap = table["isr_reward"] - table["caregiver_reward"]
    np.testing.assert_allclose(table["gap"], gap, rtol=1e-4, atol=1e-5)  # csv keeps 6 digits
    # undertrained ISRs pay for what the caregiver dislikes: the true reward is negative
    low = table[table["budget"] == rp.HACKING_BUDGETS[0]]
    _, _, high = cl.t_interval(low[low["learner"] == "Bayesian ISR, mean"]["caregiver_reward"])
    assert high < 0


def test_t_interval_matches_the_textbook_formula():
    x = np.array([0.2, 0.4, 0.1, 0.5, 0.3, np.nan])
    mean, low, high = cl.t_interval(x)
    finite = x[np.isfinite(x)]
    half = 2.7764451051977987 * finite.std(ddof=1) / np.sqrt(finite.size)  # t(0.975, 4)
    assert mean == pytest.approx(0.3)
    assert (low, high) == pytest.approx((0.3 - half, 0.3 + half))


def test_claims_fail_when_the_evidence_is_against_them():
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.1, 32)
    assert cl.above("a", "positive", 0.5 + noise).holds
    assert not cl.above("b", "zero mean", noise).holds
    assert not cl.above("c", "negative", -0.5 + noise).holds
    assert cl.below("d", "negative", -0.5 + noise).holds
    assert cl.within("e", "same", noise * 0.1, 0.1).holds
    assert not cl.within("f", "apart", 0.3 + noise, 0.1).holds
    assert not cl.above("g", "one seed", [1.0]).holds  # no interval from one seed


def test_cli_refuses_to_overwrite_and_names_unknown_reproductions(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["reproduce", "unlearn", "--out", str(tmp_path)])
    assert bad.exit_code == 2
    assert "unknown reproduction 'unlearn'" in bad.output
    (tmp_path / "prosocial.csv").write_text("a user's file\n")
    refused = runner.invoke(app, ["reproduce", "prosocial", "--quick", "--out", str(tmp_path)])
    assert refused.exit_code == 2
    assert "refusing to overwrite" in refused.output
    assert (tmp_path / "prosocial.csv").read_text() == "a user's file\n"
    few = runner.invoke(app, ["reproduce", "prosocial", "--seeds", "1", "--out", str(tmp_path)])
    assert few.exit_code == 2
