"""The simulation learner in vectorized NumPy: N independent learners stepped at once.

``run_batched`` plays the gridworld, the caregiver, the ISR (ADF belief and point
estimate) and Q-learning of ``valueint.sim.runner.make_episode_runner``, as its slow
loop mirror ``valueint.testing.simulation.run_reference`` spells them out, but for a
batch of N learners with whole-array operations: Python loops run only over episodes
and steps.  It is the peer a researcher would write in plain vectorized NumPy, the
baseline the JAX runner is timed against in the benchmarks, and it is checked learner
by learner against ``run_reference`` (tests/testing/test_vectorized.py).

``run_batched`` (metrics) and ``trace_batched`` (trace and metrics) replay noise
shaped like ``runner.episode_noise``, stacked over learners and episodes ([N, E, ...]);
``draw_noise`` draws such noise with NumPy alone, and ``simulate_batched`` draws and
runs, with no JAX random numbers.  Every learner, ISR mode, policy, Q representation
and presence option is covered; of the worlds, only the gridworld.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from types import SimpleNamespace

import numpy as np
from scipy import special

from valueint.isr.belief import PROBIT_SCALES, PROBIT_WEIGHTS
from valueint.testing.simulation import (
    ISR_BAYES,
    METRIC_FIELDS,
    NO_ISR,
    OBSERVED,
    PESSIMISTIC,
    SOFTMAX,
    THOMPSON,
    condition_params,
    phase_index,
    presence_probability,
)

MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])  # up, down, left, right (gridworld.MOVES)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# --- the world -----------------------------------------------------------------------


@dataclasses.dataclass
class Layout:
    """Every learner's gridworld, changed in place as objects are collected.  Object
    slot O (one past the last) is "no object", of zero features and reward: no masks."""

    cell: np.ndarray  # [N] agent cell
    objects: np.ndarray  # [N, O] object cells
    alive: np.ndarray  # [N, O] not yet collected
    object_at: np.ndarray  # [N, C] the live object in each cell, O where none
    features: np.ndarray  # [N, O + 1, K] each object's feature vector
    extrinsic: np.ndarray  # [N, O + 1] each object's extrinsic reward
    psi: np.ndarray  # [N, C, K + 1] psi of a move into each cell, before single_choice


@dataclasses.dataclass
class Obs:
    """What the learners see; per-action arrays are action-major ([A, N, ...]), since
    NumPy reduces over a short leading axis far faster than over a short last one."""

    next_cells: np.ndarray  # [A, N] the cell each move leads to
    hit: np.ndarray  # [A, N] the object each move collects (O: none)
    q_input: np.ndarray  # psi [A, N, K + 1] (linear) or the state index [N] (tabular)


def lookup(table, index):
    """table[n, index[..., n]] for per-learner tables [N, M, ...] (the learner axis of
    ``index`` last): one flat ``take``, much faster than fancy indexing."""
    n, m = table.shape[:2]
    return np.take(table.reshape(n * m, *table.shape[2:]), index + _offsets(n, m), axis=0)


def pick(per_action, actions):
    """per_action[actions[n], n]: each learner's row of an action-major array [A, N, ...]."""
    a, n = per_action.shape[:2]
    flat = per_action.reshape(a * n, *per_action.shape[2:])
    return np.take(flat, actions * n + _offsets(n, 1), axis=0)


@functools.cache
def _offsets(n: int, m: int):
    return np.arange(n) * m


def phase_tables(p):
    """One phase's GridWorldParams as the lookup tables reset and step use."""
    with np.errstate(divide="ignore"):  # log 0 = -inf: a cell objects may not take
        log_cell_weights = np.log(p.object_cell_weights)
    type_cdf = np.cumsum(p.slot_type_probs, axis=1)
    return SimpleNamespace(
        agent_cdf=np.cumsum(p.agent_cell_weights) / np.sum(p.agent_cell_weights),
        log_cell_weights=log_cell_weights,
        type_cdf=type_cdf / type_cdf[:, -1:],
        type_features=p.type_features,
        type_extrinsic=p.type_extrinsic,
        step_reward=float(p.step_reward),
        fixed_cells=np.asarray(p.fixed_object_cells, dtype=np.int64),
    )


