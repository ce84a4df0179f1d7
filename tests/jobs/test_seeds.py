import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from valueint.jobs.seeds import SEED_BITS, task_seed


def test_seeds_are_fixed_by_job_seed_and_index():
    assert task_seed(0, 3) == task_seed(0, 3)
    # stable across releases: results on disk name these seeds
    assert [task_seed(0, i) for i in range(3)] == [
        task_seed(0, 0),
        task_seed(0, 1),
        task_seed(0, 2),
    ]


def test_seeds_of_a_job_are_distinct_and_unlike_shifted_jobs():
    seeds = [task_seed(7, i) for i in range(20_000)]
    assert len(set(seeds)) == len(seeds)
    # job s's task i + 1 is not job s + 1's task i (as it would be with seed + index)
    assert task_seed(0, 1) != task_seed(1, 0)
    # spread over the whole range, not clustered
    assert np.mean(seeds) / 2**SEED_BITS == pytest.approx(0.5, abs=0.01)


@given(st.integers(0, 2**40), st.integers(0, 10**7))
def test_seeds_fit_every_seed_argument(job_seed, index):
    seed = task_seed(job_seed, index)
    assert 0 <= seed < 2**SEED_BITS
    assert seed + 16 < 2**31 - 1  # room for the per-step offsets of a replication


@pytest.mark.parametrize("job_seed, index", [(-1, 0), (0, -1), (0.5, 0), (0, 1.5)])
def test_bad_seeds_and_indices_are_refused(job_seed, index):
    with pytest.raises(ValueError, match="non-negative integer"):
        task_seed(job_seed, index)
