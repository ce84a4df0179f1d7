# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Socialization, fade and autonomy: what an internal social reward keeps
#
# A simulated child (a Q-learner) lives in a small gridworld with a tempting object
# (candy: extrinsic reward 1, "sweet") and a dull one (a book: no extrinsic reward,
# "educational").  A caregiver with latent reward weights θ_c over the features
# (sweet, educational, messy) watches and praises sparsely:
# P(praise) = sigmoid(β θ_c·φ + bias).  The learner acts on
#
#     U = R_e + P·R_s + (1 − P)·R_i
#
# where R_s is the praise when the caregiver is present and R_i is the *internal
# social reward* (ISR): the praise the learner expects from what it has inferred
# about θ_c.  Three learners differ only in R_i:
#
# * **no_isr**: no ISR (R_i = 0); learns from extrinsic reward and praise alone.
# * **isr_point**: a point estimate of θ_c, fitted online by stochastic gradient
#   ascent on the praise likelihood.
# * **isr_bayes**: a Gaussian posterior over θ_c, updated in closed form after
#   every piece of feedback.
#
# The experiment is the shipped default config (`valueint.default_config()`, the
# same one `valueint simulate` runs): the caregiver is there for the first episodes
# (socialization) and then leaves for good (autonomy).  Next to it runs the same
# experiment with a **fade** in between, during which the caregiver's presence
# probability falls linearly to zero, so all three phases can be seen.
#
# This notebook shows (1) the presence schedule, (2) how often each learner chooses
# the socialized object in each phase, and (3) the Bayesian ISR's posterior over θ_c
# growing episode by episode, against the caregiver's true θ_c.
#
# **Run it**: `python analysis/run_notebooks.py analysis/01_socialization_simulation.py`
# (or `python analysis/01_socialization_simulation.py`).  `VALUEINT_NOTEBOOK_MODE=small`
# uses few seeds (what CI runs); the default, `full`, uses 128 seeds.  Figures, the
# plotted numbers and a run record go to `$VALUEINT_NOTEBOOK_OUT/01_socialization_simulation/`
# (default `analysis/output/`).

# %%
import os
import time

from valueint.devices import use_cpu_devices

use_cpu_devices(os.cpu_count() or 1)  # before JAX starts: seeds are spread over the CPU cores

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import valueint
from valueint.notebook import notebook_mode, notebook_out, write_tables
from valueint.records import check_output_paths, run_record, save_figure, write_json
from valueint.sim.claims import t_interval
from valueint.sim.config import merge_tables, resolve

MODE = notebook_mode()  # VALUEINT_NOTEBOOK_MODE: full (default) or small
OUT = notebook_out("01_socialization_simulation")  # under VALUEINT_NOTEBOOK_OUT
OVERWRITE = True  # re-running the notebook replaces what it wrote before

N_SEEDS = {"full": 128, "small": 6}[MODE]
SEEDS = list(range(N_SEEDS))
WINDOW = 10  # episodes per plotted point
LATE = 0.2  # "late in a phase": its last 20% of episodes
FADE = {"socialization_episodes": 100, "fade_episodes": 100}  # the fade schedule
print(f"mode {MODE}: {N_SEEDS} seeds; outputs in {OUT}")

# %% [markdown]
# ## The experiment
#
# The shipped config has three conditions, one per learner.  We run each learner
# under two caregiver schedules: the shipped one (**abrupt**: present, then gone)
# and a **fade** schedule (present, then a linear fade of presence, then gone).
# Everything else (world, caregiver θ_c and praise model, learner settings) is the
# shipped config's.  All six conditions run side by side in one compiled program,
# and each seed sees the same world layouts in every condition (common random
# numbers), so differences between conditions are paired within a seed.

# %%
shipped = valueint.default_config()
conditions = []
for cond in shipped["conditions"]:
    conditions.append({**cond, "label": f"{cond['label']} | abrupt"})
    faded = merge_tables(cond, {"caregiver": FADE})
    conditions.append({**faded, "label": f"{cond['label']} | fade"})
config = {**shipped, "conditions": conditions}
experiment = resolve(config)

