"""The posterior predictive check of a trial fit as a figure: learning curves, observed
against the predictive band (``valueint.trials.predictive_check``), refusing to
overwrite unless asked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from valueint.records import pyplot, save_cropped


def panel_grid(plt, rows: int, columns: int, panel_size: tuple[float, float]):
    """A figure of rows x columns panels (groups by contexts) that share their axes."""
    width, height = panel_size
    figsize = (width * columns, height * rows)
    return plt.subplots(rows, columns, figsize=figsize, sharex=True, sharey=True, squeeze=False)


def plot_predictive_check(
    check: pd.DataFrame, path: str | Path, title: str = "", overwrite: bool = False
) -> Path:
    """Learning curves: observed share (points) over the predictive band, per context and group."""
    plt = pyplot()
    import seaborn as sns

    groups = list(dict.fromkeys(check["group"]))
    contexts = list(dict.fromkeys(check["context"]))
    fig, axes = panel_grid(plt, len(groups), len(contexts), (3.2, 2.6))
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
    return save_cropped(fig, path, overwrite)
