"""Learning rules and the one ``lax.scan`` that scores and simulates every trial model.

A learning rule is a state that starts afresh at every block, a choice rule
p(choice = 1) = sigmoid(logit(state, trial)) and an update after the choice.  The same
scan turns a rule into a per-trial log-likelihood and into a simulator, so the two
cannot drift apart.  Missed trials (``mask`` False) score 0 and leave the state as it
was; their data are never read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from valueint.trials.specs import TrialArrays

N_OPTIONS = 2  # every trial is a choice between option 0 and option 1


@dataclasses.dataclass(frozen=True)
class LearningRule:
    """The parts of a model that differ; ``block_loglik`` / ``block_simulate`` do the rest.

    init(params, options, dtype) -> state;  logit(params, options, state, trial) -> the
    log-odds of choice 1 (reads only the trial's design: context, present);
    update(params, options, state, trial) -> state after the trial's choice and feedback.
    """

    init: Callable
    logit: Callable
    update: Callable
    # Rules that learn from praise draw it when simulating:
    # draw_praise(options, choice, present, uniform, dtype) -> y; the others keep the design's.
    draw_praise: Callable | None = None
    # Delta-rule learners (Q_c <- Q_c + alpha_t (target_t - Q_c), choice by
    # sigmoid(beta (Q_1 - Q_0))) also give delta_rule(params, options, block) ->
    # (alpha[T], target[T]), which the log-likelihood uses for a faster loop; a learner
    # with a second rate for negative prediction errors gives (alpha, target, alpha_neg)
    # (``valence_rate`` picks between them).
    delta_rule: Callable | None = None
    # A delta-rule learner whose state is (Q, choice kernel K), K moving towards the one-hot
    # of each choice at rate alpha_c and adding beta_c (K_1 - K_0) to the log-odds; the
    # faster loop then carries K_1 - K_0 as well.
    choice_kernel: bool = False
    # A delta-rule learner of two anticorrelated options: the unchosen value moves at the
    # same rate towards 1 - target (the faster loop then updates both).
    anticorrelated: bool = False


def _observed_only(trial: TrialArrays) -> TrialArrays:
    """Missed trials' feedback is replaced by 0 so that padding (even nan) is never read
    (``outcome_unchosen`` is kept: only simulation reads it, and not on missed trials)."""
    return trial.replace(
        choice=jnp.where(trial.mask, trial.choice, 0),
        outcome=jnp.where(trial.mask, trial.outcome, 0.0),
        praise=jnp.where(trial.mask, trial.praise, 0.0),
    )


def _keep_if_missed(mask, new_state, old_state):
    return jax.tree.map(lambda new, old: jnp.where(mask, new, old), new_state, old_state)


def computation_dtype(params, data):
    """The float type a model computes in: the widest of float, the outcomes and the params."""
    return jnp.result_type(float, data.outcome, *params.values())


def as_design(data: TrialArrays, dtype) -> TrialArrays:
    """Integer indices, a boolean mask and floats of the computation's precision."""
    return TrialArrays(
        choice=jnp.asarray(data.choice).astype(jnp.int32),
        outcome=jnp.asarray(data.outcome).astype(dtype),
        praise=jnp.asarray(data.praise).astype(dtype),
        present=jnp.asarray(data.present).astype(dtype),
        context=jnp.asarray(data.context).astype(jnp.int32),
        mask=jnp.asarray(data.mask).astype(bool),
        outcome_unchosen=jnp.asarray(data.outcome_unchosen).astype(dtype),
    )


def block_loglik(rule: LearningRule, params, options, block: TrialArrays):
    """[trial] log p(observed choice) for one block (0 where missed)."""
    if rule.delta_rule is not None:
        return _block_loglik_delta_rule(rule, params, options, block)
    return block_loglik_scan(rule, params, options, block)


def valence_rate(q_chosen, target, alpha_pos, alpha_neg):
    """alpha_neg when the target falls short of the chosen value (a negative prediction
    error), alpha_pos otherwise (at a zero error the two give the same step)."""
    return jnp.where(target < q_chosen, alpha_neg, alpha_pos)


def _block_loglik_delta_rule(rule: LearningRule, params, options, block: TrialArrays):
    """The same numbers as ``block_loglik_scan`` for a delta-rule learner choosing by
    sigmoid(beta (Q_1 - Q_0)), in a leaner loop: per-trial learning rates and targets are
    computed for the whole block first, and each step is a handful of fused array ops
    (this loop is where a hierarchical fit spends its time)."""
    block = _observed_only(block)
    alpha, target, *negative = rule.delta_rule(params, options, block)
    dtype = alpha.dtype
    chose_1 = (block.choice == 1).astype(dtype)
    observed = block.mask.astype(dtype)
    rate = alpha * observed  # a missed trial changes nothing
    rate_neg = negative[0] * observed if negative else None
    beta = params["beta"]
    if rule.choice_kernel:
        # K starts at 0 and both entries move towards the one-hot of the choice, so their
        # difference d moves towards +1 or -1 at the same rate
        kernel_rate = params["alpha_c"] * observed
        beta_c = params["beta_c"]
    else:
        kernel_rate, beta_c = jnp.zeros_like(rate), 0.0

    def step(state, trial):
        q0, q1, d = state
        c1, r, a, a_c, *a_neg = trial
        sign = 2.0 * c1 - 1.0
        logp = jax.nn.log_sigmoid(sign * (beta * (q1 - q0) + beta_c * d))
        if a_neg:
            a = valence_rate(jnp.where(c1 > 0, q1, q0), r, a, a_neg[0])
        if rule.anticorrelated:  # the unchosen option moves towards 1 - r
            target_1 = c1 * r + (1.0 - c1) * (1.0 - r)
            q1 = q1 + a * (target_1 - q1)
            q0 = q0 + a * ((1.0 - target_1) - q0)
        else:
            q1 = q1 + a * c1 * (r - q1)
            q0 = q0 + a * (1.0 - c1) * (r - q0)
        d = d + a_c * (sign - d)
        return (q0, q1, d), logp

    q_init = jnp.asarray(options["q_init"], dtype)
    start = (q_init, q_init, jnp.zeros((), dtype))
    inputs = (chose_1, target, rate, kernel_rate) + ((rate_neg,) if negative else ())
    _, logp = jax.lax.scan(step, start, inputs)
    return jnp.where(block.mask, logp, 0.0)


def block_loglik_scan(rule: LearningRule, params, options, block: TrialArrays):
    """[trial] log p(observed choice) for one block by stepping through its trials."""
    dtype = computation_dtype(params, block)

    def step(state, trial):
        trial = _observed_only(trial)
        logit = rule.logit(params, options, state, trial)
        logp = jnp.where(trial.choice == 1, jax.nn.log_sigmoid(logit), jax.nn.log_sigmoid(-logit))
        state = _keep_if_missed(trial.mask, rule.update(params, options, state, trial), state)
        return state, jnp.where(trial.mask, logp, 0.0)

    _, loglik = jax.lax.scan(step, rule.init(params, options, dtype), block)
    return loglik


def block_simulate(rule: LearningRule, params, options, block: TrialArrays, uniforms: dict):
    """One block's trials with simulated choice, outcome (and praise), from given uniforms.

    Outcomes replay the task as it was run wherever the data hold its schedule: on a
    trial whose ``outcome_unchosen`` is known, the simulated choice gets the outcome the
    data say that option gave (the observed ``outcome`` if it is the observed choice,
    ``outcome_unchosen`` if it is the other one), so a simulated learner meets the same
    sequence of wins and losses a participant did.  Where the schedule is unknown (NaN)
    the outcome is drawn, Bernoulli(``reward_probs[choice]``) from ``uniforms["outcome"]``;
    data without a schedule therefore simulate exactly as before it existed.  The
    returned ``outcome_unchosen`` is the schedule seen from the simulated choice (NaN where
    unknown), so simulated data can be refitted and replayed in turn.  ``loglik`` never
    reads the schedule.
    """
    dtype = computation_dtype(params, block)
    reward_probs = jnp.asarray(options["reward_probs"], dtype)

    def step(state, inputs):
        trial, u = inputs
        logit = rule.logit(params, options, state, trial)
        choice = (u["choice"] < jax.nn.sigmoid(logit)).astype(jnp.int32)
        known = ~jnp.isnan(trial.outcome_unchosen)
        same = choice == trial.choice
        drawn = (u["outcome"] < reward_probs[choice]).astype(dtype)
        scheduled = jnp.where(same, trial.outcome, trial.outcome_unchosen).astype(dtype)
        outcome = jnp.where(known, scheduled, drawn)
        unchosen = jnp.where(same, trial.outcome_unchosen, trial.outcome).astype(dtype)
        unchosen = jnp.where(known & trial.mask, unchosen, jnp.nan)
        praise = trial.praise
        if rule.draw_praise is not None:
            praise = rule.draw_praise(options, choice, trial.present, u["praise"], dtype)
        trial = _observed_only(
            trial.replace(
                choice=choice,
                outcome=outcome,
                praise=praise.astype(trial.praise.dtype),
                outcome_unchosen=unchosen.astype(trial.outcome_unchosen.dtype),
            )
        )
        state = _keep_if_missed(trial.mask, rule.update(params, options, state, trial), state)
        return state, trial

    _, trials = jax.lax.scan(step, rule.init(params, options, dtype), (block, uniforms))
    return trials


UNIFORM_NAMES = ("choice", "outcome", "praise")


def draw_uniforms(key, shape, dtype=None) -> dict:
    """The uniform numbers one simulation uses, [block, trial] each: choice, outcome, praise."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    keys = jax.random.split(key, 3)
    return {
        name: jax.random.uniform(k, shape, dtype)
        for name, k in zip(UNIFORM_NAMES, keys, strict=True)
    }
