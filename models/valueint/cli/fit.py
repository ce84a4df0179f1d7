"""Command-line fitting: ``valueint fit``, ``compare``, ``recover`` and ``ppc``.

``register(app)`` adds the four commands to a typer app.  Each parses its options and
calls the library (``valueint.fit``, ``valueint.compare``, ``valueint.recover``, ...);
heavy imports wait until a command runs.  Bad input (unknown model, unreadable or
invalid data, existing output without ``--overwrite``) exits with code 2 and a message
that names what was wrong; Ctrl-C exits with code 130 and says what was kept.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueint.cli.common import (
    OptionOption,
    OverwriteOption,
    SeedOption,
    engine_options,
    fail,
    frame_table,
    interruptible,
    model_options,
    print_table,
    refuse_to_overwrite,
    sampler_options,
)
from valueint.cli.registries import DATASET_HELP, MODEL_HELP

console = Console(stderr=True, soft_wrap=True)
# what these commands catch and turn into an error exit: bad data, settings or files
EXPECTED = (ValueError, KeyError, FileNotFoundError, FileExistsError, ConnectionError)
RECOVERY_SAMPLER = {"chains": 2, "warmup": 500, "draws": 500}  # recover's defaults


def _message(err: Exception) -> str:
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def _print_warnings(caught) -> None:
    for item in caught:
        console.print(f"[yellow]warning:[/] {item.message}", markup=True, highlight=False)


def _data_report(data) -> None:
    """The loader's report of a named data set (what it found and handled), dimmed."""
    report = data.attrs.get("report") if hasattr(data, "attrs") else getattr(data, "report", None)
    if report is not None:
        console.print(str(report), style="dim", markup=False)


@sampler_options
def fit_command(
    data: Annotated[str, typer.Argument(help=DATASET_HELP)],
    model: Annotated[str, typer.Option(help=MODEL_HELP)],
    out: Annotated[Path, typer.Option(help="netCDF file for the fit (.nc)")],
    method: Annotated[str, typer.Option(help="nuts (MCMC) or svi (an approximation)")] = "nuts",
    svi_steps: Annotated[int | None, typer.Option(min=1, help="SVI optimisation steps")] = None,
    seed: SeedOption = 0,
    group_covariate: Annotated[
        list[str] | None,
        typer.Option(help="per-subject covariate shifting the group means (e.g. group)"),
    ] = None,
    unpooled: Annotated[
        bool,
        typer.Option("--no-hierarchical", help="fit every subject alone (no population model)"),
    ] = False,
    option: OptionOption = None,
    subjects: Annotated[
        int | None, typer.Option(min=2, help="fit only the first N subjects (quick checks)")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="where a named data set lives (else its environment variable)"),
    ] = None,
    overwrite: OverwriteOption = False,
    *,
    sampler: dict,
) -> None:
    """Fit a model to data (hierarchical Bayes by default) and save the posterior."""
    import valueint
    from valueint.inference.rounds import rounds_reported

    if out.suffix not in (".nc", ".netcdf", ".nc4"):
        fail(f"--out {out}: the fit is written as netCDF; use a .nc file name")
    settings = {"method": method, **sampler} | ({"svi_steps": svi_steps} if svi_steps else {})
    fit_options = {"options": model_options(option) or None, "hierarchical": not unpooled}
    if group_covariate:
        fit_options["group_covariates"] = group_covariate
    refuse_to_overwrite([out], overwrite)
    try:
        loaded = valueint.load_data(data, model=model, subjects=subjects, path=data_dir)
    except EXPECTED as err:
        fail(_message(err))
    _data_report(loaded)
    console.print(f"[bold]{model}[/] ({method}): fitting {data}", highlight=False)
    start = time.perf_counter()
    with (
        warnings.catch_warnings(record=True) as caught,
        interruptible(f"nothing was written to {out}"),
        rounds_reported(lambda line: console.print(line, style="dim", markup=False)),
    ):
        warnings.simplefilter("always", valueint.FitWarning)
        try:
            tree = valueint.fit(loaded, model, seed=seed, progress=True, **settings, **fit_options)
        except (ValueError, KeyError, TypeError) as err:
            fail(_message(err))
    tree.attrs["data_source"] = str(data if not Path(data).exists() else Path(data).resolve())
    valueint.save_fit(tree, out, overwrite=overwrite)
    print_table(frame_table(valueint.summarize(tree), f"{model}: posterior summary", "parameter"))
    _print_warnings(caught)
    console.print(f"wrote {out} in {time.perf_counter() - start:.1f} s", markup=False)


def _load_fits(paths: list[Path]) -> dict:
    import valueint

    fits = {}
    for path in paths:
        try:
            fit = valueint.load_fit(path)
        except (FileNotFoundError, ValueError) as err:
            fail(str(err))
        fits[path.stem if path.stem not in fits else str(path)] = fit
    return fits


