"""Reproduce the paper's four results: simulate, summarize, test each claim, plot, save.

Each ``Reproduction`` pairs a shipped config (``valueint/configs/``) with what is
plotted and the claims its figure makes.  ``run(name)`` returns the plotted numbers
(one row per seed, condition and time point or sweep value), the claims with 95%
t-intervals over seeds, and the figure; ``save`` writes them atomically as
``<name>.png``, ``.pdf``, ``.csv`` and ``.json`` (the run record).
"""

from __future__ import annotations

import copy
import dataclasses
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.records import atomic_write, check_output_paths, run_record, save_figure, write_json
from valueint.registry import Registry
from valueint.sim import claims as cl
from valueint.sim.config import Experiment, default_config, resolve
from valueint.sim.runner import simulate

FULL_SEEDS = 128
QUICK_SEEDS = 16
WINDOW = 10  # episodes per plotted point
LATE = 50  # "late" in a phase: its last 50 episodes
SAME_MARGIN = 0.1  # rates within 0.1 of each other count as the same level
BASELINE = "never_socialized"
UNLIMITED = 2**31 - 1  # an ISR budget no run exhausts
HACKING_BUDGETS = (1, 2, 4, 8, 16, 32, 64, UNLIMITED)
HACKING_LEARNERS = {  # label: learner settings
    "point ISR": {"kind": "isr_point"},
    "Bayesian ISR, mean": {"kind": "isr_bayes", "isr_mode": "mean"},
    "Bayesian ISR, pessimistic": {"kind": "isr_bayes", "isr_mode": "pessimistic"},
}
DISPLAY = {
    "no_isr": "no ISR",
    "isr_point": "point ISR",
    "isr_bayes": "Bayesian ISR",
    BASELINE: "never socialized (extrinsic reward only)",
}


@dataclasses.dataclass(frozen=True)
class Reproduction:
    name: str  # as on the command line
    title: str
    claim: str  # the paper's claim, in words
    claims: Callable[[Experiment, pd.DataFrame], list[cl.Claim]]
    config: str  # shipped config it starts from
    build: Callable[[dict], dict]  # shipped config -> the experiment's full config
    summarize: Callable[[Experiment, pd.DataFrame], pd.DataFrame]

    @property
    def plot(self) -> str:
        """The valueint.sim.figures function that draws it: (experiment, summary) -> Figure."""
        return f"plot_{self.name.replace('-', '_')}"


@dataclasses.dataclass(frozen=True)
class Result:
    reproduction: Reproduction
    config: dict
    seeds: list[int]
    summary: pd.DataFrame
    claims: list[cl.Claim]
    figure: object
    wall_time_s: float
    quick: bool

    @property
    def all_hold(self) -> bool:
        return all(c.holds for c in self.claims)


# --- configs -------------------------------------------------------------------------


def with_extrinsic_baseline(config: dict) -> dict:
    """Add a learner that never meets the caregiver: the level extrinsic reward alone
    produces.  It is the config's ``no_isr`` condition with no socialization."""
    config = copy.deepcopy(config)
    no_isr = next(c for c in config["conditions"] if c["label"] == "no_isr")
    baseline = copy.deepcopy(no_isr)
    baseline["label"] = BASELINE
    baseline.setdefault("caregiver", {})["socialization_episodes"] = 0
    config["conditions"].append(baseline)
    return config


def with_budget_sweep(config: dict) -> dict:
    """One condition per ISR learner and training budget (feedback observations)."""
    config = copy.deepcopy(config)
    config["conditions"] = [
        {"label": f"{learner} | {budget}", "learner": {**settings, "isr_budget": budget}}
        for learner, settings in HACKING_LEARNERS.items()
        for budget in HACKING_BUDGETS
    ]
    return config


# --- summaries -------------------------------------------------------------------------

TIMECOURSE_METRICS = (
    "socialized_rate",
    "extrinsic_return",
    "caregiver_reward",
    "isr_reward",
    "praise",
)


