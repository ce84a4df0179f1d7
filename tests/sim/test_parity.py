"""Parity: the jitted JAX runner and the slow NumPy reference play the same game.

Both consume the same noise (drawn by ``episode_noise``), so actions, feedback and
presence must be identical and every continuous quantity must agree to float64
round-off.  ``trace_episodes`` compiles a fresh program per call (the condition's
params are baked in as constants), which costs several seconds each; the
parametrized cases therefore use ``_tracer``, the same scan with the params as an
argument, compiled once per world shape.  ``test_trace_episodes_matches_reference``
checks that the public ``trace_episodes`` itself agrees with both.
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
from valueint.sim.runner import (
    EpisodeMetrics,
    episode_noise,
    init_learners,
    make_episode_runner,
    trace_episodes,
)
from valueint.testing.simulation import run_reference

N_EPISODES = 60
SOCIALIZATION = 30
RTOL, ATOL = 1e-6, 1e-8
DISCRETE = ("action", "y", "present", "active")
CONTINUOUS = ("utility", "reward", "internal", "q_weights", "belief_mean")


def gridworld_config(**override) -> dict:
    """The shipped default config cut down to one condition and a short run."""
    cfg = valueint.default_config()
    cfg.pop("conditions")
    cfg["experiment"].update(n_episodes=N_EPISODES, chunk_episodes=N_EPISODES)
    cfg["caregiver"]["socialization_episodes"] = SOCIALIZATION
    return merge_tables(cfg, override)


def prosocial_config(**override) -> dict:
    cfg = {
        "experiment": {"n_episodes": N_EPISODES, "chunk_episodes": N_EPISODES},
        "env": {"name": "prosocial", "n_agents": 3, "horizon": 6, "need_prob": 0.4},
        "caregiver": {
            "theta": [1.0, -0.5, -0.3],
            "presence": 0.8,
            "autonomous_presence": 0.1,
            "socialization_episodes": SOCIALIZATION,
        },
        "learner": {"temperature": 0.2},
    }
    return merge_tables(cfg, override)


@functools.cache
def _tracer(env, q_representation: str, n_episodes: int):
    """``trace_episodes`` with (cond, learners, key) as arguments: one compile per world."""
    play = make_episode_runner(env, q_representation, record=True)

    @jax.jit
    def run(cond, learners, key):
        def body(learners, episode):
            noise = episode_noise(env, jax.random.fold_in(key, episode), env.n_features)
            learners, metrics, trace = play(cond, learners, episode, noise)
            return learners, (trace, noise, metrics)

        return jax.lax.scan(body, learners, jnp.arange(n_episodes))

    return run


def trace_fast(experiment, condition: int, seed: int, n_episodes: int):
    cond = jax.tree.map(lambda x: x[condition], experiment.params)
    learners = init_learners(experiment.env, experiment.q_representation, cond.learner)
    run = _tracer(experiment.env, experiment.q_representation, n_episodes)
    _, (trace, noise, metrics) = run(cond, learners, jax.random.key(seed))
    return jax.device_get(trace), jax.device_get(noise), jax.device_get(metrics)


def assert_parity(trace, metrics, ref_trace, ref_metrics):
    assert set(ref_trace) == set(trace)
    for name in trace:
        jax_value, ref_value = np.asarray(trace[name]), ref_trace[name]
        assert jax_value.shape == ref_value.shape, name
        if name in DISCRETE:
            np.testing.assert_array_equal(ref_value, jax_value, err_msg=f"trace.{name}")
        else:
            np.testing.assert_allclose(
                ref_value, jax_value, rtol=RTOL, atol=ATOL, err_msg=f"trace.{name}"
            )
    fields = [f.name for f in dataclasses.fields(EpisodeMetrics)]
    assert set(ref_metrics) == set(fields)
    for name in fields:
        jax_value, ref_value = np.asarray(getattr(metrics, name)), ref_metrics[name]
        assert jax_value.shape == ref_value.shape, name
        np.testing.assert_allclose(
            ref_value, jax_value, rtol=RTOL, atol=ATOL, err_msg=f"metrics.{name}"
        )


def assert_nontrivial(experiment, trace, metrics):
    """The run exercised what parity is meant to check: learning and both phases."""
    care = experiment.params.caregiver
    assert int(care.socialization_episodes[0]) < N_EPISODES  # both phases occur
    assert np.any(trace["y"] != 0), "no feedback was ever observed"
    assert np.any(trace["present"]) and not np.all(trace["present"])
    assert np.abs(trace["q_weights"][-1]).max() > 1e-3, "Q weights did not move"
    assert np.abs(metrics.theta_mean[-1]).max() > 1e-3, "ISR belief did not move"
    if experiment.env.name == "gridworld":
        assert not np.all(trace["active"]), "no episode ended early"


GRIDWORLD_CASES = {
    "no_isr": {"learner": {"kind": "no_isr"}},
    "isr_point": {"learner": {"kind": "isr_point"}},
    "isr_bayes": {"learner": {"kind": "isr_bayes"}},
    "thompson": {"learner": {"isr_mode": "thompson"}},
    "pessimistic": {"learner": {"isr_mode": "pessimistic", "kappa": 0.7}},
    "epsilon_greedy": {"learner": {"policy": "epsilon_greedy", "epsilon": 0.5}},
    "isr_budget": {"learner": {"kind": "isr_point", "isr_budget": 5}},
    "step_presence": {"caregiver": {"presence_unit": "step", "presence": 0.8}},
    "probability_weighting": {
        "learner": {"presence_weighting": "probability"},
        "caregiver": {"presence": 0.6, "autonomous_presence": 0.2},
    },
    "probability_weighting_step": {
        "learner": {"presence_weighting": "probability", "kind": "isr_point"},
        "caregiver": {"presence_unit": "step", "presence": 0.6, "autonomous_presence": 0.2},
    },
    "disapproval": {"caregiver": {"disapproval": True, "bias": -0.3}},
    "misread_praise": {
        "learner": {"praise_beta": 0.7, "praise_bias": -2.0},
        "caregiver": {"disapproval": True, "bias": -0.5},
    },
    "disapproval_point": {
        "learner": {"kind": "isr_point"},
        "caregiver": {"disapproval": True, "bias": 0.0, "beta": 1.0},
    },
    "fade": {
        "caregiver": {"socialization_episodes": 15, "fade_episodes": 20, "autonomous_presence": 0.2}
    },
    "env_autonomous": {
        "env_autonomous": {"slots": [["crayons"], ["book"]], "step_reward": -0.05},
        "caregiver": {"autonomous_presence": 0.3},
    },
    "relearn_policy_new_layouts": {
        "env": {"slots": [["candy", "crayons"], ["book"]]},
        "env_autonomous": {"slots": [["crayons"], ["book"]], "object_cells": [0, 1, 2, 3, 4, 5]},
        "learner": {"relearn_policy": True},
    },
    "tabular": {
        "learner": {"q": "tabular", "learning_rate": 0.3},
        "env": {"agent_cells": [12], "fixed_cells": [0, 24]},
    },
    "tabular_epsilon_greedy": {
        "learner": {"q": "tabular", "policy": "epsilon_greedy", "epsilon": 0.3},
        "env": {"agent_cells": [7], "fixed_cells": [6, 8], "single_choice": False},
    },
}

PROSOCIAL_CASES = {
    "prosocial_isr_bayes": {},
    "prosocial_isr_point": {"learner": {"kind": "isr_point"}},
    "prosocial_no_isr": {"learner": {"kind": "no_isr"}},
    "prosocial_thompson_step": {
        "learner": {"isr_mode": "thompson"},
        "caregiver": {"presence_unit": "step", "presence": 0.6},
    },
    "prosocial_pessimistic_disapproval": {
        "learner": {"isr_mode": "pessimistic", "presence_weighting": "probability"},
        "caregiver": {"disapproval": True, "bias": -0.5},
    },
}

CASES = {
    **{name: gridworld_config(**o) for name, o in GRIDWORLD_CASES.items()},
    **{name: prosocial_config(**o) for name, o in PROSOCIAL_CASES.items()},
}


@pytest.mark.parametrize("name", list(CASES))
def test_parity(name):
    experiment = resolve(CASES[name])
    seed = list(CASES).index(name)
    trace, noise, metrics = trace_fast(experiment, 0, seed, N_EPISODES)
    assert_nontrivial(experiment, trace, metrics)
    ref_trace, ref_metrics = run_reference(experiment, 0, noise, N_EPISODES)
    assert_parity(trace, metrics, ref_trace, ref_metrics)


def test_case_features_are_exercised():
    """The cases cover what their names say (guards against vacuous configs)."""
    disapproval = resolve(CASES["disapproval"])
    trace, _, _ = trace_fast(disapproval, 0, list(CASES).index("disapproval"), N_EPISODES)
    assert np.any(trace["y"] < 0), "the disapproval case never saw y = -1"

    step = resolve(CASES["step_presence"])
    trace, _, _ = trace_fast(step, 0, list(CASES).index("step_presence"), N_EPISODES)
    per_episode = trace["present"][:SOCIALIZATION]
    assert np.any(per_episode.any(axis=1) & ~per_episode.all(axis=1)), "presence never varied"

    autonomous = resolve(CASES["env_autonomous"])
    trace, _, _ = trace_fast(autonomous, 0, list(CASES).index("env_autonomous"), N_EPISODES)
    crayons = 0.3 - 0.05  # only the autonomous world has crayons (and a dearer step)
    assert not np.any(np.isclose(trace["reward"][:SOCIALIZATION], crayons))
    assert np.any(np.isclose(trace["reward"][SOCIALIZATION:], crayons))

    prosocial = resolve(CASES["prosocial_isr_bayes"])
    trace, _, _ = trace_fast(prosocial, 0, list(CASES).index("prosocial_isr_bayes"), N_EPISODES)
    assert trace["action"].shape[-1] == 3
    assert np.any(trace["action"] == 1) and np.any(trace["action"] == 0)


def test_trace_episodes_matches_reference():
    """The public ``trace_episodes`` on the shipped 3-condition config (isr_bayes)."""
    cfg = valueint.default_config()
    cfg["experiment"].update(n_episodes=N_EPISODES, chunk_episodes=N_EPISODES)
    cfg["caregiver"]["socialization_episodes"] = SOCIALIZATION
    experiment = resolve(cfg)
    assert experiment.labels[2] == "isr_bayes"
    trace, noise, metrics = trace_episodes(experiment, 2, 7, N_EPISODES)
    assert_nontrivial(experiment, trace, metrics)
    ref_trace, ref_metrics = run_reference(experiment, 2, noise, N_EPISODES)
    assert_parity(trace, metrics, ref_trace, ref_metrics)
    # ... and the cached tracer used above is the same computation.
    fast_trace, fast_noise, fast_metrics = trace_fast(experiment, 2, 7, N_EPISODES)
    jax.tree.map(np.testing.assert_array_equal, fast_noise, noise)
    assert_parity(fast_trace, fast_metrics, ref_trace, ref_metrics)


def _perturbed(experiment, table: str, field: str, factor: float):
    params = experiment.params
    sub = getattr(params, table)
    sub = sub.replace(**{field: getattr(sub, field) * factor})
    return dataclasses.replace(experiment, params=params.replace(**{table: sub}))


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("learner", "learning_rate"),
        ("learner", "discount"),
        ("learner", "prior_sd"),
        ("learner", "praise_beta"),
        ("learner", "praise_bias"),
        ("caregiver", "social_reward"),
    ],
)
def test_parity_detects_a_perturbed_reference(table, field):
    """A 1% change in one parameter on the reference side must break parity."""
    experiment = resolve(CASES["isr_bayes"])
    seed = list(CASES).index("isr_bayes")
    trace, noise, metrics = trace_fast(experiment, 0, seed, N_EPISODES)
    ref_trace, ref_metrics = run_reference(
        _perturbed(experiment, table, field, 1.01), 0, noise, N_EPISODES
    )
    with pytest.raises(AssertionError):
        assert_parity(trace, metrics, ref_trace, ref_metrics)


def test_parity_detects_shifted_noise():
    """Replaying another seed's noise must not reproduce the trace."""
    experiment = resolve(CASES["isr_bayes"])
    trace, _, metrics = trace_fast(experiment, 0, 0, N_EPISODES)
    _, other_noise, _ = trace_fast(experiment, 0, 1, N_EPISODES)
    ref_trace, ref_metrics = run_reference(experiment, 0, other_noise, N_EPISODES)
    with pytest.raises(AssertionError):
        assert_parity(trace, metrics, ref_trace, ref_metrics)
