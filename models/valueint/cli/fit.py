"""Command-line fitting: ``valueint fit``, ``compare``, ``recover`` and ``ppc``.

``register(app)`` adds the four commands to a typer app.  Heavy imports wait until a
command runs, so ``valueint --help`` stays fast.  Bad input (unknown model, unreadable
or invalid data, existing output without ``--overwrite``) exits with code 2 and a
message that names what was wrong.
"""

from __future__ import annotations

import io
import json
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from valueint.cli.common import AddressOption, WorkersOption
from valueint.cli.common import fail as _fail

console = Console(stderr=True, soft_wrap=True)
DATASETS = ("cutler2021",)


def _float64() -> None:
    import numpyro

    numpyro.enable_x64()


def _spec(model: str):
    from valueint.trials.fit_data import resolve_spec

    try:
        return resolve_spec(model)
    except KeyError as err:
        _fail(str(err.args[0]))


def _load_data(data: str, spec, data_dir: Path | None):
    """A validated trial frame from a file or a named data set."""
    from valueint.trials.contract import TrialDataError, load_trials

    try:
        if data in DATASETS:
            from valueint.datasets import DatasetNotice
            from valueint.trials.datasets import load_cutler2021

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DatasetNotice)  # its report is printed below
                frame = load_cutler2021(data_dir)
            console.print(f"[dim]{frame.attrs['report']}[/]")
            return frame
        path = Path(data)
        if not path.exists():
            _fail(
                f"no data file {path}; give a CSV or Parquet file of trials, "
                f"or one of the named data sets: {', '.join(DATASETS)}"
            )
        return load_trials(path, spec)
    except (TrialDataError, FileNotFoundError, ValueError) as err:
        _fail(str(err))


def _print_warnings(caught) -> None:
    for item in caught:
        console.print(f"[yellow]warning:[/] {item.message}")


def _summary_table(fit, title: str, max_rows: int = 40) -> None:
    from valueint.trials.fit_files import summarize

    frame = summarize(fit)
    table = Table(title=title)
    table.add_column("parameter")
    for column in frame.columns:
        table.add_column(column, justify="right")
    for name, row in frame.head(max_rows).iterrows():
        table.add_row(str(name), *(_cell(value) for value in row))
    Console().print(table)
    if len(frame) > max_rows:
        console.print(
            f"[dim]... {len(frame) - max_rows} more rows (see valueint.trials.fit_files.summarize)[/]"
        )


def _cell(value) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def _frame_table(frame, title: str, index_name: str) -> Table:
    table = Table(title=title)
    table.add_column(index_name)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for name, row in frame.iterrows():
        table.add_row(str(name), *(_cell(value) for value in row))
    return table


