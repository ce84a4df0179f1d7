"""Model comparison for every family: by PSIS-LOO (or WAIC), or by exact K-fold
cross-validation by subject.

``compare(fits)`` ranks fits by PSIS-LOO leaving out one trial (``by="trial"``) or one
subject (``by="subject"``), as ``valueint.inference.comparison.compare`` does;
``method="kfold"`` (with ``by="subject"``) ranks them instead by refitting every model
without each of ``k`` folds of subjects (``valueint.workflows.kfold``), with PSIS-LOO by
subject beside it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.utils import ELPDData
from scipy.special import logsumexp

from valueint.inference.comparison import (
    SAMPLE_DIMS,
    UNITS,
    ComparisonWarning,
    by_subject,
    check_fits,
    ranked_table,
)
from valueint.inference.comparison import compare as compare_psis
from valueint.inference.psis import PARETO_K_BAD
from valueint.workflows.kfold import kfold

METHODS = ("psis", "kfold")


def compare(
    fits: Mapping[str, xr.DataTree],
    ic: str = "loo",
    by: str = "trial",
    *,
    method: str = "psis",
    k: int = 10,
    **kfold_options,
) -> pd.DataFrame:
    """Rank fits by PSIS-LOO (``ic="loo"``) or WAIC, leaving out one ``by`` (``"trial"``
    or ``"subject"``); stacking weights; both ICs shown (the columns:
    ``valueint.inference.comparison.compare``).

    ``method="kfold"`` (with ``by="subject"``) ranks them instead by exact K-fold
    cross-validation: every model refitted without each of ``k`` folds of subjects, on the
    job engine (``kfold_options`` such as ``data``, ``out``, ``seed``, ``refit``,
    ``engine`` go to ``valueint.workflows.kfold.kfold``), beside the
    PSIS estimates (``kfold_table``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if by not in UNITS:
        raise ValueError(f"by must be one of {', '.join(UNITS)}; got {by!r}")
    if method == "kfold" and by != "subject":
        raise ValueError(
            "K-fold here leaves out whole subjects: use by='subject' with method='kfold'"
        )
    if kfold_options and method != "kfold":
        raise TypeError(
            f"compare got K-fold options {sorted(kfold_options)} with method={method!r}"
        )
    if method == "psis":
        return compare_psis(fits, ic, by)
    fits = dict(fits)
    check_fits(fits)
    return kfold_table(fits, compare_psis(fits, "loo", "subject"), k, **kfold_options)


def kfold_table(fits, psis_table: pd.DataFrame, k: int, **kfold_options) -> pd.DataFrame:
    """The K-fold comparison table (see ``compare``), with PSIS-LOO by subject beside it.

    Columns: rank, elpd (K-fold), p (lppd of the full fit - elpd), elpd_diff and dse (to
    the best, paired over subjects), se, weight (stacking), mc_se (Monte Carlo se of the
    held-out densities), elpd_psis and n_pareto_k_bad (PSIS-LOO by subject), n_heldout_k_bad
    (held-out densities whose importance weights have k > 0.7), folds_with_warnings
    (fold fits that failed a convergence check), n_points, model, ic ("kfold"), unit, k.
    """
    results = kfold(fits, k, **kfold_options)
    elpds, extra = {}, {}
    for name, result in results.items():
        loglik = by_subject(fits[name])["log_likelihood"]["choice"]
        values = loglik.stack(sample=SAMPLE_DIMS).transpose("subject", "sample").values
        lppd = float(np.sum(logsumexp(values, axis=1) - math.log(values.shape[1])))
        elpd_i = xr.DataArray(
            result.elpd_i, dims=("subject",), coords={"subject": list(result.subject_ids)}
        )
        elpds[name] = ELPDData(
            elpd=result.elpd,
            se=result.se,
            p=lppd - result.elpd,
            n_samples=values.shape[1],
            n_data_points=result.elpd_i.size,
            scale="log",
            warning=bool(np.any(result.pareto_k_i > PARETO_K_BAD)),
            good_k=PARETO_K_BAD,
            elpd_i=elpd_i,
        )
        extra[name] = {
            "mc_se": result.mc_se,
            "elpd_psis": float(psis_table.loc[name, "elpd_loo"]),
            "n_pareto_k_bad": int(psis_table.loc[name, "n_pareto_k_bad"]),
            "n_heldout_k_bad": int(np.sum(result.pareto_k_i > PARETO_K_BAD)),
            "folds_with_warnings": len(result.fit_messages),
            "folds_converged": result.folds_converged,
            "n_points": result.elpd_i.size,
            "model": str(fits[name].attrs.get("model", name)),
        }
    table = ranked_table(elpds, extra)
    table["ic"], table["unit"], table["k"] = "kfold", "subject", int(k)
    table.index.name = "fit"
    table.attrs["kfold"] = results
    unsettled = table[(table["n_heldout_k_bad"] > 0) | (table["folds_with_warnings"] > 0)]
    if len(unsettled):
        listed = ", ".join(
            f"{name} ({int(row.folds_with_warnings)} fold fit(s) with warnings, "
            f"{int(row.n_heldout_k_bad)} held-out subject(s) with k > {PARETO_K_BAD})"
            for name, row in unsettled.iterrows()
        )
        warnings.warn(f"K-fold: {listed}; see the fold results", ComparisonWarning, stacklevel=3)
    return table
