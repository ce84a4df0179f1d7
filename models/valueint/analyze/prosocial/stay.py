"""Stay after a loss: how often people repeat a choice after it went unrewarded, by trial
in block, observed against each fit's prediction.

Why.  A learning curve averages over histories; the choice right after an outcome shows
how far one outcome moves a person.  In the Cutler et al. self blocks young adults repeat
an unrewarded first choice far less often than an unrewarded choice later in the block:
a step that shrinks with experience, which a fixed learning rate cannot make.

The prediction is one step ahead: for every observed trial that follows an observed
trial of the same block, the fit's probability of repeating the previous choice given
the subject's own history (from the pointwise likelihood), per posterior draw.  A
Bernoulli draw of each such trial per posterior draw gives the predictive distribution
of the share that stayed in a cell, so its 90% band holds sampling noise as well as the
posterior's, and a model that is right misses about 10% of points by chance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.curves import in_display_order, wilson_interval
from valueint.inference.predictive import coverage, inside, predictive_band

AFTER = ("loss", "win")  # the previous trial's outcome: unrewarded (0) or rewarded
PREDICTIVE_DRAWS = 400  # posterior draws (thinned evenly) behind each band
_CELL = ["after", "group", "context", "trial"]


def previous_trials(idata) -> pd.DataFrame:
    """Every observed trial of ``idata`` whose previous trial in the block was observed:
    its position in the log-likelihood (``obs``), cell (``after``, ``group``,
    ``context``, 1-based ``trial``) and whether the choice repeated the previous one."""
    design = idata.constant_data
    choice = np.asarray(design["choice"].values)
    outcome = np.asarray(design["outcome"].values, float)
    mask = np.asarray(design["mask"].values, bool)
    obs = idata.log_likelihood["choice"]
    subjects = {s: i for i, s in enumerate(design["subject"].values)}
    s = np.asarray([subjects[v] for v in obs["subject"].values])
    b, t = np.asarray(obs["block"].values), np.asarray(obs["trial"].values)
    has_previous = t >= 1
    previous = (s[has_previous], b[has_previous], t[has_previous] - 1)
    seen = np.zeros_like(has_previous)
    seen[has_previous] = mask[previous]
    index = np.flatnonzero(seen)
    where = (s[index], b[index], t[index] - 1)
    group = obs["group"].values[index] if "group" in obs.coords else np.full(len(index), "all")
    return pd.DataFrame(
        {
            "obs": index,
            "after": np.where(outcome[where] > 0, "win", "loss"),
            "group": group,
            "context": obs["context"].values[index],
            "trial": t[index] + 1,
            "previous_choice": choice[where],
            "stayed": choice[s[index], b[index], t[index]] == choice[where],
        }
    )


def observed_stays(trials: pd.DataFrame) -> pd.DataFrame:
    """The share of trials that repeated the previous choice, per cell, with Wilson 95%
    intervals."""
    table = trials.groupby(_CELL, sort=False)["stayed"].agg(n="size", n_stay="sum")
    table = table.reset_index()
    table["n_stay"] = table["n_stay"].astype(np.int64)
    table["observed"] = table["n_stay"] / table["n"]
    table["observed_lower"], table["observed_upper"] = wilson_interval(table["n_stay"], table["n"])
    return table


def predicted_stays(idata, trials: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per cell: the mean one-step probability of staying (``predicted_mean``) and the
    5% and 95% quantiles of the share that stays (``predicted_q05``, ``predicted_q95``)
    over ``PREDICTIVE_DRAWS`` posterior draws, each trial drawn as a Bernoulli (the
    central 90% band of ``valueint.inference.predictive``)."""
    loglik = idata.log_likelihood["choice"].stack(sample=("chain", "draw"))
    loglik = loglik.transpose("sample", "obs").values
    kept = np.unique(np.linspace(0, len(loglik) - 1, PREDICTIVE_DRAWS).round().astype(int))
    p_observed = np.exp(loglik[np.ix_(kept, trials["obs"].to_numpy())])
    observed_stay = trials["stayed"].to_numpy()
    p_stay = np.where(observed_stay, p_observed, 1.0 - p_observed)  # [draw, trial]
    rng = np.random.default_rng(seed)
    stays = rng.random(p_stay.shape) < p_stay
    keys = [trials[c].to_numpy() for c in _CELL]
    shares = pd.DataFrame(stays.T.astype(float)).groupby(keys, sort=False).mean()
    table = pd.DataFrame(index=shares.index.set_names(_CELL))
    table["predicted_mean"] = pd.Series(p_stay.mean(axis=0)).groupby(keys, sort=False).mean()
    table["predicted_mean"] = table["predicted_mean"].to_numpy()
    table["predicted_q05"], table["predicted_q95"] = predictive_band(shares.to_numpy(), axis=1)
    return table.reset_index()


def stay_table(fits: Mapping, groups: Sequence[str], seed: int = 0) -> pd.DataFrame:
    """Observed and predicted stays after a loss and after a win, per model and cell
    (after, group, recipient, trial), models in the order of ``fits``."""
    parts = []
    for name, idata in fits.items():
        trials = previous_trials(idata)
        merged = observed_stays(trials).merge(
            predicted_stays(idata, trials, seed), on=_CELL, validate="one_to_one"
        )
        parts.append(merged.assign(model=name))
    table = pd.concat(parts, ignore_index=True)
    leading = ["model", *_CELL, "n", "n_stay", "observed", "observed_lower", "observed_upper"]
    orders = {"model": fits, "after": AFTER, "group": groups}
    return in_display_order(table, ["model", *_CELL], orders, leading)


def stay_coverage(stays: pd.DataFrame) -> pd.DataFrame:
    """Share of observed stay points inside the 90% predictive band, per model, previous
    outcome, group and recipient (one panel), with ``meets_criterion`` (coverage of at
    least ``valueint.inference.predictive.COVERAGE_TARGET``)."""
    points = stays.assign(
        inside=inside(stays["observed"], stays["predicted_q05"], stays["predicted_q95"])
    )
    table = coverage(points, ["model", "after", "group", "context"])
    return table.rename(columns={"meets_target": "meets_criterion"})
