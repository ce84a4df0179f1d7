"""Figures of simulated learners, drawn with seaborn: means with 95% t-intervals over seeds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from valueint.sim.claims import errorbar  # noqa: E402

PALETTE = {
    "no ISR": "#d55e00",
    "point ISR": "#0072b2",
    "Bayesian ISR": "#009e73",
    "never socialized (extrinsic reward only)": "#7f7f7f",
    "Bayesian ISR, mean": "#009e73",
    "Bayesian ISR, pessimistic": "#cc79a7",
}
ORDER = ["no ISR", "point ISR", "Bayesian ISR", "never socialized (extrinsic reward only)"]
RATE_LABEL = "socialized choices\n(fraction of choices, per episode)"


def _theme() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)


def mark_phases(ax, start: float, end: float, label: str = "caregiver leaves") -> None:
    """Shade the autonomous phase and mark where it starts."""
    ax.axvspan(start, end, color="0.92", zorder=0)
    ax.axvline(start, color="0.3", linestyle="--", linewidth=1)
    ax.text(start, 1.0, f" {label}", transform=ax.get_xaxis_transform(), va="top", fontsize=9)


def seed_band(alpha: float = 0.25) -> dict:
    """A line's band: the interval over seeds (``valueint.sim.claims.errorbar``), shaded."""
    return {"errorbar": errorbar, "err_kws": {"alpha": alpha}}


def rate_over_time(ax, summary, metric="socialized_rate", ylabel=RATE_LABEL, ylim=(0, 1.02)):
    hue_order = [h for h in ORDER if h in set(summary["learner"])]
    sns.lineplot(
        data=summary,
        x="episode",
        y=metric,
        hue="learner",
        hue_order=hue_order,
        palette=PALETTE,
        ax=ax,
        **seed_band(),
    )
    ax.set_xlabel("episode")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.get_legend().remove()


