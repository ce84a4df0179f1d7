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

from ..errors import ConfigError, check_range
from ..pytree import pytree_dataclass
from .base import Observation

# up, down, left, right as (row, col) offsets
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int32)
ACTION_NAMES = ("up", "down", "left", "right")


@pytree_dataclass
class GridWorldParams:
    type_features: jax.Array  # [n_types, n_features]
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
    proximity_decay: float = 0.9
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
        # phi of the object collected, proximity to each feature, bias
        return 2 * self.n_features + 1

    @property
    def n_states(self) -> int:
        return self.size * self.size

    # --- randomness -------------------------------------------------------
    def reset_noise(self, key):
        k1, k2, k3 = jax.random.split(key, 3)
        return {
            "agent": jax.random.uniform(k1, ()),
            "cells": jax.random.uniform(k2, (self.size * self.size,), minval=1e-12, maxval=1.0),
            "types": jax.random.uniform(k3, (self.n_objects,)),
        }

    def step_noise(self, key):
        return {}

    # --- dynamics ---------------------------------------------------------
    def reset(self, key, params: GridWorldParams):
        return self.reset_from_noise(self.reset_noise(key), params)

    def reset_from_noise(self, noise, params: GridWorldParams):
        agent_cdf = jnp.cumsum(params.agent_cell_weights) / jnp.sum(params.agent_cell_weights)
        agent_cell = jnp.minimum(jnp.sum(agent_cdf < noise["agent"]), self.n_states - 1)
        # Gumbel top-k: a weighted draw of distinct object cells, never the agent's cell.
        gumbel = -jnp.log(-jnp.log(noise["cells"]))
        scores = jnp.log(params.object_cell_weights) + gumbel
        scores = scores.at[agent_cell].set(-jnp.inf)
        object_cells = jnp.argsort(-scores)[: self.n_objects]
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

    def _distance_to_features(self, cell, state, params):
        """Manhattan distance from ``cell`` to the nearest live object bearing each feature."""
        row, col = cell // self.size, cell % self.size
        orow, ocol = state.object_cells // self.size, state.object_cells % self.size
        dist = jnp.abs(orow - row) + jnp.abs(ocol - col)  # [n_objects]
        has = (params.type_features[state.object_types] != 0) & state.object_alive[:, None]
        big = 4 * self.size
        return jnp.min(jnp.where(has, dist[:, None], big), axis=0), jnp.any(has, axis=0)

    def observe(self, state: GridWorldState, params: GridWorldParams) -> Observation:
        next_cells = self._next_cells(state.agent_cell)  # [A]
        hit = (next_cells[:, None] == state.object_cells[None, :]) & state.object_alive[None, :]
        phi = hit.astype(params.type_features.dtype) @ params.type_features[state.object_types]
        d_next, present = jax.vmap(lambda c: self._distance_to_features(c, state, params))(
            next_cells
        )
        # proximity decay**distance is the discounted value of walking straight to the
        # nearest object with that feature, so a linear Q can represent "go there".
        proximity = jnp.where(present, self.proximity_decay ** d_next.astype(phi.dtype), 0.0)
        bias = jnp.ones((self.n_actions, 1), dtype=phi.dtype)
        psi = jnp.concatenate([phi, proximity, bias], axis=1)
        return Observation(
            q_features=psi[None],
            social_features=phi[None],
            state_index=state.agent_cell[None],
        )

    def step(self, key, state, action, params):
        return self.step_from_noise(self.step_noise(key), state, action, params)

    def step_from_noise(self, noise, state: GridWorldState, action, params: GridWorldParams):
        """``action`` has shape [n_agents] (= [1]). Returns (obs, state, reward[1], done, info)."""
        target = self._next_cells(state.agent_cell)[action[0]]
        hit = (state.object_cells == target) & state.object_alive
        reward = params.step_reward + jnp.sum(
            jnp.where(hit, params.type_extrinsic[state.object_types], 0.0)
        )
        collected = jnp.any(hit)
        t = state.t + 1
        if self.single_choice:
            done = collected | (t >= self.horizon)
        else:
            done = ~jnp.any(state.object_alive & ~hit) | (t >= self.horizon)
        new_state = GridWorldState(
            agent_cell=target.astype(jnp.int32),
            object_cells=state.object_cells,
            object_types=state.object_types,
            object_alive=state.object_alive & ~hit,
            t=t,
        )
        info = {"collected": collected}
        return self.observe(new_state, params), new_state, reward[None], done, info


