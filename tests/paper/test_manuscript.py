"""The manuscript is built from the run records: every number it cites resolves, none is
typed into its source, a changed record changes the paper, a missing record fails the
build by name, and a record older than the package that made it fails it too."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANUSCRIPT = REPO / "paper" / "manuscript"
SOURCES = ("paper.typ", "refs.yml")


def _load_builder():
    """paper/manuscript/build.py under a name of its own (``build`` is also a PyPI package)."""
    spec = importlib.util.spec_from_file_location("manuscript_build", MANUSCRIPT / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load_builder()
provenance = build.provenance


class _Text(HTMLParser):
    """The text a reader sees, with math, styles, citations and the bibliography left out
    (those hold digits that no record gives: exponents, years of publication)."""

    SKIP = {"math", "style", "script"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        role = dict(attrs).get("role")
        if tag in self.SKIP or role in {"doc-bibliography", "doc-biblioref"}:
            self._skipping.append(tag)
        elif self._skipping and tag == self._skipping[-1]:
            self._skipping.append(tag)

    def handle_endtag(self, tag):
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text())
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture(scope="module")
def cited_copy(tmp_path_factory) -> Path:
    """A copy of paper/ holding only what the manuscript reads: the cited records and the
    manuscript's sources (the committed run outputs are not touched by any test)."""
    # freshness of the committed records is make paper's to enforce (and is tested below on
    # a checkout of its own): a package commit must not fail the suite until every run is redone
    content = build.collect(REPO / "paper", allow_stale=True)
    root = tmp_path_factory.mktemp("cited") / "paper"
    for relative in [*content["cited"], *(f"manuscript/{name}" for name in SOURCES)]:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "paper" / relative, target)
    return root


@pytest.fixture
def paper(cited_copy, tmp_path) -> Path:
    """A fresh copy per test, free to change."""
    copy = tmp_path / "paper"
    shutil.copytree(cited_copy, copy, ignore=shutil.ignore_patterns("build"))
    return copy


def test_the_paper_builds_and_every_cited_key_resolves(paper):
    written = build.build(paper, allow_stale=True)
    values = json.loads((paper / "manuscript" / "build" / "values.json").read_text())
    assert {p.name for p in written} == {"values.json", "paper.pdf", "paper.html"}
    assert (paper / "manuscript" / "build" / "paper.pdf").read_bytes()[:5] == b"%PDF-"
    source = (paper / "manuscript" / "paper.typ").read_text()
    kinds = {"v": "values", "val": "values", "figure-of": "figures"}
    for function, section in kinds.items():
        keys = re.findall(rf'(?<![\w-]){re.escape(function)}\("([^"]+)"\)', source)
        assert keys, function
        missing = sorted(set(keys) - set(values[section]))
        assert not missing, f"{section} without {missing}"
    # record tables name their lists as the first argument
    for key in re.findall(r'(?:record-table|claims-table)\(\s*"([^"]+)"', source):
        assert key in values["lists"] or f"sim.{key}.claims" in values["lists"], key
    # every value names the record (or the package constant) it was read from
    for key, entry in values["values"].items():
        assert entry["source"].startswith(
            ("paper/", "models/valueint/", "records", "limitations")
        ), key


def typed_numbers(paper: Path) -> list[str]:
    """Build with every digit of values.json blanked and return each digit left in the
    paper's text, in context: a number typed by hand (headings' and figures' own numbering
    aside)."""
    content = build.collect(paper, allow_stale=True)

    def blank(node):
        if isinstance(node, str):
            return re.sub(r"\d", "§", node)
        if isinstance(node, list):
            return [blank(x) for x in node]
        if isinstance(node, dict):
            return {k: (v if k == "value" else blank(v)) for k, v in node.items()}
        return node

    blanked = {**content, "values": blank(content["values"]), "lists": blank(content["lists"])}
    out = paper / "manuscript" / "build"
    out.mkdir(parents=True, exist_ok=True)
    (out / "values.json").write_text(json.dumps(blanked))
    build.compile_paper(paper, formats=("html",))
    text = html_text(out / "paper.html")
    text = re.sub(r"\b(Figure|Table|Section)\s+\d+", "", text)  # cross-references
    text = re.sub(r"(^| )\d+(\.\d+)*\. ", " ", text)  # heading numbers
    return [text[max(m.start() - 40, 0) : m.end() + 40] for m in re.finditer(r"\d", text)]


def test_no_number_is_typed_into_the_source(paper):
    assert typed_numbers(paper) == []


def test_a_number_typed_into_the_source_is_found(paper):
    source = paper / "manuscript" / "paper.typ"
    source.write_text(source.read_text() + "\nWe saw 42 children.\n")
    assert any("42 children" in snippet for snippet in typed_numbers(paper))


def test_a_changed_record_changes_the_paper(paper):
    record_path = paper / "figures" / "unlearning.json"
    record = json.loads(record_path.read_text())
    claim = record["claims"][0]
    old = build.estimate(claim["estimate"], claim["low"], claim["high"], 3, signed=True)
    claim["estimate"] = 0.123456
    record_path.write_text(json.dumps(record))
    build.build(paper, formats=("html",), allow_stale=True)
    text = html_text(paper / "manuscript" / "build" / "paper.html")
    new = build.estimate(0.123456, claim["low"], claim["high"], 3, signed=True)
    assert new in text and old not in text


