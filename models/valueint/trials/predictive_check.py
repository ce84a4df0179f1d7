"""Posterior predictive check of a trial fit: observed against simulated choice shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from valueint.inference.predictive import coverage, inside, predictive_band


def predictive_check(fit: xr.DataTree, interval: float = 0.9) -> pd.DataFrame:
    """Observed and posterior-predictive P(choice = 1) per trial in block, context and group.

    One row per (group, context, trial): ``observed`` (share of observed choices = 1),
    ``predicted`` (mean over predictive draws of the simulated share), ``lower``/``upper``
    (central ``interval`` of the simulated share) and ``n`` (observed trials pooled).
    """
    if "posterior_predictive" not in fit.children:
        raise ValueError("the fit has no posterior_predictive group")
    observed = fit["observed_data"]["choice"]
    simulated = fit["posterior_predictive"]["choice"].stack(sample=("chain", "draw"))
    group = (
        observed["group"].values
        if "group" in observed.coords
        else np.full(observed.sizes["obs"], "all")
    )
    keys = pd.DataFrame(
        {
            "group": group,
            "context": observed["context"].values,
            "trial": observed["trial"].values + 1,
        }
    )
    sims = pd.DataFrame(simulated.transpose("obs", "sample").values)
    rows = []
    for (g, c, t), index in keys.groupby(["group", "context", "trial"], sort=True).groups.items():
        shares = sims.loc[index].mean(axis=0).to_numpy()
        lower, upper = predictive_band(shares, interval)
        rows.append(
            {
                "group": g,
                "context": c,
                "trial": int(t),
                "observed": float(observed.values[index].mean()),
                "predicted": float(shares.mean()),
                "lower": float(lower),
                "upper": float(upper),
                "n": len(index),
            }
        )
    table = pd.DataFrame(rows)
    table["inside"] = inside(table["observed"], table["lower"], table["upper"])
    return table


def group_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Per group and context (index "group / context"): the observed and predicted
    P(choice = 1), and the coverage of the check's bands."""
    summary = check.groupby(["group", "context"], observed=True).agg(
        observed=("observed", "mean"), predicted=("predicted", "mean")
    )
    cover = coverage(check, ["group", "context"]).set_index(["group", "context"])
    summary["coverage"] = cover["coverage"]
    summary.index = [f"{g} / {c}" for g, c in summary.index]
    return summary
