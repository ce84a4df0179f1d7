"""``valueint analyze paradigm`` and ``valueint analyze praise-cheating``.

A paradigm file (TOML, see ``valueint.paradigm.models``) and a count table go in; every
paradigm model is fitted with NUTS and compared by PSIS-LOO and Bayes factors; a folder
of tables and figures comes out:

- ``comparison.csv`` / ``comparison.png``: elpd (one child left out), stacking weights,
  log marginal likelihoods, Bayes factors and posterior model probabilities;
- ``predictions.csv`` / ``proportions.png`` (+ ``.pdf``): observed proportions against
  each model's predicted probability and replicate proportion per condition;
- ``parameters.csv``, ``diagnostics.csv``, ``summary.md`` and ``run.json`` (settings,
  seed, paradigm, data hash and package versions).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueint.cli.common import fail as _fail

console = Console(stderr=True, soft_wrap=True)

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
    models: tuple[str, ...] = ("isr", "no_internalization", "reinforcement", "null_rate")
    chains: int = 4
    draws: int = 2000
    warmup: int = 1000
    target_accept_prob: float = 0.95
    evidence_samples: int = 40_000
    seed: int = 0

    @classmethod
    def quick(cls, **changes) -> ParadigmSettings:
        return dataclasses.replace(
            cls(chains=2, draws=500, warmup=300, evidence_samples=10_000), **changes
        )


@dataclasses.dataclass(frozen=True)
class ParadigmAnalysis:
    fits: dict
    comparison: object  # pandas DataFrame
    predictions: object
    parameters: object
    diagnostics: object
    out: Path


def shipped_dataset_dir() -> Path:
    """``data/zhao2017_praise_cheating`` of a source checkout (not part of a wheel)."""
    return Path(__file__).resolve().parents[2] / "data" / ZHAO2017


def run_paradigm_analysis(
    paradigm_path: str | Path,
    counts_path: str | Path,
    out: str | Path,
    settings: ParadigmSettings = ParadigmSettings(),
    overwrite: bool = False,
    progress: bool = False,
) -> ParadigmAnalysis:
    """Fit every model of ``settings`` to the counts and write the outputs to ``out``."""
    import pandas as pd

    from valueint.paradigm.inference import (
        compare_paradigm,
        fit_diagnostics,
        fit_messages,
        fit_paradigm,
        parameter_table,
        plot_proportions,
        predictive_table,
    )
    from valueint.paradigm.models import get_paradigm_model
    from valueint.paradigm.study import load_counts, load_paradigm
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
                chains=settings.chains,
                draws=settings.draws,
                warmup=settings.warmup,
                seed=settings.seed,
                target_accept_prob=settings.target_accept_prob,
                evidence_samples=settings.evidence_samples,
                progress=False,  # numpyro's bars interleave across chains
            )
        if progress:
            console.print(f"[dim]fitted {name}[/]")
    comparison = compare_paradigm(fits)
    order = list(comparison.index)
    predictions = predictive_table({name: fits[name] for name in order})
    parameters = parameter_table({name: fits[name] for name in order})
    diagnostics = pd.DataFrame(
        [
            {
                "model": name,
                **fit_diagnostics(fits[name]),
                "evidence_pareto_k": float(fits[name].attrs["evidence_pareto_k"]),
                "sampling_time_s": float(fits[name].attrs["sampling_time_s"]),
                "messages": " | ".join(fit_messages(fits[name])),
            }
            for name in order
        ]
    )
    wall = time.perf_counter() - start

    from valueint.trials.comparison import plot_comparison

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
        summary_markdown(
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


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def summary_markdown(
    paradigm, counts, comparison, predictions, parameters, diagnostics, settings
) -> str:
    """A short, generated report; every number comes from the tables of this run."""
    lines = [f"# {paradigm.title or paradigm.name}", ""]
    if paradigm.source:
        lines += [f"Source: {paradigm.source}", ""]
    lines += [
        f"NUTS: {settings.chains} chains x {settings.draws} draws after {settings.warmup} "
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
            f"| {name} | {_fmt(row['elpd'])} | {_fmt(row['se'])} | {_fmt(row['elpd_diff'])} | "
            f"{_fmt(row['dse'])} | {_fmt(row['weight'])} | {_fmt(row['log_ml'])} | "
            f"{_fmt(row['log10_bf'])} | {_fmt(row['posterior_probability'], 3)} |"
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
            f"{_fmt(row['observed'])} [{_fmt(row['observed_lower'])}, "
            f"{_fmt(row['observed_upper'])}] | {_fmt(row['p_mean'])} [{_fmt(row['p_lower'])}, "
            f"{_fmt(row['p_upper'])}] | [{_fmt(row['replicate_lower'])}, "
            f"{_fmt(row['replicate_upper'])}] |"
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
            f"| {row['model']} | {row['parameter']} | {_fmt(row['mean'])} | "
            f"[{_fmt(row['hdi_3%'])}, {_fmt(row['hdi_97%'])}] | {_fmt(row['r_hat'], 3)} |"
        )
    problems = [m for m in diagnostics["messages"] if m]
    lines += ["", "## Diagnostics", ""]
    worst = diagnostics["max_rhat"].max()
    lines.append(
        f"Max R-hat {_fmt(worst, 3)}, min bulk ESS {diagnostics['min_ess_bulk'].min():.0f}, "
        f"{int(diagnostics['divergences'].sum())} divergences over all models."
    )
    lines += [f"- {m}" for m in problems] or ["- no problems flagged"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI


def _settings(quick, models, chains, draws, warmup, seed) -> ParadigmSettings:
    base = ParadigmSettings.quick() if quick else ParadigmSettings()
    changes = {"seed": seed}
    if models:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    for name, value in (("chains", chains), ("draws", draws), ("warmup", warmup)):
        if value is not None:
            changes[name] = value
    return dataclasses.replace(base, **changes)


def _run_and_report(paradigm_path, counts_path, out, settings, overwrite) -> None:
    from rich.table import Table

    from valueint.paradigm.study import ParadigmError

    try:
        result = run_paradigm_analysis(
            paradigm_path, counts_path, out, settings, overwrite=overwrite, progress=True
        )
    except (FileNotFoundError, FileExistsError, ParadigmError, KeyError, ValueError) as err:
        _fail(str(err.args[0]) if isinstance(err, KeyError) else str(err))
    table = Table(title="paradigm models (best first)")
    for column in ("model", "elpd", "se", "dse", "weight", "log10 BF", "P(model)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in result.comparison.iterrows():
        table.add_row(
            str(name),
            _fmt(row["elpd"]),
            _fmt(row["se"]),
            _fmt(row["dse"]),
            _fmt(row["weight"]),
            _fmt(row["log10_bf"]),
            _fmt(row["posterior_probability"], 3),
        )
    Console().print(table)
    for message in (m for m in result.diagnostics["messages"] if m):
        console.print(f"[yellow]warning:[/] {message}")
    console.print(f"wrote {', '.join(OUTPUT_FILES)} to {out}")


QuickOption = Annotated[bool, typer.Option(help="short chains, for a first look")]
ModelsOption = Annotated[
    str | None,
    typer.Option(
        help="comma-separated models (default: isr, no_internalization, reinforcement, null_rate)"
    ),
]
ChainsOption = Annotated[int | None, typer.Option(min=1, help="NUTS chains")]
DrawsOption = Annotated[int | None, typer.Option(min=1, help="draws per chain")]
WarmupOption = Annotated[int | None, typer.Option(min=1, help="warmup steps per chain")]
SeedOption = Annotated[int, typer.Option(min=0, help="random seed")]
OverwriteOption = Annotated[bool, typer.Option(help="replace existing output files")]


def paradigm_command(
    paradigm: Annotated[Path, typer.Argument(help="paradigm TOML file")],
    counts: Annotated[Path, typer.Option(help="CSV of counts per condition")],
    out: Annotated[Path, typer.Option(help="output folder")],
    quick: QuickOption = False,
    models: ModelsOption = None,
    chains: ChainsOption = None,
    draws: DrawsOption = None,
    warmup: WarmupOption = None,
    seed: SeedOption = 0,
    overwrite: OverwriteOption = False,
) -> None:
    """Fit and compare paradigm models (ISR, no internalization, reinforcement, null_rate) on a
    table of counts per condition."""
    settings = _settings(quick, models, chains, draws, warmup, seed)
    _run_and_report(paradigm, counts, out, settings, overwrite)


def praise_cheating_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/praise_cheating"),
    data: Annotated[
        Path | None,
        typer.Option(help=f"folder with paradigm.toml and counts.csv (default: data/{ZHAO2017})"),
    ] = None,
    quick: QuickOption = False,
    models: ModelsOption = None,
    chains: ChainsOption = None,
    draws: DrawsOption = None,
    warmup: WarmupOption = None,
    seed: SeedOption = 0,
    overwrite: OverwriteOption = False,
) -> None:
    """Zhao et al. (2017): does ability praise raise cheating through an internalized value?"""
    folder = data if data is not None else shipped_dataset_dir()
    if not folder.is_dir():
        _fail(f"no data folder at {folder}; pass --data with paradigm.toml and counts.csv")
    settings = _settings(quick, models, chains, draws, warmup, seed)
    _run_and_report(folder / "paradigm.toml", folder / "counts.csv", out, settings, overwrite)


def register(app: typer.Typer) -> None:
    """Add ``paradigm`` and ``praise-cheating`` to the ``valueint analyze`` app."""
    app.command("paradigm")(paradigm_command)
    app.command("praise-cheating")(praise_cheating_command)
