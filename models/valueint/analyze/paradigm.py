"""The paradigm analysis behind ``valueint analyze paradigm`` and ``praise-cheating``.

A paradigm file (TOML, see ``valueint.paradigm.conditions``) and a count table go in; every
paradigm model is fitted with NUTS and compared by PSIS-LOO and Bayes factors; a folder
of tables and figures comes out:

- ``comparison.csv`` / ``comparison.png``: elpd (one child left out), stacking weights,
  log marginal likelihoods, Bayes factors and posterior model probabilities;
- ``predictions.csv`` / ``proportions.png`` (+ ``.pdf``): observed proportions against
  each model's predicted probability and replicate proportion per condition;
- ``parameters.csv``, ``diagnostics.csv``, ``summary.md`` and ``run.json`` (settings,
  seed, paradigm, data hash and package versions).

``run_paradigm_analysis`` is the Python entry point; the commands
(``valueint.cli.analyze``) add argument checks and console messages.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from valueint.datasets import SHIPPED_DATA
from valueint.inference.settings import SamplerSettings

ZHAO2017 = "zhao2017_praise_cheating"
OUTPUT_FILES = (
    "comparison.csv",
    "comparison.png",
    "predictions.csv",
    "proportions.png",
    "proportions.pdf",
    "parameters.csv",
    "diagnostics.csv",
    "summary.md",
    "run.json",
)


@dataclasses.dataclass(frozen=True)
class ParadigmSettings:
    """The models compared and how each is fitted (NUTS, then the evidence by importance
    sampling); ``quick()`` gives short chains for a first look."""

    models: tuple[str, ...] = ("isr", "no_internalization", "reinforcement", "null_rate")
    # the paradigm fits' own defaults (``valueint.paradigm.fit.DEFAULT_SETTINGS``)
    # sampled until converged, within 3x its warmup + draws (``valueint.inference.rounds``)
    sampler: SamplerSettings = SamplerSettings(
        chains=4,
        draws=2000,
        warmup=1000,
        target_accept_prob=0.95,
        until_converged=True,
        budget_iterations=9000,
    )
    evidence_samples: int = 40_000
    seed: int = 0

    @classmethod
    def quick(cls, **changes) -> ParadigmSettings:
        quick = cls().sampler.replace(chains=2, draws=500, warmup=300)
        return dataclasses.replace(cls(sampler=quick, evidence_samples=10_000), **changes)


@dataclasses.dataclass(frozen=True)
class ParadigmAnalysis:
    """The fits (in memory) and the tables written to ``out``."""

    fits: dict
    comparison: object  # pandas DataFrame
    predictions: object
    parameters: object
    diagnostics: object
    out: Path


def shipped_dataset_dir() -> Path:
    """``data/zhao2017_praise_cheating`` of a source checkout (not part of a wheel)."""
    return SHIPPED_DATA / ZHAO2017


def run_paradigm_analysis(
    paradigm_path: str | Path,
    counts_path: str | Path,
    out: str | Path,
    settings: ParadigmSettings = ParadigmSettings(),
    overwrite: bool = False,
    *,
    report: Callable[[str], None] | None = None,
) -> ParadigmAnalysis:
    """Fit every model of ``settings`` to the counts and write the outputs to ``out``.

    ``report`` receives a plain-text line as each model is fitted."""
    import pandas as pd

    from valueint.inference.diagnostics import diagnostics as diagnostics_of
    from valueint.paradigm.catalogue import get_paradigm_model
    from valueint.paradigm.conditions import load_counts, load_paradigm
    from valueint.paradigm.fit import (
        compare_paradigm,
        fit_messages,
        fit_paradigm,
        parameter_table,
        plot_proportions,
        predictive_table,
    )
    from valueint.records import atomic_write, check_output_paths, run_record, write_json

    out = Path(out)
    check_output_paths([out / name for name in OUTPUT_FILES], overwrite)
    paradigm = load_paradigm(paradigm_path)
    counts = load_counts(counts_path, paradigm)
    if len(settings.models) < 2:
        raise ValueError("give at least two models to compare")
    for name in settings.models:
        get_paradigm_model(name)

    start = time.perf_counter()
    fits = {}
    for name in settings.models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # collected below by fit_messages
            fits[name] = fit_paradigm(
                paradigm,
                counts,
                name,
                settings.sampler,
                seed=settings.seed,
                evidence_samples=settings.evidence_samples,
                progress=False,  # numpyro's bars interleave across chains
            )
        if report is not None:
            report(f"fitted {name}")
    comparison = compare_paradigm(fits)
    order = list(comparison.index)
    predictions = predictive_table({name: fits[name] for name in order})
    parameters = parameter_table({name: fits[name] for name in order})
    diagnostics = pd.DataFrame(
        [
            {
                "model": name,
                **diagnostics_of(fits[name]).row(),
                "evidence_pareto_k": float(fits[name].attrs["evidence_pareto_k"]),
                "sampling_time_s": float(fits[name].attrs["sampling_time_s"]),
                "messages": " | ".join(fit_messages(fits[name])),
            }
            for name in order
        ]
    )
    wall = time.perf_counter() - start

    from valueint.inference.figures import plot_comparison

    atomic_write(out / "comparison.csv", comparison.to_csv(float_format="%.6g"))
    plot_comparison(comparison, out / "comparison.png", overwrite=True)
    atomic_write(out / "predictions.csv", predictions.to_csv(index=False, float_format="%.6g"))
    title = paradigm.title or paradigm.name
    for suffix in ("png", "pdf"):
        plot_proportions(
            predictions,
            out / f"proportions.{suffix}",
            title=title,
            models=order,
            counted_option=repr(paradigm.counted_option),
        )
    atomic_write(out / "parameters.csv", parameters.to_csv(index=False, float_format="%.6g"))
    atomic_write(out / "diagnostics.csv", diagnostics.to_csv(index=False, float_format="%.6g"))
    atomic_write(
        out / "summary.md",
        paradigm_markdown(
            paradigm, counts, comparison, predictions, parameters, diagnostics, settings
        ),
    )
    record = run_record(
        command="analyze paradigm",
        config=dataclasses.asdict(settings),
        seeds=[settings.seed],
        wall_time_s=wall,
        paradigm_file=str(paradigm_path),
        paradigm=dataclasses.asdict(paradigm),
        counts_file=str(counts_path),
        counts={
            c: [int(n), int(k)]
            for c, n, k in zip(counts.conditions, counts.n, counts.k, strict=True)
        },
        data_sha256=counts.sha256(),
        best_by_loo=order[0],
        best_by_evidence=str(comparison["log_ml"].idxmax()),
    )
    write_json(out / "run.json", record)
    return ParadigmAnalysis(fits, comparison, predictions, parameters, diagnostics, out)


def format_number(value, digits: int = 2) -> str:
    """``value`` to ``digits`` decimals; NaN as n/a."""
    return "n/a" if value != value else f"{value:.{digits}f}"


def paradigm_markdown(
    paradigm, counts, comparison, predictions, parameters, diagnostics, settings
) -> str:
    """A short, generated report; every number comes from the tables of this run."""
    lines = [f"# {paradigm.title or paradigm.name}", ""]
    if paradigm.source:
        lines += [f"Source: {paradigm.source}", ""]
    lines += [
        f"NUTS: {settings.sampler.chains} chains x {settings.sampler.draws} draws after "
        f"{settings.sampler.warmup} "
        f"warmup, seed {settings.seed}; marginal likelihoods by importance sampling "
        f"({settings.evidence_samples} draws).",
        "",
        "## Model comparison",
        "",
        "| model | elpd (LOO, per child) | se | elpd diff | dse | stacking weight "
        "| log marginal lik. | log10 BF vs best | P(model) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in comparison.iterrows():
        lines.append(
            f"| {name} | {format_number(row['elpd'])} | {format_number(row['se'])} | {format_number(row['elpd_diff'])} | "
            f"{format_number(row['dse'])} | {format_number(row['weight'])} | {format_number(row['log_ml'])} | "
            f"{format_number(row['log10_bf'])} | {format_number(row['posterior_probability'], 3)} |"
        )
    best_loo = comparison.index[0]
    best_ml = comparison["log_ml"].idxmax()
    lines += [
        "",
        f"Best by LOO: **{best_loo}**; best by marginal likelihood: **{best_ml}**. "
        f"An elpd difference smaller than about twice its dse does not separate two models.",
        "",
        "## Observed and predicted proportions (95% intervals)",
        "",
        "| model | condition | observed [Jeffreys] | predicted p | replicate of the same n |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, row in predictions.iterrows():
        lines.append(
            f"| {row['model']} | {row['condition']} | {row['k']}/{row['n']} = "
            f"{format_number(row['observed'])} [{format_number(row['observed_lower'])}, "
            f"{format_number(row['observed_upper'])}] | {format_number(row['p_mean'])} [{format_number(row['p_lower'])}, "
            f"{format_number(row['p_upper'])}] | [{format_number(row['replicate_lower'])}, "
            f"{format_number(row['replicate_upper'])}] |"
        )
    misses = predictions[~predictions["observed_in_replicate_interval"]]
    if len(misses):
        listed = ", ".join(
            f"{m} ({c})" for m, c in zip(misses["model"], misses["condition"], strict=True)
        )
        lines += ["", f"Observed proportions outside the 95% replicate interval: {listed}."]
    lines += ["", "## Parameters (posterior mean, 94% HDI)", ""]
    lines += ["| model | parameter | mean | 94% HDI | R-hat |", "| --- | --- | ---: | --- | ---: |"]
    for _, row in parameters.iterrows():
        lines.append(
            f"| {row['model']} | {row['parameter']} | {format_number(row['mean'])} | "
            f"[{format_number(row['hdi_3%'])}, {format_number(row['hdi_97%'])}] | {format_number(row['r_hat'], 3)} |"
        )
    problems = [m for m in diagnostics["messages"] if m]
    lines += ["", "## Diagnostics", ""]
    worst = diagnostics["max_rhat"].max()
    lines.append(
        f"Max R-hat {format_number(worst, 3)}, min bulk ESS {diagnostics['min_ess_bulk'].min():.0f}, "
        f"{int(diagnostics['divergences'].sum())} divergences over all models."
    )
    lines += [f"- {m}" for m in problems] or ["- no problems flagged"]
    return "\n".join(lines) + "\n"