class Grid:
    """``envs.gridworld.GridWorld`` over a batch, by table lookup.

    Objects sit in distinct cells, so a move collects at most one: ``object_at`` says
    which.  psi depends on the agent's cell only through the cell it moves to, so each
    learner keeps psi for every cell and refreshes it when an object goes.
    """

    def __init__(self, env, tabular: bool):
        self.env, self.tabular = env, tabular
        size, self.n_cells, self.none = env.size, env.n_cells, env.n_objects
        row, col = np.divmod(np.arange(self.n_cells), size)
        rows = np.clip(row + MOVES[:, :1], 0, size - 1)
        cols = np.clip(col + MOVES[:, 1:], 0, size - 1)
        self.next_cells = rows * size + cols  # [A, C]: walls keep the agent in place
        distance = np.abs(row[:, None] - row) + np.abs(col[:, None] - col)
        decay = float(env.proximity_decay)  # decay ** float(d), as the reference computes it
        self.cell_proximity = np.array([decay ** float(d) for d in range(2 * size)])[distance]
        self.bits = 2 ** np.arange(env.n_objects)

    def reset(self, noise, tables) -> Layout:
        n, n_obj, k = noise["agent"].shape[0], self.env.n_objects, self.env.n_features
        cell = np.minimum((tables.agent_cdf < noise["agent"][:, None]).sum(1), self.n_cells - 1)
        if self.env.fixed_layout:
            objects = np.broadcast_to(tables.fixed_cells, (n, n_obj))
        else:  # Gumbel top-k on the log weights, never the agent's cell; ties keep cell order
            scores = tables.log_cell_weights - np.log(-np.log(noise["cells"]))
            scores[np.arange(n), cell] = -np.inf
            objects = np.argsort(-scores, axis=1, kind="stable")[:, :n_obj]
        below = tables.type_cdf[None] < noise["types"][:, :, None]  # [N, O, n_types]
        types = np.minimum(below.sum(2), self.env.n_types - 1)
        object_at = np.full((n, self.n_cells), self.none)
        object_at[np.arange(n)[:, None], objects] = np.arange(n_obj)
        features = np.concatenate([tables.type_features[types], np.zeros((n, 1, k))], axis=1)
        extrinsic = np.concatenate([tables.type_extrinsic[types], np.zeros((n, 1))], axis=1)
        alive = np.ones((n, n_obj), dtype=bool)
        psi = np.ones((n, self.n_cells, k + 1))  # the last column is the bias
        lay = Layout(cell, objects, alive, object_at, features, extrinsic, psi)
        if not self.tabular:
            lay.psi[:, :, :-1] = self.proximity(lay, slice(None))
        return lay

    def proximity(self, lay: Layout, rows):
        """decay**d to the nearest live object bearing each feature, from every cell
        [M, C, K] (0: none).  With decay <= 1 the largest power is the nearest object's."""
        near = self.cell_proximity[lay.objects[rows].T]  # [O, M, C]
        bears = (lay.features[rows, : self.none] != 0) & lay.alive[rows][:, :, None]
        return (near[..., None] * bears.transpose(1, 0, 2)[:, :, None, :]).max(0)

    def observe(self, lay: Layout) -> Obs:
        next_cells = self.next_cells[:, lay.cell]
        hit = lookup(lay.object_at, next_cells)
        if self.tabular:
            index = lay.cell
            if self.env.fixed_layout:
                index = lay.cell + self.n_cells * (lay.alive @ self.bits)
            return Obs(next_cells, hit, index)
        psi = lookup(lay.psi, next_cells)
        if self.env.single_choice:  # a collection ends the episode: its object alone is left
            bears = lookup(lay.features, hit) != 0  # at d = 0, so decay**0 = 1
            np.copyto(psi[..., :-1], bears, where=(hit < self.none)[..., None])
        return Obs(next_cells, hit, psi)

    def step(self, lay: Layout, obs: Obs, actions, active, tables):
        """Move the active learners; (reward [N], terminated [N]) for all of them.

        Past the end of its episode a learner's world stands still, but its reward is
        still computed (and recorded, as the reference does)."""
        target, hit = pick(obs.next_cells, actions), pick(obs.hit, actions)
        collected = hit < self.none
        reward = tables.step_reward + lookup(lay.extrinsic, hit)
        if self.env.single_choice:
            terminated = collected
        else:
            terminated = lay.alive.sum(1) - collected == 0
        lay.cell = np.where(active, target, lay.cell)
        got = np.flatnonzero(collected & active)
        if got.size:
            lay.alive[got, hit[got]] = False
            lay.object_at[got, target[got]] = self.none
            if not self.tabular:
                lay.psi[got, :, :-1] = self.proximity(lay, got)
        return reward, terminated


