"""Sampling until converged: the rounds' bookkeeping on a scripted sampler (what is kept,
what is dropped, when it stops), and real fits of two families whose last round's
verdict is the fit's own diagnostics."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference.diagnostics import Diagnostics, FitWarning, diagnostics
from valueint.inference.rounds import (
    Budget,
    Until,
    raised_target,
    rounds_reported,
    sample_until_converged,
)
from valueint.inference.settings import SamplerSettings, resolve_settings

WARMUP, DRAWS, CHAINS = 10, 5, 2


class ScriptedSampler:
    """Chains whose draws count the iterations; ``verdicts`` say, round by round, how many
    divergences and whether the criterion holds (None: never)."""

    def __init__(self):
        self.calls = []
        self.iteration = 0

    def _run(self, n):
        values = self.iteration + np.arange(n)[None, :].repeat(CHAINS, 0)
        self.iteration += n
        return {"x": values.astype(float)}, {"diverging": np.zeros((CHAINS, n), bool)}, n

    def first(self):
        self.calls.append("first")
        return self._run(WARMUP + DRAWS)

    def more(self, state):
        self.calls.append("more")
        return self._run(DRAWS)

    def again(self, state, target):
        self.calls.append(("again", target))
        return self._run(WARMUP + DRAWS)


def scripted_judge(script):
    """A judge that reads its verdict from ``script`` (one per round: "ok", "slow",
    "divergent"), and checks that it sees only kept draws."""
    seen = []

    def judge(samples, fields):
        verdict = script[min(len(seen), len(script) - 1)]
        seen.append(samples["x"].shape[1])
        divergences = 1 if verdict == "divergent" else 0
        ok = verdict == "ok"
        return Diagnostics(
            "nuts",
            1.0 if ok else 1.1,
            500.0 if ok else 50.0,
            500.0,
            divergences,
            samples["x"].size,
            (),
            CHAINS,
        )

    return judge, seen


def run(script, budget):
    sampler = ScriptedSampler()
    judge, seen = scripted_judge(script)
    out = sample_until_converged(
        sampler.first,
        sampler.more,
        sampler.again,
        Until(judge, budget),
        warmup=WARMUP,
        draws=DRAWS,
        target_accept_prob=0.8,
    )
    return sampler, seen, out


def test_more_draws_are_appended_to_the_kept_ones_until_the_criterion_holds():
    sampler, seen, (samples, _, _, rounds) = run(["slow", "slow", "ok"], Budget(iterations=1000))
    assert sampler.calls == ["first", "more", "more"]
    assert seen == [DRAWS, 2 * DRAWS, 3 * DRAWS]  # judged on every kept draw so far
    assert samples["x"].shape == (CHAINS, WARMUP + 3 * DRAWS)
    assert rounds.stopped == "converged" and rounds.rounds[-1].converged
    assert [r.kind for r in rounds.rounds] == ["first", "more draws", "more draws"]


def test_divergences_adapt_again_at_a_higher_target_and_drop_the_earlier_draws():
    sampler, seen, (samples, _, _, rounds) = run(["slow", "divergent", "ok"], Budget(1000))
    assert sampler.calls == ["first", "more", ("again", 0.9)]
    assert seen == [DRAWS, 2 * DRAWS, DRAWS]
    # what is returned is the last adaptation's warmup and draws only
    assert samples["x"].shape == (CHAINS, WARMUP + DRAWS)
    # ... which began after the first round and the one of more draws
    assert samples["x"][0, 0] == (WARMUP + DRAWS) + DRAWS
    assert rounds.rounds[-1].target_accept_prob == 0.9 and rounds.stopped == "converged"


def test_each_round_is_reported_as_it_ends_and_only_within_the_block():
    lines = []
    with rounds_reported(lines.append):
        run(["slow", "divergent", "ok"], Budget(1000))
    assert [line.split(" (")[0] for line in lines] == ["round 1", "round 2", "round 3"]
    assert "adapted again, target acceptance 0.9" in lines[2] and "; converged:" in lines[2]
    assert "not converged: max R-hat 1.100, min bulk ESS 50" in lines[0]
    assert lines[1].endswith(", 1 divergence") and lines[0].endswith(", 0 divergences")
    run(["ok"], Budget(1000))
    assert len(lines) == 3


def test_the_iteration_budget_stops_it_before_a_round_that_would_not_fit():
    _, _, (_, _, _, rounds) = run(["slow"], Budget(iterations=WARMUP + 3 * DRAWS + 1))
    assert [r.kind for r in rounds.rounds] == ["first", "more draws", "more draws"]
    assert rounds.stopped == "iteration budget" and not rounds.rounds[-1].converged


def test_divergences_at_the_highest_target_stop_it():
    _, _, (_, _, _, rounds) = run(["divergent"], Budget(iterations=10**6))
    targets = [r.target_accept_prob for r in rounds.rounds]
    assert targets == [0.8, 0.9, 0.95, 0.975, 0.9875, 0.99]
    assert rounds.stopped == "target acceptance at its most"


@settings(max_examples=60, deadline=None)
@given(
    script=st.lists(st.sampled_from(["ok", "slow", "divergent"]), min_size=1, max_size=8),
    budget=st.integers(WARMUP + DRAWS, 200),
)
def test_rounds_never_spend_more_than_the_budget(script, budget):
    _, _, (samples, fields, _, rounds) = run(script, Budget(iterations=budget))
    assert sum(r.iterations for r in rounds.rounds[1:]) + WARMUP + DRAWS <= max(
        budget, WARMUP + DRAWS
    )
    assert samples["x"].shape[1] == fields["diverging"].shape[1]
    assert samples["x"].shape[1] - WARMUP == rounds.rounds[-1].kept_draws
    assert rounds.stopped != "converged" or rounds.rounds[-1].converged


def test_raised_targets_halve_the_distance_to_one():
    assert raised_target(0.8) == 0.9 and raised_target(0.95) == 0.975
    assert raised_target(0.99) == 0.99


def test_the_budget_is_a_setting_given_as_a_budget_or_seconds():
    defaults = SamplerSettings(warmup=100, draws=200)
    chosen = resolve_settings(None, defaults, until_converged=True, budget=Budget(900, 60.0))
    assert (chosen.budget_iterations, chosen.budget_seconds) == (900, 60.0)
    assert resolve_settings(None, defaults, budget=30).budget == Budget(1500, 30.0)
    assert SamplerSettings.from_dict(chosen.as_dict()) == chosen
    with pytest.raises(ValueError, match="method='nuts'"):
        SamplerSettings(method="svi", until_converged=True)
    with pytest.raises(ValueError, match="budget_iterations"):
        SamplerSettings(budget_iterations=0)


# --------------------------------------------------------------------------- real fits


def check_rounds_agree_with_the_fit(fit):
    record = json.loads(fit.attrs["settings"])
    assert record["until_converged"] is True
    last = record["rounds"][-1]
    assert fit.posterior.sizes["draw"] == last["kept_draws"]
    verdict = diagnostics(fit)
    # the last round was judged on exactly what the fit reports
    assert verdict.converged == last["converged"]
    assert verdict.divergences == last["divergences"]
    assert verdict.min_ess_tail == pytest.approx(last["min_ess_tail"], rel=1e-3)
    return record


def zhao_study():
    """(paradigm, counts) of the shipped Zhao et al. (2017) study."""
    from valueint.datasets import SHIPPED_DATA
    from valueint.paradigm.conditions import load_counts, load_paradigm

    folder = SHIPPED_DATA / "zhao2017_praise_cheating"
    paradigm = load_paradigm(folder / "paradigm.toml")
    return paradigm, load_counts(folder / "counts.csv", paradigm)


def test_a_paradigm_fit_draws_until_it_converges():
    from valueint.paradigm.fit import fit_paradigm

    paradigm, counts = zhao_study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = fit_paradigm(
            paradigm,
            counts,
            "isr",
            chains=2,
            warmup=200,
            draws=60,
            until_converged=True,
            evidence_samples=500,
        )
    record = check_rounds_agree_with_the_fit(fit)
    # 60 draws per chain cannot give 400 effective draws: it went on, and got there
    assert len(record["rounds"]) > 1
    assert record["stopped"] == "converged"


def test_a_whitened_trial_fit_draws_until_it_converges(small_data):
    import valueint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = valueint.fit(
            small_data,
            "trials:rw",
            chains=2,
            warmup=150,
            draws=100,
            pilot_warmup=60,
            parameterization="whitened",
            until_converged=True,
            budget_iterations=650,  # the first round and at most 4 more
            progress=False,
        )
    record = check_rounds_agree_with_the_fit(fit)
    assert len(record["rounds"]) >= 2  # 100 draws are too few: it kept going
    assert record["stopped"] in ("converged", "iteration budget")


def test_a_fit_that_spends_its_budget_unconverged_says_so():
    from valueint.paradigm.fit import fit_paradigm

    paradigm, counts = zhao_study()
    with pytest.warns(FitWarning, match="stopped at its iteration budget after 1 round"):
        fit = fit_paradigm(
            paradigm,
            counts,
            "isr",
            chains=2,
            warmup=200,
            draws=30,
            until_converged=True,
            budget_iterations=230,  # the first round only: 30 draws per chain
            evidence_samples=500,
        )
    record = check_rounds_agree_with_the_fit(fit)
    assert record["stopped"] == "iteration budget"
    assert "stopped at its iteration budget" in diagnostics(fit).messages[0]
