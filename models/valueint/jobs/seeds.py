"""Task seeds: one independent stream per task, derived from the job's seed and the
task's index alone, so a task draws the same numbers on any worker, in any order."""

from __future__ import annotations

import numpy as np

SEED_BITS = 30  # leaves room for seed + k offsets within every int32 seed argument


def task_seed(job_seed: int, index: int) -> int:
    """The seed of task ``index`` of a job seeded ``job_seed``.

    NumPy's ``SeedSequence`` spawn keys give statistically independent streams for
    different indices (unlike ``job_seed + index``, where job 0's task 1 is job 1's task 0).
    """
    if int(job_seed) != job_seed or job_seed < 0:
        raise ValueError(f"the job seed must be a non-negative integer; got {job_seed!r}")
    if int(index) != index or index < 0:
        raise ValueError(f"a task index must be a non-negative integer; got {index!r}")
    state = np.random.SeedSequence(int(job_seed), spawn_key=(int(index),)).generate_state(
        1, np.uint32
    )
    return int(state[0] >> (32 - SEED_BITS))
