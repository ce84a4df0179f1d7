"""A gridworld whose objects carry features.

The agent walks on a ``size x size`` grid.  Stepping onto an object collects it:
the extrinsic reward is the object's type reward and the caregiver's vocabulary
phi(s, a) is the object's feature vector (zero for plain moves).  With
``single_choice`` (the default) an episode ends at the first object collected, so
every episode is one choice between, say, a tempting object and a socially valued
one.

Layouts are drawn from a distribution held in the params: per-slot type
probabilities and cell weights for objects and agent.  Two params with the same
static shape but different distributions give train and test layouts that share
the feature vocabulary but differ in positions and object combinations.

All randomness enters through :func:`GridWorld.reset_noise`; ``reset_from_noise``
is deterministic, which is what the NumPy reference mirrors.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from valueint.errors import ConfigError, check_range, check_type, check_vector
from valueint.pytree import pytree_dataclass
from valueint.sim.envs.base import Observation

# up, down, left, right as (row, col) offsets
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int32)
ACTION_NAMES = ("up", "down", "left", "right")


@pytree_dataclass
class GridWorldParams:
    type_features: jax.Array  # [n_types, n_features]
    fixed_object_cells: jax.Array  # [n_objects] int, used when the layout is fixed
    type_extrinsic: jax.Array  # [n_types]
    slot_type_probs: jax.Array  # [n_objects, n_types]
    object_cell_weights: jax.Array  # [size*size]
    agent_cell_weights: jax.Array  # [size*size]
    step_reward: jax.Array  # scalar


@pytree_dataclass
class GridWorldState:
    agent_cell: jax.Array  # int scalar
    object_cells: jax.Array  # [n_objects] int
    object_types: jax.Array  # [n_objects] int
    object_alive: jax.Array  # [n_objects] bool
    t: jax.Array  # int scalar


@dataclasses.dataclass(frozen=True)
class GridWorld:
    """Static description: shapes and names. Dynamic values live in GridWorldParams."""

    size: int = 5
    n_objects: int = 2
    horizon: int = 12
    single_choice: bool = True
    proximity_decay: float = 0.8
    fixed_layout: bool = False  # objects at params.fixed_object_cells, not drawn
    single_type_slots: bool = True  # every slot allows exactly one object type
    feature_names: tuple[str, ...] = ("sweet", "educational", "messy")
    type_names: tuple[str, ...] = ("candy", "book", "crayons")

    name = "gridworld"
    n_agents = 1
    n_actions = 4
    action_names = ACTION_NAMES

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_types(self) -> int:
        return len(self.type_names)

    @property
    def n_q_features(self) -> int:
        # proximity to each feature among the objects still reachable, bias
        return self.n_features + 1

    @property
    def n_cells(self) -> int:
        return self.size * self.size

    @property
    def n_states(self) -> int:
        # agent cell x which objects are left: the full state when the layout is fixed
        return self.n_cells * 2**self.n_objects

    @property
    def supports_tabular(self) -> bool:
        """A table indexed by ``state_index`` sees the whole state only on a fixed layout."""
        return self.fixed_layout and self.single_type_slots

    @property
    def salient_action_ends_episode(self) -> bool:
        """Only collecting is salient, and with ``single_choice`` it ends the episode."""
        return self.single_choice

    # --- randomness -------------------------------------------------------
    def reset_noise(self, key):
        k1, k2, k3 = jax.random.split(key, 3)
        return {
            "agent": jax.random.uniform(k1, ()),
            "cells": jax.random.uniform(k2, (self.n_cells,), minval=1e-12, maxval=1.0),
            "types": jax.random.uniform(k3, (self.n_objects,)),
        }

    def step_noise(self, key):
        return {}

    # --- dynamics ---------------------------------------------------------
    def reset(self, key, params: GridWorldParams):
        return self.reset_from_noise(self.reset_noise(key), params)

    def reset_from_noise(self, noise, params: GridWorldParams):
        agent_cdf = jnp.cumsum(params.agent_cell_weights) / jnp.sum(params.agent_cell_weights)
        agent_cell = jnp.minimum(jnp.sum(agent_cdf < noise["agent"]), self.n_cells - 1)
        # Gumbel top-k: a weighted draw of distinct object cells, never the agent's cell.
        gumbel = -jnp.log(-jnp.log(noise["cells"]))
        scores = jnp.log(params.object_cell_weights) + gumbel
        scores = scores.at[agent_cell].set(-jnp.inf)
        object_cells = _top_cells(scores, self.n_objects)
        if self.fixed_layout:
            object_cells = params.fixed_object_cells
        type_cdf = jnp.cumsum(params.slot_type_probs, axis=1)
        type_cdf = type_cdf / type_cdf[:, -1:]
        object_types = jnp.minimum(
            jnp.sum(type_cdf < noise["types"][:, None], axis=1), self.n_types - 1
        )
        state = GridWorldState(
            agent_cell=agent_cell.astype(jnp.int32),
            object_cells=object_cells.astype(jnp.int32),
            object_types=object_types.astype(jnp.int32),
            object_alive=jnp.ones(self.n_objects, dtype=bool),
            t=jnp.zeros((), dtype=jnp.int32),
        )
        return self.observe(state, params), state

    def _next_cells(self, cell):
        row, col = cell // self.size, cell % self.size
        rows = jnp.clip(row + MOVES[:, 0], 0, self.size - 1)
        cols = jnp.clip(col + MOVES[:, 1], 0, self.size - 1)
        return rows * self.size + cols  # [n_actions]

    def _distance_to_features(self, cell, state, params, reachable):
        """Manhattan distance from ``cell`` to the nearest reachable object bearing each feature."""
        row, col = cell // self.size, cell % self.size
        orow, ocol = state.object_cells // self.size, state.object_cells % self.size
        dist = jnp.abs(orow - row) + jnp.abs(ocol - col)  # [n_objects]
        has = (params.type_features[state.object_types] != 0) & reachable[:, None]
        big = 4 * self.size
        return jnp.min(jnp.where(has, dist[:, None], big), axis=0), jnp.any(has, axis=0)

    def observe(self, state: GridWorldState, params: GridWorldParams) -> Observation:
        """Q features psi(s, a): decay**d to the nearest object with each feature that is
        still reachable after the move, and a bias.  A move that collects an object puts
        it at d = 0; with ``single_choice`` it also ends the episode, so nothing else is
        reachable.  decay**d is the discounted value of walking straight there, so one
        weight per feature ties "approach it" to "collect it" in a linear Q."""
        next_cells = self._next_cells(state.agent_cell)  # [A]
        hit = (next_cells[:, None] == state.object_cells[None, :]) & state.object_alive[None, :]
        phi = hit.astype(params.type_features.dtype) @ params.type_features[state.object_types]
        if self.single_choice:
            collects = jnp.any(hit, axis=1, keepdims=True)
            reachable = jnp.where(collects, hit, state.object_alive[None, :])
        else:
            reachable = jnp.broadcast_to(state.object_alive, hit.shape)
        d_next, present = jax.vmap(lambda c, r: self._distance_to_features(c, state, params, r))(
            next_cells, reachable
        )
        # decay**d from a table over the few distances there are (pow is slow on CPU)
        decay_table = jnp.asarray(
            self.proximity_decay ** np.arange(4 * self.size + 1, dtype=np.float64), phi.dtype
        )
        proximity = jnp.where(present, decay_table[d_next], 0.0)
        bias = jnp.ones((self.n_actions, 1), dtype=phi.dtype)
        psi = jnp.concatenate([proximity, bias], axis=1)
        left = jnp.sum(state.object_alive * (2 ** jnp.arange(self.n_objects)))
        index = state.agent_cell + self.n_cells * left if self.fixed_layout else state.agent_cell
        return Observation(
            q_features=psi[None],
            social_features=phi[None],
            state_index=index.astype(jnp.int32)[None],
        )

    def step(self, key, state, action, params):
        return self.step_from_noise(self.step_noise(key), state, action, params)

    def step_from_noise(self, noise, state: GridWorldState, action, params: GridWorldParams):
        """``action`` has shape [n_agents] (= [1]). Returns (obs, state, reward[1], done, info).

        ``info["terminated"]``: the episode ended by collection, not by the horizon (a
        time limit, after which a learner should still bootstrap)."""
        target = self._next_cells(state.agent_cell)[action[0]]
        hit = (state.object_cells == target) & state.object_alive
        reward = params.step_reward + jnp.sum(
            jnp.where(hit, params.type_extrinsic[state.object_types], 0.0)
        )
        collected = jnp.any(hit)
        t = state.t + 1
        terminated = collected if self.single_choice else ~jnp.any(state.object_alive & ~hit)
        done = terminated | (t >= self.horizon)
        new_state = GridWorldState(
            agent_cell=target.astype(jnp.int32),
            object_cells=state.object_cells,
            object_types=state.object_types,
            object_alive=state.object_alive & ~hit,
            t=t,
        )
        info = {"collected": collected, "terminated": terminated}
        return self.observe(new_state, params), new_state, reward[None], done, info


def _top_cells(scores, n: int):
    """The indices of the ``n`` largest scores, largest first, ties to the lower index:
    ``argsort(-scores)[:n]`` by ``n`` argmaxes, far cheaper than a sort for few objects."""
    cells = []
    for _ in range(n):
        best = jnp.argmax(scores)
        cells.append(best)
        scores = scores.at[best].set(-jnp.inf)
    return jnp.stack(cells)


DEFAULT_OBJECT_TYPES = [
    {"name": "candy", "features": [1.0, 0.0, 0.0], "extrinsic": 1.0},
    {"name": "book", "features": [0.0, 1.0, 0.0], "extrinsic": 0.0},
    {"name": "crayons", "features": [0.0, 1.0, 1.0], "extrinsic": 0.3},
]
OPTIONS = (
    "name", "size", "horizon", "single_choice", "proximity_decay", "step_reward", "features",
    "object_types", "slots", "object_cells", "agent_cells", "fixed_cells",
)  # fmt: skip


def _names(field, value, what):
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{field} must be a non-empty list of {what}")
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{field}[{i}] = {name!r} must be a non-empty string")
    if len(set(value)) != len(value):
        raise ConfigError(f"{field} names {what} twice: {list(value)}")
    return tuple(value)


def _cells(field, cells, n_cells):
    if not isinstance(cells, list | tuple):
        raise ConfigError(f"{field} must be a list of cell indices (row * size + column)")
    return [
        check_range(f"{field}[{i}]", c, 0, n_cells - 1, integer=True) for i, c in enumerate(cells)
    ]


def build(options: dict, prefix: str = "env"):
    """Build ``(GridWorld, GridWorldParams)`` from a plain dict (as read from TOML).

    Keys: size, horizon, single_choice, proximity_decay, step_reward, features
    (names), object_types (list of {name, features, extrinsic}), slots (one list of
    allowed type names per object; types are drawn uniformly within a slot),
    object_cells and agent_cells (allowed cell indices, row * size + column; default
    all cells), fixed_cells (one cell per slot: a fixed layout instead of a drawn one).
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]} is not a gridworld option; allowed: {sorted(OPTIONS)}"
        )
    size = check_range(f"{prefix}.size", options.get("size", 5), 2, 64, integer=True)
    n_cells = size * size
    horizon = check_range(f"{prefix}.horizon", options.get("horizon", 12), 1, 10_000, integer=True)
    single_choice = options.get("single_choice", True)
    check_type(f"{prefix}.single_choice", single_choice, bool, "true or false")
    feature_names = _names(
        f"{prefix}.features", options.get("features", ("sweet", "educational", "messy")), "features"
    )
    types = options.get("object_types", DEFAULT_OBJECT_TYPES)
    if not isinstance(types, list | tuple) or not types:
        raise ConfigError(
            f"{prefix}.object_types must be a non-empty list of {{name, features, extrinsic}}"
        )
    for i, spec in enumerate(types):
        if not isinstance(spec, dict):
            raise ConfigError(
                f"{prefix}.object_types[{i}] must be a table {{name, features, extrinsic}}"
            )
        for key in ("name", "features", "extrinsic"):
            if key not in spec:
                raise ConfigError(f"{prefix}.object_types[{i}] is missing '{key}'")
        extra = sorted(set(spec) - {"name", "features", "extrinsic"})
        if extra:
            raise ConfigError(
                f"{prefix}.object_types[{i}].{extra[0]} is not a known field; allowed: extrinsic, features, name"
            )
        check_vector(
            f"{prefix}.object_types[{i}].features",
            spec["features"],
            len(feature_names),
            f" (one per name in {prefix}.features)",
        )
        check_range(f"{prefix}.object_types[{i}].extrinsic", spec["extrinsic"])
    type_names = list(
        _names(f"{prefix}.object_types.name", [t["name"] for t in types], "object types")
    )
    type_features = np.array([[float(v) for v in t["features"]] for t in types])
    type_extrinsic = np.array([float(t["extrinsic"]) for t in types])

    default_slots = [[type_names[0]], [type_names[1]]] if len(type_names) > 1 else [[type_names[0]]]
    slots = options.get("slots", default_slots)
    if not isinstance(slots, list | tuple) or not slots:
        raise ConfigError(
            f"{prefix}.slots must list at least one object slot (a list of type names)"
        )
    slot_probs = np.zeros((len(slots), len(type_names)))
    for i, allowed in enumerate(slots):
        if not isinstance(allowed, list | tuple) or not allowed:
            raise ConfigError(f"{prefix}.slots[{i}] must be a non-empty list of type names")
        for name in allowed:
            if name not in type_names:
                raise ConfigError(
                    f"{prefix}.slots[{i}] names unknown object type {name!r}; known: {type_names}"
                )
            slot_probs[i, type_names.index(name)] = 1.0
    slot_probs /= slot_probs.sum(axis=1, keepdims=True)

    def cell_weights(key):
        cells = options.get(key)
        if cells is None:
            return np.ones(n_cells)
        w = np.zeros(n_cells)
        w[_cells(f"{prefix}.{key}", cells, n_cells)] = 1.0
        return w

    object_w, agent_w = cell_weights("object_cells"), cell_weights("agent_cells")
    if agent_w.sum() == 0:
        raise ConfigError(f"{prefix}.agent_cells must allow at least one cell")
    if (object_w > 0).sum() < len(slots) + 1:
        raise ConfigError(
            f"{prefix}.object_cells allows {(object_w > 0).sum()} cells; need at least "
            f"{len(slots) + 1} (one per slot plus one the agent may occupy)"
        )
    fixed = options.get("fixed_cells")
    fixed_cells = np.zeros(len(slots), dtype=np.int32)
    if fixed is not None:
        fixed_cells = np.array(_cells(f"{prefix}.fixed_cells", fixed, n_cells), dtype=np.int32)
        if len(fixed_cells) != len(slots) or len(set(fixed_cells.tolist())) != len(slots):
            raise ConfigError(
                f"{prefix}.fixed_cells must give {len(slots)} distinct cells, one per slot; got {list(fixed)}"
            )
        if agent_w.sum() != 1 or agent_w[fixed_cells].any():
            raise ConfigError(
                f"{prefix}.fixed_cells needs {prefix}.agent_cells to name one cell, not among the fixed cells"
            )
    env = GridWorld(
        size=size,
        n_objects=len(slots),
        horizon=horizon,
        single_choice=single_choice,
        proximity_decay=check_range(
            f"{prefix}.proximity_decay", options.get("proximity_decay", 0.8), 0.0, 1.0
        ),
        fixed_layout=fixed is not None,
        single_type_slots=bool(np.all((slot_probs > 0).sum(axis=1) == 1)),
        feature_names=feature_names,
        type_names=tuple(type_names),
    )
    params = GridWorldParams(
        type_features=jnp.asarray(type_features),
        fixed_object_cells=jnp.asarray(fixed_cells),
        type_extrinsic=jnp.asarray(type_extrinsic),
        slot_type_probs=jnp.asarray(slot_probs),
        object_cell_weights=jnp.asarray(object_w),
        agent_cell_weights=jnp.asarray(agent_w),
        step_reward=jnp.asarray(
            check_range(f"{prefix}.step_reward", options.get("step_reward", -0.01))
        ),
    )
    return env, params
