"""The ISR learning rule: RW on the extrinsic outcome plus a belief learned from praise.

State: Q (RW on the extrinsic outcome only) and a Gaussian belief over the caregiver's
weights theta_c, updated by ``valueint.isr.belief.adf_update`` from the praise y that
follows the chosen option's features, on present trials only (absent: no evidence).
Choice: U_k = Q_k + (P + (1 - P) w) R_k (``valueint.isr.utility``, with the internal
reward equal to the social one), where R_k = social_reward E[y | mu . phi_k] is the
praise the learner expects for option k from its posterior mean mu (0 for an option
with phi_k = 0, which the caregiver ignores).  Watched, the learner anticipates the
caregiver's praise in full; unwatched, it keeps a fraction w of it as internal social
reward: w = 1 is full internalization, w = 0 (the ``no_internalization`` model) acts on
extrinsic value alone when no one watches.  Beliefs restart each block (new symbols).

Simulated praise comes from the caregiver's own weights ``caregiver_theta`` through
``valueint.isr.feedback.draw_feedback``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from valueint.isr.belief import adf_update, prior_belief
from valueint.isr.feedback import draw_feedback, expected_feedback
from valueint.isr.utility import presence_weights
from valueint.trials.delta_rules import initial_values, rw_step
from valueint.trials.learning import LearningRule


def _internalization(params):
    """w; the ``no_internalization`` model has none, which is w = 0."""
    return params["w"] if "w" in params else jnp.zeros_like(params["beta"])


def _praise_model(options, dtype):
    """(praise_beta, praise_bias, disapproval) at the computation's precision."""
    return tuple(
        jnp.asarray(options[k], dtype) for k in ("praise_beta", "praise_bias", "disapproval")
    )


def _init(params, options, dtype):
    features = jnp.asarray(options["features"], dtype)
    return initial_values(options, dtype), prior_belief(
        features.shape[1], options["prior_sd"], dtype
    )


def _logit(params, options, state, trial):
    q, belief = state
    features = jnp.asarray(options["features"], q.dtype)
    expected_praise = expected_feedback(features @ belief.mean, *_praise_model(options, q.dtype))
    salient = jnp.any(features != 0, axis=1)
    social_reward = jnp.asarray(options["social_reward"], q.dtype)
    social = social_reward * jnp.where(salient, expected_praise, 0.0)
    # the internal reward is the social one, so U = Q + (P + (1 - P) w) R
    social_weight, internal_weight = presence_weights(trial.present, _internalization(params))
    utility = q + (social_weight + internal_weight) * social
    return params["beta"] * (utility[1] - utility[0])


def _update(params, options, state, trial):
    q, belief = state
    phi = jnp.asarray(options["features"], q.dtype)[trial.choice]
    belief = adf_update(
        belief, phi, trial.praise, *_praise_model(options, q.dtype), observed=trial.present > 0
    )
    # belief.py's NumPy float64 constants promote float32 inputs when x64 is on
    belief = jax.tree.map(lambda x: x.astype(q.dtype), belief)
    return rw_step(q, trial.choice, trial.outcome, params["alpha"]), belief


def caregiver_praise(options, choice, present, uniform, dtype):
    """y in {-1, 0, 1} from the caregiver; 0 when absent or the option is not salient."""
    phi = jnp.asarray(options["features"], dtype)[choice]
    u = jnp.dot(jnp.asarray(options["caregiver_theta"], dtype), phi)
    y = draw_feedback(u, *_praise_model(options, dtype), uniform)
    return jnp.where((present > 0) & jnp.any(phi != 0), y, 0).astype(dtype)


isr = LearningRule(init=_init, logit=_logit, update=_update, draw_praise=caregiver_praise)
