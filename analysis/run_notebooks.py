"""Execute the analysis notebooks (Jupytext percent-format ``.py`` files) in fresh kernels.

    python analysis/run_notebooks.py                       # every notebook, full mode
    python analysis/run_notebooks.py --mode small          # what CI runs
    python analysis/run_notebooks.py analysis/01_socialization_simulation.py --overwrite

Each notebook runs top to bottom in a new IPython kernel of *this* Python interpreter
(a kernelspec written to a temporary folder, so no installed kernel is needed or
used), with the repository root as its working directory and the environment
variables ``VALUEINT_NOTEBOOK_MODE`` (full or small) and ``VALUEINT_NOTEBOOK_OUT``
(where it writes its files) set.  The executed notebook, outputs included, is saved as
``<out>/<name>.ipynb``, also when a cell fails; existing files are replaced only with
``--overwrite``.  ``tests/test_notebooks.py`` uses the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import jupytext
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ANALYSIS_DIR = Path(__file__).resolve().parent
REPO_ROOT = ANALYSIS_DIR.parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.py"
MODE_ENV = "VALUEINT_NOTEBOOK_MODE"
OUT_ENV = "VALUEINT_NOTEBOOK_OUT"
MODES = ("full", "small")
DEFAULT_OUT = ANALYSIS_DIR / "output"
CELL_TIMEOUT_S = {"small": 600, "full": None}  # seconds per cell; None: no limit
KERNEL_NAME = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(RuntimeError):
    """A notebook cell raised or timed out; the message holds its source and traceback."""


def notebook_paths(folder: str | Path = ANALYSIS_DIR) -> list[Path]:
    """Every ``NN_*.py`` notebook in ``folder``, in order."""
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """A percent-format ``.py`` file as a notebook."""
    return jupytext.read(Path(path), fmt="py:percent")


def write_kernel_spec(folder: str | Path, python: str = sys.executable) -> Path:
    """Write a kernelspec that starts an IPython kernel of ``python``; returns the folder
    that holds it (to search for kernels)."""
    kernels = Path(folder)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (kernels / KERNEL_NAME).mkdir(parents=True, exist_ok=True)
    (kernels / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec, indent=1))
    return kernels


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int, str, str] | None:
    """(1-based cell number, source, traceback) of the first cell with an error output."""
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = "\n".join(output.get("traceback", [])) or output.get("evalue", "")
                return number, cell.source, _strip_ansi(trace)
    return None


def execute(
    nb: nbformat.NotebookNode,
    *,
    mode: str,
    out: str | Path,
    cwd: str | Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    timeout: int | None = -1,
    name: str = "notebook",
) -> nbformat.NotebookNode:
    """Run ``nb`` (in place) in a fresh kernel; raises ``NotebookError`` naming the cell.

    ``env`` is laid over this process's environment, after the mode and output folder.
    ``timeout`` is the limit per cell in seconds (None: none; default: the mode's, 600 s
    in small mode and none in full mode, whose fits may take many minutes).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if timeout == -1:
        timeout = CELL_TIMEOUT_S[mode]
    variables = {**os.environ, MODE_ENV: mode, OUT_ENV: str(out), **(env or {})}
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    with tempfile.TemporaryDirectory(prefix="valueint-kernel-") as folder:
        specs = KernelSpecManager(kernel_dirs=[str(write_kernel_spec(folder))])
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
        client = NotebookClient(
            nb,
            km=manager,
            timeout=timeout,
            resources={"metadata": {"path": str(cwd)}},
        )
        try:
            client.execute(env=variables)
        except (CellExecutionError, CellTimeoutError) as err:
            failed = _failed_cell(nb)
            if failed is None:  # a timeout leaves no error output
                raise NotebookError(f"{name}: {_strip_ansi(str(err))}") from None
            number, source, trace = failed
            raise NotebookError(
                f"{name}: cell {number} failed\n--- source ---\n{source}\n"
                f"--- traceback ---\n{trace}"
            ) from None
    return nb


def stream_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed (stdout and stderr) and showed as text."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif "text/plain" in output.get("data", {}):
                parts.append(output["data"]["text/plain"])
    return _strip_ansi("".join(parts))


def run_notebook(
    path: str | Path,
    *,
    mode: str,
    out: str | Path,
    overwrite: bool = False,
    timeout: int | None = -1,
) -> tuple[Path, float]:
    """Execute one notebook file; save it as ``<out>/<stem>.ipynb``.  Returns (path, seconds)."""
    path = Path(path)
    target = Path(out) / f"{path.stem}.ipynb"
    if target.exists() and not overwrite:
        raise FileExistsError(f"refusing to overwrite {target} (pass --overwrite to replace it)")
    nb = read_notebook(path)
    start = time.perf_counter()
    try:
        execute(nb, mode=mode, out=out, name=path.name, timeout=timeout)
    finally:  # a failed run is saved too: its outputs show what went wrong
        from valueint.records import atomic_write

        atomic_write(target, nbformat.writes(nb))
    return target, time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: analysis/NN_*.py")
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: analysis/output")
    parser.add_argument("--overwrite", action="store_true", help="replace executed notebooks")
    parser.add_argument(
        "--timeout",
        type=int,
        default=-1,
        help="seconds per cell, 0 for no limit (default: 600 small, none full)",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    failed = 0
    for path in paths:
        print(f"{path.name} ({args.mode} mode) ...", flush=True)
        try:
            target, seconds = run_notebook(
                path,
                mode=args.mode,
                out=args.out.resolve(),
                overwrite=args.overwrite,
                timeout=None if args.timeout == 0 else args.timeout,
            )
        except (NotebookError, FileExistsError) as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(f"  wrote {target} in {seconds:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