def fit_command(
    data: Annotated[
        str,
        typer.Argument(help="CSV/Parquet file of trials, or a named data set: cutler2021"),
    ],
    model: Annotated[str, typer.Option(help="registered model, e.g. rw_recipient")],
    out: Annotated[Path, typer.Option(help="netCDF file for the fit (arviz DataTree)")],
    method: Annotated[str, typer.Option(help="nuts (MCMC) or svi (fast approximation)")] = "nuts",
    chains: Annotated[int, typer.Option(min=1, help="NUTS chains")] = 4,
    draws: Annotated[int, typer.Option(min=1, help="draws per chain (SVI: guide draws)")] = 1000,
    warmup: Annotated[int, typer.Option(min=1, help="NUTS warmup steps per chain")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="random seed")] = 0,
    group_covariate: Annotated[
        list[str] | None,
        typer.Option(help="per-subject covariate shifting the group means (e.g. group)"),
    ] = None,
    hierarchical: Annotated[
        bool, typer.Option(help="pool subjects in a population model (else: no pooling)")
    ] = True,
    target_accept: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="NUTS target acceptance probability")
    ] = 0.8,
    svi_steps: Annotated[int, typer.Option(min=1, help="SVI optimisation steps")] = 5000,
    subjects: Annotated[
        int | None, typer.Option(min=2, help="fit only the first N subjects (quick checks)")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="where a named data set lives (else $VALUEINT_CUTLER2021 / $VALUEINT_DATA_DIR)"
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output file")] = False,
) -> None:
    """Fit a model to trial data (hierarchical Bayes by default) and save the posterior."""
    from valueint.records import check_output_paths

    _float64()
    spec = _spec(model)
    if method not in ("nuts", "svi"):
        _fail(f"--method must be nuts or svi; got {method!r}")
    if out.suffix not in (".nc", ".netcdf", ".nc4"):
        _fail(f"--out {out}: the fit is written as netCDF; use a .nc file name")
    try:
        check_output_paths([out], overwrite)
    except FileExistsError as err:
        _fail(str(err))
    frame = _load_data(data, spec, data_dir)

    from valueint.trials.fit import FitWarning, fit
    from valueint.trials.fit_data import as_fit_data
    from valueint.trials.fit_files import save_fit

    try:
        fit_data = as_fit_data(frame, spec)
        if subjects is not None:
            fit_data = _first_subjects(fit_data, subjects)
    except ValueError as err:
        _fail(f"{data}: {err}")
    arrays = fit_data.arrays
    console.print(
        f"[bold]{spec.name}[/] ({method}, {'hierarchical' if hierarchical else 'no pooling'}): "
        f"{fit_data.n_subjects} subjects, {int(arrays.mask.sum())} observed trials"
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        try:
            idata = fit(
                fit_data,
                spec,
                hierarchical=hierarchical,
                group_covariates=group_covariate or None,
                method=method,
                chains=chains,
                draws=draws,
                warmup=warmup,
                seed=seed,
                progress=True,
                target_accept_prob=target_accept,
                svi_steps=svi_steps,
            )
        except ValueError as err:
            _fail(str(err))
    idata.attrs["data_source"] = data if data in DATASETS else str(Path(data).resolve())
    save_fit(idata, out, overwrite=overwrite)
    _summary_table(idata, f"{spec.name}: posterior summary ({method})")
    _print_warnings(caught)
    console.print(f"wrote {out} in {time.perf_counter() - start:.1f} s")


def _first_subjects(fit_data, n: int):
    from valueint.trials.fit_data import Covariate, FitData
    from valueint.trials.specs import TrialArrays

    arrays = TrialArrays(
        **{
            name: getattr(fit_data.arrays, name)[:n]
            for name in fit_data.arrays.__dataclass_fields__
        }
    )
    covariates = tuple(Covariate(c.name, c.codes[:n], c.labels) for c in fit_data.covariates)
    return FitData(arrays, fit_data.subject_ids[:n], covariates, fit_data.context_labels)


def _load_fits(paths: list[Path]) -> dict:
    from valueint.trials.fit_files import load_fit

    fits = {}
    for path in paths:
        try:
            idata = load_fit(path)
        except (FileNotFoundError, ValueError) as err:
            _fail(str(err))
        name = path.stem
        if name in fits:
            name = str(path)
        fits[name] = idata
    return fits


def compare_command(
    fits: Annotated[list[Path], typer.Argument(help="two or more fit files (.nc)")],
    out: Annotated[Path | None, typer.Option(help="CSV file for the table")] = None,
    plot: Annotated[Path | None, typer.Option(help="image file for the comparison plot")] = None,
    ic: Annotated[str, typer.Option(help="loo (PSIS-LOO) or waic")] = "loo",
    by: Annotated[str, typer.Option(help="what one left-out point is: trial or subject")] = "trial",
    method: Annotated[
        str, typer.Option(help="psis, or kfold: exact K-fold by subject (refits every model)")
    ] = "psis",
    k: Annotated[int, typer.Option(min=2, help="folds for --method kfold")] = 10,
    jobs: Annotated[
        Path | None,
        typer.Option(help="folder for the K-fold refits' results (rerun to resume)"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of the folds and refits")] = 0,
    address: AddressOption = None,
    workers: WorkersOption = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
) -> None:
    """Rank fits by PSIS-LOO (stacking weights, Pareto k counts, WAIC alongside), or by
    exact K-fold cross-validation by subject (--method kfold --by subject)."""
    from valueint.inference.comparison import ComparisonWarning, compare
    from valueint.records import atomic_write, check_output_paths
    from valueint.trials.figures import plot_comparison

    if len(fits) < 2:
        _fail("compare needs at least two fit files")
    try:
        check_output_paths([p for p in (out, plot) if p is not None], overwrite)
    except FileExistsError as err:
        _fail(str(err))
    loaded = _load_fits(fits)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ComparisonWarning)
        try:
            if method == "kfold":
                table = compare(
                    loaded,
                    by=by,
                    method="kfold",
                    k=k,
                    seed=seed,
                    out=jobs,
                    address=address,
                    workers=workers,
                )
            else:
                table = compare(loaded, ic=ic, by=by, method=method)
        except (ValueError, RuntimeError, ConnectionError) as err:
            _fail(str(err))
    if method == "kfold":
        shown = table[["rank", "elpd", "se", "elpd_diff", "dse", "mc_se", "weight", "elpd_psis"]]
        title = f"exact {k}-fold comparison by subject (best first)"
    else:
        shown = table[["rank", "elpd", "se", "elpd_diff", "dse", "p", "weight", "elpd_waic"]]
        title = f"{ic.upper()} comparison (leave one {by} out; best first)"
    shown = shown.assign(k_bad=table["n_pareto_k_bad"])
    Console().print(_frame_table(shown, title, "fit"))
    _print_warnings(caught)
    if out is not None:
        buffer = io.StringIO()
        table.attrs = {}
        table.to_csv(buffer)
        atomic_write(out, buffer.getvalue())
        console.print(f"wrote {out}")
    if plot is not None:
        plot_comparison(table, plot, overwrite=overwrite)
        console.print(f"wrote {plot}")


def recover_command(
    model: Annotated[str, typer.Argument(help="registered model to simulate and refit")],
    subjects: Annotated[int, typer.Option(min=2, help="simulated subjects")] = 40,
    trials: Annotated[int, typer.Option(min=16, help="trials per subject (x16)")] = 144,
    seed: Annotated[int, typer.Option(min=0, help="first seed")] = 0,
    seeds: Annotated[int, typer.Option(min=1, help="number of simulated data sets")] = 1,
    method: Annotated[str, typer.Option(help="nuts or svi")] = "nuts",
    chains: Annotated[int, typer.Option(min=1)] = 2,
    draws: Annotated[int, typer.Option(min=1)] = 500,
    warmup: Annotated[int, typer.Option(min=1)] = 500,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/recover"),
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
) -> None:
    """Parameter recovery: simulate known subjects, refit, score truth against estimates."""
    from valueint.records import atomic_write, check_output_paths, run_record, write_json
    from valueint.trials.figures import plot_recovery
    from valueint.trials.recovery import recover

    _float64()
    spec = _spec(model)
    if trials % 16:
        _fail(f"--trials must be a multiple of the block size 16; got {trials}")
    targets = [out / "estimates.csv", out / "summary.csv", out / "recovery.png", out / "run.json"]
    try:
        check_output_paths(targets, overwrite)
    except FileExistsError as err:
        _fail(str(err))
    seed_list = list(range(seed, seed + seeds))
    console.print(
        f"[bold]{spec.name}[/]: {len(seed_list)} data set(s) of {subjects} subjects x {trials} trials"
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = recover(
            spec,
            subjects,
            trials,
            seed_list,
            method=method,
            chains=chains,
            draws=draws,
            warmup=warmup,
            progress=True,
        )
    wall = time.perf_counter() - start
    for path, frame in ((targets[0], result.estimates), (targets[1], result.summary)):
        buffer = io.StringIO()
        frame.to_csv(buffer, index=path == targets[1])
        atomic_write(path, buffer.getvalue())
    plot_recovery(result, targets[2], overwrite=True)
    record = run_record(
        command="recover",
        config={
            "model": spec.name,
            "subjects": subjects,
            "trials": trials,
            "method": method,
            "chains": chains,
            "draws": draws,
            "warmup": warmup,
        },
        seeds=seed_list,
        wall_time_s=wall,
        coverage=result.coverage,
        summary=json.loads(result.summary.to_json(orient="index")),
    )
    write_json(targets[3], record)
    Console().print(
        _frame_table(
            result.summary,
            f"{spec.name}: recovery ({result.interval:.0%} intervals; pooled coverage "
            f"{result.coverage:.0%})",
            "parameter",
        )
    )
    _print_warnings([w for w in caught if w.category.__name__ == "FitWarning"])
    console.print(f"wrote {out}/ in {wall:.1f} s")


def ppc_command(
    fit: Annotated[Path, typer.Argument(help="fit file (.nc) written by valueint fit")],
    out: Annotated[Path | None, typer.Option(help="image file for the check")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output file")] = False,
) -> None:
    """Posterior predictive check: observed vs simulated P(choice = 1) per trial in block."""
    from valueint.records import check_output_paths
    from valueint.trials.figures import plot_predictive_check
    from valueint.trials.predictive_check import predictive_check

    if out is not None:
        try:
            check_output_paths([out], overwrite)
        except FileExistsError as err:
            _fail(str(err))
    idata = next(iter(_load_fits([fit]).values()))
    try:
        check = predictive_check(idata)
    except ValueError as err:
        _fail(f"{fit}: {err}")
    summary = check.groupby(["group", "context"], observed=True).agg(
        observed=("observed", "mean"), predicted=("predicted", "mean")
    )
    summary.index = [f"{g} / {c}" for g, c in summary.index]
    Console().print(
        _frame_table(
            summary,
            f"{idata.attrs['model']}: P(choice = 1), observed vs posterior predictive",
            "group / context",
        )
    )
    if out is not None:
        plot_predictive_check(check, out, title=str(idata.attrs["model"]), overwrite=overwrite)
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``fit``, ``compare``, ``recover`` and ``ppc`` to ``app``."""
    app.command("fit")(fit_command)
    app.command("compare")(compare_command)
    app.command("recover")(recover_command)
    app.command("ppc")(ppc_command)
