"""``valueint analyze``: analyses of human data sets, each writing figures and tables to
a folder the user chooses.

The analyses themselves live in ``valueint.analyze`` and raise ordinary errors; the
commands here parse the options, check them, print progress and turn those errors into
an error exit (``fail``, exit code 2).  Heavy imports wait until a command runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# the settings modules are light; the analyses (pandas, JAX) load when a command runs
from valueint.analyze.paradigm import ZHAO2017, ParadigmSettings, shipped_dataset_dir
from valueint.analyze.prosocial_settings import MODELS, ProsocialSettings
from valueint.cli.common import AddressOption, WorkersOption, fail

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Fit and compare models on human data; write figures and tables to --out.",
)
console = Console(stderr=True, soft_wrap=True)


def report(message: str) -> None:
    """A progress line of an analysis, printed as it is (no markup read into it)."""
    console.print(message, markup=False)


# --------------------------------------------------------------------------- prosocial-learning


def prosocial_settings(quick: bool, models: str | None, **overrides) -> ProsocialSettings:
    """The preset (quick or full) with the options given on the command line."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    if models is not None:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    preset = ProsocialSettings.quick if quick else ProsocialSettings.full
    return preset(**changes)


def prosocial_comparison_table(comparison, unit: str) -> Table:
    """One unit's PSIS-LOO comparison as a console table, best first."""
    from valueint.analyze.prosocial_report import format_cell

    table = Table(title=f"PSIS-LOO, leave one {unit} out (best first)")
    columns = ["model", "elpd", "se", "elpd_diff", "dse", "weight", "n_pareto_k_bad"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = comparison[comparison["unit"] == unit].sort_values("rank")
    for _, row in rows.iterrows():
        table.add_row(*(format_cell(row[c], 2 if c == "weight" else 1) for c in columns))
    return table


def kfold_console_table(kfold) -> Table:
    """The K-fold comparison as a console table, best first."""
    from valueint.analyze.prosocial_report import format_cell

    table = Table(title=f"exact {int(kfold['k'].iloc[0])}-fold by subject (best first)")
    columns = ["model", "elpd", "se", "elpd_diff", "dse", "mc_se", "elpd_psis"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for _, row in kfold.sort_values("rank").iterrows():
        table.add_row(*(format_cell(row[c], 2 if c == "mc_se" else 1) for c in columns))
    return table


@app.command("prosocial-learning")
def prosocial_learning_command(
    out: Annotated[Path, typer.Option(help="folder for the tables, figures and records")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="the trial file (trials.csv) or its folder; default: $VALUEINT_CUTLER2021, "
            "$VALUEINT_DATA_DIR/prosocial_learning_cutler2021, or the shared data folder "
            "beside the repository"
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="10 subjects per group, 2 short chains: a quick check")
    ] = False,
    models: Annotated[
        str | None, typer.Option(help=f"comma-separated models (default: {','.join(MODELS)})")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default 0)")] = None,
    chains: Annotated[int | None, typer.Option(min=1, help="NUTS chains")] = None,
    draws: Annotated[int | None, typer.Option(min=1, help="draws per chain")] = None,
    warmup: Annotated[int | None, typer.Option(min=1, help="warmup steps per chain")] = None,
    target_accept: Annotated[
        float | None, typer.Option(min=0.5, max=0.999, help="NUTS target acceptance")
    ] = None,
    subjects_per_group: Annotated[
        int | None, typer.Option(min=2, help="keep the first N subjects of each group")
    ] = None,
    q_init: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="value of both symbols at the start of a block (default 0.5)"
        ),
    ] = None,
    q_init_alternative: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="refit the best model with this initial value and compare (default 0)",
        ),
    ] = None,
    no_q_init_comparison: Annotated[
        bool, typer.Option(help="skip the refit at the alternative initial value")
    ] = False,
    save_fits: Annotated[bool, typer.Option(help="also write fits/<model>.nc")] = False,
    kfold: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="also compare by exact K-fold cross-validation by subject with K folds "
            "(K x models refits on the job engine; resumable from OUT/kfold/)",
        ),
    ] = None,
    address: AddressOption = None,
    workers: WorkersOption = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
) -> None:
    """Prosocial learning (Cutler et al. 2021): fit, compare and summarise the models."""
    from valueint.analyze.prosocial import output_paths, run_prosocial_analysis
    from valueint.records import check_output_paths
    from valueint.trials.contract import TrialDataError
    from valueint.trials.datasets import resolve_cutler2021

    try:
        settings = prosocial_settings(
            quick,
            models,
            seed=seed,
            chains=chains,
            draws=draws,
            warmup=warmup,
            target_accept_prob=target_accept,
            subjects_per_group=subjects_per_group,
            q_init=q_init,
            q_init_alternative=q_init_alternative,
            kfold=kfold,
        )
        if no_q_init_comparison:
            settings = dataclasses.replace(settings, q_init_alternative=None)
    except ValueError as err:
        fail(str(err))
    try:
        paths = output_paths(out, save_fits, settings.models, settings.kfold is not None)
        check_output_paths(paths.values(), overwrite)
    except FileExistsError as err:
        fail(str(err))
    try:
        data_file = resolve_cutler2021(data)
    except FileNotFoundError as err:
        fail(str(err))
    console.print(
        f"[bold]prosocial learning[/] ({'quick' if quick else 'full'} settings): "
        f"{', '.join(settings.models)}"
    )
    try:
        result = run_prosocial_analysis(
            data_file,
            out,
            settings,
            overwrite=overwrite,
            save_fits=save_fits,
            report=report,
            progress=True,
            address=address,
            workers=workers,
        )
    except (TrialDataError, ValueError, ConnectionError) as err:
        fail(str(err))
    result_console = Console()
    for unit in ("trial", "subject"):
        result_console.print(prosocial_comparison_table(result.comparison, unit))
    if settings.kfold is not None:
        result_console.print(kfold_console_table(result.kfold))
    console.print(f"best model (leave one trial out): [bold]{result.best_model}[/]")
    for _, row in result.diagnostics.iterrows():
        if not row["converged"]:
            console.print(
                f"[bold red]warning:[/] {row['model']} did not converge (max R-hat "
                f"{row['max_rhat']:.3f}, min bulk ESS {row['min_ess_bulk']:.0f}, "
                f"{int(row['n_divergent'])} divergences); see summary.md"
            )
    for message in result.record["comparison_warnings"]:
        console.print(f"[yellow]warning:[/] {escape(message)}")
    console.print(f"wrote {escape(str(out))}/ in {result.record['wall_time_s'] / 60:.1f} min")