def per_episode(frame: pd.DataFrame) -> pd.DataFrame:
    """Average over agents: one row per condition, seed and episode."""
    theta = [c for c in frame.columns if c.startswith("theta_mean_")]
    cols = list(TIMECOURSE_METRICS) + theta
    out = frame.groupby(["condition", "seed", "episode"], observed=True)[cols].mean()
    return out.reset_index()


def timecourse(experiment: Experiment, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per seed, condition and window of ``WINDOW`` episodes."""
    episodes = per_episode(frame)
    episodes["window"] = episodes["episode"] // WINDOW
    cols = [c for c in episodes.columns if c not in ("condition", "seed", "episode", "window")]
    out = episodes.groupby(["condition", "seed", "window"], observed=True)[cols].mean()
    out = out.reset_index()
    out["episode_start"] = out["window"] * WINDOW
    out["episode_end"] = np.minimum(out["episode_start"] + WINDOW, experiment.n_episodes) - 1
    out["episode"] = (out["episode_start"] + out["episode_end"]) / 2
    # a window's phase is that of its first episode, as the simulation recorded it
    phase = frame.drop_duplicates(["condition", "episode"]).set_index(["condition", "episode"])
    first = list(zip(out["condition"], out["episode_start"], strict=True))
    out.insert(3, "phase", phase.loc[first, "phase"].astype(str).to_numpy())
    out["condition"] = out["condition"].astype(str)
    out.insert(1, "learner", out["condition"].map(_display_name))
    return out.drop(columns="window")


def _display_name(label: str) -> str:
    base = label.removesuffix("_policy_kept")
    return DISPLAY.get(base, base)


def late_rate(
    experiment: Experiment, frame: pd.DataFrame, phase: str, metric="socialized_rate"
) -> pd.DataFrame:
    """Per seed (rows) and condition (columns): ``metric`` over the phase's last LATE episodes.

    Rates are means over the episodes that had a choice (an episode that timed out
    has no rate); the phases are those of the first condition, which all socialized
    conditions share.
    """
    episodes = per_episode(frame)
    _, hi = experiment.phase_span(phase)
    lo = hi - LATE
    window = episodes[(episodes["episode"] >= lo) & (episodes["episode"] < hi)]
    table = window.groupby(["seed", "condition"], observed=True)[metric].mean().unstack()
    table.columns = table.columns.astype(str)
    return table


def sweep_summary(experiment: Experiment, frame: pd.DataFrame) -> pd.DataFrame:
    """Reward hacking: one row per seed and condition (learner x budget), averaged over
    the autonomous phase's episodes and agents."""
    episodes = per_episode(frame)
    auto = episodes[episodes["episode"] >= experiment.autonomy_start]
    cols = ["isr_reward", "caregiver_reward", "socialized_rate", "extrinsic_return"]
    out = auto.groupby(["condition", "seed"], observed=True)[cols].mean().reset_index()
    out["condition"] = out["condition"].astype(str)
    parts = out["condition"].str.split(" | ", regex=False)
    out.insert(1, "learner", parts.str[0])
    budget = parts.str[1].astype(int)
    out.insert(2, "budget", budget)
    out.insert(3, "budget_label", np.where(budget == UNLIMITED, "all", budget.astype(str)))
    out["gap"] = out["isr_reward"] - out["caregiver_reward"]
    return out


# --- claims --------------------------------------------------------------------------


# --- the four reproductions: each is its claims, registered in the paper's order ------------

REPRODUCTIONS: Registry[Reproduction] = Registry("reproduction")


def reproduction(name, title, claim, *, config=None, build=None, summarize=None):
    """Register the decorated claims function as the reproduction ``name`` (the command
    line's ``valueint reproduce NAME``), from the shipped config ``config`` (default: the
    name), a time course after the learners' extrinsic baseline unless told otherwise."""

    def register(claims):
        REPRODUCTIONS.register(
            name,
            Reproduction(
                name,
                title,
                claim,
                claims,
                config or name.replace("-", "_"),
                build or with_extrinsic_baseline,
                summarize or timecourse,
            ),
        )
        return claims

    return register


def _persistence_claims(experiment, frame, autonomous_label: str) -> list[cl.Claim]:
    """ISR learners keep what no_isr loses; no_isr ends where extrinsic reward leads."""
    auto = late_rate(experiment, frame, "autonomous")
    social = late_rate(experiment, frame, "socialization")
    out = []
    for isr in ("isr_bayes", "isr_point"):
        out.append(
            cl.above(
                f"{isr}_above_no_isr",
                f"{DISPLAY[isr]} minus no ISR, socialized rate, last {LATE} {autonomous_label} episodes",
                auto[isr] - auto["no_isr"],
            )
        )
    out.append(
        cl.within(
            "no_isr_at_extrinsic_level",
            f"no ISR minus never socialized, last {LATE} {autonomous_label} episodes",
            auto["no_isr"] - auto[BASELINE],
            SAME_MARGIN,
        )
    )
    return out, auto, social


@reproduction(
    "unlearning",
    "An ISR prevents unlearning after the caregiver leaves",
    "An ISR prevents unlearning of socialized behaviour once social reward stops.",
    config="default",
)
def unlearning_claims(experiment, frame) -> list[cl.Claim]:
    out, auto, social = _persistence_claims(experiment, frame, "autonomous")
    out.append(
        cl.above(
            "no_isr_unlearns",
            f"no ISR: drop from its socialized level (last {LATE} socialization episodes "
            f"minus last {LATE} autonomous ones)",
            social["no_isr"] - auto["no_isr"],
            0.5,
        )
    )
    for isr in ("isr_bayes", "isr_point"):
        out.append(
            cl.above(
                f"{isr}_keeps_socialized_level",
                f"{DISPLAY[isr]}: last {LATE} autonomous minus last {LATE} socialization episodes",
                auto[isr] - social[isr],
                -SAME_MARGIN,
            )
        )
    return out


@reproduction(
    "generalization",
    "An ISR over features carries socialized values to new layouts",
    "An ISR enables generalization to out-of-distribution tasks.",
)
def generalization_claims(experiment, frame) -> list[cl.Claim]:
    out, auto, _ = _persistence_claims(experiment, frame, "new-layout")
    out.append(
        cl.above(
            "isr_bayes_above_no_isr_policy_kept",
            f"policy kept: Bayesian ISR minus no ISR, last {LATE} new-layout episodes",
            auto["isr_bayes_policy_kept"] - auto["no_isr_policy_kept"],
        )
    )
    return out


@reproduction(
    "reward-hacking",
    "An undertrained ISR is hacked",
    "Incomplete internalization leads to reward hacking of the ISR.",
    build=with_budget_sweep,
    summarize=sweep_summary,
)
def hacking_claims(experiment, frame) -> list[cl.Claim]:
    summary = sweep_summary(experiment, frame)
    gap = summary.pivot_table(index="seed", columns=["learner", "budget"], values="gap")
    low, full = HACKING_BUDGETS[0], HACKING_BUDGETS[-1]
    out = []
    for learner in ("point ISR", "Bayesian ISR, mean"):
        out.append(
            cl.above(
                f"{learner}: hacked when undertrained",
                f"{learner}, budget {low}: ISR reward minus true caregiver reward per episode",
                gap[(learner, low)],
            )
        )
        out.append(
            cl.above(
                f"{learner}: gap shrinks with internalization",
                f"{learner}: gap at budget {low} minus gap with every observation",
                gap[(learner, low)] - gap[(learner, full)],
            )
        )
    small = [b for b in HACKING_BUDGETS if b <= 8]
    pess = gap["Bayesian ISR, pessimistic"][small].mean(axis=1)
    mean = gap["Bayesian ISR, mean"][small].mean(axis=1)
    out.append(
        cl.below(
            "pessimism shrinks the gap",
            f"Bayesian ISR, pessimistic minus mean: gap averaged over budgets {small}",
            pess - mean,
        )
    )
    return out


@reproduction(
    "prosocial",
    "An ISR keeps prosocial sharing alive among several agents",
    "An ISR internalizes prosocial behaviour in a multi-agent environment.",
)
def prosocial_claims(experiment, frame) -> list[cl.Claim]:
    out, auto, _ = _persistence_claims(experiment, frame, "autonomous")
    welfare = late_rate(experiment, frame, "autonomous", "extrinsic_return")
    out.append(
        cl.above(
            "isr_bayes_group_better_off",
            f"extrinsic reward per agent per episode, Bayesian ISR minus no ISR groups, "
            f"last {LATE} autonomous episodes",
            welfare["isr_bayes"] - welfare["no_isr"],
        )
    )
    return out


NAMES = tuple(REPRODUCTIONS)  # in the order above, the order ``reproduce all`` runs them


def get(name: str) -> Reproduction:
    """The reproduction called ``name``; a KeyError lists the known ones."""
    return REPRODUCTIONS.get(name)


def build_config(name: str) -> dict:
    """The full config a reproduction runs (shipped config plus its added conditions)."""
    reproduction = get(name)
    return reproduction.build(default_config(reproduction.config))


def run(
    name: str,
    seeds: int | None = None,
    quick: bool = False,
    progress: Callable | None = None,
) -> Result:
    """Simulate one reproduction over seeds 0..n-1; summarize, test its claims, draw it."""
    reproduction = get(name)
    n_seeds = seeds if seeds is not None else (QUICK_SEEDS if quick else FULL_SEEDS)
    if n_seeds < 2:
        raise ValueError(f"seeds = {n_seeds}: intervals over seeds need at least 2")
    config = build_config(name)
    experiment = resolve(config)
    seed_list = list(range(n_seeds))
    start = time.perf_counter()
    frame = simulate(experiment, seed_list, progress)
    summary = reproduction.summarize(experiment, frame)
    claims = reproduction.claims(experiment, frame)
    from valueint.sim import (
        figures as plotting,  # matplotlib is imported only when a figure is drawn
    )

    figure = getattr(plotting, reproduction.plot)(experiment, summary)
    wall = time.perf_counter() - start
    return Result(reproduction, config, seed_list, summary, claims, figure, wall, quick)


def output_paths(name: str, out: Path) -> dict[str, Path]:
    stem = name.replace("-", "_")
    return {ext: Path(out) / f"{stem}.{ext}" for ext in ("png", "pdf", "csv", "json")}


def save(result: Result, out: Path, overwrite: bool = False) -> dict[str, Path]:
    """Write the figure (png, pdf), plotted numbers (csv) and run record (json)."""
    paths = output_paths(result.reproduction.name, out)
    check_output_paths(paths.values(), overwrite)
    for ext in ("png", "pdf"):
        save_figure(result.figure, paths[ext], close=False)
    text = io.StringIO()
    result.summary.to_csv(text, index=False, float_format="%.6g")
    atomic_write(paths["csv"], text.getvalue())
    record = run_record(
        command=f"valueint reproduce {result.reproduction.name}"
        + (" --quick" if result.quick else "")
        + f" --seeds {len(result.seeds)}",
        config=result.config,
        seeds=result.seeds,
        wall_time_s=result.wall_time_s,
        reproduction=result.reproduction.name,
        title=result.reproduction.title,
        paper_claim=result.reproduction.claim,
        quick=result.quick,
        claims=[dataclasses.asdict(c) for c in result.claims],
        all_claims_hold=result.all_hold,
        outputs=[p.name for p in paths.values()],
    )
    write_json(paths["json"], record)
    return paths
