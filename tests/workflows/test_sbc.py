"""Rank statistics and the uniformity checks, against an exact posterior (no sampler)."""

import numpy as np
import pytest

from valueint.jobs import task_seed
from valueint.testing.tasks import conjugate_normal_ranks
from valueint.workflows.sbc import (
    pit_values,
    rank_against,
    rank_table,
    summarize_ranks,
    thinned,
    uniformity,
)


def test_thinning_spreads_draws_over_all_chains():
    draws = np.arange(20.0).reshape(2, 10)
    np.testing.assert_array_equal(thinned(draws, 5), [0, 5, 10, 14, 19])
    with pytest.raises(ValueError, match="20 posterior draws, fewer than the 21"):
        thinned(draws, 21)


def test_rank_counts_draws_below_the_truth():
    assert rank_against(0.5, [0.1, 0.7, 0.2, 0.5]) == 2
    assert rank_against(-1.0, [0.0, 1.0]) == 0


def test_pit_values_fill_each_rank_bin():
    pit = pit_values(np.repeat(np.arange(10), 200), 9, seed=0)
    assert pit.min() > 0 and pit.max() < 1
    counts, _ = np.histogram(pit, bins=10, range=(0, 1))
    assert (counts == 200).all()  # rank r lands in [r/10, (r+1)/10)


def replications(n, **payload):
    payload = {"n": 5, "rank_draws": 49, **payload}
    return [
        {"index": i, "seed": task_seed(3, i), **conjugate_normal_ranks(payload, task_seed(3, i))}
        for i in range(n)
    ]


def test_an_exact_posterior_passes_both_checks():
    """300 replications with the exact posterior: ranks uniform (fixed seeds)."""
    summary = summarize_ranks(rank_table(replications(300)), seed=0)
    row = summary.iloc[0]
    assert row["passes"] and row["points_outside_band"] == 0
    assert row["p_value"] > 0.05


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_an_over_or_underconfident_posterior_leaves_the_band(factor):
    """Halving the posterior sd piles ranks at the ends; doubling it, in the middle."""
    summary = summarize_ranks(rank_table(replications(300, posterior_sd_factor=factor)), 0)
    row = summary.iloc[0]
    assert not row["passes"] and row["points_outside_band"] > 0
    assert row["p_value"] < 0.01


def test_ranks_all_at_one_end_fail():
    check = uniformity(pit_values(np.zeros(100), 20, seed=1))
    assert not check["passes"] and check["max_ecdf_difference"] > 0.9


def test_the_rank_table_has_a_row_per_replication_and_quantity():
    table = rank_table(replications(4))
    assert list(table["replication"]) == [0, 1, 2, 3]
    assert set(table.columns) >= {"model", "seed", "quantity", "rank", "rank_draws", "truth"}
