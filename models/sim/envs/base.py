"""What every environment returns to a learner."""

from __future__ import annotations

import jax

from valueint.pytree import pytree_dataclass


@pytree_dataclass
class Observation:
    """Everything a learner sees before it acts, one row per agent.

    q_features:      [n_agents, n_actions, n_q_features]  linear Q features psi(s, a)
    social_features: [n_agents, n_actions, n_features]    phi(s, a), the caregiver's vocabulary
    state_index:     [n_agents] int                        for the tabular Q option
    """

    q_features: jax.Array
    social_features: jax.Array
    state_index: jax.Array
