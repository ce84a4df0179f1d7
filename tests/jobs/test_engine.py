"""The engine on real local Dask workers (separate processes), and in threads."""

import os

import numpy as np
import pytest
from rich.console import Console

from valueint.jobs import ADDRESS_ENV, Engine, TaskStore, connect, run_tasks, task_seed
from valueint.jobs.engine import PROCESSES_ENV
from valueint.testing.tasks import seeded_draws

pytestmark = pytest.mark.xdist_group("dask")  # one worker starts the local clusters


@pytest.fixture(autouse=True)
def worker_processes(monkeypatch):
    """These tests are of real worker processes (the suite runs jobs in threads)."""
    monkeypatch.setenv(PROCESSES_ENV, "1")


def store_for(folder, n_tasks=5):
    return TaskStore(folder, kind="test", config={"n": 3}, seed=11, n_tasks=n_tasks)


def quiet():
    return Console(file=open("/dev/null", "w"))  # noqa: SIM115


def test_tasks_run_on_workers_and_resume_without_redoing_work(tmp_path):
    payloads = [{"n": 3}] * 5
    payloads[3] = {"n": 3, "fail": True}
    store = store_for(tmp_path)
    report = run_tasks(seeded_draws, payloads, store, Engine(workers=2, console=quiet()))
    # one task failed, is recorded with its seed, and the others finished
    assert (report.completed, len(report.failures), report.complete) == (4, 1, False)
    failure = store.failures()[0]
    assert failure["index"] == 3 and failure["seed"] == task_seed(11, 3)
    assert "asked to fail" in failure["error"]
    # each result is the task's own seeded draw, whichever worker ran it
    for result in store.results():
        expected = np.random.default_rng(task_seed(11, result["index"])).normal(size=3)
        np.testing.assert_array_equal(result["draws"], expected)
    assert len({r["pid"] for r in store.results()}) >= 1
    assert os.getpid() not in {r["pid"] for r in store.results()}  # worker processes
    finished = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()}
    # run again with the failure fixed: only task 3 runs; the others are not rewritten
    payloads[3] = {"n": 3}
    again = run_tasks(
        seeded_draws, payloads, store_for(tmp_path), Engine(workers=1, console=quiet())
    )
    assert (again.skipped, again.completed, again.complete) == (4, 1, True)
    assert store.failures() == []
    for name, mtime in finished.items():
        assert (tmp_path / "tasks" / name).stat().st_mtime_ns == mtime
    done = run_tasks(seeded_draws, payloads, store_for(tmp_path), Engine(console=quiet()))
    assert (done.skipped, done.completed) == (5, 0)


def test_the_numbers_do_not_depend_on_the_number_of_workers(tmp_path):
    payloads = [{"n": 2}] * 4
    runs = []
    for workers in (1, 2):
        store = TaskStore(tmp_path / str(workers), kind="t", config={}, seed=5, n_tasks=4)
        run_tasks(seeded_draws, payloads, store, Engine(workers=workers, console=quiet()))
        runs.append([r["draws"] for r in store.results()])
    assert runs[0] == runs[1]


def test_a_wrong_payload_count_and_an_absent_cluster_are_named(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="2 payloads for a job of 5 tasks"):
        run_tasks(seeded_draws, [{}] * 2, store_for(tmp_path), Engine(console=quiet()))
    monkeypatch.setenv(ADDRESS_ENV, "tcp://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ConnectionError, match="no Dask scheduler answered at 'tcp://127.0.0.1:9'"):
        with connect(timeout="2s"):
            pass


KILLED_JOB = """
import sys
from valueint.jobs import Engine, TaskStore, run_tasks
from valueint.testing.tasks import seeded_draws

if __name__ == "__main__":
    store = TaskStore(sys.argv[1], kind="test", config={"n": 3}, seed=11, n_tasks=8)
    run_tasks(seeded_draws, [{"n": 3, "sleep": 1.5}] * 8, store, Engine(workers=1, progress=False))
"""


def test_a_job_killed_midway_resumes_without_redoing_finished_tasks(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "job.py"
    script.write_text(KILLED_JOB)
    folder = tmp_path / "job"
    process = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tasks = folder / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(tasks.glob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the job, its scheduler and its worker
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in tasks.glob("*.json")}
    assert 2 <= len(finished) < 8, "the job was to be killed midway"
    store = TaskStore(folder, kind="test", config={"n": 3}, seed=11, n_tasks=8)
    payloads = [{"n": 3}] * 8
    report = run_tasks(seeded_draws, payloads, store, Engine(workers=1, console=quiet()))
    assert (report.skipped, report.completed, report.complete) == (
        len(finished),
        8 - len(finished),
        True,
    )
    for name, mtime in finished.items():
        assert (tasks / name).stat().st_mtime_ns == mtime
    for result in store.results():
        expected = np.random.default_rng(task_seed(11, result["index"])).normal(size=3)
        np.testing.assert_array_equal(result["draws"], expected)


def test_worker_threads_run_the_same_tasks_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv(PROCESSES_ENV, "0")
    store = store_for(tmp_path, n_tasks=3)
    report = run_tasks(seeded_draws, [{"n": 2}] * 3, store, Engine(workers=1, console=quiet()))
    assert report.complete and {r["pid"] for r in store.results()} == {os.getpid()}
    for result in store.results():
        expected = np.random.default_rng(task_seed(11, result["index"])).normal(size=2)
        np.testing.assert_array_equal(result["draws"], expected)


def test_local_worker_processes_leave_ctrl_c_to_the_job():
    """Each local worker process ignores SIGINT (``valueint.jobs.quiet_worker``): Ctrl-C
    stops the job in its own process, and no worker prints a traceback."""
    import signal

    with connect(workers=1) as client:
        handlers = client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    assert list(handlers.values()) == [True]