# --------------------------------------------------------------------------- paradigm, praise-cheating


def paradigm_settings(quick, models, chains, draws, warmup, seed) -> ParadigmSettings:
    """The preset (quick or full) with the options given on the command line."""
    base = ParadigmSettings.quick() if quick else ParadigmSettings()
    changes = {"seed": seed}
    if models:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    for name, value in (("chains", chains), ("draws", draws), ("warmup", warmup)):
        if value is not None:
            changes[name] = value
    return dataclasses.replace(base, **changes)


def run_paradigm_and_report(paradigm_path, counts_path, out, settings, overwrite) -> None:
    """Run the paradigm analysis; print its comparison and warnings, or fail."""
    from valueint.analyze.paradigm import OUTPUT_FILES, format_number, run_paradigm_analysis
    from valueint.paradigm.conditions import ParadigmError

    try:
        result = run_paradigm_analysis(
            paradigm_path, counts_path, out, settings, overwrite=overwrite, report=report
        )
    except (FileNotFoundError, FileExistsError, ParadigmError, KeyError, ValueError) as err:
        fail(str(err.args[0]) if isinstance(err, KeyError) else str(err))
    table = Table(title="paradigm models (best first)")
    for column in ("model", "elpd", "se", "dse", "weight", "log10 BF", "P(model)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in result.comparison.iterrows():
        table.add_row(
            str(name),
            format_number(row["elpd"]),
            format_number(row["se"]),
            format_number(row["dse"]),
            format_number(row["weight"]),
            format_number(row["log10_bf"]),
            format_number(row["posterior_probability"], 3),
        )
    Console().print(table)
    for message in (m for m in result.diagnostics["messages"] if m):
        console.print(f"[yellow]warning:[/] {escape(message)}")
    console.print(f"wrote {', '.join(OUTPUT_FILES)} to {escape(str(out))}")


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


@app.command("paradigm")
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
    settings = paradigm_settings(quick, models, chains, draws, warmup, seed)
    run_paradigm_and_report(paradigm, counts, out, settings, overwrite)


@app.command("praise-cheating")
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
        fail(f"no data folder at {folder}; pass --data with paradigm.toml and counts.csv")
    settings = paradigm_settings(quick, models, chains, draws, warmup, seed)
    run_paradigm_and_report(
        folder / "paradigm.toml", folder / "counts.csv", out, settings, overwrite
    )


# --------------------------------------------------------------------------- trust-sampling


@app.command("trust-sampling")
def trust_sampling_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/trust_sampling"),
    data: Annotated[
        Path | None,
        typer.Option(
            help="trials.mat of trust_sampling_ma2022 or its folder (default: "
            "$VALUEINT_TRUST_SAMPLING_MA2022, $VALUEINT_DATA_DIR/trust_sampling_ma2022, or the "
            "shared data folder beside the repository)"
        ),
    ] = None,
    quick: QuickOption = False,
    models: ModelsOption = None,
    chains: ChainsOption = None,
    draws: DrawsOption = None,
    warmup: WarmupOption = None,
    k: Annotated[
        int | None, typer.Option(min=0, help="K-fold folds by participant (0: none)")
    ] = None,
    subjects: Annotated[
        int | None, typer.Option(min=2, help="keep this many participants, spread over the ages")
    ] = None,
    min_agreement: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="set aside participants whose trust follows the tiles' majority on fewer "
            "than this share of trials (0: keep everyone; default 2/3)",
        ),
    ] = None,
    seed: SeedOption = 0,
    workers: WorkersOption = None,
    address: AddressOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Ma et al. (2022), ages 10-24: how beliefs about a peer form from sampled evidence,
    and how the prior, its uncertainty and the stopping rule change with age."""
    from valueint.analyze.trust_sampling import (
        QUICK,
        TrustSamplingSettings,
        run_trust_sampling_analysis,
    )

    changes = dict(QUICK) if quick else {}
    given = {"chains": chains, "draws": draws, "warmup": warmup, "k": k, "subjects": subjects}
    if min_agreement is not None:
        given["min_agreement"] = min_agreement or None
    changes.update({name: value for name, value in given.items() if value is not None})
    if models is not None:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    settings = TrustSamplingSettings(seed=seed, workers=workers, address=address, **changes)
    try:
        result = run_trust_sampling_analysis(
            data, out, settings, overwrite=overwrite, report=report, progress=True
        )
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError) as err:
        fail(str(err))
    table = Table(title=f"trust sampling: best model {result['best']}")
    for column in ("model", "elpd_diff_loo_trial", "elpd_diff_kfold_subject"):
        if column in result["comparison.csv"]:
            table.add_column(column)
    for row in result["comparison.csv"].itertuples():
        cells = [row.model, f"{row.elpd_diff_loo_trial:.1f}"]
        if "elpd_diff_kfold_subject" in result["comparison.csv"]:
            cells.append(f"{row.elpd_diff_kfold_subject:.1f}")
        table.add_row(*cells)
    console.print(table)
    console.print(f"wrote {escape(str(out))}")


@app.command("trust-sampling-calibration")
def trust_sampling_calibration_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path(
        "runs/trust_sampling_calibration"
    ),
    data: Annotated[
        Path | None, typer.Option(help="trials.mat of trust_sampling_ma2022 or its folder")
    ] = None,
    fits: Annotated[
        Path | None,
        typer.Option(
            help="the fits/ folder of a trust-sampling analysis: recovery draws from its populations"
        ),
    ] = None,
    models: ModelsOption = None,
    replications: Annotated[
        int, typer.Option(min=0, help="SBC replications per model (0: none)")
    ] = 0,
    subjects: Annotated[int, typer.Option(min=2, help="participants per SBC replication")] = 30,
    recovery: Annotated[
        bool, typer.Option(help="run parameter recovery at the real design")
    ] = True,
    chains: ChainsOption = None,
    draws: DrawsOption = None,
    warmup: WarmupOption = None,
    seed: SeedOption = 0,
    workers: WorkersOption = None,
    address: AddressOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Parameter recovery and SBC of the trust-sampling models at the real design."""
    import xarray as xr

    from valueint.analyze.trust_sampling_calibration import CalibrationSettings, run_calibration

    changes = {
        k: v
        for k, v in {"chains": chains, "draws": draws, "warmup": warmup}.items()
        if v is not None
    }
    if models is not None:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    settings = CalibrationSettings(
        replications=replications,
        subjects=subjects,
        recovery=recovery,
        seed=seed,
        workers=workers,
        address=address,
        **changes,
    )
    loaded = {}
    if fits is not None:
        for model in settings.models:
            path = fits / f"{model}.nc"
            if path.exists():
                loaded[model] = xr.open_datatree(path).load()
    try:
        run_calibration(
            data, out, settings, fits=loaded, overwrite=overwrite, report=report, progress=True
        )
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError) as err:
        fail(str(err))
    console.print(f"wrote {escape(str(out))}")
