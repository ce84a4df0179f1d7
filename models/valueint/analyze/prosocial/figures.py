"""The figures of the prosocial-learning analysis: model comparison, learning curves and
group-level parameters.  matplotlib and seaborn load when a figure is drawn."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.curves import coverage_table
from valueint.analyze.prosocial.parameters import hdi
from valueint.analyze.prosocial.settings import CONTEXT_NAMES, CONTEXT_ORDER
from valueint.records import pyplot
from valueint.trials.figures import panel_grid

# the predictive bands drawn: (lower, upper quantile), shade, the share they hold
PREDICTIVE_BANDS = ((("q05", "q95"), 0.2, "90%"), (("q25", "q75"), 0.4, "50%"))


def save_png_and_pdf(fig, paths: Mapping[str, Path], stem: str) -> None:
    """Write ``fig`` to ``paths["<stem>.png"]`` and ``paths["<stem>.pdf"]``, then close it."""
    from valueint.records import save_figure

    save_figure(fig, paths[f"{stem}.png"], close=False, bbox_inches="tight")
    save_figure(fig, paths[f"{stem}.pdf"], bbox_inches="tight")


def plot_comparison_panels(comparison: pd.DataFrame):
    """Each model's elpd difference to the best, +- the se of the difference, leaving out
    one trial (left) and one subject (right); labels give stacking weights and the number
    of points with Pareto k > 0.7."""
    import seaborn as sns

    plt = pyplot()
    units = ("trial", "subject")
    n_models = int((comparison["unit"] == "trial").sum())
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 1.2 + 0.6 * n_models), squeeze=False)
    colour = sns.color_palette("colorblind", 1)[0]
    for ax, unit in zip(axes[0], units, strict=True):
        table = comparison[comparison["unit"] == unit].sort_values("rank")
        y = np.arange(len(table))
        diff = -table["elpd_diff"].to_numpy()
        ax.errorbar(diff, y, xerr=table["dse"], fmt="o", color=colour, capsize=2)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        labels = [
            f"{model}\nw = {weight:.2f}" + (f", {int(bad)} k > 0.7" if bad else "")
            for model, weight, bad in zip(
                table["model"], table["weight"], table["n_pareto_k_bad"], strict=True
            )
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(len(table) - 0.5, -0.5)  # best on top
        best = table["elpd"].iloc[0]
        ax.set_xlabel(f"elpd - elpd of best (best: {best:.1f}); higher is better")
        ax.set_title(f"PSIS-LOO, leave one {unit} out", fontsize=10)
        sns.despine(ax=ax)
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: pd.DataFrame, best: str, runner_up: str | None, groups):
    """Observed share of high-reward choices (points, 95% intervals) over the best model's
    posterior predictive bands (50% and 90%) and its one-step-ahead prediction (dash-dot),
    per age group (rows) and recipient (columns); the runner-up's predictive median as a
    dashed line.  Each panel names the share of its observed points inside the best
    model's 90% band (``coverage_table``)."""
    import seaborn as sns

    plt = pyplot()
    contexts = [c for c in CONTEXT_ORDER if c in set(curves["context"])]
    fig, axes = panel_grid(plt, len(groups), len(contexts), (3.3, 2.7))
    colours = sns.color_palette("colorblind", 3)
    low = min(0.3, float(curves["observed_lower"].min()), float(curves["predicted_q05"].min()))
    coverage = coverage_table(curves[curves["model"] == best]).set_index(["group", "context"])
    for i, group in enumerate(groups):
        for j, context in enumerate(contexts):
            ax = axes[i, j]
            cell = (curves["group"] == group) & (curves["context"] == context)
            fit = curves[cell & (curves["model"] == best)].sort_values("trial")
            trial = fit["trial"].to_numpy()
            for (low_q, high_q), alpha, share in PREDICTIVE_BANDS:
                band = fit[f"predicted_{low_q}"], fit[f"predicted_{high_q}"]
                label = f"{best}: {share}"
                ax.fill_between(trial, *band, color=colours[0], alpha=alpha, lw=0, label=label)
            ax.plot(trial, fit["predicted_q50"], color=colours[0], lw=1.2)
            ax.plot(
                trial,
                fit["one_step_mean"],
                color=colours[2],
                lw=1.0,
                ls="-.",
                label=f"{best}: one step ahead",
            )
            if runner_up is not None:
                other = curves[cell & (curves["model"] == runner_up)].sort_values("trial")
                ax.plot(
                    other["trial"],
                    other["predicted_q50"],
                    color=colours[1],
                    lw=1.2,
                    ls="--",
                    label=f"{runner_up}: median",
                )
            err = np.vstack(
                [fit["observed"] - fit["observed_lower"], fit["observed_upper"] - fit["observed"]]
            )
            ax.errorbar(
                trial,
                fit["observed"],
                yerr=err,
                fmt="o",
                color="black",
                ms=3,
                lw=0.8,
                capsize=0,
                label="observed (95% CI)",
            )
            ax.axhline(0.5, color="grey", lw=0.5, alpha=0.6)  # chance
            ax.annotate(
                f"coverage {coverage.loc[(group, context), 'coverage']:.0%}",
                (0.97, 0.04),
                xycoords="axes fraction",
                ha="right",
                va="bottom",
                fontsize=8,
                bbox={"fc": "white", "ec": "none", "alpha": 0.8},
            )
            ax.set_ylim(low, 1.0)
            ax.set_title(f"{group}, reward for {CONTEXT_NAMES.get(context, context)}", fontsize=9)
            if i == len(groups) - 1:
                ax.set_xlabel("trial in block")
            if j == 0:
                ax.set_ylabel("P(high-reward choice)")
            sns.despine(ax=ax)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_parameters_by_group(name: str, idata, table: pd.DataFrame, groups):
    """One row per parameter: the posterior of each group's population value (natural
    scale), of the difference (compared - reference, natural) and of the unconstrained
    delta, with 94% HDIs and P(difference > 0)."""
    import seaborn as sns

    plt = pyplot()
    reference, compared = groups
    parameters = json.loads(idata.attrs["parameter_names"])
    fig, axes = plt.subplots(
        len(parameters), 3, figsize=(10.0, 1.9 * len(parameters)), squeeze=False
    )
    colours = sns.color_palette("colorblind", 3)
    posterior = idata.posterior
    for row, parameter in enumerate(parameters):
        by_group = posterior[f"{parameter}_by_group"]
        ax = axes[row, 0]
        for k, group in enumerate(groups):
            values = by_group.sel(group=group).values.ravel()
            ax.hist(
                values,
                bins=50,
                density=True,
                histtype="stepfilled",
                alpha=0.45,
                color=colours[k],
                label=group,
            )
            low, high = hdi(values)
            ax.plot([low, high], [0, 0], color=colours[k], lw=4, solid_capstyle="butt")
        ax.set_ylabel(parameter, fontsize=10)
        ax.set_yticks([])
        if row == 0:
            ax.set_title("population value by group", fontsize=9)
            ax.legend(fontsize=8, frameon=False)
        ref = by_group.sel(group=reference).values.ravel()
        other = by_group.sel(group=compared).values.ravel()
        delta = posterior[f"delta_{parameter}_group"].sel(group_effect=compared).values.ravel()
        for col, values, quantity, title in (
            (1, other - ref, "difference", f"{compared} - {reference} (natural scale)"),
            (2, delta, "delta", f"delta, {compared} vs {reference} (unconstrained)"),
        ):
            ax = axes[row, col]
            ax.hist(
                values, bins=50, density=True, histtype="stepfilled", alpha=0.5, color=colours[2]
            )
            stats = table[(table["parameter"] == parameter) & (table["quantity"] == quantity)]
            stats = stats.iloc[0]
            ax.plot(
                [stats["hdi_low"], stats["hdi_high"]],
                [0, 0],
                color="black",
                lw=4,
                solid_capstyle="butt",
            )
            ax.axvline(0, color="black", lw=0.8, ls="--")
            ax.annotate(
                f"P(> 0) = {stats['p_gt_0']:.3f}",
                (0.98, 0.9),
                xycoords="axes fraction",
                ha="right",
                fontsize=8,
                bbox={"fc": "white", "ec": "none", "alpha": 0.8},
            )
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=9)
        for ax in axes[row]:
            sns.despine(ax=ax, left=True)
    fig.suptitle(f"{name}: group-level parameters (bars: 94% HDI)", fontsize=10)
    fig.tight_layout()
    return fig
