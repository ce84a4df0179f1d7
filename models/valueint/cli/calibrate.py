"""``valueint calibrate MODEL``: simulation-based calibration on the distributed engine.

Replications run as tasks of ``valueint.jobs``: on local worker processes unless
``--address`` (or ``VALUEINT_DASK_ADDRESS``) names a Dask scheduler.  Each finished
replication is written to ``OUT`` at once; run the same command again to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from valueint.cli.common import (
    RunOption,
    fail,
    given,
    interruptible,
    job_fit_options,
    option,
    option_group,
    print_table,
)
from valueint.cli.registries import MODEL_HELP
from valueint.errors import read_toml

console = Console(stderr=True, soft_wrap=True)


def _paradigm_dict(path: Path | None) -> dict:
    from valueint.analyze.paradigm import shipped_dataset_dir

    path = path or shipped_dataset_dir() / "paradigm.toml"
    try:
        return read_toml(path, "paradigm", ValueError)
    except (FileNotFoundError, ValueError) as err:
        fail(f"{err}; pass --paradigm with a paradigm TOML file")


def _print_summary(summary, title: str) -> None:
    table = Table(title=title)
    for column in ("family", "model", "quantity", "n", "band", "POT-C p"):
        table.add_column(column)
    for row in summary.itertuples():
        band = "[green]inside[/]" if row.passes else "[red]leaves[/]"
        table.add_row(row.family, row.model, row.quantity, str(row.n), band, f"{row.p_value:.3f}")
    print_table(table)


# the simulated data sets' design: ``design`` holds the options given
DESIGN_PANEL = "Simulated data sets"
SIZE_HELP = "subjects per data set (paradigm: children per condition)"
PARADIGM_HELP = "paradigm models: the paradigm (default: Zhao et al. 2017)"
design_options = option_group(
    "design",
    {
        "size": option(int | None, None, DESIGN_PANEL, min=1, help=SIZE_HELP),
        "trials": option(
            int | None, None, DESIGN_PANEL, min=16, help="trial models: trials per subject"
        ),
        "paradigm": option(Path | None, None, DESIGN_PANEL, help=PARADIGM_HELP),
    },
    given,
)


@design_options
@job_fit_options
def calibrate(
    model: Annotated[
        str, typer.Argument(help=f"{MODEL_HELP}; or 'all': every trial and paradigm model")
    ],
    out: Annotated[Path, typer.Option(help="job folder (resumed when it exists)")] = Path(
        "runs/calibration"
    ),
    replications: Annotated[int | None, typer.Option(min=1, help="SBC replications")] = None,
    rank_draws: Annotated[
        int | None, typer.Option(min=1, help="thinned posterior draws each rank is taken among")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="the job's seed")] = 0,
    run: RunOption = True,
    *,
    design: dict,
    sampler: dict,
    engine,
) -> None:
    """Draw parameters from the prior, simulate at the stated design, fit, and rank the
    truth among the posterior draws; write ranks, a uniformity summary and ECDF plots."""
    from valueint.inference.family import family_for
    from valueint.jobs import JobIncomplete, JobMismatchError
    from valueint.workflows import calibration as sbc

    paradigm = design.pop("paradigm", None)
    counts = {"replications": replications, "rank_draws": rank_draws}
    counts = given(counts)
    with interruptible(f"finished replications are kept in {out}; run again to resume"):
        try:
            if model == "all":
                trial_design = {k: v for k, v in design.items()}
                paradigm_design = {k: v for k, v in design.items() if k != "trials"}
                results = sbc.calibrate_all(
                    out,
                    paradigm=_paradigm_dict(paradigm),
                    seed=seed,
                    designs={"trials": trial_design, "paradigm": paradigm_design},
                    samplers={"trials": sampler, "paradigm": sampler},
                    run=run,
                    engine=engine,
                    **counts,
                )
            else:
                family = family_for(model)[0].name
                if family == "paradigm":
                    design = {k: v for k, v in design.items() if k != "trials"}
                    design["paradigm"] = _paradigm_dict(paradigm)
                job = sbc.CalibrationJob(model, design, sampler, seed=seed, **counts)
                results = [sbc.calibrate(job, out, run=run, engine=engine)]
        except (ValueError, KeyError, JobMismatchError, JobIncomplete, ConnectionError) as err:
            fail(str(err.args[0]) if isinstance(err, KeyError) else str(err))
    summary = sbc.combined_summary(results)
    if len(summary):
        _print_summary(summary, f"SBC in {out}")
    console.print(f"wrote {out}", markup=False)
