"""Many independent tasks (fits, simulations) on Dask distributed.

Local workers by default, a running cluster by address (``engine``); every finished
task's result written at once, so that an interrupted job resumes (``store``); seeds from
the job's seed and the task's index (``seeds``), so that the numbers do not depend on how
many workers run the job or in what order; ``driver``'s ``run_job`` runs or resumes a job
in a folder with one failure policy, for every workflow.
"""

from valueint.jobs.driver import JobIncomplete, JobOutcome, JobSpec, run_job
from valueint.jobs.engine import (
    ADDRESS_ENV,
    LOCAL,
    QUIET,
    Engine,
    JobReport,
    connect,
    finished_only,
    run_tasks,
)
from valueint.jobs.seeds import task_seed
from valueint.jobs.store import JobMismatchError, TaskStore

__all__ = [
    "ADDRESS_ENV",
    "LOCAL",
    "QUIET",
    "Engine",
    "JobIncomplete",
    "JobMismatchError",
    "JobOutcome",
    "JobReport",
    "JobSpec",
    "TaskStore",
    "connect",
    "finished_only",
    "run_job",
    "run_tasks",
    "task_seed",
]
