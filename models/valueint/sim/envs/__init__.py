"""Environments (MDP-SR worlds) with gymnax-style pure ``reset`` / ``step``.

>>> env, params = make("gridworld")
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, done, info = env.step(key, state, action, params)

``action`` and ``reward`` carry one entry per agent.  ``obs.social_features`` is
phi(s, a) for every action: the vocabulary of the caregiver and of the ISR.  What a
world must provide is written down in :class:`valueint.sim.envs.base.Env`; a new one
is added with ``WORLDS.register(name, build)``, ``build(options, prefix) -> (env,
params)`` taking the config table ``[env]`` (``name`` included).
"""

from __future__ import annotations

from collections.abc import Callable

from valueint.errors import ConfigError
from valueint.registry import Registry
from valueint.sim.envs import gridworld, prosocial
from valueint.sim.envs.base import Env, Observation

Builder = Callable[[dict, str], tuple[Env, object]]

WORLDS: Registry[Builder] = Registry("environment", error=ConfigError)
WORLDS.register("gridworld", gridworld.build)
WORLDS.register("prosocial", prosocial.build)


def builder(name, prefix: str = "env") -> Builder:
    """The registered builder of world ``name``; ConfigError ``{prefix}.name = ...`` if none."""
    if not isinstance(name, str) or name not in WORLDS:
        # worded as before the registry: configs and their tests quote it
        raise ConfigError(
            f"{prefix}.name = {name!r} is not a known environment; known: {list(WORLDS.names())}"
        )
    return WORLDS.get(name)


def build(options: dict, prefix: str = "env") -> tuple[Env, object]:
    """``(env, params)`` from a config table holding ``name``; errors start with ``prefix``."""
    name = options.get("name")
    if name is None:
        raise ConfigError(f"{prefix}.name is required; known: {list(WORLDS.names())}")
    return builder(name, prefix)(dict(options), prefix)


def make(name: str, **options) -> tuple[Env, object]:
    """``(env, params)`` for a registered environment name and its options."""
    return builder(name)(dict(options), "env")


__all__ = ["WORLDS", "Builder", "Env", "Observation", "build", "builder", "make"]
