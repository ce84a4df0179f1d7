"""The analysis notebooks (analysis/NN_*.py) are valid and run top to bottom in small mode.

Each notebook is read with Jupytext and executed by ``analysis/run_notebooks.py`` in a
fresh kernel of this interpreter, from the repository root, with
``VALUEINT_NOTEBOOK_MODE=small`` and ``VALUEINT_NOTEBOOK_OUT`` in a temporary folder.
A failure shows the failing cell's source and traceback.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = REPO_ROOT / "analysis"
PROSOCIAL_NOTEBOOK = ANALYSIS / "02_prosocial_learning_lifespan.py"
CELL_TIMEOUT_S = 600  # generous: a small-mode notebook takes well under 90 s in all


def _load_runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ANALYSIS / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
NOTEBOOKS = runner.notebook_paths(ANALYSIS)


def _run(nb, tmp_path, env=None, name="notebook"):
    return runner.execute(
        nb,
        mode="small",
        out=tmp_path / "out",
        env=env,  # over this process's, which holds the compilation cache (conftest.py)
        timeout=CELL_TIMEOUT_S,
        name=name,
    )


def test_notebooks_are_found_by_name_pattern():
    names = {p.name for p in NOTEBOOKS}
    assert "01_socialization_simulation.py" in names
    assert "04_recovery_and_comparison.py" in names
    assert "run_notebooks.py" not in names
    assert all(re.fullmatch(r"\d\d_.+\.py", name) for name in names)


def test_kernel_is_this_interpreter_in_the_repository_root(tmp_path):
    """The kernel runs this Python (the venv's), from the repository root, in small mode."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os, sys\n"
            "print(sys.executable)\n"
            "print(os.getcwd())\n"
            "print(os.environ['VALUEINT_NOTEBOOK_MODE'], os.environ['VALUEINT_NOTEBOOK_OUT'])"
        )
    ]
    executable, cwd, settings = runner.stream_text(_run(nb, tmp_path)).splitlines()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(cwd).resolve() == REPO_ROOT
    assert settings == f"small {tmp_path / 'out'}"


def test_a_failing_cell_is_reported_with_its_source_and_traceback(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A notebook that fails"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("def broken():\n    return 1 / 0\n\nbroken()"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    with pytest.raises(runner.NotebookError) as caught:
        _run(nb, tmp_path)
    message = str(caught.value)
    assert "cell 3 failed" in message
    assert "return 1 / 0" in message  # the source
    assert "ZeroDivisionError" in message and "broken()" in message  # the traceback
    assert "\x1b[" not in message  # no terminal colour codes


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_percent_format_with_a_title(path):
    text = path.read_text()
    assert re.search(r"^# %%", text, re.M), f"{path.name}: no '# %%' cell markers"
    nb = runner.read_notebook(path)
    again = jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
    assert [(c.cell_type, c.source) for c in again.cells] == [
        (c.cell_type, c.source) for c in nb.cells
    ], f"{path.name}: does not survive a percent-format round trip"
    first = nb.cells[0]
    assert first.cell_type == "markdown", f"{path.name}: the first cell must be markdown"
    heading = first.source.strip().splitlines()[0]
    assert re.fullmatch(r"# \S.*", heading), f"{path.name}: first line {heading!r} is no title"
    assert runner.MODE_ENV in text, f"{path.name}: never reads {runner.MODE_ENV}"


# the simulation notebook runs in every suite; the fitting ones (a minute each on 2 cores,
# most of it compiling) run in the slow suite (``make test-slow``)
FAST_NOTEBOOKS = ("01_socialization_simulation",)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=() if p.stem in FAST_NOTEBOOKS else pytest.mark.slow)
        for p in NOTEBOOKS
    ],
    ids=lambda p: p.stem,
)
def test_notebook_runs_in_small_mode(path, tmp_path):
    nb = runner.read_notebook(path)
    _run(nb, tmp_path, name=path.name)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "printed nothing"


@pytest.mark.skipif(not PROSOCIAL_NOTEBOOK.exists(), reason="notebook 02 not written yet")
def test_prosocial_notebook_says_when_its_data_are_missing(tmp_path):
    """With the data made absent it finishes cleanly and names what is missing where.

    ``VALUEINT_CUTLER2021`` pointing to a missing file is the path the loader tries
    (it wins over ``VALUEINT_DATA_DIR`` and the shared folder beside the repository,
    which it never reaches); ``VALUEINT_DATA_DIR`` points nowhere too.
    """
    missing = tmp_path / "no-cutler-data-here"
    env = {
        "VALUEINT_CUTLER2021": str(missing / "trials.csv"),
        "VALUEINT_DATA_DIR": str(missing / "data"),
    }
    nb = _run(runner.read_notebook(PROSOCIAL_NOTEBOOK), tmp_path, env, PROSOCIAL_NOTEBOOK.name)
    printed = runner.stream_text(nb)
    lines = [line for line in printed.splitlines() if missing.name in line]
    assert lines, f"no line names the missing data's location; the notebook printed:\n{printed}"
    assert re.search(r"missing|not found|absent|no data", " ".join(lines), re.I), lines