care = shipped["caregiver"]
features = list(experiment.env.feature_names)
theta_c = np.asarray(care["theta"], dtype=float)
n_episodes = experiment.n_episodes
print(
    f"world: {shipped['env']['name']}, {shipped['env']['size']}x{shipped['env']['size']}, "
    f"horizon {shipped['env']['horizon']} steps; objects {shipped['env']['slots']}"
)
for obj in shipped["env"]["object_types"]:
    print(
        f"  {obj['name']:8s} features {dict(zip(features, obj['features'], strict=True))}, "
        f"extrinsic reward {obj['extrinsic']}"
    )
print(
    f"caregiver θ_c = {dict(zip(features, theta_c, strict=True))}, β = {care['beta']}, bias = {care['bias']}"
)
print(
    f"{n_episodes} episodes; abrupt: socialization {care['socialization_episodes']}, then autonomous; "
    f"fade: socialization {FADE['socialization_episodes']}, fade {FADE['fade_episodes']}, then autonomous"
)
print("conditions:", ", ".join(experiment.labels))

# %%
start = time.perf_counter()
frame = valueint.simulate(experiment, SEEDS)
wall = time.perf_counter() - start
parts = frame["condition"].astype(str).str.split(" | ", regex=False)
frame["learner"] = pd.Categorical(parts.str[0], categories=["no_isr", "isr_point", "isr_bayes"])
frame["schedule"] = pd.Categorical(parts.str[1], categories=["abrupt", "fade"])
print(
    f"simulated {experiment.n_conditions} conditions x {N_SEEDS} seeds x {n_episodes} episodes "
    f"in {wall:.1f} s; {len(frame):,} rows"
)

# %% [markdown]
# ## 1. The phases
#
# The caregiver's presence probability per episode under each schedule, and the
# fraction of steps on which the caregiver was actually there (presence is drawn
# once per episode).  Only present caregivers give feedback, and only on salient
# actions (touching an object); the ISR learns from nothing else.

# %%
COLORS = {"no_isr": "#d55e00", "isr_point": "#0072b2", "isr_bayes": "#009e73"}
FEATURE_COLORS = dict(zip(features, ["#cc79a7", "#009e73", "#e69f00"], strict=True))


def phase_bounds(schedule: str) -> list[tuple[str, int, int]]:
    """(phase, first episode, last episode + 1) of each phase the schedule has."""
    rows = frame[(frame["schedule"] == schedule) & (frame["seed"] == SEEDS[0])]
    spans = rows.groupby("phase", observed=True)["episode"].agg(["min", "max"])
    return [(str(p), int(r["min"]), int(r["max"]) + 1) for p, r in spans.iterrows()]


def shade_phases(ax, schedule: str) -> None:
    shades = {"socialization": None, "fade": "0.95", "autonomous": "0.88"}
    for phase, lo, hi in phase_bounds(schedule):
        if shades[phase]:
            ax.axvspan(lo, hi, color=shades[phase], zorder=0)
        ax.text(
            (lo + hi) / 2,
            1.0,
            phase,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="0.3",
        )


def show(fig, name: str) -> None:
    """Save the figure as PNG and PDF in OUT, then show it."""
    paths = [OUT / f"{name}.png", OUT / f"{name}.pdf"]
    check_output_paths(paths, OVERWRITE)
    for path in paths:
        save_figure(fig, path, close=False)
    display(fig)
    plt.close(fig)


per_episode = frame.groupby(["schedule", "episode"], observed=True)[
    ["presence_prob", "presence"]
].mean()
fig, axes = plt.subplots(1, 2, figsize=(10, 2.8), sharey=True)
for ax, schedule in zip(axes, ["abrupt", "fade"], strict=True):
    rows = per_episode.loc[schedule]
    ax.plot(rows.index, rows["presence_prob"], color="k", label="presence probability")
    ax.plot(
        rows.index,
        rows["presence"],
        color="0.5",
        lw=0.8,
        label=f"observed (mean of {N_SEEDS} seeds)",
    )
    shade_phases(ax, schedule)
    ax.set_title(f"{schedule} schedule", loc="left", pad=14)
    ax.set_xlabel("episode")