def shared_legend(fig, ax, title=None) -> None:
    """One legend for the whole figure, below the panels, so no line is hidden."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, title=title, loc="lower center", ncol=len(labels), fontsize=9,
        frameon=False, bbox_to_anchor=(0.5, 0.03),
    )  # fmt: skip


def _caption(fig, n_seeds: int) -> None:
    fig.text(
        0.01,
        0.005,
        f"Lines: mean over {n_seeds} seeds; bands: 95% t-intervals over seeds; "
        "each point averages 10 episodes.",
        fontsize=8,
        color="0.35",
    )


def _finish(fig, legend_ax, n_seeds: int) -> None:
    shared_legend(fig, legend_ax)
    _caption(fig, n_seeds)
    fig.tight_layout(rect=(0, 0.1, 1, 1))


def plot_unlearning(experiment, summary):
    _theme()
    start = experiment.autonomy_start
    fig, (ax, ax_theta) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    rate_over_time(ax, summary)
    mark_phases(ax, start, experiment.n_episodes)
    ax.set_title("A. Socialized behaviour before and after the caregiver leaves", loc="left")

    # what the Bayesian ISR believes about the caregiver's weights as praise arrives
    bayes = summary[summary["condition"] == "isr_bayes"]
    theta_cols = [c for c in summary.columns if c.startswith("theta_mean_")]
    long = bayes.melt(
        id_vars=["seed", "episode"], value_vars=theta_cols, var_name="feature", value_name="mean"
    )
    long["feature"] = long["feature"].str.removeprefix("theta_mean_")
    features = list(experiment.env.feature_names)
    colors = dict(zip(features, sns.color_palette("colorblind", len(features)), strict=True))
    sns.lineplot(
        data=long,
        x="episode",
        y="mean",
        hue="feature",
        hue_order=features,
        palette=colors,
        ax=ax_theta,
        **seed_band(),
    )
    true_theta = np.asarray(experiment.params.caregiver.theta)[0]
    for feature, value in zip(features, true_theta, strict=True):
        ax_theta.axhline(value, color=colors[feature], linestyle=":", linewidth=1.2)
    mark_phases(ax_theta, start, experiment.n_episodes)
    ax_theta.set_title("B. Bayesian ISR: posterior mean of θ", loc="left")
    ax_theta.set_xlabel("episode")
    ax_theta.set_ylabel("posterior mean of θ_k\n(dotted: the caregiver's true θ_k)")
    ax_theta.legend(title="feature", fontsize=8, loc="center right")
    fig.suptitle("Unlearning: an ISR keeps socialized behaviour once social reward stops")
    _finish(fig, ax, summary["seed"].nunique())
    return fig


def plot_generalization(experiment, summary):
    _theme()
    start = experiment.autonomy_start
    kept = summary["condition"].str.endswith("_policy_kept")
    baseline = summary["condition"] == "never_socialized"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = [
        (axes[0], summary[~kept], "A. New task: the policy is relearned, the ISR carries over"),
        (axes[1], summary[kept | baseline], "B. The policy (Q) is carried over too"),
    ]
    for ax, data, title in panels:
        rate_over_time(ax, data)
        mark_phases(ax, start, experiment.n_episodes, "new layouts, caregiver gone")
        ax.set_title(title, loc="left")
    fig.suptitle(
        "Out-of-distribution generalization: socialized in one layout distribution, "
        "alone in another"
    )
    _finish(fig, axes[0], summary["seed"].nunique())
    return fig


def plot_prosocial(experiment, summary):
    _theme()
    start = experiment.autonomy_start
    horizon = experiment.env.horizon
    summary = summary.assign(extrinsic_per_step=summary["extrinsic_return"] / horizon)
    fig, (ax, ax_welfare) = plt.subplots(1, 2, figsize=(11, 4.2))
    rate_over_time(ax, summary, ylabel="sharing\n(fraction of choices, per episode)")
    mark_phases(ax, start, experiment.n_episodes)
    ax.set_title("A. Prosocial acts (sharing at a cost)", loc="left")
    rate_over_time(
        ax_welfare,
        summary,
        metric="extrinsic_per_step",
        ylabel="extrinsic reward per agent per step\n(resource units)",
        ylim=None,
    )
    mark_phases(ax_welfare, start, experiment.n_episodes)
    ax_welfare.set_title("B. What the group earns", loc="left")
    fig.suptitle(
        f"Prosocial behaviour among {experiment.env.n_agents} agents: "
        "sharing lasts with an ISR after the caregiver leaves"
    )
    _finish(fig, ax, summary["seed"].nunique())
    return fig


def _budget_panel(ax, data, y, title, quantity, alpha, learners, unit, **style):
    """One panel of the reward-hacking figure: ``y`` per learner over the ISR budgets."""
    hue = {"hue": "learner", "hue_order": learners, "palette": PALETTE}
    sns.lineplot(data=data, x="x", y=y, ax=ax, **hue, **seed_band(alpha), **style)
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set_title(title, loc="left")
    ax.set_ylabel(f"{quantity} per autonomous episode\n{unit}")
    ax.get_legend().remove()


def plot_reward_hacking(experiment, summary):
    _theme()
    budgets = sorted(summary["budget"].unique())
    position = {b: i for i, b in enumerate(budgets)}
    labels = ["all" if b == max(budgets) and b > 10**6 else str(b) for b in budgets]
    data = summary.assign(x=summary["budget"].map(position))
    learners = list(dict.fromkeys(data["learner"]))
    long = data.melt(
        id_vars=["seed", "learner", "x"],
        value_vars=["isr_reward", "caregiver_reward"],
        var_name="reward",
        value_name="value",
    )
    long["reward"] = long["reward"].map(
        {"isr_reward": "ISR (internal) reward", "caregiver_reward": "true caregiver reward"}
    )
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(11.5, 4.8))
    rewards = ["ISR (internal) reward", "true caregiver reward"]
    panel = {"learners": learners, "unit": "(caregiver's θ·φ units)"}
    title = "A. Reward collected alone: believed vs true"
    style = {"style": "reward", "style_order": rewards, "markers": True}
    _budget_panel(ax, long, "value", title, "reward", 0.2, **panel, **style)
    title = "B. Hacking gap: ISR reward minus true reward"
    _budget_panel(ax_gap, data, "gap", title, "gap", 0.25, **panel, marker="o")
    for a in (ax, ax_gap):
        a.set_xticks(range(len(budgets)), labels)
        a.set_xlabel("ISR training budget (feedback observations learned from)")
    fig.suptitle("Reward hacking: an undertrained ISR pays for what the caregiver dislikes")
    handles = [Line2D([], [], color=PALETTE[name], marker="o", label=name) for name in learners]
    handles += [
        Line2D([], [], color="0.3", linestyle="-", marker="o", label="ISR (internal) reward"),
        Line2D([], [], color="0.3", linestyle="--", marker="X", label="true caregiver reward"),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=len(handles), fontsize=8.5, frameon=False,
        bbox_to_anchor=(0.5, 0.03),
    )  # fmt: skip
    fig.text(
        0.01,
        0.005,
        f"Mean over {summary['seed'].nunique()} seeds and the autonomous episodes; "
        "bands: 95% t-intervals over seeds.",
        fontsize=8,
        color="0.35",
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_sweep(data, metric: str, x: str, hue: str | None = None, phase: str | None = "autonomous"):
    """A metric of a sweep against one grid key (``x``), one line per value of ``hue`` (a
    second grid key or ``condition``): the mean over seeds with 95% t-intervals.

    ``data`` is a sweep table (``valueint.sim.sweep.run_sweep``) or its summary
    (``summarize_sweep``); ``phase`` picks the episodes (None: all).  Grid keys on
    neither axis are averaged over within each seed; with several conditions and
    ``hue`` not ``condition``, each condition gets a panel.  Returns the figure.
    """
    import pandas as pd

    from valueint.sim.sweep import format_value, grid_keys, summarize_sweep

    summary = summarize_sweep(data) if "episode" in data.columns else data
    for role, column in (("metric", metric), ("x", x), ("hue", hue)):
        if column is not None and column not in summary.columns:
            known = ", ".join([*grid_keys(summary), "condition"])
            raise ValueError(f"{role} {column!r} is not a column of the sweep; grid: {known}")
    if phase is not None:
        present = list(dict.fromkeys(summary["phase"].astype(str)))
        summary = summary[summary["phase"] == phase]
        if summary.empty:
            raise ValueError(f"no episodes in phase {phase!r}; the sweep has {present}")
    by = list(dict.fromkeys(c for c in (x, hue, "condition", "seed") if c is not None))
    per_seed = summary.groupby(by, observed=True, sort=True)[metric].mean().reset_index()
    if hue is not None and hue != "condition":
        column = per_seed[hue]
        if isinstance(column.dtype, pd.CategoricalDtype):
            order, texts = [str(c) for c in column.cat.categories], column.astype(str)
        else:  # numbers: one colour per value, not a continuous scale
            order = [format_value(v) for v in sorted(column.unique())]
            texts = column.map(format_value)
        per_seed[hue] = pd.Categorical(texts, categories=order)
    panels = ["all"]
    if "condition" not in (x, hue) and per_seed["condition"].nunique() > 1:
        panels = list(dict.fromkeys(per_seed["condition"]))
    averaged = [k for k in grid_keys(summary) if k not in (x, hue) and summary[k].nunique() > 1]
    _theme()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.8 * len(panels) + 1, 4), sharey=True, squeeze=False
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        part = per_seed if panel == "all" else per_seed[per_seed["condition"] == panel]
        sns.lineplot(
            data=part, x=x, y=metric, hue=hue, marker="o", errorbar=errorbar,
            err_style="bars", err_kws={"capsize": 3}, ax=ax,
        )  # fmt: skip
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        if panel != "all":
            ax.set_title(f"condition {panel}", loc="left")
    n_seeds = summary["seed"].nunique()
    note = f"; averaged over {', '.join(averaged)}" if averaged else ""
    fig.suptitle(
        f"{metric}{f' ({phase} phase)' if phase else ''}: mean over {n_seeds} seeds, "
        f"95% t-intervals{note}"
    )
    fig.tight_layout()
    return fig