# --- feedback and the ISR's belief ---------------------------------------------------


def feedback_probabilities(u, beta, bias, disapproval):
    """(P(y=+1), P(y=-1)) given u = theta . phi (``valueint.isr.feedback``)."""
    return special.expit(beta * u + bias), disapproval * special.expit(-beta * u + bias)


def log_likelihood_grad(y, u, beta, bias, disapproval):
    """d/du log P(y | u), by hand as in ``simulation.feedback_log_likelihood_grad``."""
    a_plus, a_minus = beta * u + bias, -beta * u + bias
    p_plus, s_minus = special.expit(a_plus), special.expit(a_minus)
    p_zero = 1.0 - p_plus - disapproval * s_minus
    d_plus = beta * p_plus * (1.0 - p_plus)
    d_minus = -beta * disapproval * s_minus * (1.0 - s_minus)
    unclipped = (p_zero > 1e-300) & (p_zero < 1.0)  # the clip of P(0) has zero slope
    silence = np.where(unclipped, -(d_plus + d_minus) / np.where(unclipped, p_zero, 1.0), 0.0)
    plus, minus = beta * special.expit(-a_plus), -beta * special.expit(-a_minus)
    return np.where(y > 0, plus, np.where(y < 0, minus, silence))


def tilted_moments(mu, var, y, beta, bias, disapproval):
    """Mean and variance of u under N(u; mu, var) * P(y | u) for M rows at once.

    P(y | u) as probit terms c_j exp(tilt_j u) Phi(alpha_j u + gamma_j): five for a
    single sigmoid (written exp(a) sigmoid(-a) in the tail), ten for silence under
    disapproval (``belief.likelihood_terms``): one row per update, one column per term.
    """
    slope = np.where(y > 0, beta, -beta)[:, None]
    offset = np.where(y == 0, -bias, bias)[:, None]
    window = ((y == 0) & (disapproval > 0))[:, None]
    v = var[:, None]
    # the cheap one-probit posterior mean picks the plain or the tail form
    lam = math.sqrt(math.pi / 8.0)
    s = np.sqrt(1.0 + (lam * slope) ** 2 * v)
    z = (lam * slope * mu[:, None] + lam * offset) / s
    mills = np.exp(-0.5 * z * z - LOG_SQRT_2PI - special.log_ndtr(z))
    tail = ~window & (slope * (mu[:, None] + v * lam * slope * mills / s) + offset < 0)
    shape = (len(mu), len(PROBIT_SCALES))
    sign = np.where(tail, -1.0, 1.0)
    c = np.broadcast_to(PROBIT_WEIGHTS, shape)
    alpha, gamma = sign * PROBIT_SCALES * slope, sign * PROBIT_SCALES * offset
    tilt = np.broadcast_to(np.where(tail, slope, 0.0), shape)
    if disapproval > 0:  # the second sigmoid of P(0 | u), weighted 0 where y != 0
        c = np.concatenate([c, np.where(window, -PROBIT_WEIGHTS, 0.0)], axis=1)
        alpha = np.concatenate([alpha, np.broadcast_to(PROBIT_SCALES * -beta, shape)], axis=1)
        gamma = np.concatenate([gamma, np.broadcast_to(PROBIT_SCALES * bias, shape)], axis=1)
        tilt = np.concatenate([tilt, np.zeros(shape)], axis=1)
    m = mu[:, None] + tilt * v  # exp(tilt u) N(u; mu, v) is proportional to N(u; m, v)
    s = np.sqrt(1.0 + alpha**2 * v)
    z = (alpha * m + gamma) / s
    log_mass = special.log_ndtr(z)
    mills = np.exp(-0.5 * z * z - LOG_SQRT_2PI - log_mass)
    means = m + v * alpha * mills / s
    variances = v - (v * alpha / s) ** 2 * mills * (z + mills)
    used = c != 0
    top = np.max(np.where(used, log_mass, -np.inf), axis=1, keepdims=True)
    w = c * np.exp(np.where(used, log_mass - top, -np.inf))  # unused terms: exactly 0
    w /= w.sum(1, keepdims=True)
    new_mu = np.sum(w * means, axis=1)
    new_var = np.sum(w * (variances + (means - new_mu[:, None]) ** 2), axis=1)
    return new_mu, np.minimum(np.maximum(new_var, 1e-12 * var), var)