axes[0].set_ylabel("caregiver present")
axes[1].legend(fontsize=8, loc="center right")
fig.tight_layout()
show(fig, "presence")

# %% [markdown]
# ## 2. Behaviour across phases
#
# The *socialized rate* is the fraction of an episode's salient choices whose true
# caregiver value θ_c·φ is positive (here: the book rather than the candy).  Lines
# are means over seeds, bands 95% t-intervals over seeds, each point averages
# `WINDOW` episodes.
#
# What to look for: while the caregiver is present the three learners behave alike
# (the ISR only stands in for praise when no one is watching, so it cannot change
# behaviour then).  Once the caregiver is gone, a learner without an ISR has only
# the candy's extrinsic reward to learn from, while the ISR learners keep rewarding
# themselves for the socialized choice.


# %%
def windowed(metric: str) -> pd.DataFrame:
    """Per seed, learner, schedule and window: the metric averaged over episodes and agents."""
    rows = frame.assign(window=frame["episode"] // WINDOW)
    out = rows.groupby(["schedule", "learner", "seed", "window"], observed=True)[metric].mean()
    out = out.reset_index()
    out["episode"] = out["window"] * WINDOW + (WINDOW - 1) / 2
    return out


def interval_lines(ax, table: pd.DataFrame, metric: str, by: str, colors: dict) -> None:
    for key, rows in table.groupby(by, observed=True):
        stats = rows.groupby("episode")[metric].apply(lambda v: t_interval(v.to_numpy()))
        mean, low, high = (np.array([s[i] for s in stats]) for i in range(3))
        ax.plot(stats.index, mean, color=colors[key], label=str(key))
        ax.fill_between(stats.index, low, high, color=colors[key], alpha=0.25, lw=0)


rate = windowed("socialized_rate")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, schedule in zip(axes, ["abrupt", "fade"], strict=True):
    interval_lines(ax, rate[rate["schedule"] == schedule], "socialized_rate", "learner", COLORS)
    shade_phases(ax, schedule)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{schedule} schedule", loc="left", pad=14)
    ax.set_xlabel("episode")
axes[0].set_ylabel("socialized choices\n(fraction per episode)")
axes[1].legend(title="learner", fontsize=8, loc="lower left")
fig.tight_layout()
show(fig, "socialized_rate")

# %% [markdown]
# The same numbers per phase: the mean socialized rate over the last 20% of each
# phase's episodes, with a 95% t-interval over seeds, and the difference from
# `no_isr` (paired within seeds).  Praise per episode shows how much evidence the
# learner gets in each phase.


# %%
def late_in_phase(rows: pd.DataFrame) -> pd.DataFrame:
    cut = rows["episode"].quantile(1 - LATE)
    return rows[rows["episode"] >= cut]


per_seed = (
    frame.groupby(["schedule", "phase", "learner", "seed"], observed=True, group_keys=False)
    .apply(lambda g: late_in_phase(g)[["socialized_rate", "extrinsic_return", "praise"]].mean())
    .reset_index()
)
rows = []
for (schedule, phase, learner), g in per_seed.groupby(
    ["schedule", "phase", "learner"], observed=True
):
    mean, low, high = t_interval(g["socialized_rate"])
    base = per_seed[
        (per_seed["schedule"] == schedule)
        & (per_seed["phase"] == phase)
        & (per_seed["learner"] == "no_isr")
    ].set_index("seed")["socialized_rate"]
    diff = g.set_index("seed")["socialized_rate"] - base
    d_mean, d_low, d_high = t_interval(diff)
    rows.append(
        {
            "schedule": schedule,
            "phase": phase,
            "learner": learner,
            "socialized_rate": mean,
            "ci_low": low,
            "ci_high": high,
            "minus_no_isr": d_mean,
            "diff_ci_low": d_low,
            "diff_ci_high": d_high,
            "praise_per_episode": g["praise"].mean(),
            "extrinsic_return": g["extrinsic_return"].mean(),
        }
    )
phase_table = pd.DataFrame(rows)
with pd.option_context(
    "display.float_format", "{:.3f}".format, "display.width", 200, "display.max_columns", None
):
    display(phase_table)


# %%
def rate_of(schedule, phase, learner):
    row = phase_table[
        (phase_table["schedule"] == schedule)
        & (phase_table["phase"] == phase)
        & (phase_table["learner"] == learner)
    ].iloc[0]
    return row


socialization = per_seed[per_seed["phase"] == "socialization"].pivot_table(
    index=["schedule", "seed"], columns="learner", values="socialized_rate", observed=True
)
spread = float((socialization.max(axis=1) - socialization.min(axis=1)).max())
print(
    f"while the caregiver is present the learners' rates differ by at most {spread:.3f} "
    "(same seed, late socialization)"
)
for schedule in ["abrupt", "fade"]:
    print(f"{schedule} schedule (late in each phase, mean [95% CI] over {N_SEEDS} seeds):")
    for learner in ["no_isr", "isr_point", "isr_bayes"]:
        soc, auto = (
            rate_of(schedule, "socialization", learner),
            rate_of(schedule, "autonomous", learner),
        )
        print(
            f"  {learner:9s} socialization {soc.socialized_rate:.2f} [{soc.ci_low:.2f}, {soc.ci_high:.2f}]"
            f" -> autonomous {auto.socialized_rate:.2f} [{auto.ci_low:.2f}, {auto.ci_high:.2f}]"
        )
    for learner in ["isr_point", "isr_bayes"]:
        auto = rate_of(schedule, "autonomous", learner)
        keeps = "keeps more" if auto.diff_ci_low > 0 else "does not clearly keep more"
        print(
            f"  {learner} {keeps} socialized behaviour than no_isr once alone: "
            f"{auto.minus_no_isr:+.2f} [{auto.diff_ci_low:+.2f}, {auto.diff_ci_high:+.2f}]"
        )

# %% [markdown]
# ## 3. The ISR's posterior as it grows
#
# After every episode the runner records the Bayesian ISR's posterior over θ_c: a
# Gaussian with a mean and a standard deviation per feature (and the point ISR's
# estimate).  Below, the posterior mean ± 1 sd of each weight over episodes for one
# seed (left) and the posterior mean averaged over seeds with its 95% interval
# (right); dotted lines are the caregiver's true θ_c.
#
# The praise model identifies θ_c only up to what the learner observes.  A feature
# that never occurs in the world (here "messy": the crayons are not in the layout)
# is never seen with feedback, so its posterior stays at the prior N(0, prior_sd²).
# Once the caregiver is gone there is no feedback and the belief stays where it was.

# %%
bayes = frame[(frame["learner"] == "isr_bayes")]
point = frame[(frame["learner"] == "isr_point")]
one_seed = SEEDS[0]
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
for row, schedule in enumerate(["abrupt", "fade"]):
    own = bayes[(bayes["schedule"] == schedule) & (bayes["seed"] == one_seed)]
    own = own.groupby("episode")[
        [f"theta_{s}_{f}" for s in ("mean", "sd") for f in features]
    ].mean()
    ax = axes[row, 0]
    for f in features:
        mean, sd = own[f"theta_mean_{f}"], own[f"theta_sd_{f}"]
        ax.plot(own.index, mean, color=FEATURE_COLORS[f], label=f)
        ax.fill_between(own.index, mean - sd, mean + sd, color=FEATURE_COLORS[f], alpha=0.2, lw=0)
        ax.axhline(theta_c[features.index(f)], color=FEATURE_COLORS[f], ls=":", lw=1.2)
    shade_phases(ax, schedule)
    ax.set_title(
        f"{schedule}: Bayesian ISR, seed {one_seed} (mean ± 1 sd)", loc="left", pad=14, fontsize=10
    )
    ax.set_ylabel("θ_k")

    ax = axes[row, 1]
    for f in features:
        table = (
            bayes[bayes["schedule"] == schedule]
            .groupby(["seed", "episode"])[f"theta_mean_{f}"]
            .mean()
        )
        table = table.reset_index().assign(feature=f)
        interval_lines(ax, table, f"theta_mean_{f}", "feature", FEATURE_COLORS)
        pt = point[point["schedule"] == schedule].groupby("episode")[f"theta_point_{f}"].mean()
        ax.plot(pt.index, pt, color=FEATURE_COLORS[f], lw=0.8, ls="--")
        ax.axhline(theta_c[features.index(f)], color=FEATURE_COLORS[f], ls=":", lw=1.2)
    shade_phases(ax, schedule)
    ax.set_title(
        f"{schedule}: posterior mean over {N_SEEDS} seeds (dashed: point ISR)",
        loc="left",
        pad=14,
        fontsize=10,
    )
for ax in axes[1]:
    ax.set_xlabel("episode")
axes[0, 0].legend(title="feature (dotted: true θ_c)", fontsize=8, loc="lower left")
fig.tight_layout()
show(fig, "isr_posterior")

# %% [markdown]
# The posterior's numbers when the caregiver leaves and at the end of the run (mean
# over seeds of the posterior mean and sd), next to the true θ_c and the point ISR's
# estimate; `sign_right_share` is the share of seeds whose posterior mean has the
# true weight's sign (empty for a weight never seen).  The posterior mean is pulled
# towards the prior mean 0 as long as the evidence is finite, and its sd says how
# much evidence there was.  Below it, the praise each learner received per phase.

# %%
prior_sd = float(shipped["learner"].get("prior_sd", 1.0))
summary_rows = []
for schedule in ["abrupt", "fade"]:
    rows = bayes[bayes["schedule"] == schedule]
    leave = max(hi for phase, lo, hi in phase_bounds(schedule) if phase != "autonomous")
    for label, episode in (("caregiver leaves", leave - 1), ("end of run", n_episodes - 1)):
        at = rows[rows["episode"] == episode]
        for k, f in enumerate(features):
            summary_rows.append(
                {
                    "schedule": schedule,
                    "when": label,
                    "episode": episode,
                    "feature": f,
                    "true_theta": theta_c[k],
                    "posterior_mean": at[f"theta_mean_{f}"].mean(),
                    "posterior_sd": at[f"theta_sd_{f}"].mean(),
                    "point_isr": point[
                        (point["schedule"] == schedule) & (point["episode"] == episode)
                    ][f"theta_point_{f}"].mean(),
                    # a weight never seen with feedback keeps its prior (sd = prior sd): no sign to get right
                    "sign_right_share": float(
                        (np.sign(at[f"theta_mean_{f}"]) == np.sign(theta_c[k])).mean()
                    )
                    if at[f"theta_sd_{f}"].mean() < prior_sd - 1e-9
                    else np.nan,
                }
            )
posterior_table = pd.DataFrame(summary_rows)
with pd.option_context(
    "display.float_format", "{:.3f}".format, "display.width", 200, "display.max_columns", None
):
    display(posterior_table)

feedback = (
    frame[frame["learner"] == "isr_bayes"]
    .groupby(["schedule", "phase"], observed=True)["praise"]
    .sum()
)
for (schedule, phase), total in feedback.items():
    print(f"{schedule:6s} {phase:13s}: {total / N_SEEDS:.1f} praises per learner")
unseen = posterior_table[
    (posterior_table["feature"] == "messy") & (posterior_table["when"] == "end of run")
]
print(
    f"'messy' (never in the layout): posterior sd at the end {unseen['posterior_sd'].round(3).tolist()} "
    f"vs prior sd {prior_sd}"
)

# %% [markdown]
# ## Saved
#
# The per-phase table, the posterior table and the per-window socialized rates, with a
# run record (config, seeds, package versions, wall time).

# %%
tables = {
    "phase_table.csv": phase_table,
    "posterior_table.csv": posterior_table,
    "socialized_rate_windows.csv": rate,
}
check_output_paths([OUT / "run.json"], OVERWRITE)
write_tables(OUT, tables, OVERWRITE)
record = run_record(
    command="analysis/01_socialization_simulation.py",
    config=config,
    seeds=SEEDS,
    wall_time_s=wall,
    mode=MODE,
    window=WINDOW,
    late_fraction=LATE,
    outputs=sorted({p.name for p in OUT.iterdir() if not p.name.startswith(".")} | {"run.json"}),
)
write_json(OUT / "run.json", record)
print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir()))} to {OUT}")
