"""A model comparison as a figure: each fit's elpd with its standard error, and the
difference to the best model with its standard error, for a comparison table of any
family (``valueint.inference.comparison.compare``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from valueint.records import pyplot, save_cropped


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
    return save_cropped(fig, path, overwrite)
