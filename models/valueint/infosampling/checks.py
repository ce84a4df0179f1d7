"""Posterior predictive checks of a sampling-model fit, by reciprocation level and age band.

For thinned posterior draws, every real trial is played again by its participant (their
posterior parameters) against a peer with the trial's reciprocation probability
(``arrays.simulate_paths``: fresh tiles, drawn with replacement).  Two curves are compared
with the data, per age band and reciprocation level: the mean number of tiles opened per
trial and the trust rate.  An observed point is covered when it lies inside the central
``BAND`` interval of the simulated points over draws.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from valueint.inference.predictive import BAND, inside
from valueint.inference.predictive import coverage as predictive_coverage
from valueint.infosampling.arrays import simulate_paths
from valueint.infosampling.catalogue import get_model

AGE_BANDS = ((10, 12), (13, 15), (16, 18), (19, 21), (22, 24))  # whole years, inclusive
STATISTICS = {"tiles": "tiles opened per trial", "trust": "trust rate"}


def age_band(age_years) -> pd.Series:
    """The band label ("10-12", ...) of whole-year ages."""
    labels = [f"{lo}-{hi}" for lo, hi in AGE_BANDS]
    bins = [AGE_BANDS[0][0] - 0.5] + [hi + 0.5 for _, hi in AGE_BANDS]
    years = pd.Series(np.asarray(age_years, float))
    return pd.cut(years.clip(AGE_BANDS[0][0], AGE_BANDS[-1][1]), bins, labels=labels)


def _cells(data) -> pd.DataFrame:
    trials = data.trials
    years = data.subjects.age_years.reindex(trials.subject.astype(str)).to_numpy()
    return pd.DataFrame(
        {"age_band": age_band(years).to_numpy(), "reciprocation": trials.reciprocation.to_numpy()}
    )


def observed_points(data) -> pd.DataFrame:
    """Per age band and reciprocation level: trials, mean tiles and trust rate."""
    cells = _cells(data)
    cells["tiles"] = data.trials.tiles.to_numpy(float)
    cells["trust"] = data.trials.trust.to_numpy(float)
    grouped = cells.groupby(["age_band", "reciprocation"], observed=True)
    return grouped.agg(
        trials=("tiles", "size"), tiles=("tiles", "mean"), trust=("trust", "mean")
    ).reset_index()


def simulated_points(fit, data, *, n_draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per draw, age band and reciprocation level: the simulated mean tiles and trust rate."""
    model = get_model(fit.attrs["model"])
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    total = posterior.sizes["sample"]
    keep = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int))
    subject_ids = list(posterior["subject"].values)
    index = {s: i for i, s in enumerate(subject_ids)}
    subject = data.trials.subject.astype(str).map(index).to_numpy(np.int32)
    recip = data.trials.reciprocation.to_numpy(float)
    params = {
        p: jnp.asarray(posterior[p].isel(sample=keep).transpose("sample", "subject").values)
        for p in model.parameter_names
    }

    @jax.jit
    def play(draw_params, key):
        paths = simulate_paths(model, draw_params, subject, recip, key)
        return paths.tiles, paths.trust

    keys = jax.random.split(jax.random.key(seed), len(keep))
    cells = _cells(data)
    codes = cells.groupby(["age_band", "reciprocation"], observed=True).ngroup().to_numpy()
    labels = (
        cells.groupby(["age_band", "reciprocation"], observed=True)
        .size()
        .reset_index()[["age_band", "reciprocation"]]
    )
    n_cells = len(labels)
    counts = np.bincount(codes, minlength=n_cells)
    rows = []
    for d in range(len(keep)):
        tiles, trust = play({p: v[d] for p, v in params.items()}, keys[d])
        frame = labels.copy()
        frame["draw"] = d
        frame["tiles"] = np.bincount(codes, np.asarray(tiles, float), n_cells) / counts
        frame["trust"] = np.bincount(codes, np.asarray(trust, float), n_cells) / counts
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def predictive_table(
    fit, data, *, n_draws: int = 200, seed: int = 0, band: float = BAND
) -> pd.DataFrame:
    """One row per statistic, age band and reciprocation level: the observed value, the
    predictive median and ``band`` interval, and whether the observed point is inside."""
    observed = observed_points(data)
    simulated = simulated_points(fit, data, n_draws=n_draws, seed=seed)
    tail = (1 - band) / 2  # the band's quantiles, with the median between them
    rows = []
    for statistic in STATISTICS:
        summary = (
            simulated.groupby(["age_band", "reciprocation"], observed=True)[statistic]
            .quantile([tail, 0.5, 1 - tail])
            .unstack()
        )
        summary.columns = ["lower", "median", "upper"]
        table = observed[["age_band", "reciprocation", "trials", statistic]].rename(
            columns={statistic: "observed"}
        )
        table = table.merge(summary.reset_index(), on=["age_band", "reciprocation"])
        table.insert(0, "statistic", statistic)
        table["inside"] = inside(table.observed, table.lower, table.upper)
        rows.append(table)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "model", fit.attrs["model"])
    return out


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Share of observed points inside the band (``valueint.inference.predictive.coverage``),
    per model and statistic and overall (statistic ``both``)."""
    per = predictive_coverage(table, ["model", "statistic"])
    overall = predictive_coverage(table, ["model"])
    overall.insert(1, "statistic", "both")
    return pd.concat([per, overall], ignore_index=True)
