"""What every analysis notebook (``analysis/NN_*.py``) sets up the same way.

``VALUEINT_NOTEBOOK_MODE`` picks the settings (``full``, the default, or ``small``, the
tiny run the tests execute) and ``VALUEINT_NOTEBOOK_OUT`` the folder under which each
notebook writes into a subfolder of its own name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from valueint.records import atomic_write, check_output_paths

MODE_ENV = "VALUEINT_NOTEBOOK_MODE"
OUT_ENV = "VALUEINT_NOTEBOOK_OUT"
MODES = ("full", "small")
DEFAULT_OUT = "analysis/output"


def notebook_mode() -> str:
    """``full`` or ``small``, from ``VALUEINT_NOTEBOOK_MODE``; anything else is an error."""
    mode = os.environ.get(MODE_ENV, "full")
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV} must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def notebook_out(name: str) -> Path:
    """The notebook's own output folder: ``$VALUEINT_NOTEBOOK_OUT/<name>``."""
    return Path(os.environ.get(OUT_ENV, DEFAULT_OUT)) / name


def write_tables(out: Path, tables: Mapping, overwrite: bool = True) -> list[Path]:
    """Write each DataFrame of ``{file name: table}`` to ``out`` as CSV, atomically."""
    paths = [Path(out) / name for name in tables]
    check_output_paths(paths, overwrite)
    for path, table in zip(paths, tables.values(), strict=True):
        atomic_write(path, table.to_csv(index=False, float_format="%.6g"))
    return paths
