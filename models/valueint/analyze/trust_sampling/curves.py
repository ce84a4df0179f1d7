"""The posterior of each parameter's age curve, and the change it implies across the ages.

A fit's population mean of parameter p at age a is X_p(a) . b_p on the unconstrained scale
(``valueint.infosampling.fit``); mapped to the natural scale it is the parameter of the
typical participant of that age.  ``age_curves`` gives its median and 50% and 90% bands on
an age grid, per model and parameter, plus the prior's mean, strength and sd (from the
curves of its two pseudo-counts); ``age_contrasts`` the change from the youngest to the oldest age with
its 90% interval and the posterior probability that it is positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valueint.inference.covariates import DesignMatrices
from valueint.inference.parameters import constrain_value
from valueint.infosampling.catalogue import get_model
from valueint.infosampling.fit import derived_prior

BANDS = (0.50, 0.90)
GRID_STEP = 0.25


def curve_draws(fit, ages, n_draws: int = 1000) -> dict:
    """{parameter: [draw, age]} natural-scale population curves (plus ``prior_sd``)."""
    model = get_model(fit.attrs["model"])
    design = DesignMatrices.from_json(fit.attrs["covariate_design"])
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    total = posterior.sizes["sample"]
    keep = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int))
    table = pd.DataFrame({"age": np.asarray(ages, float)})
    curves = {}
    for p in model.parameters:
        coef = posterior[f"coef_{p.name}"].isel(sample=keep).transpose("sample", ...).values
        curves[p.name] = np.asarray(constrain_value(p, coef @ design.matrix_for(p.name, table).T))
    curves.update(derived_prior(curves))
    return curves


def age_grid(fit) -> np.ndarray:
    ages = fit["constant_data"]["age"].values
    lo, hi = (
        np.floor(ages.min() / GRID_STEP) * GRID_STEP,
        np.ceil(ages.max() / GRID_STEP) * GRID_STEP,
    )
    return np.clip(np.arange(lo, hi + GRID_STEP / 2, GRID_STEP), ages.min(), ages.max())


def age_curves(fits: dict) -> pd.DataFrame:
    """One row per model, parameter and grid age: median and bands of the curve."""
    rows = []
    for name, fit in fits.items():
        ages = age_grid(fit)
        for parameter, draws in curve_draws(fit, ages).items():
            frame = pd.DataFrame(
                {"model": name, "parameter": parameter, "age": ages, "median": np.median(draws, 0)}
            )
            for band in BANDS:
                tail = (1 - band) / 2
                frame[f"lower_{band:.0%}"] = np.quantile(draws, tail, axis=0)
                frame[f"upper_{band:.0%}"] = np.quantile(draws, 1 - tail, axis=0)
            rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def age_contrasts(fits: dict, band: float = 0.90) -> pd.DataFrame:
    """Per model and parameter: the curve at the youngest and oldest ages (medians), the
    change between them with its ``band`` interval, and P(change > 0)."""
    rows = []
    tail = (1 - band) / 2
    for name, fit in fits.items():
        ages = fit["constant_data"]["age"].values
        ends = np.asarray([ages.min(), ages.max()])
        for parameter, draws in curve_draws(fit, ends).items():
            change = draws[:, 1] - draws[:, 0]
            rows.append(
                {
                    "model": name,
                    "parameter": parameter,
                    "age_from": float(ends[0]),
                    "age_to": float(ends[1]),
                    "at_youngest": float(np.median(draws[:, 0])),
                    "at_oldest": float(np.median(draws[:, 1])),
                    "change": float(np.median(change)),
                    "change_lower": float(np.quantile(change, tail)),
                    "change_upper": float(np.quantile(change, 1 - tail)),
                    "p_increase": float(np.mean(change > 0)),
                }
            )
    return pd.DataFrame(rows)