def rowdot(a, b):
    """Row-wise dot products of two [N, K] arrays."""
    return np.einsum("nk,nk->n", a, b)


# --- the learners --------------------------------------------------------------------


def init_learners(lp, n: int, n_q: int, k: int):
    """N learners' states (``agents.LearnerState``), one row each."""
    return SimpleNamespace(
        q_weights=np.zeros((n, n_q)),
        mean=np.zeros((n, k)),  # the belief ...
        cov=np.repeat(np.eye(k)[None] * float(lp.prior_sd) ** 2, n, axis=0),  # ... [N, K, K]
        point=np.zeros((n, k)),  # the point ISR
        theta_sample=np.zeros((n, k)),  # this episode's Thompson draw
        n_feedback=np.zeros(n, dtype=np.int64),  # feedback learned from so far
    )


def q_values(w, q_input, n_actions: int, tabular: bool):
    """Q(s, a) [A, N]: psi . w, or the table's entries for the state index."""
    if tabular:
        n, n_q = w.shape
        index = q_input * n_actions + np.arange(n_actions)[:, None] + _offsets(n, n_q)
        return np.take(w, index)
    return np.einsum("ank,nk->an", q_input, w)


def select_actions(lp, q, u_explore, u_action):
    """Softmax by inverse CDF of u_action, or epsilon-greedy (random if u_explore < epsilon)."""
    n_actions = q.shape[0]
    if lp.policy == SOFTMAX:
        x = q / lp.temperature
        e = np.exp(x - x.max(0))
        cdf = np.cumsum(e / e.sum(0), axis=0)
        return np.minimum((cdf < u_action * cdf[-1]).sum(0), n_actions - 1)
    random_action = np.minimum(np.floor(u_action * n_actions).astype(np.int64), n_actions - 1)
    return np.where(u_explore < lp.epsilon, random_action, np.argmax(q, axis=0))


def isr_values(lp, ls, phi):
    """(u_hat under isr_mode, the mean (or point) estimate) of theta_c . phi, [N] each."""
    mean_value = rowdot(phi, ls.mean if lp.kind == ISR_BAYES else ls.point)
    if lp.kind != ISR_BAYES or lp.isr_mode not in (THOMPSON, PESSIMISTIC):
        return mean_value, mean_value
    if lp.isr_mode == THOMPSON:
        return rowdot(phi, ls.theta_sample), mean_value
    sd = np.sqrt(np.maximum(np.einsum("nk,nkl,nl->n", phi, ls.cov, phi), 0.0))
    return mean_value - float(lp.kappa) * sd, mean_value


