"""The workflows' figures: recovery (truth against estimate, the confusion matrix) and
simulation-based calibration (per quantity, the ECDF of the PIT values minus the uniform
CDF, inside the simultaneous band that a calibrated model stays within; an overview of
every model)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.records import pyplot, save_cropped
from valueint.workflows.sbc import BAND_PROB, ecdf_band, pit_values


def plot_recovery(result, path: str | Path, overwrite: bool = False) -> Path:
    """Truth against posterior mean with interval bars, one panel per parameter, of a
    ``valueint.workflows.recovery.RecoveryResult``."""
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
    return save_cropped(fig, path, overwrite)


def plot_confusion(result, path: str | Path, overwrite: bool = False) -> Path:
    """Heatmap of the share of data sets from each model (rows) won by each model, of a
    ``valueint.workflows.recovery.ModelRecoveryResult``."""
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
    return save_cropped(fig, path, overwrite)


def plot_ecdf_differences(ranks: pd.DataFrame, summary: pd.DataFrame, seed: int, title: str):
    """One panel per quantity of one model's ``rank_table``; the band is shaded and a curve
    that leaves it is drawn in red.  Returns the matplotlib figure."""
    plt = pyplot()
    quantities = list(dict.fromkeys(ranks["quantity"]))
    columns = min(4, len(quantities))
    rows = math.ceil(len(quantities) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.1 * columns, 2.5 * rows), squeeze=False, sharey=True
    )
    checks = summary.set_index("quantity")
    for ax, quantity in zip(axes.flat, quantities, strict=False):
        group = ranks[ranks["quantity"] == quantity]
        pit = pit_values(group["rank"], int(group["rank_draws"].iloc[0]), seed)
        points, ecdf, lower, upper = ecdf_band(pit, seed=seed)
        check = checks.loc[quantity]
        ax.fill_between(points, lower - points, upper - points, color="0.85", step="post")
        ax.step(points, ecdf - points, where="post", color="C0" if check["passes"] else "C3")
        ax.axhline(0.0, color="0.4", lw=0.6)
        ax.set_title(f"{quantity}\nPOT-C p = {check['p_value']:.2f}", fontsize=9)
        ax.set_xlim(0, 1)
    for ax in axes.flat[len(quantities) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("PIT")
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF - uniform")
    n = int(ranks.groupby("quantity").size().min())
    fig.suptitle(f"{title}: {n} replications, {BAND_PROB:.0%} simultaneous band", fontsize=10)
    fig.tight_layout()
    return fig


def plot_overview(summary: pd.DataFrame):
    """Every model's largest |ECDF - uniform| per quantity, against the band: a heat map
    read at a glance (a cell marked x left its band)."""
    plt = pyplot()
    table = summary.pivot_table(
        index="model", columns="quantity", values="max_ecdf_difference", sort=False
    )
    failed = summary.pivot_table(index="model", columns="quantity", values="passes", sort=False)
    fig, ax = plt.subplots(figsize=(1 + 0.55 * table.shape[1], 0.9 + 0.35 * table.shape[0]))
    image = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    for (i, j), ok in np.ndenumerate(failed.reindex_like(table).to_numpy()):
        if ok == 0:
            ax.text(j, i, "x", ha="center", va="center", color="red", fontsize=9)
    fig.colorbar(image, ax=ax, label="max |ECDF - uniform|")
    fig.tight_layout()
    return fig
