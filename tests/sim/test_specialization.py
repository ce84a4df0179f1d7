"""The specialized step (``learner_uses``, the deferred ISR update) gives the results of
the general step, for every combination of options it prunes."""

import pandas as pd
import pytest

import valueint
from valueint.sim import agents as ln
from valueint.sim.config import merge_tables, resolve
from valueint.sim.runner import experiment_uses, metrics_frame, run_experiment

SEEDS = [0, 3, 11]


def config(conditions, env=None, **tables):
    cfg = valueint.default_config()
    cfg["experiment"].update(n_episodes=24, chunk_episodes=10)
    cfg["caregiver"]["socialization_episodes"] = 12
    cfg["conditions"] = conditions
    cfg = merge_tables(cfg, tables)
    if env is not None:
        cfg["env"] = env
    return cfg


CASES = {
    # the shipped default: no_isr, isr_point, isr_bayes; softmax; no disapproval
    "default": valueint.default_config(),
    "modes_and_policies": config(
        [
            {"label": "thompson", "learner": {"isr_mode": "thompson"}},
            {"label": "pessimistic", "learner": {"isr_mode": "pessimistic", "kappa": 0.7}},
            {"label": "greedy", "learner": {"policy": "epsilon_greedy", "epsilon": 0.3}},
        ],
        caregiver={"disapproval": True, "bias": -0.3},
    ),
    "no_isr_only": config([{"label": "a", "learner": {"kind": "no_isr"}}]),
    "epsilon_only_step_presence": config(
        [{"label": "a", "learner": {"policy": "epsilon_greedy", "epsilon": 0.2}}],
        caregiver={"presence_unit": "step", "presence": 0.7},
    ),
    "many_choices": config(  # salient actions do not end the episode: nothing deferred
        [{"label": "a"}, {"label": "b", "learner": {"kind": "isr_point"}}],
        env={**valueint.default_config()["env"], "single_choice": False},
    ),
    "prosocial": config(
        [{"label": "a"}, {"label": "b", "learner": {"isr_mode": "pessimistic"}}],
        env={"name": "prosocial", "n_agents": 3, "horizon": 6, "need_prob": 0.4},
        caregiver={"theta": [1.0, -0.5, -0.3], "presence": 0.8},
    ),
}


# many_choices is resolved below only: prosocial already runs a specialized step that
# defers nothing
@pytest.mark.parametrize("name", [name for name in CASES if name != "many_choices"])
def test_specialized_program_matches_the_general_one(name):
    cfg = CASES[name]
    if name == "default":
        cfg = config(cfg["conditions"])
    experiment = resolve(cfg)
    fast = metrics_frame(experiment, SEEDS, run_experiment(experiment, SEEDS))
    general = metrics_frame(experiment, SEEDS, run_experiment(experiment, SEEDS, specialize=False))
    # what a user sees: the general program's values of quantities no learner has
    # (a no_isr learner's belief) are not shown there either
    pd.testing.assert_frame_equal(fast, general, rtol=1e-9, atol=1e-12)
    assert fast.praise.sum() > 0  # the ISR had something to learn from


def test_uses_name_what_the_conditions_select():
    uses = experiment_uses(resolve(CASES["default"]))
    assert uses == ln.LearnerUses(
        isr=True, disapproval=False, thompson=False, pessimistic=False, epsilon_greedy=False
    )
    uses = experiment_uses(resolve(CASES["modes_and_policies"]))
    assert uses == ln.LearnerUses()  # everything
    assert not experiment_uses(resolve(CASES["no_isr_only"])).isr


def test_only_single_choice_gridworlds_defer_the_isr_update():
    """The premise of deferring: there, a salient action ends the episode."""
    assert resolve(CASES["default"]).env.salient_action_ends_episode
    assert not resolve(CASES["many_choices"]).env.salient_action_ends_episode
    assert not getattr(resolve(CASES["prosocial"]).env, "salient_action_ends_episode", False)
