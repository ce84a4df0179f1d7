"""What every ``valueint`` command shares: how it stops on bad input, the options of the
commands that simulate a config, and those of the commands that run on the job engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

_errors = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print ``message`` as an error and exit with code 2.

    The message is escaped: brackets in it (``[s01]``, a file name) are text, not rich
    markup, so nothing in it disappears.
    """
    _errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


# the options of the commands that simulate a config (``simulate``, ``sweep``)
ConfigArgument = Annotated[
    Path | None, typer.Argument(help="TOML config; omitted: the shipped --preset")
]
SeedsOption = Annotated[int, typer.Option(min=1, help="number of seeds (0..N-1)")]
FirstSeedOption = Annotated[int, typer.Option(min=0, help="first seed")]
PresetOption = Annotated[str, typer.Option(help="shipped config used when CONFIG is omitted")]
OverwriteOption = Annotated[bool, typer.Option(help="replace existing output files")]


# the job engine's options (``valueint.jobs``), the same for every command that uses it
AddressOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler to run on (default: $VALUEINT_DASK_ADDRESS, else local)"),
]
WorkersOption = Annotated[
    int | None, typer.Option(min=1, help="local worker processes (default: one per core)")
]
ProgressOption = Annotated[bool, typer.Option(help="show a progress bar")]