@engine_options
def compare_command(
    fits: Annotated[list[Path], typer.Argument(help="two or more fit files (.nc)")],
    out: Annotated[Path | None, typer.Option(help="CSV file for the table")] = None,
    plot: Annotated[Path | None, typer.Option(help="image file for the comparison plot")] = None,
    ic: Annotated[str, typer.Option(help="loo (PSIS-LOO) or waic")] = "loo",
    by: Annotated[str, typer.Option(help="what one left-out point is: trial or subject")] = "trial",
    method: Annotated[
        str, typer.Option(help="psis, or kfold: exact K-fold by subject (refits every model)")
    ] = "psis",
    kfold: Annotated[int, typer.Option(min=2, help="folds for --method kfold")] = 10,
    jobs: Annotated[
        Path | None,
        typer.Option(help="folder for the K-fold refits' results (rerun to resume)"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of the folds and refits")] = 0,
    overwrite: OverwriteOption = False,
    *,
    engine,
) -> None:
    """Rank fits by PSIS-LOO (stacking weights, Pareto k counts, WAIC alongside), or by
    exact K-fold cross-validation by subject (--method kfold --by subject)."""
    import valueint
    from valueint.inference.comparison import ComparisonWarning
    from valueint.inference.figures import plot_comparison
    from valueint.records import write_csv

    if len(fits) < 2:
        fail("compare needs at least two fit files")
    refuse_to_overwrite([p for p in (out, plot) if p is not None], overwrite)
    loaded = _load_fits(fits)
    kfold_options = {}
    if method == "kfold":
        kfold_options = {"k": kfold, "seed": seed, "out": jobs, "engine": engine}
    kept = f"finished refits are kept in {jobs}" if jobs else "nothing was written"
    with warnings.catch_warnings(record=True) as caught, interruptible(kept):
        warnings.simplefilter("always", ComparisonWarning)
        try:
            table = valueint.compare(loaded, ic=ic, by=by, method=method, **kfold_options)
        except (*EXPECTED, RuntimeError) as err:
            fail(_message(err))
    if method == "kfold":
        shown = table[["elpd", "se", "elpd_diff", "dse", "mc_se", "weight", "elpd_psis"]]
        title = f"exact {kfold}-fold comparison by subject (best first)"
    else:
        shown = table[["elpd", "se", "elpd_diff", "dse", "p", "weight", "elpd_waic"]]
        title = f"{ic.upper()} comparison, one {by} left out (best first)"
    shown = shown.assign(k_bad=table["n_pareto_k_bad"])
    digits = {c: 1 for c in ("elpd", "se", "elpd_diff", "dse", "p", "elpd_waic", "elpd_psis")}
    print_table(frame_table(shown, title, "fit", digits | {"weight": 2, "mc_se": 2}))
    _print_warnings(caught)
    if out is not None:
        table.attrs = {}
        write_csv(out, table.reset_index())
        console.print(f"wrote {out}", markup=False)
    if plot is not None:
        plot_comparison(table, plot, overwrite=overwrite)
        console.print(f"wrote {plot}", markup=False)


@sampler_options
def recover_command(
    model: Annotated[str, typer.Argument(help="a registered trial model to simulate and refit")],
    subjects: Annotated[int, typer.Option(min=2, help="simulated subjects")] = 40,
    trials: Annotated[int, typer.Option(min=16, help="trials per subject (x16)")] = 144,
    seed: Annotated[int, typer.Option(min=0, help="first seed")] = 0,
    seeds: Annotated[int, typer.Option(min=1, help="number of simulated data sets")] = 1,
    method: Annotated[str, typer.Option(help="nuts or svi")] = "nuts",
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/recover"),
    overwrite: OverwriteOption = False,
    *,
    sampler: dict,
) -> None:
    """Parameter recovery: simulate known subjects, refit, score truth against estimates
    (by default with 2 chains of 500 warmup steps and 500 draws)."""
    from valueint.workflows.recovery import plot_and_write, recover, recovery_paths

    if trials % 16:
        fail(f"--trials must be a multiple of the block size 16; got {trials}")
    refuse_to_overwrite(recovery_paths(out), overwrite)
    seed_list = list(range(seed, seed + seeds))
    settings = {"method": method, **RECOVERY_SAMPLER, **sampler}
    console.print(
        f"[bold]{model}[/]: {len(seed_list)} data set(s) of {subjects} subjects x {trials} trials",
        highlight=False,
    )
    start = time.perf_counter()
    with interruptible(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = recover(
                model, subjects, seed_list, settings, task={"trials": trials}, progress=True
            )
        except EXPECTED as err:
            fail(_message(err))
    wall = time.perf_counter() - start
    config = {"model": model, "subjects": subjects, "trials": trials, **settings}
    plot_and_write(result, out, config=config, seeds=seed_list, wall_time_s=wall)
    title = (
        f"{model}: recovery ({result.interval:.0%} intervals; pooled coverage "
        f"{result.coverage:.0%})"
    )
    shown = result.summary[["n", "pearson_r", "slope", "rmse", "coverage"]]
    print_table(frame_table(shown, title, "parameter", {"pearson_r": 2, "coverage": 2}))
    _print_warnings([w for w in caught if w.category.__name__ == "FitWarning"])
    console.print(f"wrote {out}/ in {wall:.1f} s", markup=False)


def ppc_command(
    fit: Annotated[Path, typer.Argument(help="a trial fit (.nc) written by valueint fit")],
    out: Annotated[Path | None, typer.Option(help="image file for the check")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Posterior predictive check: observed vs simulated P(choice = 1) per trial in block."""
    from valueint.trials.figures import plot_predictive_check
    from valueint.trials.predictive_check import group_summary, predictive_check

    if out is not None:
        refuse_to_overwrite([out], overwrite)
    tree = next(iter(_load_fits([fit]).values()))
    try:
        check = predictive_check(tree)
    except ValueError as err:
        fail(f"{fit}: {err}")
    title = f"{tree.attrs['model']}: P(choice = 1), observed vs posterior predictive"
    print_table(frame_table(group_summary(check), title, "group / context"))
    if out is not None:
        plot_predictive_check(check, out, title=str(tree.attrs["model"]), overwrite=overwrite)
        console.print(f"wrote {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``fit``, ``compare``, ``recover`` and ``ppc`` to ``app``."""
    app.command("fit")(fit_command)
    app.command("compare")(compare_command)
    app.command("recover")(recover_command)
    app.command("ppc")(ppc_command)
