"""Small task functions that exercise ``valueint.jobs`` on real workers.

They live in the package, not in the tests, because a Dask worker imports a task's
function by its module name.
"""

from __future__ import annotations

import time

import numpy as np


def seeded_draws(payload: dict, seed: int) -> dict:
    """``payload["n"]`` standard normals from the task's seed (the same on any worker),
    after ``payload["sleep"]`` seconds (a slow task, to be interrupted), or a
    ``ValueError`` when ``payload["fail"]`` is true."""
    time.sleep(payload.get("sleep", 0.0))
    if payload.get("fail"):
        raise ValueError(f"asked to fail (payload {payload})")
    return {"draws": np.random.default_rng(seed).normal(size=payload["n"]).tolist()}


def conjugate_normal_ranks(payload: dict, seed: int) -> dict:
    """One SBC replication of the normal mean with known sd, with the exact posterior
    (NumPy, no sampler): mu ~ N(0, 1), y_i ~ N(mu, 1), mu | y ~ N(sum y / (n + 1),
    1 / (n + 1)).  ``payload["posterior_sd_factor"]`` != 1 scales the posterior's sd, a
    miscalibrated posterior that SBC must catch."""
    rng = np.random.default_rng(seed)
    mu = rng.normal()
    y = rng.normal(mu, 1.0, payload["n"])
    precision = payload["n"] + 1
    sd = payload.get("posterior_sd_factor", 1.0) / np.sqrt(precision)
    draws = rng.normal(y.sum() / precision, sd, payload["rank_draws"])
    return {
        "model": "conjugate_normal",
        "rank_draws": payload["rank_draws"],
        "ranks": {"mu": int(np.sum(draws < mu))},
        "truth": {"mu": float(mu)},
        "max_rhat": 1.0,
        "min_ess_bulk": float(payload["rank_draws"]),
        "min_ess_tail": float(payload["rank_draws"]),
        "divergences": 0,
        "converged": True,
        "messages": [],
    }
