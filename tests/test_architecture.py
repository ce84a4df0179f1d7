"""The layout's rules, checked on the source: the package's paths are its imports, no
import cycles (between modules or between subpackages, lazy imports inside functions
included), the layers (families that do not import each other, workflows that reach the
families only through the protocol, a command line that holds no domain logic), no
module over the size limit, tests that mirror the package, and an ``import valueint``
that starts no JAX.

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
    "workflows",
    "analyze",
    "cli",
    "testing",
)
# the model families behind valueint.inference.family.ModelFamily
FAMILIES = ("trials", "infosampling", "paradigm")
# what the command line may import of the package: the top-level API and entry points of
# the library (no family internals, no numerics: it parses options and calls the library)
CLI_MAY_IMPORT = (
    "valueint",
    "valueint.cli",
    "valueint.errors",
    "valueint.records",
    "valueint.devices",
    "valueint.datasets",
    "valueint.jobs",
    "valueint.inference.family",
    "valueint.inference.settings",
    "valueint.inference.rounds",  # rounds_reported: the console's hook for each round's line
    "valueint.inference.comparison",
    "valueint.inference.figures",
    "valueint.workflows",
    "valueint.analyze",
    "valueint.sim.config",
    "valueint.sim.outputs",
    "valueint.sim.reproduce",
    "valueint.sim.runner",
    "valueint.sim.sweep",
    "valueint.trials.predictive_check",
    "valueint.trials.figures",
)
NUMERICS = ("numpy", "pandas", "jax", "numpyro", "xarray", "scipy", "arviz", "formulaic")
# cross-cutting test modules that mirror no single module
CROSS_CUTTING_TESTS = {
    "test_architecture.py": "the layout's rules",
    "test_notebooks.py": "the analysis notebooks, executed",
    "test_suite_setup.py": "the test suite's own setup (xdist groups)",
    "sim/test_parity.py": "the runner against the NumPy loop reference",
    "sim/test_specialization.py": "the specialized runner against the general one",
    "paper/test_manuscript.py": "the manuscript, built from paper/'s run records",
    "docs/test_site.py": "the documentation site, built and opened in a browser",
}
# modules tested through another module's tests, or without behaviour of their own
TESTED_WITH = {
    "cli/analyze.py": "analyze/*/test_run.py, analyze/test_paradigm.py (the commands)",
    "cli/app.py": "sim/test_runner.py, sim/test_reproduce.py (simulate, reproduce)",
    "cli/calibrate.py": "workflows/test_calibration.py",
    "cli/registries.py": "cli/test_common.py (help texts)",
    "analyze/prosocial/data.py": "analyze/prosocial/test_run.py",
    "analyze/prosocial/figures.py": "analyze/prosocial/test_run.py",
    "analyze/prosocial/fitting.py": "analyze/prosocial/test_run.py",
    "analyze/prosocial/parameters.py": "analyze/prosocial/test_run.py",
    "analyze/trust_sampling/calibration.py": "analyze/trust_sampling/test_run.py, notebook 05",
    "analyze/trust_sampling/curves.py": "notebook 05 (test_notebooks.py)",
    "analyze/trust_sampling/figures.py": "notebook 05 (test_notebooks.py)",
    "analyze/trust_sampling/report.py": "notebook 05 (test_notebooks.py)",
    "analyze/trust_sampling/settings.py": "analyze/trust_sampling/test_run.py",
    "inference/figures.py": "inference/test_comparison.py",
    "inference/progress.py": "inference/test_chains.py (progress does not change draws)",
    "inference/reparam.py": "inference/test_sampling.py",
    "infosampling/checks.py": "infosampling/test_fit.py",
    "infosampling/coordinates.py": "infosampling/test_fit.py",
    "infosampling/heldout.py": "infosampling/test_fit.py",
    "infosampling/simulation.py": "infosampling/test_fit.py, infosampling/test_engagement.py",
    "jobs/quiet_worker.py": "jobs/test_engine.py (worker processes ignore Ctrl-C)",
    "isr/feedback.py": "isr/test_belief.py, sim/test_parity.py",
    "isr/utility.py": "sim/test_parity.py",
    "notebook.py": "test_notebooks.py",
    "pytree.py": "sim/test_envs.py (params vmapped and stacked)",
    "errors.py": "sim/test_config.py (every range and type message)",
    "sim/agents.py": "sim/test_parity.py",
    "sim/caregiver.py": "sim/test_parity.py, sim/test_runner.py",
    "sim/claims.py": "sim/test_reproduce.py",
    "sim/envs/base.py": "sim/test_envs.py (the protocol)",
    "sim/envs/gridworld.py": "sim/test_envs.py",
    "sim/envs/prosocial.py": "sim/test_envs.py",
    "sim/figures.py": "sim/test_reproduce.py, sim/test_sweep.py",
    "sim/outputs.py": "sim/test_runner.py, cli/test_sweep.py (the files written)",
    "testing/exact_posterior.py": "isr/test_belief.py (it is a reference)",
    "testing/infosampling.py": "infosampling/test_arrays.py (it is a reference)",
    "testing/simulation.py": "sim/test_parity.py (it is a reference)",
    "testing/tasks.py": "jobs/test_engine.py (it is a task for the engine's tests)",
    "testing/trial_models.py": "trials/test_catalogue.py (it is a reference)",
    "testing/whitening.py": "inference/test_whitening.py (it is a reference)",
    "testing/worlds.py": "sim/test_parity.py (it is a reference)",
    "trials/arrays.py": "trials/test_contract.py, trials/test_fit.py",
    "trials/delta_rules.py": "trials/test_catalogue.py (parity with the NumPy reference)",
    "trials/figures.py": "trials/test_fit.py (ppc)",
    "trials/fit_data.py": "trials/test_fit.py, trials/test_population.py",
    "trials/isr_rule.py": "trials/test_catalogue.py, trials/test_socialization.py",
    "trials/learning.py": "trials/test_catalogue.py",
    "trials/predictive_check.py": "trials/test_fit.py",
    "trials/schema.py": "trials/test_contract.py",
    "trials/specs.py": "trials/test_catalogue.py",
    "workflows/comparison.py": "workflows/test_kfold.py",
    "workflows/figures.py": "workflows/test_recovery.py, workflows/test_calibration.py",
}


def test_paths_are_imports():
    """The package lives at models/valueint/: every module's file path below models/ is its
    import, so that a tool that maps paths to imports sees every import."""
    for name, path in MODULES.items():
        expected = ".".join(path.relative_to(REPO_ROOT / "models").with_suffix("").parts)
        assert name == expected.removesuffix(".__init__"), (name, path)
    assert not (REPO_ROOT / "models" / "__init__.py").exists()


def test_every_valueint_import_resolves_to_a_file():
    """An import graph drawn from the file paths resolves every ``valueint`` import: the
    module imported is a file of the package, and a name imported from a module is a
    module of its own or defined in it (the top-level API's lazy names included)."""
    import valueint

    unresolved = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                stems = [a.name for a in node.names if a.name.startswith(PACKAGE)]
                unresolved += [(name, s) for s in stems if s not in MODULES]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                stem = node.module or ""
                if not stem.startswith(PACKAGE):
                    continue
                if stem not in MODULES:
                    unresolved.append((name, stem))
                    continue
                defined = _defined_names(MODULES[stem]) | (
                    set(valueint._ENTRY_POINTS) if stem == PACKAGE else set()
                )
                for alias in node.names:
                    if f"{stem}.{alias.name}" not in MODULES and alias.name not in defined:
                        unresolved.append((name, f"{stem}.{alias.name}"))
    assert not unresolved, unresolved


def _defined_names(path: Path) -> set[str]:
    """The names a module binds at its top level (definitions, assignments, imports)."""
    names = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If):  # TYPE_CHECKING blocks
            for inner in node.body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names |= {(a.asname or a.name).split(".")[0] for a in inner.names}
    return names


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
    # paper: the manuscript, docs: the documentation site; both outside the package
    folders -= {"__pycache__", "data", "paper", "docs"}
    assert folders <= set(SUBPACKAGES), sorted(folders - set(SUBPACKAGES))


