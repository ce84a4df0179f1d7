"""``valueint analyze trust-sampling``: how beliefs about other people form from sparse
social evidence, ages 10-24 (the ``trust_sampling_ma2022`` data set).

Every sampling model (``valueint.infosampling.catalogue``) is fitted to all participants at
once, hierarchically, with a smooth age curve (a B-spline) on the population mean of
every parameter.  The fits are compared by PSIS-LOO (one trial left out) and by K-fold
cross-validation by participant (each participant predicted as a new member of the
population, at their age); each model's age curves are drawn with bands; and the
posterior predictive checks set the tiles opened per trial and the trust rate against the
peer's reciprocation, by age band, observed points against 90% predictive bands.

Files written to OUT (each atomically; figures as PNG and PDF; nothing replaced without
``overwrite``): ``comparison.csv/.png/.pdf``, ``diagnostics.csv``, ``age_curves.csv``,
``age_contrasts.csv``, ``age_curves.png/.pdf`` (best model), ``predictive.csv``,
``coverage.csv``, ``predictive.png/.pdf`` (best model), ``summary.md``, ``run.json``.
Work folders that a rerun resumes from: ``fits/<model>.nc`` (reused when the data, the
seed and the settings match) and ``kfold/`` (the job engine's task store).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import numpyro
import pandas as pd
import xarray as xr

from valueint.analyze.trust_sampling.curves import age_contrasts, age_curves
from valueint.analyze.trust_sampling.figures import (
    plot_age_curves,
    plot_comparison,
    plot_predictive,
)
from valueint.analyze.trust_sampling.report import trust_sampling_markdown
from valueint.analyze.trust_sampling.settings import COMMAND, TrustSamplingSettings
from valueint.inference.diagnostics import diagnostics_row
from valueint.inference.predictive import COVERAGE_TARGET
from valueint.infosampling import checks
from valueint.infosampling.data import load_trust_sampling
from valueint.infosampling.engagement import exclude_disengaged
from valueint.infosampling.family import INFOSAMPLING, spread_subjects
from valueint.jobs import QUIET, Engine
from valueint.records import (
    atomic_write,
    check_output_paths,
    report_paths,
    run_record,
    save_figure,
    write_csv,
    write_json,
)

# what the analysis writes: tables (CSV), figures (PNG and PDF), records
TABLES = "engagement comparison diagnostics age_curves age_contrasts predictive coverage".split()
FIGURES = ("comparison", "age_curves", "predictive")


def output_paths(out) -> dict:
    return report_paths(out, TABLES, FIGURES, ("summary.md", "run.json"))


def _fit_or_resume(data, name, settings, folder: Path, report) -> xr.DataTree:
    """``name`` fitted to ``data``, or its fit in ``folder`` where that was made on the
    same data with the same seed and sampler settings."""
    from valueint.inference.fit_files import load_fit, save_fit
    from valueint.inference.rounds import rounds_reported

    path = folder / f"{name}.nc"
    wanted = {
        "seed": settings.seed,
        "data_sha256": INFOSAMPLING.data_hash(data),
        "sampler": settings.sampler.as_dict(),
    }
    if path.exists():
        fit = load_fit(path)
        if json.loads(fit.attrs.get("resume_key", "null")) == wanted:
            report(f"{name}: reusing the finished fit {path}")
            return fit
        report(f"{name}: {path} was made with other data or settings; fitting again")
    sampler = settings.sampler
    report(f"{name}: fitting ({sampler.chains} chains x {sampler.warmup} + {sampler.draws} draws)")
    with warnings.catch_warnings(), rounds_reported(lambda line: report(f"  {name}: {line}")):
        warnings.simplefilter("ignore")  # diagnostics are reported in diagnostics.csv
        fit = INFOSAMPLING.fit(data, name, sampler, seed=settings.seed)
    fit.attrs["resume_key"] = json.dumps(wanted)
    save_fit(fit, path, overwrite=True)
    return fit


def diagnostics_table(fits: dict) -> pd.DataFrame:
    return pd.DataFrame([{"model": name, **diagnostics_row(fit)} for name, fit in fits.items()])


def trust_sampling_comparison(fits: dict, kfold: pd.DataFrame | None) -> pd.DataFrame:
    """elpd per model by PSIS-LOO (trial) and, with K-fold, by participant; differences
    and their se against the best model of each method."""
    from valueint.inference.comparison import compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bad Pareto k are counted in the table instead
        loo = compare(fits, "loo", "trial") if len(fits) > 1 else _single_loo(fits)
    table = pd.DataFrame(index=list(fits))
    table.index.name = "model"
    table["elpd_loo_trial"] = loo["elpd"]
    table["se_loo_trial"] = loo["se"]
    table["elpd_diff_loo_trial"] = -loo["elpd_diff"]  # compare gives the distance to the best
    table["dse_loo_trial"] = loo["dse"]
    table["p_loo"] = loo["p"]
    table["n_pareto_k_bad"] = loo["n_pareto_k_bad"]
    table["weight_loo"] = loo["weight"]
    if kfold is not None and len(kfold):
        wide = kfold.pivot(index="subject", columns="model", values="elpd")
        totals = wide.sum()
        best = totals.idxmax()
        n = len(wide)
        table["elpd_kfold_subject"] = totals
        table["se_kfold_subject"] = wide.std(ddof=1) * math.sqrt(n)
        table["elpd_diff_kfold_subject"] = totals - totals[best]
        table["dse_kfold_subject"] = (wide.sub(wide[best], axis=0)).std(ddof=1) * math.sqrt(n)
        table["max_pareto_k_kfold"] = kfold.groupby("model").pareto_k.max()
        table["max_mc_se_kfold"] = kfold.groupby("model").mc_se.max()
    return table.reset_index().sort_values(
        "elpd_diff_loo_trial", ascending=False, ignore_index=True
    )


def _single_loo(fits: dict) -> pd.DataFrame:
    """One fit's PSIS-LOO in the layout of ``compare`` (nothing to compare it with)."""
    from valueint.inference.comparison import loo
    from valueint.inference.psis import PARETO_K_BAD

    ((name, fit),) = fits.items()
    result = loo(fit)
    bad = int((np.asarray(result.pareto_k) > PARETO_K_BAD).sum())
    row = {"elpd": float(result.elpd), "se": float(result.se), "elpd_diff": 0.0, "dse": 0.0}
    row |= {"p": float(result.p), "n_pareto_k_bad": bad, "weight": 1.0}
    return pd.DataFrame([row], index=pd.Index([name], name="fit"))


