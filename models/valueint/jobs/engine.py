"""Running a job's tasks on Dask distributed, locally or on a cluster.

Why Dask.  The tasks here are independent Python calls that each run a JAX program (a
fit, a simulation) and return a small result; nothing is shared between them.  Dask's
``distributed`` scheduler runs exactly that with ``submit`` and ``as_completed``, is a
pure-Python install beside the rest of the stack, starts local worker processes in
seconds, and attaches to clusters that already exist (``dask-jobqueue`` for SLURM, PBS
and the like; ``dask-kubernetes``; a ``dask scheduler`` started by hand).  Ray would
serve as well, but brings a larger runtime and its own object store, which these small
results do not need.

Locally (no address) a ``LocalCluster`` of one single-threaded worker process per core
is started and stopped with the job (``VALUEINT_DASK_PROCESSES=0``: worker threads of
this process instead, for small jobs): each worker runs one task at a time on one core,
with one JAX device, so a fit's chains run one after another inside its task and the
job's parallelism is across tasks.  With an address (``address=`` or the environment
variable ``VALUEINT_DASK_ADDRESS``) the job runs on that scheduler's workers, which need
valueint installed in the same version.

Every task's result is handed to the ``TaskStore`` as soon as it arrives, so a job that
is interrupted keeps its finished tasks, and a task that raises is recorded with its
seed and error while the others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from valueint.devices import cpu_fusion_flag
from valueint.jobs.seeds import task_seed
from valueint.jobs.store import TaskStore

ADDRESS_ENV = "VALUEINT_DASK_ADDRESS"
# "0": a local cluster's worker is a thread of this process, not a process of its own (no
# start-up, one shared compile cache: for small jobs and for tests; JAX's devices and
# flags are then this process's).  One thread only: numpyro's handlers are one global
# stack, which two models traced at once in two threads would corrupt.
PROCESSES_ENV = "VALUEINT_DASK_PROCESSES"
# each local worker: one JAX CPU device on one thread (the job is parallel across tasks)
LOCAL_WORKER_ENV = {
    "XLA_FLAGS": "--xla_force_host_platform_device_count=1 "
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 "
    + (cpu_fusion_flag() or ""),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# each local worker process leaves Ctrl-C to the job's own process
QUIET_WORKER = "valueint.jobs.quiet_worker"
# passed on to local workers when set here: the compile cache is shared by all of them
INHERITED_ENV = (
    "JAX_COMPILATION_CACHE_DIR",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
    "JAX_ENABLE_X64",
)


@dataclasses.dataclass(frozen=True)
class Engine:
    """Where a job's tasks run and what the job shows while they do: the Dask scheduler at
    ``address`` (default ``$VALUEINT_DASK_ADDRESS``, else a local cluster of ``workers``
    processes, one per core by default), a progress bar, and the console for both."""

    address: str | None = None
    workers: int | None = None
    progress: bool = True
    console: Console | None = None


LOCAL = Engine()
QUIET = Engine(progress=False)  # local, with no progress bar: what a library call shows


@dataclasses.dataclass(frozen=True)
class JobReport:
    """What a call of ``run_tasks`` did: tasks already done before it (``skipped``),
    finished by it (``completed``), and the failures {index, seed, error}."""

    n_tasks: int
    skipped: int
    completed: int
    failures: tuple[dict, ...]
    wall_s: float
    address: str

    @property
    def complete(self) -> bool:
        return self.skipped + self.completed == self.n_tasks

    def record(self) -> dict:
        """What the engine did, for a result's run record."""
        return {
            "address": self.address,
            "skipped": self.skipped,
            "completed": self.completed,
            "failed": len(self.failures),
            "wall_s": round(self.wall_s, 3),
        }


def finished_only(store: TaskStore) -> JobReport:
    """The report of a job that is summarized without running its missing tasks."""
    n_tasks = store.job["n_tasks"]
    return JobReport(n_tasks, n_tasks - len(store.pending()), 0, (), 0.0, "not run (--no-run)")


