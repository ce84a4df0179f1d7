"""Model comparison by approximate leave-one-out cross-validation (PSIS-LOO) and WAIC.

``compare(fits)`` scores each fit by its expected log predictive density (elpd) and
ranks them, with stacking weights.  The left-out unit is one *trial* by default: each
observed choice is predicted from the posterior given every other choice (including the
subject's later ones).  ``by="subject"`` leaves out a whole subject instead, by summing
each subject's pointwise log-likelihood first: it asks which model predicts a new
person's choice sequence, at the price of noisier importance sampling (more large
Pareto k).  Pareto k above 0.7 marks points whose PSIS estimate is unreliable; trials
whose log-likelihood is the same in every draw (e.g. a block's first choice at equal
values) are exact, so they are not counted there.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from valueint.records import check_output_paths

PARETO_K_BAD = 0.7
ICS = ("loo", "waic")
UNITS = ("trial", "subject")


class ComparisonWarning(UserWarning):
    """A comparison whose LOO estimates rest on unreliable importance sampling."""


def by_subject(idata: az.InferenceData) -> az.InferenceData:
    """A copy whose log-likelihood is summed over each subject's trials: dims (chain, draw, subject)."""
    loglik = idata.log_likelihood["choice"]
    order = list(dict.fromkeys(loglik["subject"].values.tolist()))
    summed = loglik.groupby("subject").sum().sel(subject=order)
    groups = {
        "posterior": idata.posterior,
        "log_likelihood": xr.Dataset({"choice": summed}),
    }
    return az.InferenceData(attrs=dict(idata.attrs), **groups)


def _check_fits(fits: Mapping[str, az.InferenceData]) -> None:
    if len(fits) < 2:
        raise ValueError(f"compare needs at least two fits; got {len(fits)}")
    missing = [name for name, idata in fits.items() if "log_likelihood" not in idata.groups()]
    if missing:
        raise ValueError(f"fit(s) {', '.join(missing)} have no log_likelihood group")
    sizes = {name: idata.log_likelihood["choice"].sizes["obs"] for name, idata in fits.items()}
    hashes = {name: idata.attrs.get("data_sha256") for name, idata in fits.items()}
    if len(set(sizes.values())) > 1 or len(set(hashes.values())) > 1:
        listed = ", ".join(
            f"{name} ({sizes[name]} trials, data {str(hashes[name])[:12]})" for name in fits
        )
        raise ValueError(f"fits were made on different data and cannot be compared: {listed}")


def _n_bad_k(elpd, loglik: xr.DataArray, unit_dim: str) -> tuple[int, int]:
    """(points with Pareto k > 0.7, points with a constant log-likelihood) among varying ones."""
    values = loglik.stack(sample=("chain", "draw")).transpose(unit_dim, "sample").values
    constant = np.ptp(values, axis=1) < 1e-12
    k = np.asarray(elpd.pareto_k)
    return int(np.sum((k > PARETO_K_BAD) & ~constant)), int(constant.sum())


