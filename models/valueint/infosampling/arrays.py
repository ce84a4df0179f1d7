"""The data of a sampling study as arrays: each trial's path, the counts it makes, and
both log-likelihoods; and simulation of new paths.

A trial's *path* is the number of green tiles after each tile (``greens[n]`` for n = 0..25,
``greens[0] = 0``), the tiles opened before the stop (``tiles``) and the trust choice.
Given a participant's parameters every decision depends only on the state (n, g) it is made
in, so a participant's whole data set reduces to four count tables over states: how
often they opened another tile, stopped (by choice: forced stops at 25 tiles are not
counted), trusted and did not trust in each state.  The fit's log-likelihood is the sum of
counts times log-probabilities (``count_loglik`` on the tables; ``cells_loglik`` on the
visited states only, ``DecisionCells``, a third of the work); the pointwise log-likelihood per trial
(``trial_loglik``, for PSIS-LOO and predictive checks) walks each path.  Both give the same
total (tested).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from valueint.infosampling.belief import MAX_TILES, N_STATES
from valueint.infosampling.catalogue import (
    DecisionTables,
    decision_tables,
    get_model,
    stop_log_probabilities,
    stop_logit_at,
    trust_log_probabilities,
)
from valueint.pytree import pytree_dataclass


@pytree_dataclass
class TrialPaths:
    """Trials as paths; ``subject`` indexes the participants (0..S-1)."""

    subject: jnp.ndarray  # int [T]
    tiles: jnp.ndarray  # int [T]: tiles opened before the stop, 0..25
    greens: jnp.ndarray  # int [T, 26]: green tiles after n tiles (meaningful for n <= tiles)
    trust: jnp.ndarray  # int [T]: 1 trusted, 0 did not


@pytree_dataclass
class CountTables:
    """Per participant and state [S, 26, 26]: decisions made there."""

    continues: jnp.ndarray
    stops: jnp.ndarray  # chosen stops only (n < 25)
    trusts: jnp.ndarray
    distrusts: jnp.ndarray


def paths_from_trials(trials, steps, subject_ids) -> TrialPaths:
    """Paths of a step and trial table (``valueint.infosampling.data``), trials in the trial
    table's order; ``subject_ids`` give the subject index."""
    index = {s: i for i, s in enumerate(subject_ids)}
    key = steps.subject.astype(str) + ":" + steps.trial.astype(str)
    trial_key = trials.subject.astype(str) + ":" + trials.trial.astype(str)
    position = dict(zip(trial_key, range(len(trials)), strict=True))
    rows = key.map(position).to_numpy()
    greens = np.zeros((len(trials), N_STATES), dtype=np.int32)
    greens[rows, steps.opened.to_numpy()] = steps.green.to_numpy()
    tiles = trials.tiles.to_numpy(np.int32)
    # beyond the stop the path is held at its last value (never read)
    n = np.arange(N_STATES)[None, :]
    last = greens[np.arange(len(trials)), tiles][:, None]
    greens = np.where(n > tiles[:, None], last, greens)
    return TrialPaths(
        subject=trials.subject.astype(str).map(index).to_numpy(np.int32),
        tiles=tiles,
        greens=greens.astype(np.int32),
        trust=trials.trust.to_numpy(np.int32),
    )


def _path_weights(paths: TrialPaths):
    """Per trial and n [T, 26]: (continued at n, stopped by choice at n, trusted at n,
    distrusted at n) as floats."""
    n = jnp.arange(N_STATES)[None, :]
    tiles = jnp.asarray(paths.tiles)[:, None]
    at_stop = n == tiles
    trust = jnp.asarray(paths.trust)[:, None] == 1
    return (
        (n < tiles).astype(float),
        (at_stop & (tiles < MAX_TILES)).astype(float),
        (at_stop & trust).astype(float),
        (at_stop & ~trust).astype(float),
    )


def count_tables(paths: TrialPaths, n_subjects: int) -> CountTables:
    """The four count tables [S, 26, 26] of ``paths``."""
    subject = jnp.broadcast_to(jnp.asarray(paths.subject)[:, None], paths.greens.shape)
    n = jnp.broadcast_to(jnp.arange(N_STATES)[None, :], paths.greens.shape)
    greens = jnp.asarray(paths.greens)

    def scatter(weight):
        table = jnp.zeros((n_subjects, N_STATES, N_STATES), float)
        return table.at[subject, n, greens].add(weight)

    return CountTables(*(scatter(w) for w in _path_weights(paths)))


@pytree_dataclass
class DecisionCells:
    """The visited states of every participant with their counts: the stopping choices'
    cells (``stop_*``, n < 25) and the trust choices' cells (``trust_*``)."""

    stop_subject: jnp.ndarray
    stop_n: jnp.ndarray
    stop_g: jnp.ndarray
    continues: jnp.ndarray
    stops: jnp.ndarray
    trust_subject: jnp.ndarray
    trust_n: jnp.ndarray
    trust_g: jnp.ndarray
    trusts: jnp.ndarray
    distrusts: jnp.ndarray


