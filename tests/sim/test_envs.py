"""Property tests for the environments, built through the registry as configs build them."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import valueint
from valueint.errors import ConfigError
from valueint.pytree import pytree_dataclass
from valueint.registry import Registry
from valueint.sim import envs
from valueint.sim.config import resolve
from valueint.sim.envs import WORLDS, Env, Observation, build, make

TYPE_NAMES = ["candy", "book", "crayons"]
# (row, col) offsets of up, down, left, right, written out independently of the env
OFFSETS = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}


def reference_next_cell(cell, action, size):
    row, col = divmod(int(cell), size)
    d_row, d_col = OFFSETS[int(action)]
    return min(max(row + d_row, 0), size - 1) * size + min(max(col + d_col, 0), size - 1)


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@functools.cache
def jitted(env):
    """One compiled (reset, step) per static env, shared across hypothesis examples."""
    return jax.jit(env.reset), jax.jit(env.step)


def stack(*trees):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


@st.composite
def gridworld_options(draw, size=None, n_slots=None):
    size = draw(st.integers(2, 6)) if size is None else size
    n_cells = size * size
    if n_slots is None:
        n_slots = draw(st.integers(1, min(3, n_cells - 1)))
    slots = [
        draw(st.lists(st.sampled_from(TYPE_NAMES), min_size=1, max_size=3, unique=True))
        for _ in range(n_slots)
    ]
    options = {
        "name": "gridworld",
        "size": size,
        "slots": slots,
        "horizon": draw(st.integers(1, 15)),
        "single_choice": draw(st.booleans()),
        "step_reward": draw(st.sampled_from([-0.01, 0.0, -0.5])),
    }
    cells = st.integers(0, n_cells - 1)
    if draw(st.booleans()):
        options["object_cells"] = draw(
            st.lists(cells, min_size=n_slots + 1, max_size=n_cells, unique=True)
        )
    if draw(st.booleans()):
        options["agent_cells"] = draw(st.lists(cells, min_size=1, max_size=n_cells, unique=True))
    return options


def allowed_cells(options, key):
    return set(options.get(key, range(options["size"] ** 2)))


def check_layout(env, params, state, options):
    agent = int(state.agent_cell)
    cells = [int(c) for c in state.object_cells]
    assert agent in allowed_cells(options, "agent_cells")
    assert len(set(cells)) == env.n_objects == len(options["slots"])
    assert agent not in cells
    assert set(cells) <= allowed_cells(options, "object_cells")
    for slot, type_index in zip(options["slots"], np.asarray(state.object_types), strict=True):
        assert env.type_names[int(type_index)] in slot
    assert bool(jnp.all(state.object_alive)) and int(state.t) == 0


def check_observation(env, params, state, obs):
    k = env.n_features
    assert obs.q_features.shape == (1, env.n_actions, k + 1)
    assert obs.social_features.shape == (1, env.n_actions, k)
    assert obs.state_index.shape == (1,) and int(obs.state_index[0]) == int(state.agent_cell)
    np.testing.assert_array_equal(obs.q_features[0, :, -1], 1.0)
    live = {
        int(c): int(t)
        for c, t, alive in zip(
            state.object_cells, state.object_types, state.object_alive, strict=True
        )
        if alive
    }
    features = np.asarray(params.type_features)
    for action in range(env.n_actions):
        target = reference_next_cell(state.agent_cell, action, env.size)
        phi = np.asarray(obs.social_features[0, action])
        proximity = np.asarray(obs.q_features[0, action, :k])
        if target in live:
            np.testing.assert_array_equal(phi, features[live[target]])
        else:
            np.testing.assert_array_equal(phi, 0.0)
        # decay**distance to the nearest reachable object with each feature
        reachable = {target: live[target]} if (target in live and env.single_choice) else live
        for f in range(k):
            dists = [
                abs(c // env.size - target // env.size) + abs(c % env.size - target % env.size)
                for c, t in reachable.items()
                if features[t, f] != 0
            ]
            expected = env.proximity_decay ** min(dists) if dists else 0.0
            np.testing.assert_allclose(proximity[f], expected, rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    options=gridworld_options(),
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.integers(0, 3), min_size=1, max_size=16),
)
def test_gridworld_episode_invariants(options, seed, actions):
    env, params = build(options)
    obs, state = env.reset(jax.random.key(seed), params)
    check_layout(env, params, state, options)
    extrinsic = np.asarray(params.type_extrinsic)
    for step, action in enumerate(actions):
        check_observation(env, params, state, obs)
        target = reference_next_cell(state.agent_cell, action, env.size)
        alive_before = np.asarray(state.object_alive)
        hits = (np.asarray(state.object_cells) == target) & alive_before
        phi = np.asarray(obs.social_features[0, action])
        assert np.any(phi != 0) == hits.any()
        key = jax.random.key(step)
        obs, state, reward, done, info = env.step(key, state, jnp.array([action]), params)
        assert 0 <= int(state.agent_cell) < env.size**2
        assert int(state.agent_cell) == target
        expected = float(params.step_reward) + extrinsic[np.asarray(state.object_types)][hits].sum()
        assert reward.shape == (1,)
        np.testing.assert_allclose(float(reward[0]), expected, rtol=0, atol=1e-12)
        assert bool(info["collected"]) == hits.any()
        np.testing.assert_array_equal(state.object_alive, alive_before & ~hits)
        assert int(state.t) == step + 1
        if env.single_choice:
            expected_done = hits.any() or step + 1 >= env.horizon
        else:
            expected_done = not state.object_alive.any() or step + 1 >= env.horizon
        assert bool(done) == expected_done
        if done:
            break


def test_gridworld_single_choice_ends_at_first_collection():
    # agent in the centre, the one object on a neighbour cell: walk onto it
    env, params = make(
        "gridworld", size=3, agent_cells=[4], object_cells=[1, 3, 5, 7], slots=[["crayons"]]
    )
    for seed in range(4):
        obs, state = env.reset(jax.random.key(seed), params)
        action = next(
            a for a in range(4) if reference_next_cell(4, a, 3) == int(state.object_cells[0])
        )
        away = next(
            a for a in range(4) if reference_next_cell(4, a, 3) != int(state.object_cells[0])
        )
        _, _, reward, done, _ = env.step(jax.random.key(0), state, jnp.array([away]), params)
        assert not bool(done) and float(reward[0]) == pytest.approx(-0.01)
        _, after, reward, done, info = env.step(
            jax.random.key(0), state, jnp.array([action]), params
        )
        assert bool(done) and bool(info["collected"]) and not bool(after.object_alive[0])
        assert float(reward[0]) == pytest.approx(-0.01 + 0.3)


@settings(max_examples=6, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_gridworld_vmap_over_params_equals_separate_runs(data, seed):
    size = data.draw(st.integers(3, 5))
    first = data.draw(gridworld_options(size=size, n_slots=2))
    second = data.draw(gridworld_options(size=size, n_slots=2))
    second["horizon"], second["single_choice"] = first["horizon"], first["single_choice"]
    second["step_reward"] = first["step_reward"] - 0.25
    env, params_a = build(first)
    _, params_b = build(second)
    actions = data.draw(st.lists(st.integers(0, 3), min_size=4, max_size=4))
    params = stack(params_a, params_b)
    keys = jax.random.split(jax.random.key(seed), 2)

    obs, state = jax.vmap(env.reset)(keys, params)
    separate = [env.reset(keys[i], p) for i, p in enumerate((params_a, params_b))]
    assert_trees_equal((obs, state), stack(*separate))
    step = jax.vmap(env.step, in_axes=(0, 0, None, 0))
    states = [s for _, s in separate]
    for action in actions:
        a = jnp.array([action])
        out = step(keys, state, a, params)
        separate = [env.step(keys[i], states[i], a, p) for i, p in enumerate((params_a, params_b))]
        assert_trees_equal(out, stack(*separate))
        state, states = out[1], [s[1] for s in separate]


@settings(max_examples=5, deadline=None)
@given(
    options=gridworld_options(),
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.integers(0, 3), min_size=3, max_size=3),
)
def test_gridworld_jit_equals_eager(options, seed, actions):
    env, params = build(options)
    key = jax.random.key(seed)
    eager = env.reset(key, params)
    assert_trees_equal(jax.jit(env.reset)(key, params), eager)
    step_jit = jax.jit(env.step)
    state = eager[1]
    for action in actions:
        a = jnp.array([action])
        eager = env.step(key, state, a, params)
        assert_trees_equal(step_jit(key, state, a, params), eager)
        state = eager[1]


@settings(max_examples=30, deadline=None)
@given(
    n_agents=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    # XLA on CPU flushes subnormals to zero
    keep_reward=st.floats(-2.0, 2.0, allow_subnormal=False),
    cost=st.floats(0.0, 2.0, allow_subnormal=False),
    benefit=st.floats(0.0, 3.0, allow_subnormal=False),
    need_boost=st.floats(0.0, 2.0, allow_subnormal=False),
    need_prob=st.floats(0.0, 1.0, allow_subnormal=False),
    data=st.data(),
)
def test_prosocial_reward_bookkeeping_and_features(
    n_agents, seed, keep_reward, cost, benefit, need_boost, need_prob, data
):
    env, params = make(
        "prosocial",
        n_agents=n_agents,
        horizon=4,
        keep_reward=keep_reward,
        cost=cost,
        benefit=benefit,
        need_boost=need_boost,
        need_prob=need_prob,
    )
    reset, step = jitted(env)
    obs, state = reset(jax.random.key(seed), params)
    for t in range(env.horizon):
        need = np.asarray(state.need, dtype=float)
        partner_need = np.roll(need, -1)  # agent i's partner is i + 1 (mod n)
        given_if_shared = benefit * (1.0 + need_boost * partner_need)
        phi = np.asarray(obs.social_features)
        assert phi.shape == (n_agents, 2, 3) and obs.q_features.shape == (n_agents, 2, 4)
        np.testing.assert_allclose(phi[:, 0], np.tile([0.0, 0.0, 1.0], (n_agents, 1)))
        np.testing.assert_allclose(phi[:, 1, 0], given_if_shared, rtol=1e-12)
        np.testing.assert_allclose(phi[:, 1, 1:], np.tile([cost, 0.0], (n_agents, 1)))
        np.testing.assert_array_equal(obs.state_index, partner_need.astype(int))

        action = np.array(
            data.draw(st.lists(st.integers(0, 1), min_size=n_agents, max_size=n_agents))
        )
        key = jax.random.key(seed + t + 1)
        obs, state, reward, done, info = step(key, state, jnp.asarray(action), params)
        shares = action.astype(float)
        given_out = shares * given_if_shared
        np.testing.assert_allclose(
            float(jnp.sum(reward)),
            n_agents * keep_reward - cost * shares.sum() + given_out.sum(),
            rtol=1e-12,
            atol=1e-12,
        )
        expected = keep_reward - cost * shares + np.roll(given_out, 1)
        np.testing.assert_allclose(np.asarray(reward), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(info["shared"], shares)
        assert bool(done) == (t + 1 >= env.horizon)


@pytest.mark.parametrize("n_agents", [2, 3, 5])
def test_prosocial_partner_is_next_agent_in_ring(n_agents):
    env, params = make("prosocial", n_agents=n_agents, need_prob=0.0, cost=0.5, benefit=1.0)
    _, state = env.reset(jax.random.key(0), params)
    for sharer in range(n_agents):
        action = jnp.zeros(n_agents, dtype=jnp.int32).at[sharer].set(1)
        _, _, reward, _, _ = env.step(jax.random.key(1), state, action, params)
        expected = np.full(n_agents, 1.0)
        expected[sharer] -= 0.5
        expected[(sharer + 1) % n_agents] += 1.0
        np.testing.assert_allclose(np.asarray(reward), expected)


def test_prosocial_need_drawn_with_configured_probability():
    n_agents, n_draws = 100, 100
    keys = jax.random.split(jax.random.key(2024), n_draws)
    for need_prob in (0.0, 0.3, 1.0):
        env, params = make("prosocial", n_agents=n_agents, need_prob=need_prob)
        _, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
        actions = jnp.zeros(n_agents, dtype=jnp.int32)
        step = jax.vmap(env.step, in_axes=(0, 0, None, None))
        _, stepped, _, _, _ = step(
            jax.random.split(jax.random.key(7), n_draws), states, actions, params
        )
        for need in (states.need, stepped.need):
            # 10,000 Bernoulli draws: 5 standard errors is 0.023 at p = 0.3
            se = np.sqrt(need_prob * (1 - need_prob) / need.size)
            assert abs(float(jnp.mean(need)) - need_prob) <= 5 * se
        # the step redraws need rather than keeping it
        if 0.0 < need_prob < 1.0:
            assert bool(jnp.any(states.need != stepped.need))


def test_unknown_env_name_is_a_config_error():
    with pytest.raises(valueint.ConfigError) as err:
        valueint.make("nope")
    message = str(err.value)
    assert message.startswith("env.name")
    assert "'gridworld'" in message and "'prosocial'" in message
    with pytest.raises(valueint.ConfigError, match=r"^train_env\.name = 'nope'"):
        build({"name": "nope"}, prefix="train_env")
    with pytest.raises(valueint.ConfigError, match=r"^env\.name is required.*gridworld"):
        build({})


SHORT_TYPES = [{"name": "candy", "features": [1.0, 0.0], "extrinsic": 1.0}]


@pytest.mark.parametrize(
    "name, options, field",
    [
        ("gridworld", {"size": 1}, "env.size"),
        ("gridworld", {"horizon": -3}, "env.horizon"),
        ("gridworld", {"object_types": SHORT_TYPES}, "env.object_types[0].features"),
        ("gridworld", {"slots": [["candy"], ["dragon"]]}, "env.slots[1]"),
        ("gridworld", {"slots": [["candy"], []]}, "env.slots[1]"),
        ("gridworld", {"object_cells": [0, 1]}, "env.object_cells"),
        ("gridworld", {"agent_cells": [99]}, "env.agent_cells"),
        ("gridworld", {"colour": "red"}, "env.colour"),
        ("prosocial", {"n_agents": 1}, "env.n_agents"),
        ("prosocial", {"horizon": 0}, "env.horizon"),
        ("prosocial", {"need_prob": 1.5}, "env.need_prob"),
        ("prosocial", {"cost": -0.1}, "env.cost"),
    ],
)
def test_bad_options_name_the_field(name, options, field):
    with pytest.raises(valueint.ConfigError) as err:
        make(name, **options)
    assert str(err.value).startswith(field), str(err.value)
    prefixed = "train_env" + field[len("env") :]
    with pytest.raises(valueint.ConfigError) as err:
        build({"name": name, **options}, prefix="train_env")
    assert str(err.value).startswith(prefixed), str(err.value)


def test_gridworld_terminated_only_by_collection_and_fixed_layout_index():
    env, params = build(
        {
            "name": "gridworld",
            "size": 3,
            "horizon": 2,
            "agent_cells": [0],
            "fixed_cells": [2, 8],
            "slots": [["candy"], ["book"]],
        }
    )
    assert env.fixed_layout and env.supports_tabular and env.n_states == 9 * 4
    obs, state = env.reset(jax.random.key(0), params)
    assert [int(c) for c in state.object_cells] == [2, 8]
    assert int(obs.state_index[0]) == 0 + 9 * 3  # agent cell 0, both objects left
    right = jnp.array([3])
    obs, state, _, done, info = env.step(jax.random.key(1), state, right, params)
    assert not bool(done) and not bool(info["terminated"])
    obs, state, reward, done, info = env.step(jax.random.key(2), state, right, params)
    assert bool(done) and bool(info["terminated"]) and bool(info["collected"])
    assert float(reward[0]) == pytest.approx(1.0 - 0.01)  # candy, minus the step cost
    # the horizon alone ends an episode without terminating it
    _, state = env.reset(jax.random.key(0), params)
    down = jnp.array([1])
    _, state, _, _, info = env.step(jax.random.key(1), state, down, params)
    _, state, _, done, info = env.step(jax.random.key(2), state, jnp.array([2]), params)
    assert bool(done) and not bool(info["terminated"])
    random_layout, _ = make("gridworld", size=3)
    assert not random_layout.supports_tabular


def test_prosocial_horizon_is_never_terminal():
    env, params = make("prosocial", horizon=1)
    _, state = env.reset(jax.random.key(0), params)
    _, _, _, done, info = env.step(jax.random.key(1), state, jnp.array([0, 1]), params)
    assert bool(done) and not bool(info["terminated"])


# --- the Env protocol and the registry ---------------------------------------------


@pytest.mark.parametrize("name", WORLDS.names())
def test_every_registered_world_satisfies_the_env_protocol(name):
    env, params = make(name)
    assert isinstance(env, Env), f"{name} lacks part of the Env protocol"
    assert env.name == name
    assert hash(env) == hash(make(name)[0]) and env == make(name)[0]  # static, hashable
    assert len(env.feature_names) == env.n_features
    assert isinstance(env.supports_tabular, bool)
    n, n_actions = env.n_agents, env.n_actions
    obs, state = env.reset(jax.random.key(0), params)
    assert isinstance(obs, Observation)
    assert obs.q_features.shape == (n, n_actions, env.n_q_features)
    assert obs.social_features.shape == (n, n_actions, env.n_features)
    assert obs.state_index.shape == (n,)
    assert bool(jnp.all((0 <= obs.state_index) & (obs.state_index < env.n_states)))
    action = jnp.zeros(n, dtype=jnp.int32)
    obs, state, reward, done, info = env.step(jax.random.key(1), state, action, params)
    assert isinstance(obs, Observation) and reward.shape == (n,)
    assert jnp.shape(done) == () and jnp.shape(info["terminated"]) == ()
    # the *_from_noise pair is the deterministic core the runner and the reference use
    again = env.reset_from_noise(env.reset_noise(jax.random.key(0)), params)
    assert_trees_equal(again, env.reset(jax.random.key(0), params))


@pytree_dataclass
class CoinParams:
    take_reward: jax.Array


@dataclasses.dataclass(frozen=True)
class Coin:
    """One choice per episode: take a coin (extrinsic reward) or give it away."""

    name = "coin"
    n_agents = 1
    n_actions = 2  # take, give
    horizon = 1
    feature_names = ("taken", "given")
    n_features = 2
    n_q_features = 2  # one-hot action
    n_states = 1
    supports_tabular = True

    def reset_noise(self, key):
        return {}

    def step_noise(self, key):
        return {}

    def observe(self):
        eye = jnp.eye(self.n_actions)[None]
        return Observation(q_features=eye, social_features=eye, state_index=jnp.zeros(1, jnp.int32))

    def reset_from_noise(self, noise, params):
        return self.observe(), jnp.zeros((), jnp.int32)

    def step_from_noise(self, noise, state, action, params):
        reward = jnp.where(action == 0, params.take_reward, 0.0)
        t = state + 1
        done = t >= self.horizon
        return self.observe(), t, reward, done, {"terminated": done}

    def reset(self, key, params):
        return self.reset_from_noise(self.reset_noise(key), params)

    def step(self, key, state, action, params):
        return self.step_from_noise(self.step_noise(key), state, action, params)


def build_coin(options, prefix="env"):
    unknown = sorted(set(options) - {"name", "take_reward"})
    if unknown:
        raise ConfigError(f"{prefix}.{unknown[0]} is not a coin option")
    return Coin(), CoinParams(take_reward=jnp.asarray(float(options.get("take_reward", 1.0))))


@pytest.fixture
def with_coin(monkeypatch):
    """The registry with the coin world added, for this test only."""
    worlds = Registry("environment", error=ConfigError)
    for name, entry in WORLDS.items():
        worlds.register(name, entry)
    worlds.register("coin", build_coin)
    monkeypatch.setattr(envs, "WORLDS", worlds)


def test_a_registered_world_runs_through_a_config_and_simulate(with_coin):
    assert isinstance(make("coin")[0], Env)
    config = {
        "experiment": {"n_episodes": 20, "chunk_episodes": 20},
        "env": {"name": "coin", "take_reward": 0.5},
        "env_autonomous": {"take_reward": 1.0},
        "caregiver": {"theta": [-1.0, 1.0], "socialization_episodes": 10},
    }
    with pytest.raises(ConfigError, match=r"^env\.colour is not a coin option"):
        resolve({**config, "env": {"name": "coin", "colour": "red"}})
    frame = valueint.simulate(config, seeds=2)
    assert len(frame) == 2 * 20
    assert (frame["salient_actions"] == 1).all() and (frame["steps"] == 1).all()
    assert list(frame.groupby("episode").phase.first().iloc[[9, 10]]) == [
        "socialization",
        "autonomous",
    ]
    # taking pays the env's (then env_autonomous's) reward; giving pays nothing
    took = frame["socialized_rate"] == 0
    social = frame["phase"] == "socialization"
    np.testing.assert_allclose(frame.loc[took & social, "extrinsic_return"], 0.5)
    np.testing.assert_allclose(frame.loc[took & ~social, "extrinsic_return"], 1.0)
    np.testing.assert_allclose(frame.loc[~took, "extrinsic_return"], 0.0)
    # the caregiver praises giving, so the ISR learns that giving is valued
    last = frame[frame["episode"] == 19]
    assert (last["theta_mean_given"] > last["theta_mean_taken"]).all()
