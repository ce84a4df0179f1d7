"""What every ``valueint`` command shares: how it stops on bad input."""

from __future__ import annotations

from typing import NoReturn

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