def decision_cells(counts: CountTables) -> DecisionCells:
    """The nonzero cells of ``counts`` (NumPy; not traceable)."""
    continues, stops = np.asarray(counts.continues), np.asarray(counts.stops)
    trusts, distrusts = np.asarray(counts.trusts), np.asarray(counts.distrusts)
    s, n, g = np.nonzero(continues + stops)
    ts, tn, tg = np.nonzero(trusts + distrusts)
    return DecisionCells(
        s.astype(np.int32),
        n.astype(np.int32),
        g.astype(np.int32),
        continues[s, n, g],
        stops[s, n, g],
        ts.astype(np.int32),
        tn.astype(np.int32),
        tg.astype(np.int32),
        trusts[ts, tn, tg],
        distrusts[ts, tn, tg],
    )


def cells_loglik(model, params: dict, cells: DecisionCells):
    """The data's summed log-likelihood from subject parameters {name: [S]}, computed at
    the visited states only (equal to ``count_loglik(...).sum()``)."""
    model = get_model(model)
    dtype = jnp.asarray(params["prior_green"]).dtype
    stop_n = cells.stop_n.astype(dtype)
    logit = stop_logit_at(model, params, cells.stop_subject, cells.stop_n, cells.stop_g)
    log_stop, log_continue = stop_log_probabilities(logit, stop_n)
    trust = {k: jnp.asarray(v)[cells.trust_subject] for k, v in params.items()}
    log_trust, log_distrust = trust_log_probabilities(
        trust, cells.trust_n.astype(dtype), cells.trust_g.astype(dtype)
    )
    return jnp.sum(
        _weighted(cells.continues, log_continue) + _weighted(cells.stops, log_stop)
    ) + jnp.sum(_weighted(cells.trusts, log_trust) + _weighted(cells.distrusts, log_distrust))


def _weighted(counts, log_p):
    # a zero count contributes nothing, whatever log p (-inf where a decision is impossible)
    return jnp.where(counts > 0, counts * log_p, 0.0)


def count_loglik(tables: DecisionTables, counts: CountTables):
    """Each participant's summed log-likelihood [S] (tables [S, 26, 26])."""
    total = (
        _weighted(counts.continues, tables.log_continue)
        + _weighted(counts.stops, tables.log_stop)
        + _weighted(counts.trusts, tables.log_trust)
        + _weighted(counts.distrusts, tables.log_distrust)
    )
    return total.sum(axis=(-1, -2))


def trial_loglik(tables: DecisionTables, paths: TrialPaths):
    """Each trial's log-likelihood [T]: every stopping choice on its path, then its trust
    choice (tables [S, 26, 26])."""
    subject = jnp.asarray(paths.subject)[:, None]
    n = jnp.arange(N_STATES)[None, :]
    greens = jnp.asarray(paths.greens)
    weights = _path_weights(paths)
    logs = (tables.log_continue, tables.log_stop, tables.log_trust, tables.log_distrust)
    return sum(
        _weighted(w, log_p[subject, n, greens]).sum(-1)
        for w, log_p in zip(weights, logs, strict=True)
    )


def simulate_paths(model, params: dict, subject, reciprocation, key) -> TrialPaths:
    """New trials: trial t is played by participant ``subject[t]`` (parameters {name: [S]})
    against a peer who reciprocates with probability ``reciprocation[t]``; tiles are drawn
    with replacement."""
    tables = decision_tables(model, params)
    subject = jnp.asarray(subject)
    n_trials = subject.shape[0]
    key_tiles, key_stop, key_trust = jax.random.split(key, 3)
    recip = jnp.asarray(reciprocation, float)[:, None]
    tiles_green = jax.random.uniform(key_tiles, (n_trials, MAX_TILES)) < recip
    greens = jnp.concatenate(
        [jnp.zeros((n_trials, 1), jnp.int32), jnp.cumsum(tiles_green, axis=1, dtype=jnp.int32)],
        axis=1,
    )
    n = jnp.arange(N_STATES)[None, :]
    p_stop = jnp.exp(tables.log_stop[subject[:, None], n, greens])  # 1 at n = 25
    stopped = jax.random.uniform(key_stop, p_stop.shape) < p_stop
    tiles = jnp.argmax(stopped, axis=1).astype(jnp.int32)  # the first stop
    at_stop = greens[jnp.arange(n_trials), tiles]
    p_trust = jnp.exp(tables.log_trust[subject, tiles, at_stop])
    trust = (jax.random.uniform(key_trust, (n_trials,)) < p_trust).astype(jnp.int32)
    greens = jnp.where(n > tiles[:, None], at_stop[:, None], greens)
    return TrialPaths(subject.astype(jnp.int32), tiles, greens, trust)
