"""The layout's rules, checked on the source: no import cycles (between modules or between
subpackages, lazy imports inside functions included), no module over the size limit,
tests that mirror the package, and an ``import valueint`` that starts no JAX.

``python tests/test_architecture.py`` prints the subpackage graph and the check's verdict.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO_ROOT / "models" / "valueint"
PACKAGE = "valueint"
MAX_MODULE_LINES = 600
SUBPACKAGES = (
    "isr",
    "inference",
    "sim",
    "trials",
    "infosampling",
    "paradigm",
    "jobs",
    "calibration",
    "design",
    "analyze",
    "cli",
    "testing",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


MODULES = {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(path: Path) -> set[str]:
    """Every valueint module that ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from valueint.sim import caregiver" imports the module valueint.sim.caregiver
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imported_modules(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path of nodes, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def subpackage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "(top level)"


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which subpackage imports which; the top-level modules (errors, records, registry,
    pytree, notebook) and the package's lazy ``__init__`` are shared ground, left out."""
    layers: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module == PACKAGE:
            continue
        source = subpackage_of(module)
        for target in targets:
            sink = subpackage_of(target)
            if source != sink and "(top level)" not in (source, sink):
                layers.setdefault(source, set()).add(sink)
    return layers


def test_the_checks_find_what_they_look_for():
    """A made-up graph with a cycle is caught, and one without is not (the check can fail)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    graph = import_graph()
    assert "valueint.sim.config" in graph["valueint.sim.runner"]  # imports are seen


def test_no_import_cycle_between_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycle_between_subpackages():
    cycle = find_cycle(subpackage_graph(import_graph()))
    assert cycle is None, "subpackages import each other: " + " -> ".join(cycle)


def test_top_level_modules_import_no_subpackage():
    """errors, pytree, records, registry and notebook are shared ground under every
    subpackage, so they import none of them."""
    for module, targets in import_graph().items():
        if subpackage_of(module) == "(top level)" and module != PACKAGE:
            assert not {subpackage_of(t) for t in targets} - {"(top level)"}, module


@pytest.mark.parametrize("module", sorted(MODULES), ids=lambda m: m)
def test_module_size(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines (limit {MAX_MODULE_LINES})"


def test_every_test_folder_mirrors_a_subpackage():
    folders = {p.name for p in (REPO_ROOT / "tests").iterdir() if p.is_dir()}
    folders -= {"__pycache__", "data"}
    assert folders <= set(SUBPACKAGES), sorted(folders - set(SUBPACKAGES))


def test_import_valueint_starts_no_jax():
    """``import valueint`` is quick: the heavy parts load on first use."""
    code = (
        "import sys, valueint\n"
        "heavy = [m for m in ('jax', 'numpyro', 'arviz', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"import valueint loaded {done.stdout.strip()}"


def test_entry_points_resolve():
    """Every name the package promises loads (lazily) from where it is defined."""
    import valueint

    assert sorted(valueint.__all__) == sorted(valueint._ENTRY_POINTS)
    for name in valueint.__all__:
        assert getattr(valueint, name) is not None, name
    with pytest.raises(AttributeError):
        valueint.not_a_name  # noqa: B018


if __name__ == "__main__":
    graph = import_graph()
    for source, sinks in sorted(subpackage_graph(graph).items()):
        print(f"{source:>9} -> {', '.join(sorted(sinks))}")
    cycle = find_cycle(graph)
    print(f"{len(graph)} modules; import cycle: {' -> '.join(cycle) if cycle else 'none'}")
    sizes = sorted((len(p.read_text().splitlines()), m) for m, p in MODULES.items())
    print(f"largest module: {sizes[-1][1]} ({sizes[-1][0]} lines)")