def _as_matrix(field, rows, n_cols):
    arr = np.asarray(rows, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != n_cols:
        raise ConfigError(f"{field} must have {n_cols} values per row; got shape {arr.shape}")
    return arr


DEFAULT_OBJECT_TYPES = [
    {"name": "candy", "features": [1.0, 0.0, 0.0], "extrinsic": 1.0},
    {"name": "book", "features": [0.0, 1.0, 0.0], "extrinsic": 0.0},
    {"name": "crayons", "features": [0.0, 1.0, 1.0], "extrinsic": 0.3},
]


def build(options: dict, prefix: str = "env"):
    """Build ``(GridWorld, GridWorldParams)`` from a plain dict (as read from TOML).

    Keys: size, horizon, single_choice, step_reward, features (names),
    object_types (list of {name, features, extrinsic}), slots (one list of allowed
    type names per object; types are drawn uniformly within a slot), object_cells
    and agent_cells (lists of allowed cell indices; default all cells).
    """
    known = {
        "name",
        "size",
        "horizon",
        "single_choice",
        "step_reward",
        "features",
        "object_types",
        "slots",
        "object_cells",
        "agent_cells",
    }
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]} is not a gridworld option; allowed: {sorted(known)}"
        )
    size = check_range(f"{prefix}.size", options.get("size", 5), 2, 64, integer=True)
    horizon = check_range(f"{prefix}.horizon", options.get("horizon", 12), 1, 10_000, integer=True)
    feature_names = tuple(options.get("features", ("sweet", "educational", "messy")))
    if not feature_names:
        raise ConfigError(f"{prefix}.features must name at least one feature")
    types = options.get("object_types", DEFAULT_OBJECT_TYPES)
    type_names = []
    for i, spec in enumerate(types):
        for key in ("name", "features", "extrinsic"):
            if key not in spec:
                raise ConfigError(f"{prefix}.object_types[{i}] is missing '{key}'")
        if len(spec["features"]) != len(feature_names):
            raise ConfigError(
                f"{prefix}.object_types[{i}].features has {len(spec['features'])} values; "
                f"expected {len(feature_names)} (one per name in {prefix}.features)"
            )
        type_names.append(spec["name"])
    type_features = _as_matrix(
        f"{prefix}.object_types.features", [t["features"] for t in types], len(feature_names)
    )
    type_extrinsic = np.array([float(t["extrinsic"]) for t in types])
    slots = options.get(
        "slots", [[type_names[0]], [type_names[1]]] if len(type_names) > 1 else [[type_names[0]]]
    )
    if not slots:
        raise ConfigError(f"{prefix}.slots must list at least one object slot")
    slot_probs = np.zeros((len(slots), len(type_names)))
    for i, allowed in enumerate(slots):
        if not allowed:
            raise ConfigError(f"{prefix}.slots[{i}] is empty; expected one or more type names")
        for name in allowed:
            if name not in type_names:
                raise ConfigError(
                    f"{prefix}.slots[{i}] names unknown object type {name!r}; known: {type_names}"
                )
            slot_probs[i, type_names.index(name)] = 1.0
    slot_probs /= slot_probs.sum(axis=1, keepdims=True)
    n_cells = size * size

    def cell_weights(key):
        cells = options.get(key)
        w = np.ones(n_cells)
        if cells is not None:
            w = np.zeros(n_cells)
            for c in cells:
                check_range(f"{prefix}.{key}", c, 0, n_cells - 1, integer=True)
                w[int(c)] = 1.0
        return w

    object_w, agent_w = cell_weights("object_cells"), cell_weights("agent_cells")
    if agent_w.sum() == 0:
        raise ConfigError(f"{prefix}.agent_cells must allow at least one cell")
    if (object_w > 0).sum() < len(slots) + 1:
        raise ConfigError(
            f"{prefix}.object_cells allows {(object_w > 0).sum()} cells; need at least "
            f"{len(slots) + 1} (one per slot plus one the agent may occupy)"
        )
    env = GridWorld(
        size=size,
        n_objects=len(slots),
        horizon=horizon,
        single_choice=bool(options.get("single_choice", True)),
        proximity_decay=check_range(
            f"{prefix}.proximity_decay", options.get("proximity_decay", 0.9), 0.0, 1.0
        ),
        feature_names=feature_names,
        type_names=tuple(type_names),
    )
    params = GridWorldParams(
        type_features=jnp.asarray(type_features),
        type_extrinsic=jnp.asarray(type_extrinsic),
        slot_type_probs=jnp.asarray(slot_probs),
        object_cell_weights=jnp.asarray(object_w),
        agent_cell_weights=jnp.asarray(agent_w),
        step_reward=jnp.asarray(float(options.get("step_reward", -0.01))),
    )
    return env, params