def compare(
    fits: Mapping[str, az.InferenceData], ic: str = "loo", by: str = "trial"
) -> pd.DataFrame:
    """Rank fits by PSIS-LOO (``ic="loo"``) or WAIC; stacking weights; both ICs shown.

    Columns: rank, elpd (of ``ic``), p (effective parameters), elpd_diff and dse (to the
    best model), se, weight (stacking), elpd_loo/p_loo/elpd_waic/p_waic, n_pareto_k_bad
    (LOO points with k > 0.7, constant points excluded), n_points, ic and unit (``trial``
    or ``subject``: what one left-out point is).  Sorted best first.
    """
    if ic not in ICS:
        raise ValueError(f"ic must be one of {', '.join(ICS)}; got {ic!r}")
    if by not in UNITS:
        raise ValueError(f"by must be one of {', '.join(UNITS)}; got {by!r}")
    fits = dict(fits)
    _check_fits(fits)
    if by == "subject":
        fits = {name: by_subject(idata) for name, idata in fits.items()}
    unit_dim = "obs" if by == "trial" else "subject"
    loo, waic, extra = {}, {}, {}
    for name, idata in fits.items():
        with warnings.catch_warnings():
            # Pareto k and WAIC variance warnings are replaced by the counts below.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            loo[name] = az.loo(idata, pointwise=True, var_name="choice")
            waic[name] = az.waic(idata, pointwise=True, var_name="choice")
        n_bad, n_constant = _n_bad_k(loo[name], idata.log_likelihood["choice"], unit_dim)
        extra[name] = {
            "elpd_loo": float(loo[name].elpd_loo),
            "p_loo": float(loo[name].p_loo),
            "elpd_waic": float(waic[name].elpd_waic),
            "p_waic": float(waic[name].p_waic),
            "n_pareto_k_bad": n_bad,
            "n_constant": n_constant,
            "n_points": int(idata.log_likelihood["choice"].sizes[unit_dim]),
            "model": str(idata.attrs.get("model", name)),
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(loo if ic == "loo" else waic, ic=ic, method="stacking")
    table = table.rename(columns={f"elpd_{ic}": "elpd", f"p_{ic}": "p"})
    table = table.drop(columns=[c for c in ("warning", "scale") if c in table])
    table = table.join(pd.DataFrame.from_dict(extra, orient="index"))
    table["ic"] = ic
    table["unit"] = by
    table.index.name = "fit"
    bad = table[table["n_pareto_k_bad"] > 0]
    if ic == "loo" and len(bad):
        listed = ", ".join(f"{name} ({int(n)})" for name, n in bad["n_pareto_k_bad"].items())
        warnings.warn(
            f"Pareto k > {PARETO_K_BAD} for some left-out {by}s in {listed}: their LOO terms "
            "are unreliable; compare with care, or refit without those points (exact LOO)",
            ComparisonWarning,
            stacklevel=2,
        )
    return table


def save_figure(fig, path: str | Path, overwrite: bool = False) -> Path:
    """Save (tightly cropped) and close a figure; refuses to overwrite unless asked."""
    from valueint.records import save_figure as save

    check_output_paths([path], overwrite)
    return save(fig, path, bbox_inches="tight")


def plot_comparison(table: pd.DataFrame, path: str | Path, overwrite: bool = False) -> Path:
    """elpd with its standard error per model (best on top), stacking weights as labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    return save_figure(fig, path, overwrite)


def predictive_check(idata: az.InferenceData, interval: float = 0.9) -> pd.DataFrame:
    """Observed and posterior-predictive P(choice = 1) per trial in block, context and group.

    One row per (group, context, trial): ``observed`` (share of observed choices = 1),
    ``predicted`` (mean over predictive draws of the simulated share), ``lower``/``upper``
    (central ``interval`` of the simulated share) and ``n`` (observed trials pooled).
    """
    if "posterior_predictive" not in idata.groups():
        raise ValueError("the fit has no posterior_predictive group")
    observed = idata.observed_data["choice"]
    simulated = idata.posterior_predictive["choice"].stack(sample=("chain", "draw"))
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
    tail = (1 - interval) / 2
    rows = []
    for (g, c, t), index in keys.groupby(["group", "context", "trial"], sort=True).groups.items():
        shares = sims.loc[index].mean(axis=0).to_numpy()
        rows.append(
            {
                "group": g,
                "context": c,
                "trial": int(t),
                "observed": float(observed.values[index].mean()),
                "predicted": float(shares.mean()),
                "lower": float(np.quantile(shares, tail)),
                "upper": float(np.quantile(shares, 1 - tail)),
                "n": len(index),
            }
        )
    return pd.DataFrame(rows)


def plot_predictive_check(
    check: pd.DataFrame, path: str | Path, title: str = "", overwrite: bool = False
) -> Path:
    """Learning curves: observed share (points) over the predictive band, per context and group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    return save_figure(fig, path, overwrite)