def start_episode(ls, normal_noise):
    """theta_tilde = mean + L z, L the Cholesky factor of cov + 1e-6 trace(cov) / K I."""
    k = ls.mean.shape[1]
    jitter = 1e-6 * np.trace(ls.cov, axis1=1, axis2=2) / k
    chol = np.linalg.cholesky(ls.cov + jitter[:, None, None] * np.eye(k))
    ls.theta_sample = ls.mean + np.einsum("nkl,nl->nk", chol, normal_noise)


def isr_update(lp, care, ls, use, phi, y):
    """ADF belief update and point-ISR gradient step for the learners in ``use`` only
    (at most one salient act per episode in a single-choice world: few rows)."""
    rows = np.flatnonzero(use)
    if rows.size == 0:
        return
    beta, bias, dis = float(lp.praise_beta), float(lp.praise_bias), float(care.disapproval)
    phi, y = phi[rows], y[rows]
    cov = ls.cov[rows]
    s_phi = np.einsum("nkl,nl->nk", cov, phi)
    var = rowdot(phi, s_phi)
    mu = rowdot(ls.mean[rows], phi)
    informative = var > 1e-12
    if informative.any():
        b, s_phi, var, mu = rows[informative], s_phi[informative], var[informative], mu[informative]
        new_mu, new_var = tilted_moments(mu, var, y[informative], beta, bias, dis)
        gain = s_phi / var[:, None]
        ls.mean[b] += gain * (new_mu - mu)[:, None]
        new_cov = ls.cov[b] - gain[:, :, None] * gain[:, None, :] * (var - new_var)[:, None, None]
        ls.cov[b] = 0.5 * (new_cov + new_cov.transpose(0, 2, 1))
    grad_u = log_likelihood_grad(y, rowdot(ls.point[rows], phi), beta, bias, dis)
    ls.point[rows] += (float(lp.isr_learning_rate) * grad_u)[:, None] * phi
    ls.n_feedback[rows] += 1


# --- the runner ----------------------------------------------------------------------

# per-episode sums, named after the metrics they become where they are one
SUMS = ("salient_actions", "socialized", "extrinsic_return", "caregiver_reward", "isr_reward")
SUMS += ("internal_reward", "social_reward", "praise", "disapproval", "present", "steps")


def _float64(tree):
    if isinstance(tree, dict):
        return {k: _float64(v) for k, v in tree.items()}
    return np.asarray(tree, dtype=np.float64)


def _allocate_trace(n, n_episodes, horizon, n_q, k):
    shape = (n, n_episodes, horizon, 1)
    trace = {name: np.zeros(shape) for name in ("utility", "reward", "internal")}
    trace.update(
        action=np.zeros(shape, dtype=np.int32),
        y=np.zeros(shape, dtype=np.int64),
        q_weights=np.zeros((*shape, n_q)),
        belief_mean=np.zeros((*shape, k)),
        present=np.zeros(shape[:-1], dtype=bool),
        active=np.zeros(shape[:-1], dtype=bool),
    )
    return trace


