"""MCMC convergence diagnostics: the one set of thresholds and the one reading of a fit.

``diagnostics(fit)`` reads R-hat, bulk and tail effective sample sizes (over every
posterior variable) and divergent transitions of any fit with a ``posterior`` group, of
any family, and says in plain words what is wrong and what to try.  ``converged`` is the
one criterion every fit, analysis, refit and replication is judged by; ``row()`` and
``diagnostics_row`` the one diagnostics row (its columns: ``DIAGNOSTIC_COLUMNS``) that
every table of fits carries; ``warn_diagnostics`` raises a fit's messages as
``FitWarning``.  ``parameter_convergence`` gives R-hat and bulk ESS of one [chain, draw]
array, and ``posterior_summary`` the table of means, intervals and diagnostics per
variable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Sequence

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr
from arviz_base import rc_context

# Vehtari et al. (2021): R-hat at most 1.01 over at least 2 chains, bulk and tail
# ESS at least 400 (100 per chain for 4 chains).
RHAT_MAX = 1.01
ESS_MIN = 400
# Tail ESS is the smaller of the ESS of the 5% and 95% quantiles.
TAIL_PROB = 0.05


# the one diagnostics row of a fit, in every table of fits (``Diagnostics.row``)
DIAGNOSTIC_COLUMNS = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged")


class FitWarning(UserWarning):
    """A fit whose diagnostics say its numbers should not be trusted yet."""


@dataclasses.dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a fit; ``messages`` say what is wrong and what to try."""

    method: str
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    n_draws: int
    messages: tuple[str, ...]
    n_chains: int = 1

    def row(self) -> dict:
        """The diagnostics row: ``DIAGNOSTIC_COLUMNS``."""
        return {
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "converged": self.converged,
        }

    @property
    def converged(self) -> bool:
        """R-hat <= RHAT_MAX over more than one chain, bulk and tail ESS >= ESS_MIN and
        no divergence; an SVI fit has no chains to check and counts as converged."""
        if self.method == "svi":
            return True
        return bool(
            self.n_chains > 1
            and self.max_rhat <= RHAT_MAX
            and self.min_ess_bulk >= ESS_MIN
            and self.min_ess_tail >= ESS_MIN
            and self.divergences == 0
        )


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws give nan R-hat
        return function(*args, **kwargs)


def parameter_convergence(values) -> tuple[float, float]:
    """(R-hat, bulk ESS) of one [chain, draw] array; R-hat is NaN with one chain."""
    values = np.asarray(values, dtype=float)
    rhat = float(_quietly(azs.rhat, values)) if values.shape[0] > 1 else math.nan
    return rhat, float(_quietly(azs.ess, values, method="bulk"))


def diagnostics(fit: xr.DataTree) -> Diagnostics:
    """R-hat, effective sample sizes and divergences of a fit, with advice where they fail."""
    method = str(fit.attrs.get("method", "nuts"))
    posterior = fit["posterior"].to_dataset()
    divergences = 0
    if "sample_stats" in fit.children and "diverging" in fit["sample_stats"].data_vars:
        divergences = int(fit["sample_stats"]["diverging"].sum())
    report = posterior_diagnostics(posterior, divergences, method)
    record = _record(fit)
    stopped = record.get("stopped")
    if stopped and stopped != "converged" and not report.converged:
        rounds = record.get("rounds") or []
        spent = (
            f"sampled until converged, but stopped at its {stopped} after {len(rounds)} "
            f"round(s) ({rounds[-1]['kept_draws'] if rounds else '?'} kept draws per chain)"
        )
        return dataclasses.replace(report, messages=(spent, *report.messages))
    return report


