"""``valueint calibrate MODEL``: simulation-based calibration on the distributed engine.

Replications run as tasks of ``valueint.jobs``: on local worker processes unless
``--address`` (or ``VALUEINT_DASK_ADDRESS``) names a Dask scheduler.  Each finished
replication is written to ``OUT`` at once; run the same command again to resume.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from valueint.calibration.designs import PARADIGM_DESIGN, RANK_DRAWS, REPLICATIONS, TRIAL_DESIGN
from valueint.cli.common import AddressOption, ProgressOption, WorkersOption, fail

console = Console(stderr=True, soft_wrap=True)


def _paradigm_dict(path: Path | None) -> dict:
    from valueint.analyze.paradigm import shipped_dataset_dir

    path = path or shipped_dataset_dir() / "paradigm.toml"
    if not path.exists():
        fail(f"no paradigm file at {path}; pass --paradigm with a paradigm TOML file")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        fail(f"{path}: not valid TOML ({err})")
    from valueint.paradigm.conditions import ParadigmError, paradigm_from_dict

    try:
        paradigm_from_dict(raw, str(path))
    except ParadigmError as err:
        fail(str(err))
    return raw


def _print_summary(summary, title: str) -> None:
    table = Table(title=title)
    for column in ("level", "model", "quantity", "n", "band", "POT-C p"):
        table.add_column(column)
    for row in summary.itertuples():
        band = "[green]inside[/]" if row.passes else "[red]leaves[/]"
        table.add_row(row.level, row.model, row.quantity, str(row.n), band, f"{row.p_value:.3f}")
    console.print(table)


def calibrate(
    model: Annotated[
        str, typer.Argument(help="a trial-level or paradigm model, or 'all' for every shipped one")
    ],
    out: Annotated[Path, typer.Option(help="job folder (resumed when it exists)")] = Path(
        "runs/calibration"
    ),
    level: Annotated[
        str | None, typer.Option(help="trial or paradigm (needed for names known to both)")
    ] = None,
    replications: Annotated[
        int, typer.Option(min=1, help="SBC replications per model")
    ] = REPLICATIONS,
    subjects: Annotated[
        int, typer.Option(min=1, help="trial level: subjects per data set")
    ] = TRIAL_DESIGN["subjects"],
    trials: Annotated[
        int, typer.Option(min=16, help="trial level: trials per subject")
    ] = TRIAL_DESIGN["trials"],
    children: Annotated[
        int, typer.Option(min=1, help="paradigm level: children per condition")
    ] = PARADIGM_DESIGN["children"],
    paradigm: Annotated[
        Path | None,
        typer.Option(help="paradigm level: paradigm TOML (default: the shipped Zhao et al. 2017)"),
    ] = None,
    chains: Annotated[int, typer.Option(min=1, help="chains per fit")] = TRIAL_DESIGN["chains"],
    warmup: Annotated[int, typer.Option(min=1, help="warmup steps per chain")] = TRIAL_DESIGN[
        "warmup"
    ],
    draws: Annotated[int, typer.Option(min=1, help="draws per chain")] = TRIAL_DESIGN["draws"],
    rank_draws: Annotated[
        int, typer.Option(min=1, help="thinned posterior draws each rank is taken among")
    ] = RANK_DRAWS,
    seed: Annotated[int, typer.Option(min=0, help="the job's seed")] = 0,
    address: AddressOption = None,
    workers: WorkersOption = None,
    progress: ProgressOption = True,
    run: Annotated[
        bool, typer.Option(help="run the missing replications (--no-run: summarize the finished)")
    ] = True,
) -> None:
    """Draw parameters from the prior, simulate at the stated design, fit, and rank the
    truth among the posterior draws; write ranks, a uniformity summary and ECDF plots."""
    from valueint.calibration import CalibrationJob, calibrate_all
    from valueint.calibration import calibrate as run_job
    from valueint.calibration.job import resolve_level
    from valueint.jobs import JobMismatchError

    trial_design = {"subjects": subjects, "trials": trials, "chains": chains}
    trial_design |= {"warmup": warmup, "draws": draws}
    paradigm_design = {"children": children, "chains": chains, "warmup": warmup, "draws": draws}
    engine = {"address": address, "workers": workers, "progress": progress, "console": console}
    engine["run"] = run
    try:
        if model == "all":
            results = calibrate_all(
                out,
                paradigm=_paradigm_dict(paradigm),
                replications=replications,
                rank_draws=rank_draws,
                seed=seed,
                trial_design=trial_design,
                paradigm_design=paradigm_design,
                **engine,
            )
        else:
            resolved = resolve_level(model, level)
            design = trial_design
            if resolved == "paradigm":
                design = {**paradigm_design, "paradigm": _paradigm_dict(paradigm)}
            job = CalibrationJob(model, resolved, design, replications, rank_draws, seed)
            results = [run_job(job, out, **engine)]
    except (ValueError, JobMismatchError, ConnectionError, FileExistsError) as err:
        fail(str(err))
    import pandas as pd

    summaries = [r.summary for r in results if len(r.summary)]
    if summaries:
        _print_summary(pd.concat(summaries), f"SBC in {out}")
    for result in results:
        for failure in result.failures:
            console.print(
                f"[red]{result.job.model}: replication {failure['index']} "
                f"(seed {failure['seed']}) failed:[/] {failure['error']}"
            )
    console.print(f"wrote {out}", markup=False)
