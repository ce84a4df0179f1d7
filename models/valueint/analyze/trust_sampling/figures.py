"""Figures of ``valueint analyze trust-sampling``: model comparison, age curves and
posterior predictive checks (each saved as PNG and PDF by the caller)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valueint.infosampling.checks import STATISTICS
from valueint.records import pyplot


def plot_comparison(comparison: pd.DataFrame):
    """elpd differences to the best model with 2 se, by PSIS-LOO (trial) and K-fold (participant)."""
    plt = pyplot()
    methods = [m for m in ("loo_trial", "kfold_subject") if f"elpd_diff_{m}" in comparison]
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 2.8), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        table = comparison.sort_values(f"elpd_diff_{method}", ascending=False)
        y = np.arange(len(table))
        ax.errorbar(
            table[f"elpd_diff_{method}"],
            y,
            xerr=2 * table[f"dse_{method}"].fillna(0),
            fmt="o",
            color="k",
            capsize=3,
        )
        ax.axvline(0, color="0.6", lw=1)
        ax.set_yticks(y, table.model)
        ax.invert_yaxis()
        ax.set_xlabel("elpd difference to the best (± 2 se)")
        ax.set_title(
            {"loo_trial": "PSIS-LOO, by trial", "kfold_subject": "K-fold, by participant"}[method]
        )
    fig.tight_layout()
    return fig


def plot_age_curves(curves: pd.DataFrame, model: str):
    """Each parameter's population curve over age for ``model``: median, 50% and 90% bands."""
    plt = pyplot()
    table = curves[curves.model == model]
    parameters = list(dict.fromkeys(table.parameter))
    columns = 4
    rows = int(np.ceil(len(parameters) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.5 * rows), squeeze=False)
    for ax, parameter in zip(axes.ravel(), parameters, strict=False):
        part = table[table.parameter == parameter]
        ax.fill_between(part.age, part["lower_90%"], part["upper_90%"], color="C0", alpha=0.2, lw=0)
        ax.fill_between(
            part.age, part["lower_50%"], part["upper_50%"], color="C0", alpha=0.35, lw=0
        )
        ax.plot(part.age, part["median"], color="C0")
        ax.set_title(parameter, fontsize=10)
        ax.set_xlabel("age (years)")
    for ax in axes.ravel()[len(parameters) :]:
        ax.axis("off")
    fig.suptitle(f"{model}: population parameters by age (median, 50% and 90% bands)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_predictive(table: pd.DataFrame, model: str):
    """Observed points against the 90% predictive bands, per statistic and age band."""
    plt = pyplot()
    part = table[table.model == model]
    bands = list(dict.fromkeys(part.age_band.astype(str)))
    fig, axes = plt.subplots(
        2, len(bands), figsize=(2.6 * len(bands), 5.0), sharey="row", squeeze=False
    )
    for row, statistic in enumerate(STATISTICS):
        for col, band in enumerate(bands):
            ax = axes[row, col]
            cell = part[
                (part.statistic == statistic) & (part.age_band.astype(str) == band)
            ].sort_values("reciprocation")
            ax.fill_between(
                cell.reciprocation,
                cell.lower,
                cell.upper,
                color="C1",
                alpha=0.3,
                lw=0,
                label="90% predictive",
            )
            ax.plot(cell.reciprocation, cell["median"], color="C1", lw=1)
            inside = cell.inside.to_numpy()
            ax.plot(
                cell.reciprocation[inside],
                cell.observed[inside],
                "o",
                color="k",
                ms=4,
                label="observed",
            )
            ax.plot(
                cell.reciprocation[~inside],
                cell.observed[~inside],
                "x",
                color="C3",
                ms=6,
                label="outside the band",
            )
            if row == 0:
                ax.set_title(f"ages {band}", fontsize=10)
            if col == 0:
                ax.set_ylabel(STATISTICS[statistic])
            if row == 1:
                ax.set_xlabel("peer's reciprocation")
    axes[0, 0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{model}: posterior predictive checks", fontsize=11)
    fig.tight_layout()
    return fig
