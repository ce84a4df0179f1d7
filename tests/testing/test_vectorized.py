"""The vectorized NumPy learner against the loop reference, learner by learner.

``valueint.testing.vectorized`` steps N learners at once; learner i must play what
``run_reference`` plays on learner i's noise: the same actions, feedback and
presence, and every continuous quantity to float64 round-off.  The noise is the JAX
runner's own (``episode_noise``, one seed per learner, as ``trace_episodes`` draws it)
or the NumPy draw that ``simulate_batched`` uses.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import valueint
from valueint.sim.config import merge_tables, resolve
from valueint.sim.runner import episode_noise, trace_episodes
from valueint.testing.simulation import METRIC_FIELDS, run_reference
from valueint.testing.vectorized import draw_noise, run_batched, simulate_batched, trace_batched

N_EPISODES = 30
SOCIALIZATION = 15
N_LEARNERS = 3
RTOL, ATOL = 1e-9, 1e-12
DISCRETE = ("action", "y", "present", "active")


def short_config(conditions: bool = False, **override) -> dict:
    """The shipped default config, cut short; one condition unless ``conditions``."""
    cfg = valueint.default_config()
    if not conditions:
        cfg.pop("conditions")
    cfg["experiment"].update(n_episodes=N_EPISODES, chunk_episodes=N_EPISODES)
    cfg["caregiver"]["socialization_episodes"] = SOCIALIZATION
    return merge_tables(cfg, override)


@functools.cache
def _jax_noise_fn(env):
    """Compiled once per world shape (the noise does not depend on the layout flags)."""

    @jax.jit
    def draw(seeds):
        def one(seed):
            key = jax.random.key(seed)
            episodes = jnp.arange(N_EPISODES)
            return jax.vmap(
                lambda e: episode_noise(env, jax.random.fold_in(key, e), env.n_features)
            )(episodes)

        return jax.vmap(one)(seeds)

    return draw


def jax_noise(experiment, seeds):
    """``episode_noise`` of seeds x episodes [N, E, ...], the noise ``trace_episodes`` uses."""
    shape = dataclasses.replace(
        experiment.env, fixed_layout=False, single_choice=True, single_type_slots=True
    )
    return jax.device_get(_jax_noise_fn(shape)(jnp.asarray(seeds)))


def learner(tree, i):
    if isinstance(tree, dict):
        return {k: learner(v, i) for k, v in tree.items()}
    return tree[i]


def assert_matches_reference(experiment, condition, noise):
    """Learner i of the batch is ``run_reference`` on noise i; returns the batch."""
    trace, metrics = trace_batched(experiment, condition, noise, N_EPISODES)
    # the untraced run stops early once every learner is done: the same metrics
    fast = run_batched(experiment, condition, noise, N_EPISODES)
    for name in METRIC_FIELDS:
        np.testing.assert_array_equal(fast[name], metrics[name], err_msg=name)
    n = noise["present"].shape[0]
    for i in range(n):
        ref_trace, ref_metrics = run_reference(experiment, condition, learner(noise, i), N_EPISODES)
        assert set(trace) == set(ref_trace)
        for name, ref in ref_trace.items():
            got = trace[name][i]
            assert got.shape == ref.shape, name
            if name in DISCRETE:
                np.testing.assert_array_equal(got, ref, err_msg=f"learner {i} trace.{name}")
            else:
                np.testing.assert_allclose(
                    got, ref, rtol=RTOL, atol=ATOL, err_msg=f"learner {i} trace.{name}"
                )
        assert set(metrics) == set(ref_metrics)
        for name, ref in ref_metrics.items():
            got = metrics[name][i]
            assert got.shape == ref.shape, name
            np.testing.assert_allclose(
                got, ref, rtol=RTOL, atol=ATOL, err_msg=f"learner {i} metrics.{name}"
            )
    return trace, metrics


def assert_nontrivial(trace, metrics):
    """What parity is meant to check happened: feedback, learning, early ends, and
    learners that differ."""
    assert np.any(trace["y"] != 0), "no feedback was ever observed"
    assert np.abs(trace["q_weights"][:, -1]).max() > 1e-3, "Q weights did not move"
    assert np.abs(metrics["theta_mean"][:, -1]).max() > 1e-3, "ISR belief did not move"
    assert not np.all(trace["active"]), "no episode ended early"
    assert not np.array_equal(trace["action"][0], trace["action"][1]), "learners alike"


@pytest.mark.parametrize("condition", [0, 1, 2], ids=["no_isr", "isr_point", "isr_bayes"])
def test_default_conditions_match_reference(condition):
    experiment = resolve(short_config(conditions=True))
    noise = jax_noise(experiment, list(range(N_LEARNERS)))
    trace, metrics = assert_matches_reference(experiment, condition, noise)
    assert_nontrivial(trace, metrics)


CASES = {
    "thompson_step_disapproval": {
        "learner": {"isr_mode": "thompson"},
        "caregiver": {"presence_unit": "step", "presence": 0.8, "disapproval": True, "bias": -1.5},
    },
    "pessimistic_epsilon_probability_fade": {
        "learner": {
            "isr_mode": "pessimistic",
            "kappa": 0.7,
            "policy": "epsilon_greedy",
            "epsilon": 0.3,
            "presence_weighting": "probability",
        },
        "caregiver": {
            "presence": 0.6,
            "autonomous_presence": 0.2,
            "socialization_episodes": 8,
            "fade_episodes": 10,
        },
    },
    "point_budget_misread_step": {
        "learner": {
            "kind": "isr_point",
            "isr_budget": 3,
            "presence_weighting": "probability",
            "praise_beta": 0.7,
            "praise_bias": -2.0,
        },
        "caregiver": {"disapproval": True, "bias": -0.5, "presence_unit": "step", "presence": 0.6},
    },
    "relearn_new_layouts": {
        "env": {"slots": [["candy", "crayons"], ["book"]]},
        "env_autonomous": {"slots": [["crayons"], ["book"]], "object_cells": [0, 1, 2, 3, 4, 5]},
        "learner": {"relearn_policy": True},
    },
    "linear_several_choices": {"env": {"single_choice": False}},
    "tabular_fixed_layout": {
        "learner": {"q": "tabular", "learning_rate": 0.3},
        "env": {"agent_cells": [12], "fixed_cells": [0, 24]},
    },
    "tabular_several_choices": {
        "learner": {"q": "tabular", "policy": "epsilon_greedy", "epsilon": 0.3},
        "env": {"agent_cells": [7], "fixed_cells": [6, 8], "single_choice": False},
    },
}


@pytest.mark.parametrize("name", list(CASES))
def test_options_match_reference(name):
    experiment = resolve(short_config(**CASES[name]))
    noise = jax_noise(experiment, [10 * i + list(CASES).index(name) for i in range(N_LEARNERS)])
    trace, metrics = assert_matches_reference(experiment, 0, noise)
    assert_nontrivial(trace, metrics)
    if name.startswith("thompson"):
        assert np.any(trace["y"] < 0), "disapproval never seen"
        present = trace["present"][:, :SOCIALIZATION]
        assert np.any(present.any(-1) & ~present.all(-1)), "presence never varied in an episode"
    if "several_choices" in name:
        assert np.any(metrics["salient_actions"] > 1), "no episode collected two objects"


def test_matches_the_jax_runner():
    """The public ``trace_episodes`` (JAX) on one seed agrees with the batch directly,
    and draws the noise the other tests use."""
    experiment = resolve(short_config(conditions=True))
    _, noise, metrics = trace_episodes(experiment, 2, 7, N_EPISODES)
    ours = jax_noise(experiment, [7, 0, 1])  # the shape the other tests compiled
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a[0], b), ours, noise)
    batch = run_batched(experiment, 2, jax.tree.map(lambda x: x[None], noise), N_EPISODES)
    for name in METRIC_FIELDS:
        np.testing.assert_allclose(
            batch[name][0], getattr(metrics, name), rtol=1e-6, atol=1e-8, err_msg=name
        )


def test_draw_noise_has_the_runner_structure():
    experiment = resolve(short_config())
    env = experiment.env
    ours = draw_noise(env, np.random.default_rng(0), N_LEARNERS, N_EPISODES)
    theirs = jax_noise(experiment, list(range(N_LEARNERS)))
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float64
    cells = ours["reset"]["cells"]
    assert cells.min() >= 1e-12 and cells.max() < 1.0
    assert 0.45 < ours["steps"]["action"].mean() < 0.55
    assert abs(ours["thompson"].mean()) < 0.1 and 0.9 < ours["thompson"].std() < 1.1


def test_numpy_noise_replays_in_the_reference():
    experiment = resolve(short_config())
    noise = draw_noise(experiment.env, np.random.default_rng(5), N_LEARNERS, N_EPISODES)
    trace, metrics = assert_matches_reference(experiment, 0, noise)
    assert_nontrivial(trace, metrics)


def test_simulate_batched_is_reproducible():
    experiment = resolve(short_config())
    a = simulate_batched(experiment, 0, 16, N_EPISODES, seed=3)
    b = simulate_batched(experiment, 0, 16, N_EPISODES, seed=3)
    noise = draw_noise(experiment.env, np.random.default_rng(3), 16, N_EPISODES)
    c = run_batched(experiment, 0, noise, N_EPISODES)
    other = simulate_batched(experiment, 0, 16, N_EPISODES, seed=4)
    for name in METRIC_FIELDS:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        np.testing.assert_array_equal(a[name], c[name], err_msg=name)
    assert a["steps"].shape == (16, N_EPISODES, 1)
    assert a["theta_mean"].shape == (16, N_EPISODES, 1, 3)
    assert not np.array_equal(a["extrinsic_return"], other["extrinsic_return"])


def test_other_worlds_are_refused():
    cfg = {
        "experiment": {"n_episodes": 5, "chunk_episodes": 5},
        "env": {"name": "prosocial", "n_agents": 3, "horizon": 6},
        "caregiver": {"theta": [1.0, -0.5, -0.3]},
    }
    experiment = resolve(cfg)
    with pytest.raises(NotImplementedError, match="gridworld"):
        simulate_batched(experiment, 0, 2, 5)
