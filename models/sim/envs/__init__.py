"""Environments (MDP-SR worlds) with gymnax-style pure ``reset`` / ``step``.

>>> env, params = make("gridworld")
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, done, info = env.step(key, state, action, params)

``action`` and ``reward`` carry one entry per agent.  ``obs.social_features`` is
phi(s, a) for every action: the vocabulary of the caregiver and of the ISR.
"""

from __future__ import annotations

from valueint.errors import ConfigError
from valueint.sim.envs import gridworld, prosocial
from valueint.sim.envs.base import Observation

REGISTRY = {
    "gridworld": gridworld.build,
    "prosocial": prosocial.build,
}


def make(name: str, **options):
    """Return ``(env, params)`` for a registered environment name."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ConfigError(
            f"env.name = {name!r} is not a known environment; known: {sorted(REGISTRY)}"
        )
    return REGISTRY[name](dict(options))


def build(options: dict, prefix: str = "env"):
    """Like :func:`make` but from a config dict holding ``name``."""
    name = options.get("name")
    if name is None:
        raise ConfigError(f"{prefix}.name is required; known: {sorted(REGISTRY)}")
    if not isinstance(name, str) or name not in REGISTRY:
        raise ConfigError(
            f"{prefix}.name = {name!r} is not a known environment; known: {sorted(REGISTRY)}"
        )
    return REGISTRY[name](dict(options), prefix)


__all__ = ["REGISTRY", "Observation", "build", "make"]
