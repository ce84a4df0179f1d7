import json

import numpy as np
import pytest

from valueint.jobs.store import JobMismatchError, TaskStore


def make(folder, **changes):
    job = {"kind": "sbc", "config": {"model": "rw", "subjects": 8}, "seed": 0, "n_tasks": 4}
    job.update(changes)
    return TaskStore(folder, **job)


def test_results_are_written_one_file_per_task_and_read_in_order(tmp_path):
    store = make(tmp_path)
    assert store.pending() == [0, 1, 2, 3]
    store.write_result(2, {"index": 2, "value": np.float64(1.5), "array": np.arange(2)})
    store.write_result(0, {"index": 0, "value": 0.5})
    assert store.pending() == [1, 3]
    assert [r["index"] for r in store.results()] == [0, 2]
    assert store.results()[1]["array"] == [0, 1]
    assert not list(tmp_path.rglob("*.tmp"))  # atomic: no temporary files left behind
    recorded = json.loads((tmp_path / "job.json").read_text())
    assert recorded["config"] == {"model": "rw", "subjects": 8} and "versions" in recorded


def test_a_folder_resumes_the_same_job_and_refuses_another(tmp_path):
    make(tmp_path).write_result(1, {"index": 1})
    assert make(tmp_path).pending() == [0, 2, 3]
    with pytest.raises(JobMismatchError, match="config differ.*in config: subjects"):
        make(tmp_path, config={"model": "rw", "subjects": 9})
    with pytest.raises(JobMismatchError, match="seed"):
        make(tmp_path, seed=1)


def test_the_number_of_tasks_may_grow_keeping_finished_ones(tmp_path):
    make(tmp_path).write_result(3, {"index": 3})
    bigger = make(tmp_path, n_tasks=6)
    assert bigger.pending() == [0, 1, 2, 4, 5]
    assert json.loads((tmp_path / "job.json").read_text())["n_tasks"] == 6
    smaller = make(tmp_path, n_tasks=2)
    assert smaller.results() == []  # task 3 is kept on disk, outside this job's range
    assert (tmp_path / "tasks" / "00003.json").exists()


def test_a_failure_is_kept_until_the_task_succeeds(tmp_path):
    store = make(tmp_path)
    store.write_failure(1, 1234, "ValueError: bad draw")
    assert store.failures() == [{"index": 1, "seed": 1234, "error": "ValueError: bad draw"}]
    assert store.pending() == [0, 1, 2, 3]  # a failed task is retried on the next run
    store.write_result(1, {"index": 1})
    assert store.failures() == []


def test_unstorable_results_say_what_they_hold(tmp_path):
    with pytest.raises(TypeError, match="holds a object"):
        make(tmp_path).write_result(0, {"thing": object()})


def test_a_broken_job_file_is_named(tmp_path):
    (tmp_path / "job.json").write_text("{not json")
    with pytest.raises(JobMismatchError, match="job.json: not a job file"):
        make(tmp_path)
