"""Sphinx configuration of the valueint site (`make docs` builds it to docs/_build/html).

Pages are MyST Markdown; pages with code cells and the analysis notebooks are executed
by myst-nb at build time, their outputs cached in docs/_build/.jupyter_cache (a notebook
runs again only when its code changes).  The notebooks run in their small mode.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jupytext
import nbformat

DOCS = Path(__file__).resolve().parent
REPO_ROOT = DOCS.parent
BUILD = DOCS / "_build"
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(REPO_ROOT / "analysis"))

from run_notebooks import MODE_ENV, OUT_ENV, notebook_paths, write_kernel_spec  # noqa: E402

import valueint  # noqa: E402

project = "valueint"
copyright = "the valueint authors"
release = version = valueint.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "model_catalogue",
    "config_reference",
    "plain_docstrings",
    "repository_links",
]
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints"]

# --- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3  # links such as methods.md#the-hierarchical-fit resolve

# --- execution -------------------------------------------------------------------------
TUTORIALS = DOCS / "tutorials"
NOTEBOOK_OUT = BUILD / "notebook-output"
KERNELS = BUILD / "jupyter"


def _found(resolve) -> bool:
    """Whether a notebook's real data can be found here (reading them is the notebook's,
    whose errors fail the build)."""
    try:
        resolve()
    except FileNotFoundError:
        return False
    return True


from valueint.infosampling.data import resolve_trust_sampling  # noqa: E402
from valueint.trials.datasets import resolve_cutler2021  # noqa: E402

# Notebooks on real data that is not shipped run when the data are found (as on CI, where
# ../shared/data lies beside the checkout), in small mode like the others; otherwise the
# page is shown without outputs and says why.  Zhao et al.'s counts ship in data/.
NEEDS_DATA = {
    "02_prosocial_learning_lifespan": ("the Cutler et al. (2021) trials", resolve_cutler2021),
    "05_trust_sampling_adolescence": ("the Ma et al. (2022) data", resolve_trust_sampling),
}
UNEXECUTED = {
    name: f"{what} were not found when the site was built"
    for name, (what, resolve) in NEEDS_DATA.items()
    if not _found(resolve)
}
# where each real-data notebook's full analysis is committed
FULL_RESULTS = {
    "02_prosocial_learning_lifespan": "prosocial_learning",
    "03_praise_and_cheating": "praise_cheating",
    "05_trust_sampling_adolescence": "trust_sampling",
}
# Over the site's time budget: even in small mode its recovery fits take about two minutes.
OVER_BUDGET = {
    "04_recovery_and_comparison": "its parameter and model recovery refits dozens of models",
}

nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / ".jupyter_cache")
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 600  # seconds per cell, as the notebooks' small mode allows
nb_execution_excludepatterns = [f"tutorials/{name}.ipynb" for name in {**UNEXECUTED, **OVER_BUDGET}]
nb_merge_streams = True

# Every kernel: the notebooks' small mode, their files under docs/_build, one CPU device
# per core, JAX's compiled programs cached across kernels, and a kernelspec of this
# interpreter first on the search path (an installed "python3" kernel is never used).
os.environ[MODE_ENV] = "small"
os.environ[OUT_ENV] = str(NOTEBOOK_OUT)
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(BUILD / "jax-cache"))
os.environ["JUPYTER_PATH"] = str(write_kernel_spec(KERNELS / "kernels").parent)
os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the kernel's debugger would warn
# tqdm's notice that Jupyter's progress widgets are not installed says nothing about valueint
os.environ["PYTHONWARNINGS"] = "ignore:IProgress not found"
# XLA's lowest backend optimization level compiles faster, as in `make test`: the pages'
# runs are small, and compiling is most of their time
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
).strip()


def _note(name: str) -> str:
    run = f"`python analysis/run_notebooks.py analysis/{name}.py` runs it."
    if name in UNEXECUTED:
        return (
            f"```{{note}}\nThis notebook is shown without its outputs: {UNEXECUTED[name]}.  "
            f"{run}\n```"
        )
    if name in OVER_BUDGET:
        return (
            f"```{{note}}\nThis notebook is shown without its outputs: {OVER_BUDGET[name]}, "
            f"more than the site's build can run.  {run}\n```"
        )
    if name in FULL_RESULTS:
        what = (
            "the real data with tiny sampler settings (and, where it fits participants, only "
            "a few of them): it shows that the notebook runs, and its numbers mean nothing.  "
            f"The full analysis's numbers are in `paper/{FULL_RESULTS[name]}/` and the paper."
        )
    else:
        what = "tiny settings that show the notebook runs; its numbers mean nothing."
    return (
        "```{note}\nThis page was executed when the site was built, in the notebook's small "
        f"mode (`{MODE_ENV}=small`): {what}  `make notebooks` runs every notebook in full "
        "mode.\n```"
    )


def write_tutorials() -> None:
    """analysis/NN_*.py -> docs/tutorials/NN_*.ipynb, with a note on how it was run after
    the title.  A file is rewritten only when it changes, so Sphinx and the execution
    cache see unchanged notebooks as unchanged."""
    for path in notebook_paths(REPO_ROOT / "analysis"):
        nb = jupytext.read(path, fmt="py:percent")
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(_note(path.stem)))
        for number, cell in enumerate(nb.cells):
            cell.id = f"cell-{number}"  # ids drawn at random would change the file every build
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        text = nbformat.writes(nb)
        target = TUTORIALS / f"{path.stem}.ipynb"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


write_tutorials()

# --- API reference ---------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"

# --- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "valueint"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