def _run(experiment, condition: int, noise, n_episodes: int, record: bool):
    env, tabular = experiment.env, experiment.q_representation == "tabular"
    if env.name != "gridworld":
        raise NotImplementedError(f"run_batched covers the gridworld only, not {env.name!r}")
    cond = condition_params(experiment.params, condition)
    care, lp = cond.caregiver, cond.learner
    noise = _float64(noise)
    n, available = noise["present"].shape
    if n_episodes > available:
        raise ValueError(f"noise holds {available} episodes; {n_episodes} were asked for")
    H, A, K = env.horizon, env.n_actions, env.n_features
    n_q = env.n_states * A if tabular else env.n_q_features
    grid = Grid(env, tabular)
    tables = (phase_tables(cond.env_social), phase_tables(cond.env_autonomous))
    ls = init_learners(lp, n, n_q, K)
    rows = np.arange(n)
    theta, social_reward = care.theta, float(care.social_reward)
    beta, bias, dis = float(care.beta), float(care.bias), float(care.disapproval)
    praise_beta, praise_bias = float(lp.praise_beta), float(lp.praise_bias)
    lr, discount = float(lp.learning_rate), float(lp.discount)
    thompson = lp.kind == ISR_BAYES and lp.isr_mode == THOMPSON
    autonomy = int(care.socialization_episodes) + int(care.fade_episodes)
    metrics = {name: np.zeros((n, n_episodes, 1)) for name in METRIC_FIELDS}
    for name in ("theta_mean", "theta_sd", "theta_point"):
        metrics[name] = np.zeros((n, n_episodes, 1, K))
    trace = _allocate_trace(n, n_episodes, H, n_q, K) if record else None

    for e in range(n_episodes):
        phase_tab = tables[1] if phase_index(care, e) == 2 else tables[0]
        p_present = presence_probability(care, e)
        present_episode = noise["present"][:, e] < p_present
        if e == autonomy and lp.relearn_policy > 0:  # a new task: forget Q, keep the ISR
            ls.q_weights[:] = 0.0
        if thompson:  # only Thompson ISRs use the draw, so only they make it
            start_episode(ls, noise["thompson"][:, e, 0])
        lay = grid.reset({k: v[:, e] for k, v in noise["reset"].items()}, phase_tab)
        obs = grid.observe(lay)
        steps = {k: v[:, e] for k, v in noise["steps"].items() if k != "env"}
        sums = {name: np.zeros(n) for name in SUMS}
        done = np.zeros(n, dtype=bool)

        for t in range(H):
            active = ~done
            if care.presence_per_step > 0:
                present = steps["present"][:, t] < p_present
            else:
                present = present_episode
            q = q_values(ls.q_weights, obs.q_input, A, tabular)
            actions = select_actions(lp, q, steps["explore"][:, t, 0], steps["action"][:, t, 0])
            phi = lookup(lay.features, pick(obs.hit, actions))  # [N, K]
            r_ext, terminated = grid.step(lay, obs, actions, active, phase_tab)
            next_obs = grid.observe(lay)

            salient = phi.any(1)
            true_value = phi @ theta
            p_plus, p_minus = feedback_probabilities(true_value, beta, bias, dis)
            u_fb = steps["feedback"][:, t, 0]
            observed = present & salient & active
            y = np.where(u_fb < p_plus, 1, np.where(u_fb < p_plus + p_minus, -1, 0))
            y = np.where(observed, y, 0)
            r_social = social_reward * y
            # R_i, u_hat and max Q(s', .) use the learners as they were before this step
            u_hat, mean_estimate = isr_values(lp, ls, phi)
            if lp.kind == NO_ISR:
                r_internal = np.zeros(n)
            else:
                p_hat, m_hat = feedback_probabilities(u_hat, praise_beta, praise_bias, dis)
                r_internal = np.where(salient, social_reward * (p_hat - m_hat), 0.0)
            if lp.presence_weighting == OBSERVED:
                w_social = present.astype(np.float64)
            else:  # absent, the ISR stands in whatever p_t was
                w_social = np.where(present, p_present, 0.0)
            w_internal = 1.0 - w_social
            utility = r_ext + w_social * r_social + w_internal * r_internal

            # semi-gradient Q-learning, bootstrapping unless the world ended the episode
            next_q = q_values(ls.q_weights, next_obs.q_input, A, tabular).max(0)
            target = utility + discount * np.where(terminated, 0.0, 1.0) * next_q
            step_size = np.where(active, lr * (target - pick(q, actions)), 0.0)
            if tabular:
                ls.q_weights[rows, obs.q_input * A + actions] += step_size
            else:
                ls.q_weights += step_size[:, None] * pick(obs.q_input, actions)
            isr_update(lp, care, ls, observed & (ls.n_feedback < lp.isr_budget), phi, y)

            counted = salient & active
            sums["salient_actions"] += counted
            sums["socialized"] += counted & (true_value > 0)
            sums["caregiver_reward"] += np.where(counted, true_value, 0.0)
            sums["isr_reward"] += np.where(counted, mean_estimate, 0.0)
            sums["extrinsic_return"] += np.where(active, r_ext, 0.0)
            sums["internal_reward"] += np.where(active, w_internal * r_internal, 0.0)
            sums["social_reward"] += np.where(active, w_social * r_social, 0.0)
            sums["present"] += active & present
            sums["steps"] += active
            sums["praise"] += y > 0
            sums["disapproval"] += y < 0
            if record:
                step = dict(action=actions, y=y, utility=utility, reward=r_ext)
                step.update(internal=r_internal, q_weights=ls.q_weights, belief_mean=ls.mean)
                for name, value in step.items():
                    trace[name][:, e, t, 0] = value
                trace["present"][:, e, t], trace["active"][:, e, t] = present, active

            done = done | terminated | (t + 1 >= H)
            obs = next_obs  # an inactive learner stood still: the same observation
            if done.all() and not record:
                break  # every later step is inactive for every learner: nothing changes

        with np.errstate(invalid="ignore", divide="ignore"):
            rate = sums["socialized"] / sums["salient_actions"]
        sums["socialized_rate"] = np.where(sums["salient_actions"] > 0, rate, np.nan)
        sums["presence"] = sums["present"] / np.maximum(sums["steps"], 1.0)
        sums["theta_mean"], sums["theta_point"] = ls.mean, ls.point
        sums["theta_sd"] = np.sqrt(np.diagonal(ls.cov, axis1=1, axis2=2))
        for name, out in metrics.items():
            out[:, e, 0] = sums[name]
    return trace, metrics


