"""Many independent tasks (fits, simulations) on Dask distributed.

Local workers by default, a running cluster by address (``engine``); every finished
task's result written at once, so that an interrupted job resumes (``store``); seeds from
the job's seed and the task's index (``seeds``), so that the numbers do not depend on how
many workers run the job or in what order.
"""

from valueint.jobs.engine import ADDRESS_ENV, JobReport, connect, finished_only, run_tasks
from valueint.jobs.seeds import task_seed
from valueint.jobs.store import JobMismatchError, TaskStore

__all__ = [
    "ADDRESS_ENV",
    "JobMismatchError",
    "JobReport",
    "TaskStore",
    "connect",
    "finished_only",
    "run_tasks",
    "task_seed",
]
