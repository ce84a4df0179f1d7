"""Fitting the prosocial-learning models and judging the fits: one hierarchical fit per
model, its diagnostics, and the PSIS-LOO comparison leaving out one trial or one subject."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.data import PreparedData
from valueint.analyze.prosocial.settings import ProsocialSettings


def fit_models(
    prepared: PreparedData,
    settings: ProsocialSettings,
    report: Callable[[str], None],
    progress: bool = False,
) -> tuple[dict, dict[str, list[str]]]:
    """Fit every model of ``settings``; returns the fits and each fit's warnings.

    ``report`` receives a plain-text line per fit and per diagnostic message."""
    fits, messages = {}, {}
    for i, name in enumerate(settings.models, start=1):
        fits[name], messages[name] = fit_one(
            prepared,
            settings,
            name,
            settings.q_init,
            report,
            progress,
            f"{i}/{len(settings.models)}",
        )
    return fits, messages


def fit_one(prepared, settings, name, q_init, report, progress=False, position=""):
    """One hierarchical fit (group on every parameter) at initial value ``q_init``; the fit
    and its diagnostic messages, each also reported as a line."""
    from valueint.inference.diagnostics import FitWarning, diagnostics
    from valueint.inference.rounds import rounds_reported
    from valueint.trials import fit as trial_fit

    n_trials = int(np.asarray(prepared.fit_data.arrays.mask).sum())
    sampler = settings.sampler
    report(
        f"{name}{f' ({position})' if position else ''}: {prepared.fit_data.n_subjects} "
        f"subjects, {n_trials} observed trials, q_init {q_init:g}, {sampler.chains} chains x "
        f"({warmup_text(sampler)} warmup + {sampler.draws} draws, {sampler.parameterization})"
    )
    with (
        warnings.catch_warnings(record=True) as caught,
        rounds_reported(lambda line: report(f"  {line}")),
    ):
        warnings.simplefilter("always", FitWarning)
        idata = trial_fit.fit(
            prepared.fit_data,
            name,
            sampler,
            group_covariates="group",
            seed=settings.seed,
            progress=progress,
            predictive_draws=settings.predictive_draws,
            options={"q_init": q_init},
        )
    idata.attrs["data_source"] = prepared.source
    messages = []
    for item in caught:
        if issubclass(item.category, FitWarning):
            messages.append(str(item.message))  # reported in the outputs
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    diag = diagnostics(idata)
    verdict = "converged" if diag.converged else "NOT converged"
    rounds = json.loads(idata.attrs["settings"]).get("rounds")
    if rounds:
        verdict += (
            f" after {len(rounds)} round(s), {rounds[-1]['kept_draws']} draws per chain at "
            f"target acceptance {rounds[-1]['target_accept_prob']:g}"
        )
    report(
        f"  {verdict}: max R-hat {diag.max_rhat:.3f}, {diag.divergences} divergences, "
        f"min bulk ESS {diag.min_ess_bulk:.0f}, min tail ESS {diag.min_ess_tail:.0f}, "
        f"{float(idata.attrs['sampling_time_s']):.0f} s sampling"
    )
    for message in diag.messages:
        report(f"    {message}")
    return idata, messages


def initial_value_comparison(
    prepared, settings, best: str, best_fit, report, progress=False
) -> tuple[pd.DataFrame, dict]:
    """The best model refitted at ``settings.q_init_alternative`` and compared with its fit
    at ``settings.q_init`` by PSIS-LOO leaving out one trial and one subject; the table
    (one row per unit and initial value, best first) and the alternative fit."""
    alternative, _ = fit_one(
        prepared, settings, best, settings.q_init_alternative, report, progress, "initial value"
    )
    fits = {settings.q_init: best_fit, settings.q_init_alternative: alternative}
    labelled = {f"{best} q_init={q:g}": fit for q, fit in fits.items()}
    table, _ = prosocial_comparison(labelled)
    table.insert(1, "q_init", table["model"].map({f"{best} q_init={q:g}": q for q in fits}))
    table["model"] = best
    return table, {f"{best}_q_init_{settings.q_init_alternative:g}": alternative}


def diagnostics_table(fits: Mapping) -> pd.DataFrame:
    """One row per model: max R-hat, min bulk/tail ESS, divergences, leapfrog steps per
    draw, draws at the maximum tree depth, sampling time and the messages of
    ``valueint.inference.diagnostics``, whose ``converged`` (R-hat, bulk and tail ESS,
    divergences) is the one criterion for every fit."""
    from valueint.inference.diagnostics import diagnostics_row
    from valueint.inference.fit_files import fit_settings

    rows = []
    for name, idata in fits.items():
        sampler = fit_settings(idata)
        row = diagnostics_row(idata)
        rows.append(
            {
                "model": name,
                **{k: v for k, v in row.items() if k != "messages"},
                "n_draws": sampler.chains_run * sampler.draws,
                "chains": sampler.chains,
                "warmup": sampler.warmup,
                "target_accept_prob": sampler.target_accept_prob,
                "n_max_tree_depth": _at_max_depth(idata, sampler.max_tree_depth),
                "messages": row["messages"],
            }
        )
    return pd.DataFrame(rows)


def _at_max_depth(idata, max_tree_depth: int) -> int:
    """Draws whose trajectory hit the maximum tree depth."""
    if "sample_stats" not in idata.children or "n_steps" not in idata["sample_stats"]:
        return 0
    steps = np.asarray(idata["sample_stats"]["n_steps"].values)
    return int((steps >= 2**max_tree_depth - 1).sum())


# --------------------------------------------------------------------------- comparison

# the columns of a ranking, from the best model down, that both comparisons show first
RANKING_COLUMNS = ("rank", "model", "elpd", "se", "elpd_diff", "dse", "weight", "p")
COMPARISON_COLUMNS = (
    "unit",
    *RANKING_COLUMNS,
    "n_pareto_k_bad",
    "n_constant",
    "n_points",
    "elpd_waic",
    "p_waic",
)


def prosocial_comparison(fits: Mapping) -> tuple[pd.DataFrame, list[str]]:
    """PSIS-LOO leaving out one trial, then one subject: both tables stacked (``unit``),
    each best first; and the comparison's warnings (large Pareto k)."""
    from valueint.inference.comparison import ComparisonWarning, compare

    tables, messages = [], []
    for unit in ("trial", "subject"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ComparisonWarning)
            table = compare(fits, ic="loo", by=unit)
        messages += [str(w.message) for w in caught if issubclass(w.category, ComparisonWarning)]
        table = table.drop(columns=["model"]).rename_axis("model").reset_index()
        tables.append(table[list(COMPARISON_COLUMNS)])
    return pd.concat(tables, ignore_index=True), messages


