"""Model comparison by approximate leave-one-out cross-validation (PSIS-LOO) and WAIC.

``compare(fits)`` scores each fit by its expected log predictive density (elpd) and
ranks them, with stacking weights.  The left-out unit is one *trial* by default: each
observed choice is predicted from the posterior given every other choice (including the
subject's later ones).  ``by="subject"`` leaves out a whole subject instead, by summing
each subject's pointwise log-likelihood first: it asks which model predicts a new
person's choice sequence, at the price of noisier importance sampling (more large
Pareto k).  Pareto k above 0.7 marks points whose PSIS estimate is unreliable; trials
whose log-likelihood is the same in every draw (e.g. a block's first choice at equal
values) are exact: their importance weights are uniform, and they are not counted there.

The stacking weights come from arviz-stats, LOO's Pareto smoothing from ``valueint.inference.psis``
(arviz-stats' algorithm, vectorized over points).  arviz 1.x no longer computes WAIC;
``waic`` here is the textbook estimate (Watanabe 2010; Vehtari et al. 2017) from the
pointwise log-likelihood, as arviz 0.x computed it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.loo.loo_helper import _warn_pareto_k
from arviz_stats.utils import ELPDData, ELPDDataLOO
from scipy.special import logsumexp

from valueint.inference import psis
from valueint.inference.psis import PARETO_K_BAD

ICS = ("loo", "waic")
UNITS = ("trial", "subject")
SAMPLE_DIMS = ("chain", "draw")
# pointwise log-likelihoods whose variance over draws exceeds this make WAIC unreliable
WAIC_VARIANCE_MAX = 0.4


class ComparisonWarning(UserWarning):
    """A comparison whose LOO estimates rest on unreliable importance sampling."""


def by_subject(fit: xr.DataTree) -> xr.DataTree:
    """A copy whose log-likelihood is summed over each subject's trials: dims (chain, draw, subject)."""
    loglik = fit["log_likelihood"]["choice"]
    order = list(dict.fromkeys(loglik["subject"].values.tolist()))
    summed = loglik.groupby("subject").sum().sel(subject=order)
    tree = xr.DataTree.from_dict(
        {
            "posterior": fit["posterior"].to_dataset(),
            "log_likelihood": xr.Dataset({"choice": summed}),
        }
    )
    tree.attrs = dict(fit.attrs)
    return tree


