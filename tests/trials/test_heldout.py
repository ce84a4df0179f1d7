"""A trial fit's held-out subjects: importance sampling against brute force (drawing each
new subject's parameters from the population, scored by the NumPy reference)."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy.special import expit

from valueint.inference.heldout import log_mean_and_se
from valueint.testing import trial_models as reference
from valueint.trials.heldout import heldout_density, population_draws
from valueint.trials.simulation import RecipientBlocks, synthetic_data
from valueint.trials.specs import TRIAL_FIELDS


def population_fit(n_draws=40, seed=0):
    """A stand-in for a fitted rw population: posterior draws of mu and sigma only."""
    rng = np.random.default_rng(seed)
    posterior = xr.Dataset(
        {
            "mu_alpha": (("chain", "draw"), expit(rng.normal(-0.5, 0.2, (1, n_draws)))),
            "mu_beta": (("chain", "draw"), np.exp(rng.normal(1.0, 0.2, (1, n_draws)))),
            "sigma_alpha": (("chain", "draw"), rng.uniform(0.4, 0.8, (1, n_draws))),
            "sigma_beta": (("chain", "draw"), rng.uniform(0.3, 0.6, (1, n_draws))),
        }
    )
    tree = xr.DataTree.from_dict({"posterior": posterior})
    tree.attrs = {"model": "rw", "settings": json.dumps({"options": "None"})}
    return tree


def brute_force(fit, subject_data, n_theta, seed):
    """log p(y | population) by drawing theta from the population, scored by the NumPy
    reference likelihood: slow and obvious."""
    coefficients, sigma = population_draws(fit, 10_000)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, sigma.shape[0], n_theta)
    means = np.stack([coefficients["alpha"][pick, 0], coefficients["beta"][pick, 0]], -1)
    theta = means + sigma[pick] * rng.normal(size=(n_theta, 2))
    values = np.array(
        [
            reference.loglik("rw", {"alpha": expit(a), "beta": math.exp(b)}, subject_data).sum()
            for a, b in theta
        ]
    )
    estimate, se = log_mean_and_se(values[None])
    return float(estimate[0]), float(se[0])


def one_subject(data, s):
    return {name: np.asarray(getattr(data.arrays, name))[s] for name in TRIAL_FIELDS}


def test_importance_sampling_matches_drawing_from_the_population():
    fit = population_fit()
    data, _ = synthetic_data("rw", 3, RecipientBlocks(16), seed=5)
    density = heldout_density(fit, data, draws=2000, population=40, seed=1)
    assert np.all(density.pareto_k < 0.7)
    for s in range(3):
        truth, truth_se = brute_force(fit, one_subject(data, s), 6000, seed=s)
        tolerance = 4 * math.hypot(truth_se, density.mc_se[s])
        assert abs(density.elpd[s] - truth) < tolerance, (s, density.elpd[s], truth, tolerance)
    # a subject's estimate is sharper than drawing theta from the population
    assert np.all(density.mc_se < 0.05)


def test_more_trials_make_the_estimate_no_worse_and_seeds_repeat():
    fit = population_fit()
    data, _ = synthetic_data("rw", 2, RecipientBlocks(96), seed=6)
    first = heldout_density(fit, data, draws=1000, population=40, seed=3)
    again = heldout_density(fit, data, draws=1000, population=40, seed=3)
    np.testing.assert_array_equal(first.elpd, again.elpd)
    # 96 trials: the population proposal alone would be hopeless; the Laplace part is not
    assert np.all(first.mc_se < 0.1) and np.all(first.pareto_k < 0.7)


def test_a_fit_without_population_is_refused():
    fit = population_fit()
    fit["posterior"] = fit["posterior"].to_dataset().drop_vars(["mu_alpha"])
    data, _ = synthetic_data("rw", 1, RecipientBlocks(16), seed=5)
    with pytest.raises(ValueError, match="no population"):
        heldout_density(fit, data)
