"""Simulation-based calibration: one replication for any family, and the rank statistics
and their uniformity (Talts et al., 2018; Saeilynoja et al., 2022).

A replication (``replication``, a job task) draws a truth from the fit's own prior and
data from it (``ModelFamily.prior_draw``), fits the data as a user would
(``ModelFamily.fit`` with the job's sampler settings), and ranks each truth among thinned
posterior draws (``ModelFamily.calibration_quantities``: the population, one subject, and
the data's log-likelihood, a test quantity that also catches errors that leave every
parameter's margin uniform; Modrak et al., 2023).

For a truth drawn from the prior and data simulated from it, the rank of the truth among
L independent posterior draws is uniform on {0, ..., L} when the model and the sampler
are right.  Ranks are turned into PIT values in (0, 1) by spreading each rank uniformly
over its bin (with a seeded generator), so that ties do not distort continuous tests.
Two checks per quantity, both from arviz-stats:

- the ECDF of the PIT values against a *simultaneous* band (``BAND_PROB``): the whole
  curve stays inside with that probability under uniformity; a quantity whose curve
  leaves it has failed;
- the POT-C uniformity test (Tesso & Vehtari), whose p-value is reported beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from arviz_stats.base import array_stats
from arviz_stats.ecdf_utils import ecdf_pit

from valueint.inference.diagnostics import DIAGNOSTIC_COLUMNS, diagnostics

BAND_PROB = 0.99  # simultaneous: for 10 quantities about 10% of sound models have one leave
BAND_SIMULATIONS = 1000  # Monte Carlo draws behind the band's width


def thinned(draws, n: int) -> np.ndarray:
    """``n`` draws spread evenly over the (chain, draw) draws, chains one after another:
    thinning cuts the autocorrelation that would make ranks pile up."""
    flat = np.asarray(draws, float).reshape(-1)
    if flat.size < n:
        raise ValueError(f"{flat.size} posterior draws, fewer than the {n} to rank among")
    return flat[np.linspace(0, flat.size - 1, n).round().astype(int)]


def rank_against(truth: float, draws) -> int:
    """How many of ``draws`` lie below ``truth`` (0 .. len(draws))."""
    return int(np.sum(np.asarray(draws) < truth))


def replication(payload: dict, seed: int) -> dict:
    """One replication (a job task); ``payload``: ``family``, ``model``, ``design`` (the
    family's ``task_design`` options), ``sampler`` (the settings) and ``rank_draws``."""
    import numpyro

    from valueint.inference.family import FAMILIES, fit_in_task
    from valueint.inference.settings import SamplerSettings

    numpyro.enable_x64()
    family = FAMILIES.get(payload["family"])
    model = payload["model"]
    design = family.task_design(model, seed=seed, **payload["design"])
    truth, data = family.prior_draw(model, design, seed)
    settings = SamplerSettings.from_dict(payload["sampler"], family.default_settings)
    options = family.fit_options(design, model, light=True)
    fit, caught = fit_in_task(family, data, model, settings, seed=seed, **options)
    quantities = family.calibration_quantities(model, fit, truth, data)
    return replication_result(model, quantities, payload["rank_draws"], fit, caught)


def replication_result(model: str, quantities: dict, rank_draws: int, fit, caught) -> dict:
    """A replication's result from {quantity: (truth, draws [chain, draw])}: each truth's
    rank among ``rank_draws`` thinned draws, the truths, the fit's diagnostics row
    (``valueint.inference.diagnostics``) and its warnings (``caught``)."""
    return {
        "model": model,
        "rank_draws": rank_draws,
        "ranks": {
            q: rank_against(truth, thinned(draws, rank_draws))
            for q, (truth, draws) in quantities.items()
        },
        "truth": {q: truth for q, (truth, _) in quantities.items()},
        **diagnostics(fit).row(),
        "messages": fit_messages(caught),
    }


def fit_messages(caught) -> list[str]:
    """The fit's warnings, less the one that says a task's chains run in turn: a worker
    has one device by design (``valueint.jobs.engine``)."""
    return sorted({str(w.message) for w in caught if "CPU device(s)" not in str(w.message)})


def pit_values(ranks, rank_draws: int, seed: int) -> np.ndarray:
    """Ranks in {0..L} spread uniformly within their bins: (rank + U) / (L + 1)."""
    ranks = np.asarray(ranks, float)
    jitter = np.random.default_rng(seed).random(ranks.shape)
    return (ranks + jitter) / (rank_draws + 1)


def ecdf_band(pit, prob: float = BAND_PROB, seed: int = 0):
    """(points, ecdf, lower, upper) of the PIT values with the simultaneous ``prob`` band."""
    return ecdf_pit(
        np.sort(np.asarray(pit)), prob, BAND_SIMULATIONS, rng=np.random.default_rng(seed)
    )


def uniformity(pit, prob: float = BAND_PROB, seed: int = 0) -> dict:
    """Both checks for one quantity's PIT values."""
    points, ecdf, lower, upper = ecdf_band(pit, prob, seed)
    outside = (ecdf < lower - 1e-12) | (ecdf > upper + 1e-12)
    p_value = array_stats.uniformity_test(np.asarray(pit), axis=-1, method="pot_c")[0]
    return {
        "n": int(np.size(pit)),
        "p_value": float(p_value),
        "points_outside_band": int(outside.sum()),
        "max_ecdf_difference": float(np.max(np.abs(ecdf - points))),
        "passes": bool(not outside.any()),
    }


def rank_table(results: list[dict]) -> pd.DataFrame:
    """One row per replication and quantity: rank, L, truth and the fit's diagnostics row."""
    rows = []
    for result in results:
        for quantity, rank in result["ranks"].items():
            rows.append(
                {
                    "model": result["model"],
                    "replication": result["index"],
                    "seed": result["seed"],
                    "quantity": quantity,
                    "rank": rank,
                    "rank_draws": result["rank_draws"],
                    "truth": result["truth"][quantity],
                    **{column: result.get(column) for column in DIAGNOSTIC_COLUMNS},
                }
            )
    return pd.DataFrame(rows)


def summarize_ranks(ranks: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per model and quantity: replications, the band check and the POT-C p-value."""
    rows = []
    for (model, quantity), group in ranks.groupby(["model", "quantity"], sort=False):
        pit = pit_values(group["rank"], int(group["rank_draws"].iloc[0]), seed)
        rows.append({"model": model, "quantity": quantity, **uniformity(pit, seed=seed)})
    return pd.DataFrame(rows)