def ranked_table(elpds: Mapping, extra: Mapping[str, dict]) -> pd.DataFrame:
    """Fits ranked by their elpd estimates (arviz-stats, stacking weights): rank, elpd, p,
    elpd_diff (a positive distance to the best model, as these tables always gave it),
    weight, se, dse, then each fit's ``extra`` columns; best first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ranked = azs.compare(dict(elpds), method="stacking", round_to="none")
    table = ranked[["rank", "elpd", "p"]].assign(
        elpd_diff=0.0 - ranked["elpd_diff"],
        weight=ranked["weight"],
        se=ranked["se"],
        dse=ranked["dse"],
    )
    return table.astype({"rank": int}).join(pd.DataFrame.from_dict(extra, orient="index"))


def check_fits(fits: Mapping[str, xr.DataTree]) -> None:
    if len(fits) < 2:
        raise ValueError(f"compare needs at least two fits; got {len(fits)}")
    missing = [name for name, fit in fits.items() if "log_likelihood" not in fit.children]
    if missing:
        raise ValueError(f"fit(s) {', '.join(missing)} have no log_likelihood group")
    sizes = {name: fit["log_likelihood"]["choice"].sizes["obs"] for name, fit in fits.items()}
    hashes = {name: fit.attrs.get("data_sha256") for name, fit in fits.items()}
    if len(set(sizes.values())) > 1 or len(set(hashes.values())) > 1:
        listed = ", ".join(
            f"{name} ({sizes[name]} trials, data {str(hashes[name])[:12]})" for name in fits
        )
        raise ValueError(f"fits were made on different data and cannot be compared: {listed}")


def _constant(loglik: xr.DataArray, unit_dim: str) -> np.ndarray:
    """Points whose log-likelihood is the same in every draw (their LOO term is exact)."""
    values = loglik.stack(sample=SAMPLE_DIMS).transpose(unit_dim, "sample").values
    return np.ptp(values, axis=1) < 1e-12


def _relative_efficiency(fit: xr.DataTree, n_samples: int) -> float:
    """Mean ESS of the posterior variables over the number of draws (1 for one chain)."""
    posterior = fit["posterior"].to_dataset()
    if posterior.sizes["chain"] == 1:
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ess = azs.ess(posterior, method="mean")
    return float(np.hstack([ess[v].values.ravel() for v in ess.data_vars]).mean() / n_samples)


def distinct_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each distinct row's first occurrence, the distinct row of every row), so
    that ``values[first][inverse]`` is ``values``.  Rows are grouped by a random
    projection, then the grouped rows are checked entry by entry: distinct rows are never
    merged (identical rows may stay apart, which costs time, not accuracy)."""
    projection = values @ np.random.default_rng(0).standard_normal(values.shape[1])
    _, first, inverse = np.unique(projection, return_index=True, return_inverse=True)
    merged = np.flatnonzero(first[inverse] != np.arange(len(values)))
    same = np.array_equal(values[merged], values[first[inverse[merged]]], equal_nan=True)
    if not same:  # a projection tie between distinct rows: no grouping
        return np.arange(len(values)), np.arange(len(values))
    return first, inverse


def loo(fit: xr.DataTree, unit_dim: str = "obs"):
    """PSIS-LOO of the ``choice`` log-likelihood, pointwise (``valueint.inference.psis``,
    every point at once; the result is arviz-stats' ``ELPDDataLOO``).

    Where Pareto smoothing is undefined the importance weights are used as they are, as
    arviz 0.x did: uniform and exact (k = 0) at points whose log-likelihood never varies;
    raw, with k = inf (unreliable), where too few draws make up a tail to fit or the
    tail is flat.
    """
    loglik = fit["log_likelihood"]["choice"]
    n_samples = loglik.sizes["chain"] * loglik.sizes["draw"]
    every = loglik.transpose(unit_dim, *SAMPLE_DIMS).values.reshape(-1, n_samples)
    # points with the same log-likelihood in every draw (children of one condition who
    # chose alike) have the same LOO terms: smooth each distinct row once
    first, inverse = distinct_rows(every)
    values = every[first]
    weights = np.full(values.shape, -math.log(n_samples))
    pareto_k = np.zeros(values.shape[0])
    varying = np.flatnonzero(np.ptp(values, axis=1) >= 1e-12)
    r_eff = _relative_efficiency(fit, n_samples)
    if varying.size:
        try:
            smoothed, k, flat = psis.psislw(values[varying], r_eff=r_eff)
            k[flat] = math.inf
        except ValueError:  # too few draws for a tail
            raw = -values[varying]
            smoothed = raw - logsumexp(raw, axis=1, keepdims=True)
            k = np.full(varying.size, math.inf)
        weights[varying], pareto_k[varying] = smoothed, k
    elpd_i = logsumexp(weights + values, axis=1)
    p_loo_i = logsumexp(values, axis=1) - math.log(n_samples) - elpd_i
    weights, pareto_k = weights[inverse], pareto_k[inverse]
    elpd_i, p_loo_i = elpd_i[inverse], p_loo_i[inverse]
    point_coords = loglik[unit_dim].coords
    shape = (loglik.sizes[unit_dim], loglik.sizes["chain"], loglik.sizes["draw"])
    log_weights = xr.DataArray(
        weights.reshape(shape), dims=(unit_dim, *SAMPLE_DIMS), coords=loglik.coords
    ).transpose(*loglik.dims)
    k = xr.DataArray(pareto_k, dims=(unit_dim,), coords=point_coords)
    warning, good_k = _warn_pareto_k(k, n_samples)
    return ELPDDataLOO(
        elpd=float(elpd_i.sum()),
        # sqrt(n) x the sd (ddof 0) of the pointwise elpd, as these tables always gave it
        # (and as for WAIC); arviz-stats divides by n - 1
        se=float(math.sqrt(elpd_i.size * np.var(elpd_i))),
        p=float(p_loo_i.sum()),
        n_samples=n_samples,
        n_data_points=elpd_i.size,
        scale="log",
        warning=warning,
        good_k=good_k,
        elpd_i=xr.DataArray(elpd_i, dims=(unit_dim,), coords=point_coords),
        pareto_k=k,
        approx_posterior=False,
        log_weights=log_weights,
        p_loo_i=xr.DataArray(p_loo_i, dims=(unit_dim,), coords=point_coords),
    )


