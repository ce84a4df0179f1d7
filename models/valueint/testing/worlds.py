"""Slow, obvious NumPy re-implementations of the worlds, for parity tests.

``GridWorldRef`` / ``ProsocialRef`` mirror ``valueint.sim.envs.gridworld`` /
``valueint.sim.envs.prosocial`` one cell and one agent at a time.  They draw no random
numbers: ``reset_from_noise`` / ``step_from_noise`` replay the noise the JAX worlds
drew, and ``step_from_noise`` returns (obs, state, reward, done, terminated).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# up, down, left, right as (row, col) offsets (gridworld.MOVES)
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass
class Obs:
    """What a learner sees before it acts (envs/base.Observation)."""

    q_features: np.ndarray  # [n_agents, n_actions, n_q_features]
    social_features: np.ndarray  # [n_agents, n_actions, n_features]
    state_index: np.ndarray  # [n_agents] int


# --- gridworld -------------------------------------------------------------------


@dataclasses.dataclass
class GridState:
    agent_cell: int
    object_cells: list  # [n_objects] int
    object_types: list  # [n_objects] int
    object_alive: list  # [n_objects] bool
    t: int


class GridWorldRef:
    """envs/gridworld.GridWorld, one cell at a time."""

    n_agents = 1
    n_actions = 4

    def __init__(self, env):
        self.size = env.size
        self.n_objects = env.n_objects
        self.horizon = env.horizon
        self.single_choice = env.single_choice
        self.proximity_decay = float(env.proximity_decay)
        self.n_features = env.n_features
        self.n_types = env.n_types
        self.fixed_layout = env.fixed_layout
        self.n_cells = env.size * env.size
        self.n_states = self.n_cells * 2**env.n_objects
        self.n_q_features = self.n_features + 1

    def reset_from_noise(self, noise, p):
        # Agent cell: inverse CDF of the normalized agent cell weights.
        weights = p.agent_cell_weights
        total = np.sum(weights)
        agent_cdf = np.cumsum(weights) / total
        below = 0
        for c in range(self.n_cells):
            if agent_cdf[c] < noise["agent"]:
                below += 1
        agent_cell = min(below, self.n_cells - 1)

        # Object cells: Gumbel top-k on log weights; the agent's cell is excluded.
        scores = []
        for c in range(self.n_cells):
            gumbel = -math.log(-math.log(noise["cells"][c]))
            w = p.object_cell_weights[c]
            log_w = math.log(w) if w > 0 else -math.inf
            scores.append(log_w + gumbel)
        scores[agent_cell] = -math.inf
        # Highest score first; equal scores keep cell order (a stable sort).
        order = sorted(range(self.n_cells), key=lambda c: -scores[c])
        object_cells = order[: self.n_objects]
        if self.fixed_layout:
            object_cells = [int(c) for c in p.fixed_object_cells]

        # Object types: inverse CDF of each slot's type probabilities.
        object_types = []
        for slot in range(self.n_objects):
            cdf = np.cumsum(p.slot_type_probs[slot])
            cdf = cdf / cdf[-1]
            below = 0
            for k in range(self.n_types):
                if cdf[k] < noise["types"][slot]:
                    below += 1
            object_types.append(min(below, self.n_types - 1))

        state = GridState(
            agent_cell=agent_cell,
            object_cells=object_cells,
            object_types=object_types,
            object_alive=[True] * self.n_objects,
            t=0,
        )
        return self.observe(state, p), state

    def next_cells(self, cell):
        """The cell each action leads to; walls keep the agent in place."""
        row, col = divmod(cell, self.size)
        cells = []
        for d_row, d_col in MOVES:
            r = min(max(row + d_row, 0), self.size - 1)
            c = min(max(col + d_col, 0), self.size - 1)
            cells.append(r * self.size + c)
        return cells

    def distance_to_features(self, cell, state, p, reachable):
        """Per feature: distance to the nearest reachable object bearing it, and whether any does."""
        row, col = divmod(cell, self.size)
        dist = [4 * self.size] * self.n_features
        present = [False] * self.n_features
        for o in range(self.n_objects):
            if not reachable[o]:
                continue
            o_row, o_col = divmod(state.object_cells[o], self.size)
            d = abs(o_row - row) + abs(o_col - col)
            for k in range(self.n_features):
                if p.type_features[state.object_types[o], k] != 0:
                    present[k] = True
                    dist[k] = min(dist[k], d)
        return dist, present

    def observe(self, state, p):
        A, K = self.n_actions, self.n_features
        phi = np.zeros((A, K))
        psi = np.zeros((A, self.n_q_features))
        for a, cell in enumerate(self.next_cells(state.agent_cell)):
            # phi(s, a): features of the live object the move would collect.
            hit = [
                state.object_alive[o] and state.object_cells[o] == cell
                for o in range(self.n_objects)
            ]
            for o in range(self.n_objects):
                if hit[o]:
                    phi[a] += p.type_features[state.object_types[o]]
            # Reachable after the move: with single_choice a collection ends the
            # episode, so only the collected object; otherwise every live object.
            if self.single_choice and any(hit):
                reachable = hit
            else:
                reachable = list(state.object_alive)
            d_next, present = self.distance_to_features(cell, state, p, reachable)
            for k in range(K):
                psi[a, k] = self.proximity_decay ** float(d_next[k]) if present[k] else 0.0
            psi[a, K] = 1.0  # bias
        index = state.agent_cell
        if self.fixed_layout:
            left = sum(2**o for o in range(self.n_objects) if state.object_alive[o])
            index = state.agent_cell + self.n_cells * left
        return Obs(
            q_features=psi[None],
            social_features=phi[None],
            state_index=np.array([index]),
        )

    def step_from_noise(self, noise, state, actions, p):
        target = self.next_cells(state.agent_cell)[int(actions[0])]
        reward = float(p.step_reward)
        collected = False
        alive = list(state.object_alive)
        for o in range(self.n_objects):
            if state.object_cells[o] == target and state.object_alive[o]:
                reward += float(p.type_extrinsic[state.object_types[o]])
                collected = True
                alive[o] = False
        t = state.t + 1
        terminated = collected if self.single_choice else not any(alive)
        done = terminated or t >= self.horizon
        new_state = GridState(
            agent_cell=target,
            object_cells=state.object_cells,
            object_types=state.object_types,
            object_alive=alive,
            t=t,
        )
        return self.observe(new_state, p), new_state, np.array([reward]), done, terminated


# --- prosocial -------------------------------------------------------------------


@dataclasses.dataclass
class ProsocialState:
    need: list  # [n_agents] bool
    t: int


class ProsocialRef:
    """envs/prosocial.Prosocial: keep (0) or share (1) with the next agent in a ring."""

    n_actions = 2
    n_features = 3
    n_states = 2

    def __init__(self, env):
        self.n_agents = env.n_agents
        self.horizon = env.horizon
        self.n_q_features = 2 * self.n_actions

    def reset_from_noise(self, noise, p):
        need = [bool(noise["need"][i] < p.need_prob) for i in range(self.n_agents)]
        state = ProsocialState(need=need, t=0)
        return self.observe(state, p), state

    def partner_need(self, state, i):
        """Agent i's partner is agent i+1 (mod n)."""
        return state.need[(i + 1) % self.n_agents]

    def observe(self, state, p):
        n, A = self.n_agents, self.n_actions
        phi = np.zeros((n, A, self.n_features))
        psi = np.zeros((n, A, self.n_q_features))
        index = np.zeros(n, dtype=np.int64)
        for i in range(n):
            need = 1.0 if self.partner_need(state, i) else 0.0
            benefit = p.benefit * (1.0 + p.need_boost * need)
            phi[i, 0] = [0.0, 0.0, 1.0]  # keep: kept_for_self
            phi[i, 1] = [benefit, p.cost, 0.0]  # share: benefit_to_other, cost_to_self
            for a in range(A):
                psi[i, a, 2 * a] = 1.0  # one-hot action x (1, partner in need)
                psi[i, a, 2 * a + 1] = need
            index[i] = int(need)
        return Obs(q_features=psi, social_features=phi, state_index=index)

    def step_from_noise(self, noise, state, actions, p):
        n = self.n_agents
        given = []
        for i in range(n):
            shares = 1.0 if actions[i] == 1 else 0.0
            need = 1.0 if self.partner_need(state, i) else 0.0
            given.append(shares * p.benefit * (1.0 + p.need_boost * need))
        reward = np.zeros(n)
        for i in range(n):
            shares = 1.0 if actions[i] == 1 else 0.0
            received = given[(i - 1) % n]  # agent i receives from agent i-1
            reward[i] = p.keep_reward - shares * p.cost + received
        t = state.t + 1
        new_state = ProsocialState(
            need=[bool(noise["need"][i] < p.need_prob) for i in range(n)], t=t
        )
        # the horizon is a time limit, never terminal
        return self.observe(new_state, p), new_state, reward, t >= self.horizon, False


def make_env(env):
    if env.name == "gridworld":
        return GridWorldRef(env)
    if env.name == "prosocial":
        return ProsocialRef(env)
    raise ValueError(f"no reference for environment {env.name!r}")