def test_a_changed_table_changes_the_limitations(paper):
    """A fit that stops converging in its record is listed under the limitations."""
    path = paper / "prosocial_learning" / "diagnostics.csv"
    rows = list(csv.DictReader(path.open()))
    converged = [r["model"] for r in rows if r["converged"] == "True"]
    assert converged, "no converged fit in the record to change"
    model = converged[0]
    for row in rows:
        if row["model"] == model:
            row["converged"], row["max_rhat"] = "False", "1.234"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    build.build(paper, formats=("html",), allow_stale=True)
    assert f"{model}: R-hat 1.234" in html_text(paper / "manuscript" / "build" / "paper.html")


def test_a_missing_record_fails_the_build_naming_it(paper, capsys):
    (paper / "prosocial_learning" / "diagnostics.csv").unlink()
    with pytest.raises(provenance.MissingRecord, match="paper/prosocial_learning/diagnostics.csv"):
        build.build(paper, formats=("html",), allow_stale=True)
    assert build.main(["--paper", str(paper), "--format", "html", "--allow-stale"]) == 1
    assert "paper/prosocial_learning/diagnostics.csv" in capsys.readouterr().err


def test_a_record_of_another_layout_fails_naming_the_record_and_field(paper, capsys):
    """A field or column the builder reads and a record lacks is a RecordError naming both
    (a record written by a later or earlier layout), not a bare KeyError."""
    path = paper / "prosocial_learning" / "run.json"
    record = json.loads(path.read_text())
    del record["data"]["n_missed"]
    path.write_text(json.dumps(record))
    with pytest.raises(
        provenance.RecordError, match="prosocial_learning/run.json: data: no field 'n_missed'"
    ):
        build.build(paper, formats=("html",), allow_stale=True)
    table = paper / "prosocial_learning" / "diagnostics.csv"
    table.write_text(table.read_text().replace("max_rhat", "rhat_max", 1))
    path.write_text(json.dumps({**record, "data": {**record["data"], "n_missed": 1}}))
    assert build.main(["--paper", str(paper), "--format", "html", "--allow-stale"]) == 1
    assert (
        "prosocial_learning/diagnostics.csv, line 2: no field 'max_rhat'" in capsys.readouterr().err
    )


def test_a_cited_file_without_a_run_record_fails_the_build(paper):
    (paper / "trust_sampling" / "run.json").unlink()
    with pytest.raises(provenance.MissingRecord, match="paper/trust_sampling/run.json"):
        build.build(paper, formats=("html",), allow_stale=True)


def test_limitations_list_every_unconverged_fit_and_missed_check(cited_copy):
    """Read independently of the builder: every fit the records mark unconverged and every
    predictive check below the criterion appears in the limitations."""
    from valueint.inference.predictive import COVERAGE_TARGET

    content = build.collect(cited_copy, allow_stale=True)
    listed = " ".join(row["text"] for row in content["lists"]["limitations"]["items"])
    expected = []
    for table in ("prosocial_learning", "prosocial_learning/kfold", "trust_sampling"):
        for row in csv.DictReader((cited_copy / table / "diagnostics.csv").open()):
            if row["converged"] != "True":
                expected.append(f"{row['model']}: ")
    for row in csv.DictReader((cited_copy / "prosocial_learning" / "coverage.csv").open()):
        if float(row["coverage"]) < COVERAGE_TARGET:
            expected.append(
                f"{row['group']}/{row['context']} {round(100 * float(row['coverage']))}%"
            )
    stays = cited_copy / "prosocial_learning" / "stay_coverage.csv"  # runs that made it
    for row in csv.DictReader(stays.open()) if stays.exists() else ():
        if float(row["coverage"]) < COVERAGE_TARGET:
            expected.append(
                f"after {row['after']}/{row['group']}/{row['context']} "
                f"{round(100 * float(row['coverage']))}%"
            )
    for row in csv.DictReader((cited_copy / "trust_sampling" / "coverage.csv").open()):
        if float(row["fraction"]) < COVERAGE_TARGET:
            expected.append(
                f"{row['model']}, {row['statistic']}: {row['covered']} of {row['points']}"
            )
    for row in csv.DictReader((cited_copy / "calibration" / "summary.csv").open()):
        if row["passes"] != "True":
            expected.append(f"{row['level']} {row['model']}, {row['quantity']}")
    # a learning-curve panel ("young/self 44%") is also the tail of a stay panel's text
    # ("after loss/young/self 44%"): each must appear on its own
    missing = [e for e in expected if not re.search(rf"(?<![/\w]){re.escape(e)}", listed)]
    assert expected and not missing, missing


