"""The job driver's one failure policy: every task runs, failures are kept and named,
finished results survive, a rerun retries only what failed; ``run=False`` summarizes."""

import numpy as np
import pytest

from valueint.jobs import Engine, JobIncomplete, JobSpec, run_job, task_seed
from valueint.testing.tasks import seeded_draws


def job(folder, payloads, run=True):
    return run_job(
        seeded_draws,
        payloads,
        folder,
        JobSpec("test", {"n": 2}, 4, "draws"),
        engine=Engine(workers=1, progress=False),
        run=run,
    )


def test_failures_are_named_after_every_task_ran_and_a_rerun_retries_them(tmp_path):
    payloads = [{"n": 2}] * 4
    payloads[1] = {"n": 2, "fail": True}
    with pytest.raises(JobIncomplete) as caught:
        job(tmp_path, payloads)
    message = str(caught.value)
    assert "draws: 1 of 4 task(s) failed (first: task 1, seed" in message
    assert "asked to fail" in message and "retry" in message
    outcome = caught.value.outcome
    assert len(outcome.results) == 3 and not outcome.complete
    assert [f["index"] for f in outcome.failures] == [1]
    summarized = job(tmp_path, payloads, run=False)  # nothing runs; what finished is there
    assert len(summarized.results) == 3 and summarized.report.completed == 0
    payloads[1] = {"n": 2}
    done = job(tmp_path, payloads)
    assert done.complete and (done.report.skipped, done.report.completed) == (3, 1)
    assert done.failures == ()
    for result in done.results:
        expected = np.random.default_rng(task_seed(4, result["index"])).normal(size=2)
        np.testing.assert_array_equal(result["draws"], expected)


def test_without_a_folder_the_job_runs_in_a_temporary_one():
    outcome = job(None, [{"n": 1}] * 2)
    assert outcome.complete and [r["index"] for r in outcome.results] == [0, 1]
    with pytest.raises(JobIncomplete, match="give the job a folder"):
        job(None, [{"n": 1, "fail": True}])
