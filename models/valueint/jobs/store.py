"""A job's folder: what the job is, and one file per finished task.

    OUT/job.json            the job: kind, config, seed, number of tasks, versions
    OUT/tasks/00012.json    task 12's result (written atomically when it finishes)
    OUT/failed/00012.json   task 12's last error, with its seed (removed on success)

Run again with the same folder, a job skips the tasks whose result file exists.  The
number of tasks may change between runs (task i's seed depends on i alone, so 200
replications extended to 400 keep the first 200); a folder that holds a different job
(another kind, config or seed) is refused rather than mixed with it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from valueint.records import atomic_write, package_versions

TASK_DIGITS = 5


class JobMismatchError(ValueError):
    """The output folder already holds a job with other settings."""


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class TaskStore:
    """The results of the job described by ``kind``, ``config``, ``seed`` and ``n_tasks``
    in ``folder`` (created if needed; ``job.json`` written on first use)."""

    def __init__(self, folder, *, kind: str, config: dict, seed: int, n_tasks: int):
        self.folder = Path(folder)
        self.job = {"kind": kind, "config": config, "seed": int(seed), "n_tasks": int(n_tasks)}
        self._claim()

    # -- the job ---------------------------------------------------------------------
    @property
    def job_path(self) -> Path:
        return self.folder / "job.json"

    def _claim(self) -> None:
        if self.job_path.exists():
            try:
                existing = json.loads(self.job_path.read_text())
            except json.JSONDecodeError as err:
                raise JobMismatchError(f"{self.job_path}: not a job file ({err})") from err
            differ = [
                key
                for key in ("kind", "config", "seed")
                if _canonical(existing.get(key)) != _canonical(self.job[key])
            ]
            if differ:
                raise JobMismatchError(
                    f"{self.folder} holds another job (its {', '.join(differ)} differ from "
                    f"this one's{_config_keys(existing.get('config'), self.job['config'])}); "
                    "choose another output folder, or remove that one to start over"
                )
            if existing.get("n_tasks") == self.job["n_tasks"]:
                return
        record = {
            **self.job,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": package_versions(),
        }
        atomic_write(self.job_path, json.dumps(record, indent=2, default=str) + "\n")

    # -- tasks -----------------------------------------------------------------------
    def _name(self, index: int) -> str:
        return f"{int(index):0{TASK_DIGITS}d}.json"

    def result_path(self, index: int) -> Path:
        return self.folder / "tasks" / self._name(index)

    def failure_path(self, index: int) -> Path:
        return self.folder / "failed" / self._name(index)

    def is_done(self, index: int) -> bool:
        return self.result_path(index).exists()

    def pending(self) -> list[int]:
        """The tasks without a result, in order."""
        return [i for i in range(self.job["n_tasks"]) if not self.is_done(i)]

    def write_result(self, index: int, result: dict) -> None:
        atomic_write(self.result_path(index), json.dumps(result, default=_jsonable) + "\n")
        self.failure_path(index).unlink(missing_ok=True)

    def write_failure(self, index: int, seed: int, error: str) -> None:
        record = {"index": int(index), "seed": int(seed), "error": error}
        atomic_write(self.failure_path(index), json.dumps(record, indent=2) + "\n")

    def results(self) -> list[dict]:
        """Every finished task's result, in task order."""
        return [
            json.loads(self.result_path(i).read_text())
            for i in range(self.job["n_tasks"])
            if self.is_done(i)
        ]

    def failures(self) -> list[dict]:
        folder = self.folder / "failed"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _config_keys(old, new) -> str:
    """`` in config: a, b`` naming the top-level settings that differ."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    keys = sorted(
        k for k in old.keys() | new.keys() if _canonical(old.get(k)) != _canonical(new.get(k))
    )
    return f"; in config: {', '.join(keys)}" if keys else ""


def _jsonable(value):
    """NumPy scalars and arrays in a task's result, as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a task result holds a {type(value).__name__}, which JSON cannot store")
