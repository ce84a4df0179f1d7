"""``valueint design STUDY.toml``: power of a study design, by simulation on the job engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from valueint.cli.common import RunOption, engine_options, fail, interruptible, print_table

console = Console(stderr=True, soft_wrap=True)


def _power_table(power, study) -> Table:
    table = Table(title=f"{study.name}: rates per size (95% Monte Carlo intervals)")
    for column in ("size", "studies", "truth wins", "lead > se", "weight above", "sd", "unconv."):
        table.add_column(column, justify="right")
    for row in power.itertuples():
        table.add_row(
            str(row.size),
            str(row.studies),
            *(
                f"{getattr(row, r):.2f} [{getattr(row, r + '_low'):.2f}, {getattr(row, r + '_high'):.2f}]"
                for r in ("win_rate", "lead_rate", "weight_rate")
            ),
            f"{row.weight_sd:.3f}",
            str(row.unconverged),
        )
    return table


@engine_options
def design(
    study_file: Annotated[Path, typer.Argument(help="the study's TOML file")],
    out: Annotated[Path, typer.Option(help="job folder (resumed when it exists)")],
    studies: Annotated[
        int | None, typer.Option(min=1, help="simulated studies per size (default: the file's)")
    ] = None,
    run: RunOption = True,
    *,
    engine,
) -> None:
    """Simulate studies at each candidate size, fit every model, and report how often
    the truth model wins, its lead clears the stated se, and its weight's interval
    clears zero; table, figure and answers in OUT."""
    import dataclasses

    from valueint.jobs import JobIncomplete, JobMismatchError
    from valueint.workflows.power_study import StudyError, load_study

    try:
        study = load_study(study_file)
    except (FileNotFoundError, StudyError, ValueError) as err:
        fail(str(err))
    if studies is not None:
        study = dataclasses.replace(study, studies=studies)
    from valueint.workflows.power import design as run_design

    with interruptible(f"finished studies are kept in {out}; run again to resume"):
        try:
            result = run_design(study, out, engine=engine, run=run)
        except (JobMismatchError, JobIncomplete, ConnectionError, RuntimeError, ValueError) as err:
            fail(str(err))
    print_table(_power_table(result.power, study))
    lead = result.answers["lead_rate"]
    console.print(
        f"power {study.criteria.power:g} for a lead beyond {study.criteria.lead_se:g} se: "
        + (f"{lead['estimate']} {study.size_label}" if lead["estimate"] else "not reached"),
        markup=False,
    )
    console.print(f"wrote {out}", markup=False)