def local_worker_env() -> dict[str, str]:
    inherited = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    return {**LOCAL_WORKER_ENV, **inherited}


@contextlib.contextmanager
def connect(address: str | None = None, workers: int | None = None, timeout: str = "30s"):
    """A Dask client: to the scheduler at ``address`` (else ``$VALUEINT_DASK_ADDRESS``),
    waiting up to ``timeout`` for it, or to a local cluster of ``workers`` processes
    (default: one per core) that lives as long as the ``with`` block."""
    from dask.distributed import Client, LocalCluster

    address = address or os.environ.get(ADDRESS_ENV) or None
    if address:
        try:
            client = Client(address, timeout=timeout)
        except OSError as err:
            raise ConnectionError(
                f"no Dask scheduler answered at {address!r} ({err}); start one "
                "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or leave "
                f"the address and {ADDRESS_ENV} unset to run locally"
            ) from err
        with client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1
    if int(n_workers) != n_workers or n_workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    processes = os.environ.get(PROCESSES_ENV, "1") != "0"
    if not processes:
        n_workers = 1
    with (
        LocalCluster(
            n_workers=int(n_workers),
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            **({"env": local_worker_env(), "preload": [QUIET_WORKER]} if processes else {}),
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _run_task(function: Callable, payload, seed: int) -> dict:
    """On a worker: the task's result with its seed, run time and where it ran."""
    start = time.perf_counter()
    result = function(payload, seed)
    if not isinstance(result, dict):
        raise TypeError(f"a task must return a dict; {function.__name__} returned {type(result)}")
    return {
        **result,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 3),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def run_tasks(
    function: Callable,
    payloads: Sequence,
    store: TaskStore,
    engine: Engine = LOCAL,
    description: str = "tasks",
) -> JobReport:
    """Run ``function(payloads[i], task_seed(job seed, i))`` for every task of ``store``'s
    job without a result, and write each result as it arrives.

    ``function`` must be importable on the workers (a module-level function of an
    installed package) and return a JSON-able dict.  A task that raises is reported
    with its seed and error (in ``store``'s ``failed/`` folder and on the console) and
    the others go on; run the job again to retry it.
    """
    from dask.distributed import as_completed

    n_tasks = store.job["n_tasks"]
    if len(payloads) != n_tasks:
        raise ValueError(f"{len(payloads)} payloads for a job of {n_tasks} tasks")
    console = engine.console or Console(stderr=True, soft_wrap=True)
    pending = store.pending()
    skipped = n_tasks - len(pending)
    start = time.perf_counter()
    failures: list[dict] = []
    if not pending:
        return JobReport(n_tasks, skipped, 0, (), 0.0, "none needed")
    completed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        connect(engine.address, engine.workers) as client,
        Progress(*columns, console=console, disable=not engine.progress) as bar,
    ):
        where = client.scheduler.address
        counter = bar.add_task(description, total=n_tasks, completed=skipped)
        seeds = {i: task_seed(store.job["seed"], i) for i in pending}
        futures = {
            client.submit(_run_task, function, payloads[i], seeds[i], pure=False): i
            for i in pending
        }
        for future in as_completed(futures):
            index = futures.pop(future)
            if future.status == "error":
                error = future.exception()
                text = "".join(traceback.format_exception_only(type(error), error)).strip()
                store.write_failure(index, seeds[index], text)
                failures.append({"index": index, "seed": seeds[index], "error": text})
                console.print(f"[red]task {index} (seed {seeds[index]}) failed:[/red] {text}")
            else:
                store.write_result(index, {"index": index, **future.result()})
                completed += 1
            future.release()
            bar.advance(counter)
    return JobReport(
        n_tasks, skipped, completed, tuple(failures), time.perf_counter() - start, where
    )
