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
from valueint.analyze.prosocial.settings import COMPARED_MODELS, ProsocialSettings
from valueint.cli.common import (
    HELP_MARKUP,
    SAMPLER_OPTIONS,
    OverwriteOption,
    SeedOption,
    cell,
    fail,
    frame_table,
    given,
    interruptible,
    job_fit_options,
    option,
    option_group,
    print_table,
    refuse_to_overwrite,
    split_list,
)
from valueint.cli.registries import PARADIGM_MODELS_HELP, SAMPLING_MODELS_HELP
from valueint.jobs.driver import JobIncomplete

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Fit and compare models on human data; write figures and tables to --out.",
    rich_markup_mode=HELP_MARKUP,
)
console = Console(stderr=True, soft_wrap=True)


def report(message: str) -> None:
    """A progress line of an analysis, printed as it is (no markup read into it)."""
    console.print(message, markup=False)


# --------------------------------------------------------------------------- prosocial-learning


def prosocial_settings(
    quick: bool, models: str | None, sampler: dict, **overrides
) -> ProsocialSettings:
    """The preset (quick or full) with the options given on the command line."""
    changes = given(overrides)
    if models is not None:
        changes["models"] = split_list(models)
    preset = ProsocialSettings.quick if quick else ProsocialSettings.full
    return preset(sampler, **changes)


def prosocial_comparison_table(comparison, unit: str) -> Table:
    """One unit's PSIS-LOO comparison as a console table, best first."""
    table = Table(title=f"PSIS-LOO, leave one {unit} out (best first)")
    columns = ["model", "elpd", "se", "elpd_diff", "dse", "weight", "n_pareto_k_bad"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = comparison[comparison["unit"] == unit].sort_values("rank")
    for _, row in rows.iterrows():
        table.add_row(*(cell(row[c], 2 if c == "weight" else 1) for c in columns))
    return table


def kfold_console_table(kfold) -> Table:
    """The K-fold comparison as a console table, best first."""
    table = Table(title=f"exact {int(kfold['k'].iloc[0])}-fold by subject (best first)")
    columns = ["model", "elpd", "se", "elpd_diff", "dse", "mc_se", "elpd_psis"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for _, row in kfold.sort_values("rank").iterrows():
        table.add_row(*(cell(row[c], 2 if c == "mc_se" else 1) for c in columns))
    return table


def _initial_value(values: dict) -> dict:
    """The initial-value settings given, and whether the refit at the alternative runs."""
    refit = not values.pop("no_q_init_refit")
    return {"refit": refit, **given(values)}


INITIAL_VALUE_PANEL = "Initial value of the symbols"
# the symbols' value at the start of a block, and the refit that checks it
REFIT_HELP = "refit the best model with this initial value and compare (default 0)"
initial_value_options = option_group(
    "initial_value",
    {
        "q_init": option(
            float | None,
            None,
            INITIAL_VALUE_PANEL,
            min=0.0,
            max=1.0,
            help="both symbols' value at the start of a block (default 0.5)",
        ),
        "q_init_alternative": option(
            float | None, None, INITIAL_VALUE_PANEL, min=0.0, max=1.0, help=REFIT_HELP
        ),
        "no_q_init_refit": option(
            bool,
            False,
            INITIAL_VALUE_PANEL,
            "--no-q-init-refit",
            help="skip the refit at the alternative initial value",
        ),
    },
    _initial_value,
)


PROSOCIAL_HELP = {
    "data": "trials.csv or its folder (default: $VALUEINT_CUTLER2021, else the places "
    "docs/data.md lists)",
    "quick": "10 subjects per group, 2 short chains: a quick check",
    "models": f"comma-separated models (default: {', '.join(COMPARED_MODELS)})",
    "keep": "keep the first N subjects of each group",
    "kfold": "also compare by exact K-fold cross-validation by subject with K folds (K x models "
    "refits on the job engine; resumable from OUT/kfold/)",
}


@app.command("prosocial-learning")
@initial_value_options
@job_fit_options
def prosocial_learning_command(
    out: Annotated[Path, typer.Option(help="folder for the tables, figures and records")],
    data: Annotated[Path | None, typer.Option(help=PROSOCIAL_HELP["data"])] = None,
    quick: Annotated[bool, typer.Option("--quick", help=PROSOCIAL_HELP["quick"])] = False,
    models: Annotated[str | None, typer.Option(help=PROSOCIAL_HELP["models"])] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default 0)")] = None,
    subjects_per_group: Annotated[
        int | None, typer.Option(min=2, help=PROSOCIAL_HELP["keep"])
    ] = None,
    save_fits: Annotated[
        bool, typer.Option("--save-fits", help="also write fits/MODEL.nc")
    ] = False,
    kfold: Annotated[int | None, typer.Option(min=2, help=PROSOCIAL_HELP["kfold"])] = None,
    overwrite: OverwriteOption = False,
    *,
    initial_value: dict,
    sampler: dict,
    engine,
) -> None:
    """Prosocial learning (Cutler et al. 2021): fit, compare and summarise the models."""
    from valueint.analyze.prosocial.run import output_paths, run_prosocial_analysis
    from valueint.errors import DataError

    refit = initial_value.pop("refit")
    try:
        settings = prosocial_settings(
            quick,
            models,
            sampler,
            seed=seed,
            subjects_per_group=subjects_per_group,
            kfold=kfold,
            **initial_value,
        )
        if not refit:
            settings = dataclasses.replace(settings, q_init_alternative=None)
    except ValueError as err:
        fail(str(err))
    paths = output_paths(out, save_fits, settings.models, settings.kfold is not None)
    refuse_to_overwrite(paths.values(), overwrite)
    console.print(
        f"[bold]prosocial learning[/] ({'quick' if quick else 'full'} settings): "
        f"{', '.join(settings.models)}"
    )
    with interruptible(f"the files written so far stay in {out}; K-fold refits resume"):
        try:
            result = run_prosocial_analysis(
                data,
                out,
                settings,
                overwrite=overwrite,
                save_fits=save_fits,
                report=report,
                engine=engine,
            )
        except (DataError, ValueError, FileNotFoundError, ConnectionError, JobIncomplete) as err:
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
                f"{int(row['divergences'])} divergences); see summary.md"
            )
    for message in result.record["comparison_warnings"]:
        console.print(f"[yellow]warning:[/] {escape(message)}")
    console.print(f"wrote {escape(str(out))}/ in {result.record['wall_time_s'] / 60:.1f} min")


