"""Run or resume a job: every workflow of many fits (SBC, K-fold, study design, chunked
sweeps) goes through ``run_job``, so all of them resume and fail the same way.

``run_job(function, payloads, folder, JobSpec(kind, config, seed))`` claims ``folder``
for the job (a folder that holds another job is refused: ``valueint.jobs.store``), runs
every task without a result on ``engine`` (``valueint.jobs.engine.Engine``: local
workers, or a Dask cluster by address) and returns every finished task's result in task order.

The failure policy, the same for every job: a task that raises is recorded with its seed
and error (``folder/failed/``) and printed, and the other tasks go on; once every task has
run, a job with failures raises ``JobIncomplete``, which names them.  Finished results are
kept, so the next run retries only the failed tasks.  ``run=False`` runs nothing and
returns what has finished (to summarize a job that is still going, or that failed).
Ctrl-C stops the job between results: those written so far are kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from valueint.jobs.engine import LOCAL, Engine, JobReport, finished_only, run_tasks
from valueint.jobs.store import TaskStore


@dataclasses.dataclass(frozen=True)
class JobOutcome:
    """What a job has: the finished tasks' results (in task order), what this run of the
    engine did, and the failures still on record."""

    results: list[dict]
    report: JobReport
    failures: tuple[dict, ...]
    n_tasks: int

    @property
    def complete(self) -> bool:
        return len(self.results) == self.n_tasks


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """What a job is: its kind, the config that identifies it (a folder that holds a job of
    another kind or config is refused), its seed (each task's seed derives from it and the
    task's index), and what its progress bar says."""

    kind: str
    config: dict
    seed: int
    description: str = "tasks"


class JobIncomplete(RuntimeError):
    """A job some of whose tasks failed; ``outcome`` holds what did finish."""

    def __init__(self, message: str, outcome: JobOutcome):
        super().__init__(message)
        self.outcome = outcome


def run_job(
    function: Callable,
    payloads: Sequence,
    folder: str | Path | None,
    spec: JobSpec,
    *,
    engine: Engine | None = None,
    run: bool = True,
) -> JobOutcome:
    """Run (or resume) the job of ``function`` over ``payloads`` in ``folder`` (a temporary
    folder if None: nothing to resume from) and return its outcome; see the module doc."""
    with (
        tempfile.TemporaryDirectory()
        if folder is None
        else contextlib.nullcontext(Path(folder)) as where
    ):
        store = TaskStore(
            where, kind=spec.kind, config=spec.config, seed=spec.seed, n_tasks=len(payloads)
        )
        if run:
            report = run_tasks(function, payloads, store, engine or LOCAL, spec.description)
        else:
            report = finished_only(store)
        outcome = JobOutcome(store.results(), report, tuple(store.failures()), len(payloads))
    if run and report.failures:
        first = report.failures[0]
        last_line = first["error"].strip().splitlines()[-1] if first["error"].strip() else "?"
        where = (
            f"they are kept in {Path(folder) / 'failed'}; run again with the same folder to "
            "retry them"
            if folder is not None
            else "give the job a folder to keep its finished tasks and retry the failed ones"
        )
        raise JobIncomplete(
            f"{spec.description}: {len(report.failures)} of {len(payloads)} task(s) failed (first: "
            f"task {first['index']}, seed {first['seed']}: {last_line}); {where}",
            outcome,
        )
    return outcome
