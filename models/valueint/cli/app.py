"""Command line: ``valueint simulate`` runs a config, ``valueint reproduce`` draws the
paper's figures, and ``fit``, ``compare``, ``recover`` and ``ppc`` fit cognitive models
to trial data; ``calibrate`` runs simulation-based calibration and ``design`` the power
analysis of a study, on many workers; ``sweep`` runs a config over a grid of values."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from valueint.cli import analyze as analyze_cli
from valueint.cli import calibrate as calibrate_cli
from valueint.cli import design as design_cli
from valueint.cli import fit as fit_cli
from valueint.cli import sweep as sweep_cli
from valueint.cli.common import (
    HELP_MARKUP,
    ConfigArgument,
    FirstSeedOption,
    OverwriteOption,
    PresetOption,
    SeedsOption,
    frame_table,
    interruptible,
    names,
    print_table,
    refuse_to_overwrite,
)
from valueint.cli.common import fail as _fail
from valueint.devices import use_cpu_devices
from valueint.sim.reproduce import NAMES as REPRODUCTIONS

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=HELP_MARKUP
)
console = Console(stderr=True, soft_wrap=True)


FITTING_COMMANDS = ("fit", "compare", "recover", "ppc", "analyze")
FIT_DEVICES = 8  # NUTS runs one chain per device: up to 8 chains in parallel


@app.callback()
def main(ctx: typer.Context) -> None:
    """valueint: value internalization simulations and model fitting."""
    if ctx.invoked_subcommand in FITTING_COMMANDS:
        # chains share the cores; with fewer devices than chains they would run in turn
        use_cpu_devices(max(os.cpu_count() or 1, FIT_DEVICES))
    else:
        use_cpu_devices(os.cpu_count() or 1)


@app.command()
def simulate(
    config: ConfigArgument = None,
    seeds: SeedsOption = 16,
    first_seed: FirstSeedOption = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/simulate"),
    preset: PresetOption = "default",
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a config over seeds; write episodes.csv, run.json and config.toml to OUT."""
    from valueint.errors import ConfigError
    from valueint.sim.config import default_config, load_config, resolve
    from valueint.sim.outputs import phase_summary, simulation_paths, write_simulation
    from valueint.sim.runner import metrics_frame, run_experiment

    try:
        raw = load_config(config) if config is not None else default_config(preset)
    except ConfigError as err:
        _fail(str(err))
    try:
        experiment = resolve(raw)
    except ConfigError as err:
        _fail(f"{config if config is not None else f'preset {preset!r}'}: {err}")
    refuse_to_overwrite(simulation_paths(out), overwrite)

    seed_list = list(range(first_seed, first_seed + seeds))
    n_runs = experiment.n_conditions * len(seed_list)
    console.print(
        f"[bold]{experiment.name}[/]: {experiment.n_conditions} conditions x {len(seed_list)} seeds "
        f"x {experiment.n_episodes} episodes ({n_runs} learners in parallel)"
    )
    start = time.perf_counter()
    with episode_bar("episodes", experiment.n_episodes) as advance, interruptible():
        metrics = run_experiment(experiment, seed_list, progress=advance)
    frame = metrics_frame(experiment, seed_list, metrics)
    wall = time.perf_counter() - start
    write_simulation(
        out,
        frame,
        raw,
        seeds=seed_list,
        wall_time_s=wall,
        source=str(config) if config is not None else f"preset:{preset}",
        conditions=experiment.condition_settings,
    )
    title = "socialized-behaviour rate, mean over seeds (last 20% of each phase)"
    print_table(frame_table(phase_summary(frame), title, "condition", digits=_two(frame)))
    console.print(f"wrote {out}/ in {wall:.1f} s")


def _two(frame) -> dict:
    return {phase: 2 for phase in frame["phase"].cat.categories}


@contextlib.contextmanager
def episode_bar(label: str, total: int):
    """A progress bar of episodes; yields the ``progress(done, total)`` callback."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done)


@app.command()
def reproduce(
    name: Annotated[str, typer.Argument(help=f"{names(REPRODUCTIONS)} or all")],
    quick: Annotated[
        bool,
        typer.Option("--quick", help="fewer seeds (16): the same design, for a check in minutes"),
    ] = False,
    seeds: Annotated[
        int | None, typer.Option(min=2, help="number of seeds (default 128, or 16 with --quick)")
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("paper/figures"),
    overwrite: OverwriteOption = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit with status 1 if any claim does not hold")
    ] = False,
) -> None:
    """Reproduce the paper's results as figures: NAME.png/.pdf, NAME.csv and NAME.json in OUT."""
    from valueint.sim import reproduce as rp

    names = list(rp.NAMES) if name == "all" else [name]
    if name != "all" and name not in rp.NAMES:
        _fail(f"unknown reproduction {name!r}; choose one of {', '.join(rp.NAMES)} or all")
    targets = [p for n in names for p in rp.output_paths(n, out).values()]
    refuse_to_overwrite(targets, overwrite)
    failed = 0
    total_start = time.perf_counter()
    for n in names:
        config = rp.build_config(n)
        n_episodes = config["experiment"]["n_episodes"]
        with episode_bar(f"{n:<15}", n_episodes) as advance, interruptible():
            result = rp.run(n, seeds=seeds, quick=quick, progress=advance)
        paths = rp.save(result, out, overwrite=overwrite)
        _claims_table(result)
        failed += sum(not c.holds for c in result.claims)
        console.print(
            f"wrote {', '.join(str(p) for p in paths.values())} "
            f"({len(result.seeds)} seeds, {result.wall_time_s:.1f} s)"
        )
    console.print(f"done in {time.perf_counter() - total_start:.1f} s")
    if failed:
        console.print(f"[bold red]{failed} claim(s) did not hold[/] (see the tables above)")
        if strict:
            raise typer.Exit(code=1)


def _claims_table(result) -> None:
    table = Table(title=f"{result.reproduction.name}: {result.reproduction.title}")
    for col, justify in (("claim", "left"), ("estimate", "right"), ("95% CI", "right")):
        table.add_column(col, justify=justify)
    table.add_column("needs")
    table.add_column("holds")
    for c in result.claims:
        table.add_row(
            c.statement,
            f"{c.estimate:+.3f}",
            f"[{c.low:+.3f}, {c.high:+.3f}]",
            c.criterion,
            "[green]yes[/]" if c.holds else "[bold red]no[/]",
        )
    Console().print(table)


fit_cli.register(app)  # fit, compare, recover, ppc
app.add_typer(analyze_cli.app, name="analyze")
app.command("calibrate")(calibrate_cli.calibrate)
app.command("design")(design_cli.design)
app.command("sweep")(sweep_cli.sweep)

if __name__ == "__main__":
    app()
