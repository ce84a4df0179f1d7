"""Figures of trial fits: model comparison, posterior predictive checks, parameter and
model recovery.  Each takes the table or result its module computes and writes one image
(matplotlib, Agg), refusing to overwrite unless asked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from valueint.records import check_output_paths, pyplot, save_figure

if TYPE_CHECKING:
    from valueint.trials.recovery import ModelRecoveryResult, RecoveryResult


def _save_cropped(fig, path: str | Path, overwrite: bool = False) -> Path:
    """Save (tightly cropped) and close a figure; refuses to overwrite unless asked."""
    check_output_paths([path], overwrite)
    return save_figure(fig, path, bbox_inches="tight")


def plot_comparison(table: pd.DataFrame, path: str | Path, overwrite: bool = False) -> Path:
    """elpd with its standard error per model (best on top), stacking weights as labels."""
    plt = pyplot()
    import seaborn as sns

    ordered = table.sort_values("rank")
    names = [str(name) for name in ordered.index]
    fig, ax = plt.subplots(figsize=(6.0, 1.0 + 0.5 * len(names)))
    colours = sns.color_palette("colorblind", 2)
    y = np.arange(len(names))
    ax.errorbar(ordered["elpd"], y, xerr=ordered["se"], fmt="o", color=colours[0], label="elpd")
    best = float(ordered["elpd"].iloc[0])
    diff_y = y[1:] - 0.2
    # as in arviz's plot_compare: each model's elpd again, with the se of its difference
    ax.errorbar(
        ordered["elpd"].iloc[1:],
        diff_y,
        xerr=ordered["dse"].iloc[1:],
        fmt="^",
        color=colours[1],
        label="difference to best (se)",
    )
    ax.axvline(best, color="grey", lw=0.8, ls="--")
    for yi, weight in enumerate(ordered["weight"]):
        ax.annotate(
            f"w = {weight:.2f}", (1.01, yi), xycoords=("axes fraction", "data"), va="center"
        )
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    unit = str(ordered["unit"].iloc[0])
    ic = str(ordered["ic"].iloc[0]).upper()
    ax.set_xlabel(f"elpd ({ic}, leave one {unit} out; higher is better)")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return _save_cropped(fig, path, overwrite)


def plot_predictive_check(
    check: pd.DataFrame, path: str | Path, title: str = "", overwrite: bool = False
) -> Path:
    """Learning curves: observed share (points) over the predictive band, per context and group."""
    plt = pyplot()
    import seaborn as sns

    groups = list(dict.fromkeys(check["group"]))
    contexts = list(dict.fromkeys(check["context"]))
    fig, axes = plt.subplots(
        len(groups),
        len(contexts),
        figsize=(3.2 * len(contexts), 2.6 * len(groups)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    colour = sns.color_palette("colorblind", 1)[0]
    for i, g in enumerate(groups):
        for j, c in enumerate(contexts):
            ax = axes[i, j]
            sub = check[(check["group"] == g) & (check["context"] == c)]
            ax.fill_between(sub["trial"], sub["lower"], sub["upper"], color=colour, alpha=0.25)
            ax.plot(sub["trial"], sub["predicted"], color=colour, label="predicted")
            ax.plot(sub["trial"], sub["observed"], "ko", ms=3, label="observed")
            ax.set_ylim(0, 1)
            ax.set_title(f"{g} / {c}", fontsize=9)
            if i == len(groups) - 1:
                ax.set_xlabel("trial in block")
            if j == 0:
                ax.set_ylabel("P(choice = 1)")
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower right")
    fig.suptitle(f"posterior predictive check {title}".strip(), fontsize=10)
    fig.tight_layout()
    return _save_cropped(fig, path, overwrite)


def plot_recovery(result: RecoveryResult, path: str | Path, overwrite: bool = False) -> Path:
    """Truth against posterior mean with interval bars, one panel per parameter."""
    plt = pyplot()

    names = list(result.summary.index)
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        sub = result.estimates[result.estimates["parameter"] == name]
        ax.errorbar(
            sub["true"],
            sub["mean"],
            yerr=[sub["mean"] - sub["lower"], sub["upper"] - sub["mean"]],
            fmt="o",
            ms=3,
            alpha=0.6,
            elinewidth=0.6,
        )
        low = min(sub["true"].min(), sub["lower"].min())
        high = max(sub["true"].max(), sub["upper"].max())
        ax.plot([low, high], [low, high], "k--", lw=1, label="identity")
        row = result.summary.loc[name]
        ax.set_title(f"{name}\nr = {row.pearson_r:.2f}, coverage {row.coverage:.0%}", fontsize=9)
        ax.set_xlabel("true")
        ax.set_ylabel(f"posterior mean ({result.interval:.0%} interval)")
    fig.suptitle(f"parameter recovery: {result.model}", fontsize=10)
    fig.tight_layout()
    return _save_cropped(fig, path, overwrite)


def plot_confusion(result: ModelRecoveryResult, path: str | Path, overwrite: bool = False) -> Path:
    """Heatmap of the share of data sets from each model (rows) won by each model."""
    plt = pyplot()
    import seaborn as sns

    counts = result.confusion
    share = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    size = 1.2 + 1.1 * len(counts)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(share, annot=counts, fmt="d", vmin=0, vmax=1, cmap="Blues", ax=ax, cbar=True)
    ax.set_xlabel("selected by PSIS-LOO")
    ax.set_ylabel("generating model")
    ax.set_title(f"model recovery (leave one {result.by} out)", fontsize=10)
    fig.tight_layout()
    return _save_cropped(fig, path, overwrite)
