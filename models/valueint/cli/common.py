"""What every ``valueint`` command shares: how it stops on bad input or Ctrl-C, its
options (a config's, the sampler's, the job engine's, model options), and how it prints a
table that fits the terminal."""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from valueint.jobs.engine import ADDRESS_ENV, Engine  # light: Dask loads when a job runs

_errors = Console(stderr=True, soft_wrap=True)
# help texts are Markdown: a docstring's lines join into paragraphs at any width
HELP_MARKUP = "markdown"
NAME_MIN_WIDTH = 12  # a table's name column folds, but not below this
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


def fail(message: str) -> NoReturn:
    """Print ``message`` as an error and exit with code 2.

    The message is escaped: brackets in it (``[s01]``, a file name) are text, not rich
    markup, so nothing in it disappears.
    """
    _errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


def refuse_to_overwrite(paths, overwrite: bool) -> None:
    """Exit with an error naming the files that exist, unless ``overwrite``."""
    from valueint.records import check_output_paths

    try:
        check_output_paths(list(paths), overwrite)
    except FileExistsError as err:
        fail(str(err))


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
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="replace existing output files")]
SeedOption = Annotated[int, typer.Option(min=0, help="random seed")]

OptionOption = Annotated[
    list[str] | None,
    typer.Option("--option", help="a model option, KEY=VALUE (repeatable), e.g. q_init=0.5"),
]


RunOption = Annotated[
    bool, typer.Option(help="run the job's missing tasks (--no-run: summarize the finished)")
]


def option_group(name: str, options: dict, build: Callable[[dict], object]):
    """A decorator that gives a command the options ``options`` ({parameter: (annotation,
    default)}, after its own) and hands it ``build({parameter: value})`` as its argument
    ``name``: one set of options, with one help text, on every command that takes them."""

    def decorate(command):
        own = inspect.signature(command, eval_str=True)
        kept = [p for p in own.parameters.values() if p.name != name]
        added = [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
            for key, (a, d) in options.items()
        ]

        @functools.wraps(command)
        def with_group(**values):
            group = {key: values.pop(key) for key in options}
            return command(**values, **{name: build(group)})

        with_group.__signature__ = own.replace(parameters=[*kept, *added])
        with_group.__annotations__ = {p.name: p.annotation for p in [*kept, *added]}
        return with_group

    return decorate


SAMPLER_PANEL = "Sampler (default: the command's)"
ENGINE_PANEL = "Job engine"


def option(kind, default, panel: str | None = None, *names: str, **settings) -> tuple:
    """One option of an ``option_group``: (its annotation, its default); ``settings`` are
    ``typer.Option``'s, and ``panel`` the help panel it is listed in."""
    return Annotated[kind, typer.Option(*names, rich_help_panel=panel, **settings)], default


def given(values: dict) -> dict:
    """The options given on the command line: those that are not None (the others keep
    the command's defaults)."""
    return {key: value for key, value in values.items() if value is not None}


# the sampler's options, the same for every command that fits: ``sampler`` is the dict of
# those given (the others: the command's defaults)
ACCEPT = {"min": 0.5, "max": 0.999}  # the target acceptance's range
SAMPLER_OPTIONS = {
    "chains": option(int | None, None, SAMPLER_PANEL, min=1, help="NUTS chains"),
    "draws": option(int | None, None, SAMPLER_PANEL, min=1, help="draws per chain"),
    "warmup": option(int | None, None, SAMPLER_PANEL, min=0, help="warmup steps per chain"),
    "target_accept_prob": option(
        float | None,
        None,
        SAMPLER_PANEL,
        "--target-accept",
        help="NUTS target acceptance",
        **ACCEPT,
    ),
    "until_converged": option(
        bool | None,
        None,
        SAMPLER_PANEL,
        "--until-converged/--fixed-draws",
        help="keep drawing in rounds until every quantity converges, within the budget",
    ),
    "budget_iterations": option(
        int | None,
        None,
        SAMPLER_PANEL,
        "--max-iterations",
        min=1,
        help="the budget: most NUTS iterations per chain, warmup included (default: 5 x the fit's)",
    ),
    "budget_minutes": option(
        float | None,
        None,
        SAMPLER_PANEL,
        "--budget-minutes",
        min=0.01,
        help="most minutes of sampling per fit when sampling until converged",
    ),
}


def sampler_settings(values: dict) -> dict:
    """The sampler's settings given on the command line (minutes as seconds)."""
    values = given(values)
    if "budget_minutes" in values:
        values["budget_seconds"] = 60.0 * values.pop("budget_minutes")
    return values


sampler_options = option_group("sampler", SAMPLER_OPTIONS, sampler_settings)

# the job engine's options (``valueint.jobs``), the same for every command that uses it:
# ``engine`` is a ``valueint.jobs.Engine``
ADDRESS_HELP = f"the Dask scheduler to run on (default: ${ADDRESS_ENV}, else this machine)"
engine_options = option_group(
    "engine",
    {
        "address": option(str | None, None, ENGINE_PANEL, help=ADDRESS_HELP),
        "workers": option(
            int | None,
            None,
            ENGINE_PANEL,
            min=1,
            help="local worker processes (default: one per core)",
        ),
        "progress": option(bool, True, ENGINE_PANEL, help="show a progress bar"),
    },
    lambda values: Engine(**values),
)


def job_fit_options(command):
    """The sampler's and the job engine's options, for a command whose fits run as a job."""
    return sampler_options(engine_options(command))


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
