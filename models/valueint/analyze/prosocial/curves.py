"""Learning curves: the observed share of high-reward choices per group, recipient and
trial in block, each fit's posterior predictive and one-step-ahead predictions, and how
many observed points the predictive band covers (``coverage_table``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.settings import CONTEXT_ORDER
from valueint.inference.predictive import BAND, COVERAGE_TARGET, coverage, inside

CURVE_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
COVERAGE_BAND = ("predicted_q05", "predicted_q95")  # the 90% posterior predictive band
COVERAGE_LEVEL = BAND  # the band's nominal level
COVERAGE_CRITERION = COVERAGE_TARGET  # share of a panel's points inside the band to pass
WILSON_Z = 1.959963984540054  # 95% binomial interval
_CELL = ["group", "context", "trial"]  # one point of a learning curve


def trial_positions(frame: pd.DataFrame) -> pd.Series:
    """1-based position of each trial within its block, as the model arrays order them."""
    by_block = frame.groupby(["subject", "block"], sort=False)["trial"]
    return by_block.rank(method="first").astype(np.int64)


def wilson_interval(k, n, z: float = WILSON_Z) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion k/n (95% by default)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    share = k / n
    denom = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denom
    half = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / denom
    # at k = 0 or k = n a bound equals the share only up to rounding: keep it on its side
    return np.minimum(centre - half, share), np.maximum(centre + half, share)


def observed_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of high-reward choices (choice == 1) per group, recipient and trial in block,
    over observed (not missed) trials, with Wilson 95% intervals."""
    chosen = frame.assign(position=trial_positions(frame))[frame["choice"].notna()]
    counts = chosen.groupby(["group", "context", "position"], sort=False)["choice"].agg(
        n="size", n_high="sum"
    )
    counts = counts.reset_index().rename(columns={"position": "trial"})
    counts["n_high"] = counts["n_high"].astype(np.int64)
    counts["observed"] = counts["n_high"] / counts["n"]
    counts["observed_lower"], counts["observed_upper"] = wilson_interval(
        counts["n_high"], counts["n"]
    )
    return counts


def predicted_curves(idata) -> pd.DataFrame:
    """Predicted share of choice == 1 per group, recipient and trial in block.

    ``predicted_mean`` and ``predicted_qNN``: over posterior predictive draws, each the
    share of simulated choices = 1 over all of the cell's trials in the whole data set;
    the draws simulate whole blocks, the model's own choices meeting the task's outcome
    schedule where the data hold it (``learning.block_simulate``: the outcome the chosen
    symbol paid on that trial) and the models' reward probabilities elsewhere.
    ``one_step_mean``: P(choice = 1) given each subject's actual history of choices and
    outcomes, averaged over the posterior (from the pointwise likelihood).
    """
    simulated = idata.posterior_predictive["choice"].stack(sample=("chain", "draw"))
    simulated = simulated.transpose("obs", "sample")
    keys = [
        simulated["group"].values,
        simulated["context"].values,
        simulated["trial"].values + 1,
    ]
    shares = pd.DataFrame(simulated.values.astype(float)).groupby(keys, sort=False).mean()
    values = shares.to_numpy()
    table = pd.DataFrame(
        {"predicted_mean": values.mean(axis=1)}, index=shares.index.set_names(_CELL)
    )
    for q in CURVE_QUANTILES:
        table[f"predicted_q{round(q * 100):02d}"] = np.quantile(values, q, axis=1)
    one_step = one_step_predictions(idata).groupby(keys, sort=False).mean()
    table["one_step_mean"] = one_step.to_numpy()  # same keys and order as the shares
    return table.reset_index()


def one_step_predictions(idata) -> pd.Series:
    """P(choice = 1) per observed trial given the subject's own history, posterior mean."""
    loglik = idata.log_likelihood["choice"]
    p_observed = np.exp(loglik).mean(dim=("chain", "draw")).values
    chose_high = idata.observed_data["choice"].values == 1
    return pd.Series(np.where(chose_high, p_observed, 1.0 - p_observed))


def learning_curves_table(
    frame: pd.DataFrame, fits: Mapping, groups: Sequence[str]
) -> pd.DataFrame:
    """Observed and predicted learning curves, one row per model and cell; models in the
    order of ``fits``, cells by group, recipient and trial."""
    observed = observed_curves(frame)
    parts = []
    for name, idata in fits.items():
        predicted = predicted_curves(idata)
        merged = observed.merge(predicted, on=_CELL, how="outer", validate="one_to_one")
        if merged[["n", "predicted_mean"]].isna().any().any():
            raise ValueError(
                f"{name}: the fit's trials do not match the data's group, recipient and "
                "trial cells; was it fitted on these data?"
            )
        parts.append(merged.assign(model=name))
    table = pd.concat(parts, ignore_index=True)
    leading = ["model", *_CELL, "n", "n_high", "observed", "observed_lower", "observed_upper"]
    return in_display_order(table, ["model", *_CELL], {"model": fits, "group": groups}, leading)


def in_display_order(
    table: pd.DataFrame, by: Sequence[str], orders: Mapping, leading: Sequence[str]
) -> pd.DataFrame:
    """``table`` sorted by the columns ``by``, each in the order its ``orders`` entry
    lists (``context``: ``CONTEXT_ORDER`` unless given; other columns by value), with the
    ``leading`` columns first."""
    ranks = {
        name: {value: i for i, value in enumerate(values)}
        for name, values in {"context": CONTEXT_ORDER, **orders}.items()
    }
    table = table.sort_values(
        list(by), key=lambda col: col.map(ranks[col.name]) if col.name in ranks else col
    )
    rest = [c for c in table.columns if c not in leading]
    return table[[*leading, *rest]].reset_index(drop=True)


def coverage_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Share of observed curve points inside the 90% predictive band, per model, group and
    recipient (one panel of the learning-curve figure).

    ``curves`` is ``learning_curves_table``'s output.  A point (one trial in block) is
    inside when ``predicted_q05 <= observed <= predicted_q95``.  The band is that of the
    share over all of the cell's trials, from the predictive draws of the whole data set,
    so it is narrow: a fair test of the curve's shape, which a model that is right misses
    at about 10% of points by chance.  Columns: model, group, context, n_points, n_inside,
    coverage and ``meets_criterion`` (coverage >= ``COVERAGE_CRITERION``); rows in the
    order of ``curves``.
    """
    low, high = (curves[c] for c in COVERAGE_BAND)
    table = coverage(
        curves.assign(inside=inside(curves["observed"], low, high)), ["model", "group", "context"]
    )
    return table.rename(columns={"meets_target": "meets_criterion"})