# --------------------------------------------------------------------------- paradigm, praise-cheating


def paradigm_settings(values: dict) -> ParadigmSettings:
    """The preset (quick or full) with the options given on the command line."""
    sampler = given({key: values[key] for key in SAMPLER_OPTIONS})
    base = ParadigmSettings.quick() if values["quick"] else ParadigmSettings()
    changes = {"seed": values["seed"]}
    if values["models"]:
        changes["models"] = split_list(values["models"])
    return dataclasses.replace(base, sampler=base.sampler.replace(**sampler), **changes)


def run_paradigm_and_report(paradigm_path, counts_path, out, settings, overwrite) -> None:
    """Run the paradigm analysis; print its comparison and warnings, or fail."""
    from valueint.analyze.paradigm import OUTPUT_FILES, format_number, run_paradigm_analysis

    with interruptible():
        try:
            result = run_paradigm_analysis(
                paradigm_path, counts_path, out, settings, overwrite=overwrite, report=report
            )
        except (FileNotFoundError, FileExistsError, KeyError, ValueError) as err:
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
    print_table(table)
    for message in (m for m in result.diagnostics["messages"] if m):
        console.print(f"[yellow]warning:[/] {escape(message)}")
    console.print(f"wrote {', '.join(OUTPUT_FILES)} to {escape(str(out))}")


QuickOption = Annotated[bool, typer.Option("--quick", help="short chains, for a first look")]
ParadigmModelsOption = Annotated[str | None, typer.Option("--models", help=PARADIGM_MODELS_HELP)]
TrustDataOption = Annotated[
    Path | None,
    typer.Option(help="trials.mat or its folder (default: the places docs/data.md lists)"),
]
SamplingModelsOption = Annotated[str | None, typer.Option("--models", help=SAMPLING_MODELS_HELP)]


# the options of the paradigm commands: ``settings`` is the ParadigmSettings they make
paradigm_options = option_group(
    "settings",
    {
        "quick": (QuickOption, False),
        "models": (ParadigmModelsOption, None),
        "seed": (SeedOption, 0),
        **SAMPLER_OPTIONS,
    },
    paradigm_settings,
)


@app.command("paradigm")
@paradigm_options
def paradigm_command(
    paradigm: Annotated[Path, typer.Argument(help="paradigm TOML file")],
    counts: Annotated[Path, typer.Option(help="CSV of counts per condition")],
    out: Annotated[Path, typer.Option(help="output folder")],
    overwrite: OverwriteOption = False,
    *,
    settings: ParadigmSettings,
) -> None:
    """Fit and compare paradigm models (ISR, no internalization, reinforcement, null_rate) on a
    table of counts per condition."""
    run_paradigm_and_report(paradigm, counts, out, settings, overwrite)


@app.command("praise-cheating")
@paradigm_options
def praise_cheating_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/praise_cheating"),
    data: Annotated[
        Path | None,
        typer.Option(help=f"folder with paradigm.toml and counts.csv (default: data/{ZHAO2017})"),
    ] = None,
    overwrite: OverwriteOption = False,
    *,
    settings: ParadigmSettings,
) -> None:
    """Zhao et al. (2017): does ability praise raise cheating through an internalized value?"""
    folder = data if data is not None else shipped_dataset_dir()
    if not folder.is_dir():
        fail(f"no data folder at {folder}; pass --data with paradigm.toml and counts.csv")
    run_paradigm_and_report(
        folder / "paradigm.toml", folder / "counts.csv", out, settings, overwrite
    )