def best_model(comparison: pd.DataFrame) -> str:
    """The best by K-fold (new participants) where it was run, else by PSIS-LOO."""
    column = "elpd_kfold_subject" if "elpd_kfold_subject" in comparison else "elpd_loo_trial"
    return str(comparison.loc[comparison[column].idxmax(), "model"])


def run_trust_sampling_analysis(
    data_path,
    out,
    settings: TrustSamplingSettings | None = None,
    *,
    overwrite: bool = False,
    report=lambda message: None,
    engine: Engine = QUIET,
) -> dict:
    """Run the whole analysis (module docstring) and write its files; returns the tables.
    The K-fold refits run on ``engine`` (default: local workers)."""
    settings = TrustSamplingSettings() if settings is None else settings
    # every fit is made in float64 (fit_sampling turns it on); the age curves and the
    # predictive simulations are too, whether the fits are made here or reused from fits/,
    # so that a resumed run writes the numbers a fresh one does
    numpyro.enable_x64()
    out = Path(out)
    paths = output_paths(out)
    check_output_paths(paths.values(), overwrite)
    start = time.perf_counter()
    data = load_trust_sampling(data_path)
    report(str(data.report))
    data, engagement = exclude_disengaged(data, settings.min_agreement)
    excluded = list(engagement.index[engagement.excluded])
    if excluded:
        report(
            f"set aside {len(excluded)} participant(s) whose trust follows the tiles on fewer "
            f"than {settings.min_agreement:.0%} of trials: {', '.join(excluded)}"
        )
    data = spread_subjects(data, settings.subjects)
    fits = {
        name: _fit_or_resume(data, name, settings, out / "fits", report) for name in settings.models
    }
    diagnostic = diagnostics_table(fits)
    for row in diagnostic.itertuples():
        report(
            f"{row.model}: R-hat {row.max_rhat:.3f}, bulk ESS {row.min_ess_bulk:.0f}, tail ESS {row.min_ess_tail:.0f}, {row.divergences} divergences"
            + ("" if row.converged else " -- NOT CONVERGED")
        )
    kfold = None
    if settings.kfold:
        from valueint.workflows.kfold import kfold as run_kfold

        report(f"K-fold by participant: {settings.kfold} folds x {len(settings.models)} models")
        results = run_kfold(
            fits,
            settings.kfold,
            data=data,
            seed=settings.seed,
            refit=settings.kfold_refit,
            out=out / "kfold",
            engine=engine,
        )
        kfold = pd.concat([r.subjects_table() for r in results.values()], ignore_index=True)
    comparison = trust_sampling_comparison(fits, kfold)
    best = best_model(comparison)
    curves, contrasts = age_curves(fits), age_contrasts(fits)
    predictive = pd.concat(
        [
            checks.predictive_table(
                fit, data, n_draws=settings.predictive_draws, seed=settings.seed
            )
            for fit in fits.values()
        ],
        ignore_index=True,
    )
    coverage = checks.coverage(predictive)
    tables = {
        "engagement.csv": engagement.reset_index(),
        "comparison.csv": comparison,
        "diagnostics.csv": diagnostic,
        "age_curves.csv": curves,
        "age_contrasts.csv": contrasts,
        "predictive.csv": predictive,
        "coverage.csv": coverage,
    }
    for name, table in tables.items():
        write_csv(paths[name], table)
    for stem, fig in (
        ("comparison", plot_comparison(comparison)),
        ("age_curves", plot_age_curves(curves, best)),
        ("predictive", plot_predictive(predictive, best)),
    ):
        for ext in ("png", "pdf"):
            save_figure(fig, paths[f"{stem}.{ext}"], close=ext == "pdf")
    wall = time.perf_counter() - start
    atomic_write(
        paths["summary.md"],
        trust_sampling_markdown(
            data, settings, tables, kfold=kfold, best=best, wall=wall, target=COVERAGE_TARGET
        ),
    )
    record = run_record(
        command=COMMAND,
        config=dataclasses.asdict(settings),
        seeds=[settings.seed],
        wall_time_s=wall,
        data={
            "source": data.report.source,
            "notes": list(data.report.notes),
            "subjects": data.n_subjects,
            "trials": len(data.trials),
            "excluded": list(excluded),
        },
        best_model=best,
        converged={row.model: bool(row.converged) for row in diagnostic.itertuples()},
        coverage={f"{r.model}/{r.statistic}": float(r.coverage) for r in coverage.itertuples()},
    )
    write_json(paths["run.json"], record)
    report(f"wrote {out} in {wall:.0f} s; best model: {best}")
    return {**tables, "best": best, "fits": fits, "kfold": kfold}