def waic(fit: xr.DataTree, unit_dim: str = "obs") -> ELPDData:
    """WAIC of the ``choice`` log-likelihood, pointwise: elpd_i = lppd_i - var_draws(loglik_i)."""
    loglik = fit["log_likelihood"]["choice"]
    every = loglik.stack(sample=SAMPLE_DIMS).transpose(unit_dim, "sample").values
    n_points, n_samples = every.shape
    first, inverse = distinct_rows(every)
    values = every[first]
    lppd = (logsumexp(values, axis=1) - math.log(n_samples))[inverse]
    variance = values.var(axis=1)[inverse]
    pointwise = lppd - variance
    elpd_i = xr.DataArray(pointwise, dims=(unit_dim,), coords=loglik[unit_dim].coords)
    return ELPDData(
        elpd=float(pointwise.sum()),
        se=float(math.sqrt(n_points * np.var(pointwise))),
        p=float(variance.sum()),
        n_samples=n_samples,
        n_data_points=n_points,
        scale="log",
        warning=bool(np.any(variance > WAIC_VARIANCE_MAX)),
        good_k=math.nan,
        elpd_i=elpd_i,
    )


def _n_bad_k(elpd, loglik: xr.DataArray, unit_dim: str) -> tuple[int, int]:
    """(points with Pareto k > 0.7, points with a constant log-likelihood) among varying ones."""
    constant = _constant(loglik, unit_dim)
    k = np.asarray(elpd.pareto_k)
    return int(np.sum((k > PARETO_K_BAD) & ~constant)), int(constant.sum())


def compare(fits: Mapping[str, xr.DataTree], ic: str = "loo", by: str = "trial") -> pd.DataFrame:
    """Rank fits by PSIS-LOO (``ic="loo"``) or WAIC; stacking weights; both ICs shown.
    (Exact K-fold by subject: ``valueint.workflows.comparison.compare``.)

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
    check_fits(fits)
    if by == "subject":
        fits = {name: by_subject(fit) for name, fit in fits.items()}
    unit_dim = "obs" if by == "trial" else "subject"
    loos, waics, extra = {}, {}, {}
    for name, fit in fits.items():
        loglik = fit["log_likelihood"]["choice"]
        with warnings.catch_warnings():
            # Pareto k warnings are replaced by the counts below.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            loos[name] = loo(fit, unit_dim)
        waics[name] = waic(fit, unit_dim)
        n_bad, n_constant = _n_bad_k(loos[name], loglik, unit_dim)
        extra[name] = {
            "elpd_loo": float(loos[name].elpd),
            "p_loo": float(loos[name].p),
            "elpd_waic": waics[name].elpd,
            "p_waic": waics[name].p,
            "n_pareto_k_bad": n_bad,
            "n_constant": n_constant,
            "n_points": int(loglik.sizes[unit_dim]),
            "model": str(fit.attrs.get("model", name)),
        }
    table = ranked_table(loos if ic == "loo" else waics, extra)
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