def _record(fit: xr.DataTree) -> dict:
    """The family's record of how ``fit`` was made (``attrs["settings"]``)."""
    try:
        record = json.loads(fit.attrs.get("settings") or "{}")
    except (TypeError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def posterior_diagnostics(posterior: xr.Dataset, divergences: int, method: str = "nuts"):
    """``diagnostics`` of a posterior (variables with ``chain`` and ``draw`` dims) and the
    count of its divergent transitions: what a fit in progress is judged by."""
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if method == "svi":
        return Diagnostics(method, math.nan, math.nan, math.nan, 0, n_chains * n_draws, (), 1)
    rhat = _quietly(azs.rhat, posterior)
    ess_bulk = _quietly(azs.ess, posterior, method="bulk")
    ess_tail = _quietly(azs.ess, posterior, method="tail", prob=TAIL_PROB)
    # R-hat is nan where a chain never moved (every draw the same): as bad as it gets
    stuck = [name for name, value in rhat.data_vars.items() if np.isnan(value.values).any()]
    max_rhat = math.inf if stuck else _extreme(rhat, np.nanmax)
    min_bulk = _extreme(ess_bulk, np.nanmin)
    min_tail = _extreme(ess_tail, np.nanmin)
    messages = []
    if n_chains < 2:
        messages.append(
            "only one chain: R-hat cannot detect chains that disagree; run at least 4 chains"
        )
    elif stuck:
        messages.append(
            f"some chains never moved ({', '.join(stuck[:5])}: every draw the same, R-hat "
            "undefined): the sampler was not adapted. Run more warmup (hundreds of steps), "
            "and check that the model's log-likelihood is finite at the prior's values."
        )
    elif not max_rhat <= RHAT_MAX:
        worst = _worst(rhat, np.nanargmax)
        messages.append(
            f"R-hat up to {max_rhat:.3f} (worst: {worst}) exceeds {RHAT_MAX}: the chains have "
            "not mixed. Run more warmup and draws; if it persists, check the priors and "
            "whether the parameter is identified by the data."
        )
    if not min_bulk >= ESS_MIN:
        messages.append(
            f"bulk effective sample size as low as {min_bulk:.0f} (worst: "
            f"{_worst(ess_bulk, np.nanargmin)}), below {ESS_MIN}: posterior means and sds "
            "are noisy. Run more draws or chains."
        )
    if not min_tail >= ESS_MIN:
        messages.append(
            f"tail effective sample size as low as {min_tail:.0f} (worst: "
            f"{_worst(ess_tail, np.nanargmin)}), below {ESS_MIN}: credible intervals are "
            "unreliable. Run more draws or chains."
        )
    if divergences:
        messages.append(
            f"{divergences} divergent transition(s) after warmup: the sampler missed part of "
            "the posterior. Raise target_accept_prob (e.g. 0.95 or 0.99) and warmup; the "
            "population model is already non-centred, so persistent divergences point to "
            "priors that are too wide or a parameter the data cannot pin down."
        )
    return Diagnostics(
        method,
        max_rhat,
        min_bulk,
        min_tail,
        divergences,
        n_chains * n_draws,
        tuple(messages),
        n_chains,
    )


def posterior_judge(posterior_of):
    """A judge for ``valueint.inference.rounds``: the diagnostics of the posterior that
    ``posterior_of(samples)`` builds from kept samples {site: [chain, draw, ...]}, with the
    divergences of the kept fields."""

    def judge(samples: dict, fields: dict) -> Diagnostics:
        divergences = int(np.asarray(fields["diverging"]).sum())
        return posterior_diagnostics(posterior_of(samples), divergences)

    return judge


def diagnostics_row(fit: xr.DataTree) -> dict:
    """A fit's row in a table of fits: the diagnostics row (``DIAGNOSTIC_COLUMNS``), the
    mean leapfrog steps per draw (NaN without them), the sampling time, the rounds it
    sampled and why it stopped (1 and "" for a fit of a fixed number of draws,
    ``valueint.inference.rounds``) and the messages."""
    report = diagnostics(fit)
    stats = fit["sample_stats"] if "sample_stats" in fit.children else None
    steps = math.nan
    if stats is not None and "n_steps" in stats.data_vars:
        steps = float(stats["n_steps"].values.mean())
    record = _record(fit)
    return {
        **report.row(),
        "mean_leapfrog_steps": steps,
        "sampling_time_s": float(fit.attrs.get("sampling_time_s", math.nan)),
        "rounds": len(record.get("rounds") or [None]),
        "stopped": str(record.get("stopped", "")),
        "messages": " | ".join(report.messages),
    }


def warn_diagnostics(fit: xr.DataTree, stacklevel: int = 3) -> Diagnostics:
    """Warn each message of ``diagnostics(fit)`` as a ``FitWarning`` naming the model."""
    report = diagnostics(fit)
    model = fit.attrs.get("model")
    for message in report.messages:
        warnings.warn(
            f"{model}: {message}" if model else message, FitWarning, stacklevel=stacklevel
        )
    return report


def _extreme(dataset: xr.Dataset, reduce) -> float:
    values = [np.asarray(v).ravel() for v in dataset.data_vars.values()]
    values = np.concatenate(values) if values else np.asarray([math.nan])
    if np.all(np.isnan(values)):
        return math.nan
    return float(reduce(values))


def _worst(dataset: xr.Dataset, arg) -> str:
    """The variable and coordinates of the largest (nanargmax) or smallest value."""
    best_name, best_value = "", None
    for name, value in dataset.data_vars.items():
        flat = np.asarray(value).ravel()
        if np.all(np.isnan(flat)):
            continue
        i = int(arg(flat))
        candidate = flat[i]
        better = best_value is None or (
            candidate > best_value if arg is np.nanargmax else candidate < best_value
        )
        if better:
            where = ""
            if value.ndim:
                labels = np.unravel_index(i, value.shape)
                where = (
                    "["
                    + ", ".join(
                        str(value[dim].values[j]) if dim in value.coords else str(j)
                        for dim, j in zip(value.dims, labels, strict=True)
                    )
                    + "]"
                )
            best_name, best_value = f"{name}{where}", candidate
    return best_name or "?"


SUMMARY_COLUMNS = (
    "mean",
    "sd",
    "hdi_3%",
    "hdi_97%",
    "mcse_mean",
    "mcse_sd",
    "ess_bulk",
    "ess_tail",
    "r_hat",
)


def posterior_summary(fit: xr.DataTree, var_names: Sequence[str]) -> pd.DataFrame:
    """Mean, sd, 94% HDI, Monte Carlo errors, bulk and tail ESS and R-hat per variable.

    Rounded as fit reports always were: three decimals, R-hat two, ESS whole numbers.
    """
    # The summary's tail ESS takes its quantiles from ``stats.ci_prob``; 0.95 gives the
    # 5% and 95% quantiles that ``diagnostics`` checks.
    with warnings.catch_warnings(), rc_context({"stats.ci_prob": 1 - TAIL_PROB}):
        warnings.simplefilter("ignore")  # one chain (SVI): R-hat is undefined
        table = azs.summary(
            fit, var_names=list(var_names), ci_prob=0.94, ci_kind="hdi", round_to="none"
        )
    table = table.rename(columns={"hdi94_lb": "hdi_3%", "hdi94_ub": "hdi_97%"})
    table = table[list(SUMMARY_COLUMNS)].astype(float)
    decimals = {name: 3 for name in SUMMARY_COLUMNS} | {"r_hat": 2, "ess_bulk": 0, "ess_tail": 0}
    return table.round(decimals)
