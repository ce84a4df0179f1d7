"""Simulated subjects on a task: the recipient-block task, a task's own options and
feedback, the population they are drawn from, and their choices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valueint.trials.simulation import (
    draw_parameters,
    make_design,
    population_of,
    simulate_data,
    synthetic_data,
)
from valueint.trials.socialization import SocializationTask
from valueint.trials.specs import get_spec

LEARNING_RATES = ("alpha_self", "alpha_other", "alpha_none")
RECOVERY_POPULATION = {**{name: (0.0, 1.5) for name in LEARNING_RATES}, "beta": (2.0, 0.5)}


def test_design_balances_contexts_in_blocks_of_16():
    design = make_design(5, 144, seed=1)
    assert design.choice.shape == (5, 9, 16)
    context = np.asarray(design.context)
    assert (context == context[:, :, :1]).all()  # one recipient per block
    for subject in context[:, :, 0]:
        assert sorted(np.bincount(subject)) == [3, 3, 3]
    assert not (context[0, :, 0] == context[1, :, 0]).all()  # orders shuffled per subject
    assert (
        np.asarray(design.present)[:, :, :8].all()
        and not np.asarray(design.present)[:, :, 8:].any()
    )
    with pytest.raises(ValueError, match="multiple of the block size 16"):
        make_design(5, 100)


def test_a_design_brings_its_own_arrays_and_options():
    """On a design, data take its shape and its model options (here rw's reward
    probabilities 0.1 and 0.9, not the default 0.25 and 0.75; 1,200 trials), plus what the
    design adds (the caregiver's praise, on watched trials only)."""
    design = SocializationTask(n_blocks=3, n_trials=8, reward_probs=(0.1, 0.9))
    population = {"alpha": (1.0, 0.1), "beta": (2.5, 0.1)}
    data, truth = synthetic_data("rw", 50, design, seed=1, population=population)
    arrays = data.arrays
    assert np.shape(arrays.choice) == (50, 3, 8) and set(truth) == {"alpha", "beta"}
    choice, outcome = np.asarray(arrays.choice), np.asarray(arrays.outcome)
    assert outcome[choice == 1].mean() > 0.85 and outcome[choice == 0].mean() < 0.2
    watched = np.asarray(arrays.present) > 0
    assert (
        np.asarray(arrays.praise)[watched].any() and not np.asarray(arrays.praise)[~watched].any()
    )


def test_drawn_parameters_follow_the_population_and_bounds():
    spec = get_spec("rw_recipient")
    truth = draw_parameters(spec, 4000, seed=2, population=RECOVERY_POPULATION)
    for name in LEARNING_RATES:
        assert ((truth[name] > 0) & (truth[name] < 1)).all()
        logit = np.log(truth[name] / (1 - truth[name]))
        assert abs(logit.mean()) < 0.08 and abs(logit.std() - 1.5) < 0.06  # 4000 draws
    assert np.median(truth["beta"]) == pytest.approx(math.exp(2.0), rel=0.05)
    again = draw_parameters(spec, 4000, seed=2, population=RECOVERY_POPULATION)
    np.testing.assert_array_equal(truth["beta"], again["beta"])
    assert population_of(spec)["beta"] == (spec.parameters[3].prior_loc, 0.6)
    with pytest.raises(ValueError, match="no parameter 'gamma'"):
        population_of(spec, {"gamma": (0, 1)})


def test_simulated_choices_follow_the_learning_rates():
    """A learner with alpha 0.9 prefers the better option more than one with alpha 0.02:
    share of choice 1 over the last 8 trials of each block, 200 subjects each."""
    spec = get_spec("rw")
    design = make_design(200, 144, seed=4)
    shares = []
    for alpha in (0.02, 0.9):
        params = {"alpha": np.full(200, alpha), "beta": np.full(200, 6.0)}
        simulated = simulate_data(spec, params, design, seed=5)
        assert np.asarray(simulated.mask).all()
        shares.append(np.asarray(simulated.choice)[:, :, 8:].mean())
    assert shares[1] > shares[0] + 0.15
