"""What every ``valueint`` command shares: how it stops on bad input or Ctrl-C, its
options (a config's, the sampler's, the job engine's, model options), and how it prints a
table that fits the terminal."""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_errors = Console(stderr=True, soft_wrap=True)
NAME_MIN_WIDTH = 12  # a table's name column folds, but not below this
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


def fail(message: str) -> NoReturn:
    """Print ``message`` as an error and exit with code 2.

    The message is escaped: brackets in it (``[s01]``, a file name) are text, not rich
    markup, so nothing in it disappears.
    """
    _errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


@contextlib.contextmanager
def interruptible(kept: str = "nothing was written"):
    """Ctrl-C inside the block exits with code 130 and says so, and what was kept (no
    traceback, from this process or from a job engine's workers)."""
    try:
        yield
    except KeyboardInterrupt:
        _errors.print(f"[bold yellow]interrupted[/]: {escape(kept)}")
        raise typer.Exit(code=INTERRUPTED) from None


def names(values) -> str:
    """Names for a help text: "a, b or c"."""
    values = list(values)
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def split_list(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated option as a tuple (None stays None)."""
    if text is None:
        return None
    return tuple(item.strip() for item in text.split(",") if item.strip())


def model_options(pairs: list[str] | None) -> dict:
    """``--option KEY=VALUE`` (repeatable) as {key: value}, each value a TOML literal
    (``q_init=0.5``, ``reward_probs=[0.25, 0.75]``; a bare word is text)."""
    import tomllib

    options = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--option {pair!r}: expected KEY=VALUE, e.g. q_init=0.5")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        options[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return options


# the options of the commands that simulate a config (``simulate``, ``sweep``)
ConfigArgument = Annotated[
    Path | None, typer.Argument(help="TOML config; omitted: the shipped --preset")
]
SeedsOption = Annotated[int, typer.Option(min=1, help="number of seeds (0..N-1)")]
FirstSeedOption = Annotated[int, typer.Option(min=0, help="first seed")]
PresetOption = Annotated[str, typer.Option(help="shipped config used when CONFIG is omitted")]
OverwriteOption = Annotated[bool, typer.Option(help="replace existing output files")]
SeedOption = Annotated[int, typer.Option(min=0, help="random seed")]

# the sampler's options, the same for every command that fits (None: the command's default)
ChainsOption = Annotated[int | None, typer.Option(min=1, help="NUTS chains")]
DrawsOption = Annotated[int | None, typer.Option(min=1, help="draws per chain")]
WarmupOption = Annotated[int | None, typer.Option(min=0, help="warmup steps per chain")]
TargetAcceptOption = Annotated[
    float | None, typer.Option(min=0.5, max=0.999, help="NUTS target acceptance")
]
OptionOption = Annotated[
    list[str] | None,
    typer.Option("--option", help="a model option, KEY=VALUE (repeatable), e.g. q_init=0.5"),
]


def sampler_changes(**values) -> dict:
    """The sampler settings given on the command line (those not None)."""
    return {name: value for name, value in values.items() if value is not None}


# the job engine's options (``valueint.jobs``), the same for every command that uses it
AddressOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler to run on (default: $VALUEINT_DASK_ADDRESS, else local)"),
]
WorkersOption = Annotated[
    int | None, typer.Option(min=1, help="local worker processes (default: one per core)")
]
ProgressOption = Annotated[bool, typer.Option(help="show a progress bar")]


# --------------------------------------------------------------------------- tables


def cell(value, digits: int | None = None) -> str:
    """A table cell: a number to ``digits`` decimals (default: 3 significant digits, whole
    numbers from 1e4), NaN as n/a, anything else as text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if digits is not None:
        return f"{value:.{digits}f}"
    if isinstance(value, int) or abs(value) >= 1e4:
        return f"{value:.0f}"
    return f"{value:.3g}"


def frame_table(frame, title: str, index: str | None = None, digits: dict | None = None) -> Table:
    """A DataFrame as a compact table that keeps every number whole in a narrow terminal
    (80 columns): a number never wraps or shortens; text columns (names) fold instead."""
    digits = dict(digits or {})
    cells = {
        column: [cell(v, digits.get(column)) for v in frame[column]] for column in frame.columns
    }
    table = Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), title_justify="left"
    )
    if index is not None:
        names = [str(name) for name in frame.index]
        longest = max([len(index), *map(len, names)])
        table.add_column(index, overflow="fold", min_width=min(longest, NAME_MIN_WIDTH))
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "biuf"
        width = max([len(str(column)), *map(len, cells[column])])
        if numeric:
            table.add_column(str(column), justify="right", no_wrap=True, min_width=width)
        else:
            table.add_column(str(column), overflow="fold")
    for i, name in enumerate(frame.index):
        row = [cells[column][i] for column in frame.columns]
        table.add_row(*([str(name)] if index is not None else []), *row)
    return table


def print_table(table: Table) -> None:
    """A result table on stdout (messages go to stderr)."""
    Console(file=sys.stdout).print(table)
