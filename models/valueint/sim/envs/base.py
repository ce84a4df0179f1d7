"""What every world provides: the ``Env`` protocol and the ``Observation`` it returns.

A world is a frozen (hashable) description of its static shape plus a params pytree
of its dynamic numbers; the runner compiles one program per world and vmaps over
params, so two worlds that compare equal must behave the same for equal params.
Randomness enters only through ``reset_noise`` / ``step_noise``: the ``*_from_noise``
methods are deterministic, which is what lets a NumPy reference replay an episode.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax

from valueint.pytree import pytree_dataclass


@pytree_dataclass
class Observation:
    """Everything a learner sees before it acts, one row per agent.

    q_features:      [n_agents, n_actions, n_q_features]  linear Q features psi(s, a)
    social_features: [n_agents, n_actions, n_features]    phi(s, a), the caregiver's vocabulary
    state_index:     [n_agents] int in [0, n_states)       for the tabular Q option
    """

    q_features: jax.Array
    social_features: jax.Array
    state_index: jax.Array


@runtime_checkable
class Env(Protocol):
    """A world the runner, the config and the figures can use.

    ``social_features`` holds phi(s, a) for *every* action, so the caregiver and the
    ISR judge the act chosen; an action with phi = 0 is not salient (never answered).
    ``action`` and ``reward`` have one entry per agent; ``done`` is a scalar bool and
    ``info["terminated"]`` a scalar bool: True when the world ended the episode (no
    bootstrapping), False when only the horizon did (a time limit).
    """

    name: str  # as registered; configs say env.name = name
    n_agents: int
    n_actions: int
    horizon: int  # steps per episode at most (the length of the runner's scan)
    feature_names: tuple[str, ...]  # one per entry of phi(s, a)

    @property
    def n_features(self) -> int:
        """Length of phi(s, a) (= len(feature_names)); caregiver.theta has one per feature."""
        ...

    @property
    def n_q_features(self) -> int:
        """Length of psi(s, a) for the linear Q option."""
        ...

    @property
    def n_states(self) -> int:
        """Range of ``state_index``: the tabular Q has n_states * n_actions weights."""
        ...

    @property
    def supports_tabular(self) -> bool:
        """Whether ``state_index`` is the whole state, so that tabular Q is allowed."""
        ...

    # Optional (default False): True when every salient action ends the episode, so an
    # agent gets at most one piece of feedback per episode and no later step of the
    # episode reads what it learned; the runner then learns from it once, at the end.
    # salient_action_ends_episode: bool

    def reset_noise(self, key: jax.Array) -> Any:
        """Every random number ``reset_from_noise`` uses (a pytree of arrays)."""
        ...

    def step_noise(self, key: jax.Array) -> Any:
        """Every random number one ``step_from_noise`` uses (a pytree, may be empty)."""
        ...

    def reset_from_noise(self, noise: Any, params: Any) -> tuple[Observation, Any]:
        """(first observation, state)."""
        ...

    def step_from_noise(
        self, noise: Any, state: Any, action: jax.Array, params: Any
    ) -> tuple[Observation, Any, jax.Array, jax.Array, dict]:
        """(observation, state, reward[n_agents], done, info with "terminated")."""
        ...

    def reset(self, key: jax.Array, params: Any) -> tuple[Observation, Any]:
        """``reset_from_noise(reset_noise(key), params)``."""
        ...

    def step(
        self, key: jax.Array, state: Any, action: jax.Array, params: Any
    ) -> tuple[Observation, Any, jax.Array, jax.Array, dict]:
        """``step_from_noise(step_noise(key), state, action, params)``."""
        ...
