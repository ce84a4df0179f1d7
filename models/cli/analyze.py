"""``valueint analyze``: analyses of human data sets, each writing figures and tables to
a folder the user chooses.

Each analysis lives in its own module and adds its command here through ``register``;
heavy imports wait until a command runs.
"""

from __future__ import annotations

import typer

from valueint.analyze import paradigm as analyze_paradigm
from valueint.analyze import prosocial as analyze_prosocial

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Fit and compare models on human data; write figures and tables to --out.",
)
analyze_prosocial.register(app)  # prosocial-learning
analyze_paradigm.register(app)  # paradigm, praise-cheating
