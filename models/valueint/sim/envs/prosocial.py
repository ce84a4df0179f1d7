"""A world of several agents in which sharing helps a partner at a cost to oneself.

Each step every agent either *keeps* a resource (extrinsic reward ``keep_reward``)
or *shares* it with its partner, the next agent in a ring (the actor gets
``keep_reward - cost``; the partner gets ``benefit``, doubled by ``need_boost``
when the partner is in need).  Need is redrawn every step with probability
``need_prob`` and is visible to the actor.

The caregiver's vocabulary phi(s, a) is (benefit_to_other, cost_to_self,
kept_for_self): sharing is the prosocial act the caregiver may praise.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from valueint.errors import ConfigError, check_range
from valueint.pytree import pytree_dataclass
from valueint.sim.envs.base import Observation

ACTION_NAMES = ("keep", "share")
KEEP, SHARE = 0, 1


@pytree_dataclass
class ProsocialParams:
    keep_reward: jax.Array
    cost: jax.Array
    benefit: jax.Array
    need_boost: jax.Array
    need_prob: jax.Array


@pytree_dataclass
class ProsocialState:
    need: jax.Array  # [n_agents] bool: is this agent in need this step
    t: jax.Array


@dataclasses.dataclass(frozen=True)
class Prosocial:
    n_agents: int = 2
    horizon: int = 10

    name = "prosocial"
    n_actions = 2
    action_names = ACTION_NAMES
    feature_names = ("benefit_to_other", "cost_to_self", "kept_for_self")
    n_features = 3
    n_states = 2  # the partner's need, seen by the actor
    supports_tabular = True  # the partner's need is all of the state an actor acts on

    @property
    def n_q_features(self) -> int:
        return 2 * self.n_actions  # one-hot action x (1, partner in need)

    def reset_noise(self, key):
        return {"need": jax.random.uniform(key, (self.n_agents,))}

    def step_noise(self, key):
        return {"need": jax.random.uniform(key, (self.n_agents,))}

    def reset(self, key, params):
        return self.reset_from_noise(self.reset_noise(key), params)

    def reset_from_noise(self, noise, params: ProsocialParams):
        state = ProsocialState(need=noise["need"] < params.need_prob, t=jnp.zeros((), jnp.int32))
        return self.observe(state, params), state

    def partner_need(self, state):
        return jnp.roll(state.need, -1)  # agent i's partner is agent i+1 (mod n)

    def observe(self, state: ProsocialState, params: ProsocialParams) -> Observation:
        need = self.partner_need(state).astype(params.benefit.dtype)  # [n]
        benefit = params.benefit * (1.0 + params.need_boost * need)
        zeros = jnp.zeros_like(need)
        ones = jnp.ones_like(need)
        keep_phi = jnp.stack([zeros, zeros, ones], axis=-1)
        share_phi = jnp.stack([benefit, params.cost * ones, zeros], axis=-1)
        phi = jnp.stack([keep_phi, share_phi], axis=1)  # [n, A, K]
        context = jnp.stack([ones, need], axis=-1)  # [n, 2]
        eye = jnp.eye(self.n_actions, dtype=need.dtype)
        psi = (eye[None, :, :, None] * context[:, None, None, :]).reshape(
            self.n_agents, self.n_actions, self.n_q_features
        )
        return Observation(q_features=psi, social_features=phi, state_index=need.astype(jnp.int32))

    def step(self, key, state, action, params):
        return self.step_from_noise(self.step_noise(key), state, action, params)

    def step_from_noise(self, noise, state: ProsocialState, action, params: ProsocialParams):
        shares = (action == SHARE).astype(params.benefit.dtype)
        need = self.partner_need(state).astype(params.benefit.dtype)
        given = shares * params.benefit * (1.0 + params.need_boost * need)  # to partner i+1
        received = jnp.roll(given, 1)  # agent i receives from agent i-1
        reward = params.keep_reward - shares * params.cost + received
        t = state.t + 1
        new_state = ProsocialState(need=noise["need"] < params.need_prob, t=t)
        done = t >= self.horizon
        # the horizon is a time limit, never a terminal state of the world
        info = {"shared": shares, "terminated": jnp.zeros((), dtype=bool)}
        return self.observe(new_state, params), new_state, reward, done, info


def build(options: dict, prefix: str = "env"):
    known = {
        "name",
        "n_agents",
        "horizon",
        "keep_reward",
        "cost",
        "benefit",
        "need_boost",
        "need_prob",
    }
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]} is not a prosocial option; allowed: {sorted(known)}"
        )
    env = Prosocial(
        n_agents=check_range(
            f"{prefix}.n_agents", options.get("n_agents", 2), 2, 1024, integer=True
        ),
        horizon=check_range(
            f"{prefix}.horizon", options.get("horizon", 10), 1, 10_000, integer=True
        ),
    )
    params = ProsocialParams(
        keep_reward=jnp.asarray(
            check_range(f"{prefix}.keep_reward", options.get("keep_reward", 1.0))
        ),
        cost=jnp.asarray(check_range(f"{prefix}.cost", options.get("cost", 0.5), 0.0)),
        benefit=jnp.asarray(check_range(f"{prefix}.benefit", options.get("benefit", 1.0), 0.0)),
        need_boost=jnp.asarray(
            check_range(f"{prefix}.need_boost", options.get("need_boost", 1.0), 0.0)
        ),
        need_prob=jnp.asarray(
            check_range(f"{prefix}.need_prob", options.get("need_prob", 0.5), 0.0, 1.0)
        ),
    )
    return env, params