def test_thresholds_are_the_package_constants(cited_copy):
    """The criteria the records do not carry are the package's own, each named by the
    module that defines it."""
    from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX
    from valueint.inference.predictive import COVERAGE_TARGET

    values = build.collect(cited_copy, allow_stale=True)["values"]
    assert values["crit.rhat_max"]["value"] == RHAT_MAX
    assert values["crit.ess_min"]["value"] == ESS_MIN
    assert values["crit.coverage"]["value"] == COVERAGE_TARGET
    criteria = {key: entry for key, entry in values.items() if key.startswith("crit.")}
    assert len(criteria) >= 10
    for key, entry in criteria.items():
        path, name = entry["source"].split(":")
        assert re.search(rf"^{name}\b", (REPO / path).read_text(), re.MULTILINE), key


def test_the_builder_keeps_its_modules_small():
    """One concern per module, as in the package (``tests/test_architecture.py``)."""
    modules = [MANUSCRIPT / "build.py", MANUSCRIPT / "provenance.py"]
    modules += sorted((MANUSCRIPT / "builder").glob("*.py"))
    sizes = {p.name: len(p.read_text().splitlines()) for p in modules}
    assert len(sizes) > 5 and max(sizes.values()) <= 600, sizes


# -- staleness ------------------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    done = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git checkout with a package at models/valueint and one commit."""
    package = tmp_path / "models" / "valueint"
    package.mkdir(parents=True)
    (package / "module.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("readme\n")
    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "first")
    return tmp_path


def _record(commit, package="models/valueint"):
    code = None if commit is None else {"commit": commit, "dirty": False, "package": package}
    return {"created": "2026-01-01T00:00:00+00:00", "code": code}


@needs_git
def test_a_record_is_stale_once_the_package_changes_after_its_commit(checkout):
    made_at = _git(checkout, "rev-parse", "HEAD")
    assert provenance.judge_record("run.json", _record(made_at), checkout).state == "fresh"

    (checkout / "README.md").write_text("other files do not make it stale\n")
    _git(checkout, "commit", "--quiet", "-am", "docs")
    assert provenance.judge_record("run.json", _record(made_at), checkout).state == "fresh"

    (checkout / "models" / "valueint" / "module.py").write_text("x = 2\n")
    _git(checkout, "commit", "--quiet", "-am", "code")
    state = provenance.judge_record("run.json", _record(made_at), checkout)
    assert state.state == "stale" and state.changed == ("models/valueint/module.py",)
    assert "models/valueint/module.py" in state.reason


@needs_git
def test_records_without_a_commit_or_with_an_unknown_one(checkout):
    assert provenance.judge_record("run.json", _record(None), checkout).state == "no commit"
    assert provenance.judge_record("run.json", {"created": "x"}, checkout).state == "no commit"
    unknown = provenance.judge_record("run.json", _record("0" * 40), checkout)
    assert unknown.state == "stale" and "not in this checkout" in unknown.reason
    made_at = _git(checkout, "rev-parse", "HEAD")
    assert provenance.judge_record("run.json", _record(made_at), None).state == "unjudged"


@needs_git
def test_a_record_of_uncommitted_or_changing_code_is_stale(checkout):
    """A run from package files that differed from its commit, or during which the package
    changed, vouches for no commit's code."""
    made_at = _git(checkout, "rev-parse", "HEAD")
    dirty = _record(made_at)
    dirty["code"]["dirty"] = True
    state = provenance.judge_record("run.json", dirty, checkout)
    assert state.state == "stale" and "differed from commit" in state.reason
    moving = _record(made_at)
    moving["code"]["changed_during_run"] = True
    state = provenance.judge_record("run.json", moving, checkout)
    assert state.state == "stale" and "changed while the run went on" in state.reason
    assert provenance.judge_record("run.json", _record(made_at), checkout).state == "fresh"


@needs_git
def test_a_stale_record_fails_the_check_naming_it(checkout):
    made_at = _git(checkout, "rev-parse", "HEAD")
    paper = checkout / "paper"
    (paper / "study").mkdir(parents=True)
    (paper / "study" / "run.json").write_text(json.dumps(_record(made_at)))
    (paper / "study" / "table.csv").write_text("a\n1\n")
    (checkout / "models" / "valueint" / "module.py").write_text("x = 3\n")
    _git(checkout, "commit", "--quiet", "-am", "code")

    records = provenance.Records(paper, repo=checkout)
    records.csv("study/table.csv")
    with pytest.raises(provenance.StaleRecord, match=r"paper/study/run.json: .*module.py"):
        records.check()
    (state,) = records.check(allow_stale=True)
    assert state.state == "stale"


def test_each_cited_file_is_judged_by_the_record_that_made_it(cited_copy):
    records = provenance.Records(cited_copy)
    assert records.producing_records("figures/unlearning.png") == ["figures/unlearning.json"]
    assert records.producing_records("prosocial_learning/kfold/kfold.csv") == [
        "prosocial_learning/kfold/run.json"
    ]
    assert records.producing_records("trust_sampling/calibration/uncertainty/recovery.csv") == [
        "trust_sampling/calibration/uncertainty/run.json"
    ]
    # a summary of many runs: every run behind it
    behind_summary = records.producing_records("calibration/summary.csv")
    assert "calibration/paradigm-isr/run.json" in behind_summary and len(behind_summary) > 1