def run_batched(experiment, condition: int, noise, n_episodes: int) -> dict:
    """Play ``n_episodes`` of one condition for N learners on ``noise`` [N, E, ...].

    Returns the ``EpisodeMetrics`` fields as a dict of arrays [N, n_episodes, n_agents]
    (``theta_*``: [N, n_episodes, n_agents, K]); learner i is ``run_reference`` on
    noise[i].
    """
    return _run(experiment, condition, noise, n_episodes, record=False)[1]


def trace_batched(experiment, condition: int, noise, n_episodes: int):
    """``run_batched`` that also records every step: (trace, metrics), the trace shaped
    like ``run_reference``'s with a leading learner axis ([N, E, horizon, n_agents, ...])."""
    return _run(experiment, condition, noise, n_episodes, record=True)


def draw_noise(env, rng: np.random.Generator, n_learners: int, n_episodes: int) -> dict:
    """Noise of ``runner.episode_noise``'s structure and distributions, [N, E, ...], by NumPy.

    All of it at once: (n_cells + n_objects + 4 horizon + n_features + 2) float64 per
    learner and episode, 640 bytes in the default world (33 MB for 1,024 x 50).
    """
    if env.name != "gridworld":
        raise NotImplementedError(f"draw_noise covers the gridworld only, not {env.name!r}")
    shape, steps = (n_learners, n_episodes), (n_learners, n_episodes, env.horizon)
    return {
        "reset": {
            "agent": rng.random(shape),
            "cells": rng.uniform(1e-12, 1.0, (*shape, env.n_cells)),
            "types": rng.random((*shape, env.n_objects)),
        },
        "present": rng.random(shape),
        "thompson": rng.standard_normal((*shape, env.n_agents, env.n_features)),
        "steps": {
            "env": {},  # the gridworld's steps draw nothing
            "explore": rng.random((*steps, env.n_agents)),
            "action": rng.random((*steps, env.n_agents)),
            "feedback": rng.random((*steps, env.n_agents)),
            "present": rng.random(steps),
        },
    }


def simulate_batched(
    experiment, condition: int, n_learners: int, n_episodes: int, seed: int = 0
) -> dict:
    """Draw NumPy noise for ``n_learners`` learners from ``seed`` and run them: the
    whole vectorized-NumPy simulation, random numbers included (what benchmarks time)."""
    noise = draw_noise(experiment.env, np.random.default_rng(seed), n_learners, n_episodes)
    return run_batched(experiment, condition, noise, n_episodes)