# --------------------------------------------------------------------------- trust-sampling


SHARE = {"min": 0.0, "max": 1.0}  # an option that is a share
TRUST_HELP = {
    "kfold": "K-fold folds by participant (0: none)",
    "keep": "keep this many participants, spread over the ages",
    "agree": "set aside participants whose trust follows the tiles' majority on fewer than "
    "this share of trials (0: keep everyone; default 2/3)",
    "fits": "the fits/ folder of a trust-sampling analysis: recovery draws from its populations",
    "replications": "SBC replications per model (0: none)",
    "sbc": "skip parameter recovery (SBC only)",
}


@app.command("trust-sampling")
@job_fit_options
def trust_sampling_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/trust_sampling"),
    data: TrustDataOption = None,
    quick: QuickOption = False,
    models: SamplingModelsOption = None,
    kfold: Annotated[int | None, typer.Option(min=0, help=TRUST_HELP["kfold"])] = None,
    subjects: Annotated[int | None, typer.Option(min=2, help=TRUST_HELP["keep"])] = None,
    min_agreement: Annotated[float | None, typer.Option(**SHARE, help=TRUST_HELP["agree"])] = None,
    seed: SeedOption = 0,
    overwrite: OverwriteOption = False,
    *,
    sampler: dict,
    engine,
) -> None:
    """Ma et al. (2022), ages 10-24: how beliefs about a peer form from sampled evidence,
    and how the prior, its uncertainty and the stopping rule change with age."""
    from valueint.analyze.trust_sampling.run import run_trust_sampling_analysis
    from valueint.analyze.trust_sampling.settings import TrustSamplingSettings

    changes = {"kfold": kfold, "subjects": subjects, "models": split_list(models)}
    changes = given(changes)
    if min_agreement is not None:
        changes["min_agreement"] = min_agreement or None
    try:
        if quick:
            settings = TrustSamplingSettings.quick(sampler, seed=seed, **changes)
        else:
            base = TrustSamplingSettings().sampler.replace(**sampler)
            settings = TrustSamplingSettings(sampler=base, seed=seed, **changes)
    except (ValueError, TypeError) as err:
        fail(str(err))
    with interruptible(f"finished fits and folds in {out} are reused by a rerun"):
        try:
            result = run_trust_sampling_analysis(
                data, out, settings, overwrite=overwrite, report=report, engine=engine
            )
        except (FileNotFoundError, FileExistsError, ValueError, JobIncomplete) as err:
            fail(str(err))
    comparison = result["comparison.csv"]
    columns = [c for c in ("elpd_diff_loo_trial", "elpd_diff_kfold_subject") if c in comparison]
    shown = comparison.set_index("model")[columns]
    title = f"trust sampling: best model {result['best']}"
    print_table(frame_table(shown, title, "model", dict.fromkeys(columns, 1)))
    console.print(f"wrote {escape(str(out))}")


@app.command("trust-sampling-calibration")
@job_fit_options
def trust_sampling_calibration_command(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/trust_calibration"),
    data: TrustDataOption = None,
    fits: Annotated[Path | None, typer.Option(help=TRUST_HELP["fits"])] = None,
    models: SamplingModelsOption = None,
    seed: SeedOption = 0,
    replications: Annotated[int, typer.Option(min=0, help=TRUST_HELP["replications"])] = 0,
    subjects: Annotated[int, typer.Option(min=2, help="participants per SBC replication")] = 30,
    no_recovery: Annotated[bool, typer.Option("--no-recovery", help=TRUST_HELP["sbc"])] = False,
    overwrite: OverwriteOption = False,
    *,
    sampler: dict,
    engine,
) -> None:
    """Parameter recovery and SBC of the trust-sampling models at the real design."""
    import valueint
    from valueint.analyze.trust_sampling.calibration import (
        SAMPLER,
        CalibrationSettings,
        run_calibration,
    )

    changes = {"models": split_list(models)} if models is not None else {}
    counts = {"replications": replications, "subjects": subjects, "recovery": not no_recovery}
    settings = CalibrationSettings(
        sampler=SAMPLER.replace(**sampler), seed=seed, **counts, **changes
    )
    loaded = {}
    if fits is not None:
        for model in settings.models:
            path = fits / f"{model}.nc"
            if path.exists():
                loaded[model] = valueint.load_fit(path)
    with interruptible(f"finished fits are kept in {out}; run again to resume"):
        try:
            run_calibration(
                data, out, settings, fits=loaded, overwrite=overwrite, report=report, engine=engine
            )
        except (FileNotFoundError, FileExistsError, ValueError, JobIncomplete) as err:
            fail(str(err))
    console.print(f"wrote {escape(str(out))}")
