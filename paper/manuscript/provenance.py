"""The run records a manuscript cites: each must exist, and none may be older than the code
that made it.

``Records`` reads the tables and run records under one ``paper/`` folder and remembers
every file it was asked for.  ``Records.check`` then judges the run record behind each of
those files (``producing_records``): a record that names the commit it was made at
(``run.json``'s ``code``, written by ``valueint.records.run_record``) is *stale* when any
tracked file of the package changed between that commit and HEAD.  The whole package
counts, not the command's own module: a run's numbers also depend on the shared
inference, belief and record code, on the packaged configs, and on modules imported only
in the job engine's worker processes, so a per-module rule would call some stale records
fresh.  A record made from package files that differed from its commit (``dirty``), or
during which the package changed (``changed_during_run``), vouches for no commit's code
and is stale too.  Records made before commits were recorded cannot be judged; they pass
and are reported as such.
"""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PACKAGE = "models/valueint"  # where the package lives in the checkout


class RecordError(Exception):
    """A cited record that cannot be used; the message names it."""


class MissingRecord(RecordError):
    pass


class StaleRecord(RecordError):
    pass


class Fields(dict):
    """A record's mapping whose missing key is a ``RecordError`` naming the record and the
    field (a record of another layout says what it lacks, not a bare ``KeyError``)."""

    def __init__(self, content: dict, where: str):
        super().__init__(content)
        self.where = where

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            raise RecordError(f"{self.where}: no field {key!r}") from None


def named_fields(value, record: str, path: str = ""):
    """``value`` (parsed JSON) with every mapping, nested ones too, a ``Fields`` whose
    messages name the record and the path to it (``paper/x/run.json: config: no field
    'seed'``; ``paper/x/run.json: no field 'data'`` at the top)."""
    where = f"{record}: {path}" if path else record
    if isinstance(value, dict):
        inner = {k: named_fields(v, record, f"{path}.{k}" if path else k) for k, v in value.items()}
        return Fields(inner, where)
    if isinstance(value, list):
        return [named_fields(item, record, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


@dataclass(frozen=True)
class RecordState:
    """How one run record was judged: ``state`` is ``fresh``, ``stale``, ``no commit`` (made
    before records carried one) or ``unjudged`` (no git checkout to compare with)."""

    path: str
    state: str
    created: str | None = None
    commit: str | None = None
    dirty: bool = False
    changed: tuple[str, ...] = ()
    reason: str = ""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def is_checkout(repo: Path) -> bool:
    try:
        return _git(repo, "rev-parse", "--verify", "HEAD").returncode == 0
    except OSError:  # no git on this machine
        return False


def changed_since(repo: Path, commit: str, package: str) -> tuple[str, ...]:
    """Tracked files under ``package`` that differ between ``commit`` and HEAD; raises
    ``StaleRecord`` when the commit is not in this checkout (a record it cannot vouch for)."""
    if _git(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise StaleRecord(f"commit {commit} is not in this checkout")
    done = _git(repo, "diff", "--name-only", commit, "HEAD", "--", package)
    if done.returncode != 0:
        raise StaleRecord(f"git diff {commit} HEAD failed: {done.stderr.strip()}")
    return tuple(line for line in done.stdout.splitlines() if line)


def judge_record(path: str, record: dict, repo: Path | None) -> RecordState:
    """Judge one run record against the checkout ``repo`` (None: no checkout)."""
    code = record.get("code") or {}
    commit = code.get("commit")
    common = {"path": path, "created": record.get("created"), "commit": commit}
    common["dirty"] = bool(code.get("dirty"))
    if not commit:
        return RecordState(state="no commit", **common)
    if common["dirty"]:
        reason = f"made from package files that differed from commit {commit[:12]}"
        return RecordState(state="stale", reason=reason, **common)
    if code.get("changed_during_run"):
        reason = f"the package changed while the run went on (from commit {commit[:12]})"
        return RecordState(state="stale", reason=reason, **common)
    if repo is None:
        return RecordState(state="unjudged", reason="not built in a git checkout", **common)
    try:
        changed = changed_since(repo, commit, code.get("package") or DEFAULT_PACKAGE)
    except StaleRecord as error:
        return RecordState(state="stale", reason=str(error), **common)
    if changed:
        reason = f"the package changed since commit {commit[:12]}: {', '.join(changed)}"
        return RecordState(state="stale", changed=changed, reason=reason, **common)
    return RecordState(state="fresh", **common)


@dataclass
class Records:
    """The records under ``paper_dir``, read on demand and remembered as cited.

    Paths are given relative to ``paper_dir`` and named in messages as
    ``<paper_dir name>/<path>`` (``paper/figures/unlearning.json``).  ``repo`` is the git
    checkout whose history judges staleness (default: the one holding this file)."""

    paper_dir: Path
    repo: Path | None = None
    cited: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self):
        self.paper_dir = Path(self.paper_dir)
        if self.repo is None:
            self.repo = Path(__file__).resolve().parents[2]

    def name(self, relative: str) -> str:
        return f"{self.paper_dir.name}/{relative}"

    def path(self, relative: str) -> Path:
        """The file, recorded as cited; ``MissingRecord`` naming it when it is not there."""
        path = self.paper_dir / relative
        if not path.is_file():
            raise MissingRecord(f"missing record: {self.name(relative)}")
        self.cited[relative] = path
        return path

    def json(self, relative: str) -> dict:
        """The parsed record; a field it lacks raises ``RecordError`` naming both."""
        try:
            content = json.loads(self.path(relative).read_text())
        except json.JSONDecodeError as error:
            raise RecordError(f"unreadable record {self.name(relative)}: {error}") from None
        return named_fields(content, self.name(relative))

    def csv(self, relative: str) -> list[dict[str, str]]:
        """The table's rows; a column it lacks raises ``RecordError`` naming both."""
        with self.path(relative).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise RecordError(f"empty table: {self.name(relative)}")
        return [Fields(row, f"{self.name(relative)}, line {i + 2}") for i, row in enumerate(rows)]

    def producing_records(self, relative: str) -> list[str]:
        """The run records behind a cited file: a figure's own ``<name>.json`` beside it in
        ``figures/``, else the nearest ``run.json`` in its folder or above, else (a summary of
        runs, as ``calibration/summary.csv``) every ``run.json`` in the folders below."""
        path = Path(relative)
        if path.parent.name == "figures":
            return [(path.parent / f"{path.stem}.json").as_posix()]
        for folder in [path.parent, *path.parent.parents]:
            if (self.paper_dir / folder / "run.json").is_file():
                return [(folder / "run.json").as_posix()]
        below = sorted((self.paper_dir / path.parent).glob("*/run.json"))
        return [p.relative_to(self.paper_dir).as_posix() for p in below]

    def check(self, allow_stale: bool = False) -> list[RecordState]:
        """Judge the record behind every cited file; raise naming each stale one (unless
        ``allow_stale``: a draft then lists them) or a cited file with no record behind it."""
        wanted: dict[str, None] = {}
        for relative in list(self.cited):
            producing = self.producing_records(relative)
            if not producing:
                raise MissingRecord(f"no run record for {self.name(relative)}")
            wanted.update(dict.fromkeys(producing))
        repo = self.repo if self.repo is not None and is_checkout(self.repo) else None
        states = [judge_record(self.name(r), self.json(r), repo) for r in sorted(wanted)]
        stale = [s for s in states if s.state == "stale"]
        if stale and not allow_stale:
            lines = "\n".join(f"  {s.path}: {s.reason}" for s in stale)
            raise StaleRecord(
                f"{len(stale)} record(s) older than the code that made them:\n{lines}"
            )
        return states