KFOLD_COLUMNS = (
    *RANKING_COLUMNS,
    "mc_se",
    "n_heldout_k_bad",
    "folds_with_warnings",
    "elpd_psis",
    "n_pareto_k_bad",
    "n_points",
    "k",
)


def kfold_comparison(
    fits: Mapping, settings, folder, report, engine=None
) -> tuple[pd.DataFrame, list[str]]:
    """Exact K-fold by subject (``settings.kfold`` folds), every model refitted as it was
    fitted, on the job engine with its tasks in ``folder``; the table best first, beside
    PSIS-LOO by subject, and the warnings (fold fits that failed a check, unreliable
    held-out densities)."""
    from valueint.inference.comparison import ComparisonWarning
    from valueint.workflows.comparison import compare

    report(
        f"K-fold cross-validation by subject: {settings.kfold} folds x {len(fits)} models "
        f"refitted on the job engine (tasks in {folder})"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ComparisonWarning)
        table = compare(
            fits,
            by="subject",
            method="kfold",
            k=settings.kfold,
            seed=settings.seed,
            out=folder,
            engine=engine,
        )
    messages = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ComparisonWarning) and str(w.message).startswith("K-fold")
    ]
    for name, result in table.attrs["kfold"].items():
        for fold, fold_messages in sorted(result.fit_messages.items()):
            messages += [f"K-fold {name}, fold {fold}: {m}" for m in fold_messages]
    table = table.drop(columns=["model"]).rename_axis("model").reset_index()
    table.attrs = {}
    return table[list(KFOLD_COLUMNS)], messages


def ranking(comparison: pd.DataFrame, unit: str = "trial") -> list[str]:
    """Model names best first by LOO leaving out one ``unit``."""
    table = comparison[comparison["unit"] == unit].sort_values("rank")
    return [str(m) for m in table["model"]]


def warmup_text(sampler) -> str:
    """The warmup as run: the whitened sampler's pilot (by default half the warmup, at least
    50: ``valueint.inference.sampling``), then its own warmup."""
    from valueint.inference.sampling import default_pilot_warmup

    if sampler.parameterization != "whitened":
        return str(sampler.warmup)
    pilot = sampler.pilot_warmup
    if pilot is None:
        pilot = default_pilot_warmup(sampler.warmup)
    return f"{pilot} + {sampler.warmup}"