def test_families_do_not_import_each_other():
    for module, targets in import_graph().items():
        own = subpackage_of(module)
        if own in FAMILIES:
            others = {subpackage_of(t) for t in targets} & (set(FAMILIES) - {own})
            assert not others, f"{module} imports the family {sorted(others)}"


def test_workflows_reach_the_families_only_through_the_protocol():
    """A workflow names a family only through ``valueint.inference.family`` (its registry
    and protocol), never by importing one."""
    for module, targets in import_graph().items():
        if subpackage_of(module) == "workflows":
            families = {t for t in targets if subpackage_of(t) in FAMILIES}
            assert not families, f"{module} imports {sorted(families)}"


def test_the_inference_layer_imports_no_family_or_workflow():
    for module, targets in import_graph().items():
        if subpackage_of(module) == "inference":
            above = {t for t in targets if subpackage_of(t) not in ("inference", "(top level)")}
            assert not above, f"{module} imports {sorted(above)}"


def test_the_command_line_holds_no_domain_logic():
    """``valueint.cli`` parses options and calls the library: it imports no numerical
    library and, of the package, only the library's entry points (``CLI_MAY_IMPORT``)."""
    for name, path in MODULES.items():
        if subpackage_of(name) != "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                stems = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                # "from valueint.sim import reproduce" imports the module valueint.sim.reproduce
                module = node.module or ""
                stems = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module
                    for a in node.names
                ]
            else:
                continue
            for stem in stems:
                assert stem.split(".")[0] not in NUMERICS, f"{name} imports {stem}"
                if stem.startswith(PACKAGE):
                    assert any(
                        stem == allowed or stem.startswith(f"{allowed}.")
                        for allowed in CLI_MAY_IMPORT
                        if allowed != PACKAGE or stem == PACKAGE
                    ), f"{name} imports {stem}"


def test_tests_mirror_the_package_module_by_module():
    """Every test module is named for the module it tests (``tests/x/test_y.py`` for
    ``valueint/x/y.py``) or is a stated cross-cutting test, and every module with
    behaviour of its own has its test module, or says which tests check it."""
    tests = REPO_ROOT / "tests"
    stray = []
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(tests)
        stem = rel.stem.removeprefix("test_")
        target = PACKAGE_DIR / rel.parent / stem
        if str(rel) in CROSS_CUTTING_TESTS:
            continue
        if not (target.with_suffix(".py").exists() or target.is_dir()):
            stray.append(str(rel))
    assert not stray, f"test modules that mirror no module: {stray}"
    untested = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR)
        if rel.name == "__init__.py" or str(rel) in TESTED_WITH:
            continue
        if not (tests / rel.parent / f"test_{rel.stem}.py").exists():
            untested.append(str(rel))
    assert not untested, f"modules with no test module and no note in TESTED_WITH: {untested}"
    stale = [m for m in TESTED_WITH if not (PACKAGE_DIR / m).exists()]
    assert not stale, f"TESTED_WITH names modules that do not exist: {stale}"


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
