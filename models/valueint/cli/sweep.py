"""``valueint sweep CONFIG --grid KEY=V1,V2,...``: a grid of config values, every cell on
every condition, over seeds; a tidy table, its summary and the run record in OUT.

By default the whole grid runs as one compiled program on this machine (cells x
conditions vmapped, seeds spread over the CPU devices).  With ``--cells-per-task K`` or
``--address`` the cells are split into tasks of K cells on the job engine
(``valueint.jobs``): local worker processes or a Dask cluster, resumable in OUT.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from valueint.cli.common import (
    ConfigArgument,
    FirstSeedOption,
    OverwriteOption,
    PresetOption,
    SeedsOption,
    engine_options,
    fail,
    frame_table,
    interruptible,
    print_table,
)

console = Console(stderr=True, soft_wrap=True)
MAX_ROWS = 40  # rows of the printed summary


def _print_summary(summary, keys) -> None:
    from valueint.sim.outputs import sweep_means

    means = sweep_means(summary, keys)
    title = "socialized_rate, mean over seeds and the episodes of each phase"
    shown = means.iloc[:MAX_ROWS].reset_index(level=list(range(means.index.nlevels)))
    print_table(frame_table(shown, title, digits=dict.fromkeys(map(str, means.columns), 2)))
    if len(means) > MAX_ROWS:
        console.print(f"({len(means) - MAX_ROWS} more rows in summary.csv)")


@engine_options
def sweep(
    config: ConfigArgument = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=V1,V2,... (repeatable): a condition-table key, e.g. caregiver.presence, "
            "and its values as TOML literals; the grid is the product of all --grid"
        ),
    ] = None,
    seeds: SeedsOption = 16,
    first_seed: FirstSeedOption = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/sweep"),
    preset: PresetOption = "default",
    overwrite: OverwriteOption = False,
    table_format: Annotated[
        str, typer.Option("--format", help="the tidy table's format: parquet or csv")
    ] = "parquet",
    cells_per_task: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="split the grid into job-engine tasks of K cells (default: one program here)",
        ),
    ] = None,
    *,
    engine,
) -> None:
    """Run every grid cell on every condition of CONFIG over seeds: sweep.parquet (or
    .csv; one row per cell, condition, seed, episode, agent), summary.csv (per cell,
    condition, seed and phase), run.json and config.toml in OUT."""
    from valueint.errors import ConfigError
    from valueint.records import check_output_paths
    from valueint.sim import sweep as sw
    from valueint.sim.config import default_config, load_config
    from valueint.sim.outputs import sweep_paths, write_sweep

    tasks = cells_per_task is not None or engine.address is not None
    if engine.workers is not None and not tasks:
        fail("--workers sizes the local cluster of a chunked sweep; give --cells-per-task too")
    source = str(config) if config is not None else f"preset {preset!r}"
    try:
        raw = load_config(config) if config is not None else default_config(preset)
        cells_grid = sw.parse_grid(grid or [])
    except ConfigError as err:
        fail(str(err))
    try:
        experiment, cells = sw.resolve_sweep(raw, cells_grid)
    except ConfigError as err:
        fail(f"{source}: {err}")
    try:
        check_output_paths(sweep_paths(out, table_format), overwrite)
    except (FileExistsError, ValueError) as err:
        fail(f"--format: {err}" if isinstance(err, ValueError) else str(err))

    seed_list = list(range(first_seed, first_seed + seeds))
    n_cells = int(cells["cell"].max()) + 1
    n_conditions = experiment.n_conditions // n_cells
    how = "one program"
    if tasks:
        k = cells_per_task or n_cells
        how = f"{-(-n_cells // k)} task(s) of up to {k} cells on the job engine"
    console.print(
        f"[bold]{experiment.name}[/]: {n_cells} cells x {n_conditions} conditions x "
        f"{len(seed_list)} seeds x {experiment.n_episodes} episodes, as {how}"
    )
    start = time.perf_counter()
    if tasks:
        from valueint.jobs import JobIncomplete, JobMismatchError

        with interruptible(f"finished chunks are kept in {out}"):
            try:
                table, report = sw.run_sweep_tasks(
                    raw,
                    cells_grid,
                    seed_list,
                    out,
                    cells_per_task=cells_per_task,
                    engine=engine,
                )
            except (JobMismatchError, JobIncomplete, ConnectionError, ValueError) as err:
                fail(str(err))
        how_run = {**report.record(), "cells_per_task": cells_per_task or n_cells}
    else:
        columns = (TextColumn("episodes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with (
            Progress(*columns, console=console, disable=not engine.progress) as bar,
            interruptible(),
        ):
            task = bar.add_task("sweep", total=experiment.n_episodes)
            table = sw.run_sweep(
                raw,
                cells_grid,
                seed_list,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        how_run = {"programs": 1, "conditions_in_program": experiment.n_conditions}
    wall = time.perf_counter() - start
    summary = sw.summarize_sweep(table)
    record = {
        "config": raw,
        "seeds": seed_list,
        "wall_time_s": wall,
        "config_source": str(config) if config is not None else f"preset:{preset}",
        "grid": cells_grid,
        "cells": [{"cell": c, **point} for c, point in enumerate(sw.grid_cells(cells_grid))],
        "conditions": list(dict.fromkeys(cells["condition"])),
        "engine": how_run,
    }
    write_sweep(out, table, summary, raw, table_format=table_format, record=record)
    _print_summary(summary, list(cells_grid))
    console.print(f"wrote {out}/ in {wall:.1f} s", markup=False)
