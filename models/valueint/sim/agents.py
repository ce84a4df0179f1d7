"""Learners: Q-learning on the utility U = R_e + P*R_s + (1-P)*R_i, with an optional ISR.

Variants (one interface; the kind is a number in the params so that conditions
with different learners share one ``vmap``):

* ``no_isr``    R_i = 0: learns from extrinsic and social reward only.
* ``isr_point`` a point estimate of theta, fitted online by stochastic gradient
                ascent on the feedback log-likelihood (the paper's regression ISR).
* ``isr_bayes`` a Gaussian posterior over theta (``posterior.adf_update``).

The ISR's value estimate u_hat(s, a) of the caregiver's value theta . phi(s, a):

* ``mean``        posterior (or point) mean . phi
* ``thompson``    theta_tilde . phi, theta_tilde drawn from the posterior once per episode
* ``pessimistic`` mean . phi - kappa * sd(theta . phi)

Internal reward R_i = social_reward * E[y | u_hat] on salient actions (phi != 0),
the praise the learner expects the caregiver would have given; 0 otherwise.

The learner's model of the praise (``praise_beta``, ``praise_bias``) is by default
the caregiver's own; set it apart to study a learner that misreads its caregiver.
Only theta_c is inferred, and praise is the only evidence about it.

How presence enters U (``presence_weighting``):

* ``observed`` (default): P is the observed presence indicator of this step.
  Present: U = R_e + R_s.  Absent: U = R_e + R_i.
* ``probability``: P is the schedule's presence probability p_t.  Present:
  U = R_e + p_t R_s + (1 - p_t) R_i.  Absent: R_s is unobserved and the ISR stands
  in for it, so U = R_e + R_i.

The ISR learns from feedback only while the caregiver is present, and only from
its first ``isr_budget`` salient observations: the degree of internalization.

Q-learning bootstraps through the horizon (a time limit, not part of the state)
and stops only at terminal states, e.g. when a gridworld choice ends the episode.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from valueint.isr import utility as isr_utility
from valueint.isr.belief import GaussianBelief, adf_update, prior_belief, value_sd
from valueint.isr.feedback import expected_feedback, feedback_log_likelihood
from valueint.pytree import pytree_dataclass
from valueint.sim.caregiver import CaregiverParams

LEARNER_KINDS = ("no_isr", "isr_point", "isr_bayes")
ISR_MODES = ("mean", "thompson", "pessimistic")
POLICIES = ("softmax", "epsilon_greedy")
PRESENCE_WEIGHTINGS = ("observed", "probability")
NO_ISR, ISR_POINT, ISR_BAYES = 0, 1, 2
MEAN, THOMPSON, PESSIMISTIC = 0, 1, 2
SOFTMAX, EPSILON_GREEDY = 0, 1
OBSERVED, PROBABILITY = 0, 1


@pytree_dataclass
class LearnerParams:
    kind: jax.Array  # index into LEARNER_KINDS
    isr_mode: jax.Array  # index into ISR_MODES
    policy: jax.Array  # index into POLICIES
    presence_weighting: jax.Array  # index into PRESENCE_WEIGHTINGS
    temperature: jax.Array  # softmax temperature
    epsilon: jax.Array  # epsilon-greedy exploration rate
    learning_rate: jax.Array  # Q-learning step size
    discount: jax.Array  # gamma
    kappa: jax.Array  # pessimism, in posterior sds
    prior_sd: jax.Array  # prior sd of each theta_k
    isr_learning_rate: jax.Array  # step size of the point ISR
    isr_budget: jax.Array  # feedback observations the ISR may learn from
    praise_beta: jax.Array  # the learner's model of the praise: its beta ...
    praise_bias: jax.Array  # ... and bias (by default the caregiver's own)
    relearn_policy: jax.Array  # 1: Q restarts from zero when the autonomous phase starts


@dataclasses.dataclass(frozen=True)
class LearnerUses:
    """Which options some condition of an experiment uses: static, so that the compiled
    step leaves out the work no learner needs.  Leaving a branch out never changes a
    result: every ``False`` here stands for a branch whose output no condition reads.
    The default keeps everything (one program for any params)."""

    isr: bool = True  # some learner has an ISR (the belief and point updates run)
    disapproval: bool = True  # some caregiver may answer -1
    thompson: bool = True
    pessimistic: bool = True
    softmax: bool = True
    epsilon_greedy: bool = True


def learner_uses(params: LearnerParams, caregiver: CaregiverParams) -> LearnerUses:
    """What concrete (not traced) params of one or many conditions need."""
    kind, mode, policy = (np.asarray(x) for x in (params.kind, params.isr_mode, params.policy))
    bayes = kind == ISR_BAYES
    return LearnerUses(
        isr=bool(np.any(kind != NO_ISR)),
        disapproval=bool(np.any(np.asarray(caregiver.disapproval) > 0)),
        thompson=bool(np.any(bayes & (mode == THOMPSON))),
        pessimistic=bool(np.any(bayes & (mode == PESSIMISTIC))),
        softmax=bool(np.any(policy == SOFTMAX)),
        epsilon_greedy=bool(np.any(policy == EPSILON_GREEDY)),
    )


ALL_USES = LearnerUses()


@pytree_dataclass
class LearnerState:
    q_weights: jax.Array  # [n_q]
    belief: GaussianBelief  # isr_bayes
    point: jax.Array  # [K] isr_point estimate
    theta_sample: jax.Array  # [K] Thompson draw for this episode
    n_feedback: jax.Array  # feedback observations learned from so far


def init_learner(params: LearnerParams, n_q: int, n_features: int) -> LearnerState:
    dtype = params.prior_sd.dtype
    belief = prior_belief(n_features, params.prior_sd, dtype)
    return LearnerState(
        q_weights=jnp.zeros(n_q, dtype=dtype),
        belief=belief,
        point=jnp.zeros(n_features, dtype=dtype),
        theta_sample=belief.mean,
        n_feedback=jnp.zeros((), dtype=jnp.int32),
    )


def start_new_task(params: LearnerParams, state: LearnerState, new_task) -> LearnerState:
    """At the first autonomous episode a learner set to ``relearn_policy`` forgets its Q
    (the task's policy) and keeps its ISR: only the reward model carries to the new task."""
    forget = new_task & (params.relearn_policy > 0)
    return state.replace(q_weights=jnp.where(forget, 0.0, state.q_weights))


def start_episode(
    params: LearnerParams, state: LearnerState, normal_noise, uses: LearnerUses = ALL_USES
) -> LearnerState:
    """Draw the Thompson sample theta_tilde = mean + L z for the coming episode."""
    if not uses.thompson:
        return state  # the sample is read in Thompson mode only
    cov = state.belief.cov
    k = cov.shape[0]
    jitter = 1e-6 * jnp.trace(cov) / k  # relative, so it also guards float32
    chol = jnp.linalg.cholesky(cov + jitter * jnp.eye(k, dtype=cov.dtype))
    return state.replace(theta_sample=state.belief.mean + chol @ normal_noise)


def q_values(state: LearnerState, q_features):
    """Q(s, a) for every action; q_features [A, n_q]."""
    return q_features @ state.q_weights


def select_action(params: LearnerParams, q, u_explore, u_action, uses: LearnerUses = ALL_USES):
    """Softmax by inverse CDF of ``u_action``, or epsilon-greedy (explore if u_explore < eps)."""
    if not uses.epsilon_greedy:
        return _softmax_action(params, q, u_action)
    if not uses.softmax:
        return _epsilon_greedy_action(params, q, u_explore, u_action)
    return jnp.where(
        params.policy == SOFTMAX,
        _softmax_action(params, q, u_action),
        _epsilon_greedy_action(params, q, u_explore, u_action),
    )


def _softmax_action(params: LearnerParams, q, u_action):
    cdf = jnp.cumsum(jax.nn.softmax(q / params.temperature))
    return jnp.minimum(jnp.sum(cdf < u_action * cdf[-1]), q.shape[-1] - 1).astype(jnp.int32)


def _epsilon_greedy_action(params: LearnerParams, q, u_explore, u_action):
    n_actions = q.shape[-1]
    random_action = jnp.minimum(jnp.floor(u_action * n_actions).astype(jnp.int32), n_actions - 1)
    greedy_action = jnp.argmax(q).astype(jnp.int32)
    return jnp.where(u_explore < params.epsilon, random_action, greedy_action)


def isr_mean_value(params: LearnerParams, state: LearnerState, phi):
    """The ISR's best estimate of theta_c . phi: posterior mean (or point) . phi."""
    return jnp.where(params.kind == ISR_BAYES, phi @ state.belief.mean, phi @ state.point)


def isr_value(params: LearnerParams, state: LearnerState, phi, uses: LearnerUses = ALL_USES):
    """u_hat: the ISR's estimate of theta_c . phi for ``phi`` [..., K], under isr_mode."""
    mean_value = isr_mean_value(params, state, phi)
    bayes = params.kind == ISR_BAYES
    value = mean_value
    if uses.pessimistic:
        pessimistic = mean_value - params.kappa * value_sd(state.belief, phi)
        value = jnp.where(bayes & (params.isr_mode == PESSIMISTIC), pessimistic, value)
    if uses.thompson:
        value = jnp.where(bayes & (params.isr_mode == THOMPSON), phi @ state.theta_sample, value)
    return value


def internal_reward(
    params: LearnerParams, caregiver: CaregiverParams, state, phi, uses: LearnerUses = ALL_USES
):
    """R_i(s, a) for the taken action's ``phi`` [K]."""
    if not uses.isr:
        return jnp.zeros((), phi.dtype)
    salient = jnp.any(phi != 0)
    u_hat = isr_value(params, state, phi, uses)
    r = caregiver.social_reward * expected_feedback(
        u_hat, params.praise_beta, params.praise_bias, caregiver.disapproval
    )
    return jnp.where(salient & (params.kind != NO_ISR), r, 0.0)


def utility(params: LearnerParams, extrinsic, social, internal, present, presence_prob):
    """U = R_e + P R_s + (1 - P) R_i; see the module docstring for what P is.

    Returns (U, the weight on R_s, the weight on R_i)."""
    present = present.astype(extrinsic.dtype)
    observed = params.presence_weighting == OBSERVED
    # absent, R_s is unobserved and the ISR stands in for it whatever p_t was
    presence = jnp.where(observed, present, present * presence_prob)
    social_weight, internal_weight = isr_utility.presence_weights(presence)
    return (
        isr_utility.utility(extrinsic, social, internal, presence),
        social_weight,
        internal_weight,
    )


def td_update(params: LearnerParams, state: LearnerState, psi, reward, next_q, terminal, active):
    """One semi-gradient Q-learning step on w; ``active=False`` leaves w unchanged."""
    target = reward + params.discount * (1.0 - terminal.astype(reward.dtype)) * jnp.max(next_q)
    delta = target - jnp.dot(psi, state.q_weights)
    step = jnp.where(active, params.learning_rate * delta, 0.0)
    return state.replace(q_weights=state.q_weights + step * psi)


def isr_update(
    params: LearnerParams,
    caregiver: CaregiverParams,
    state: LearnerState,
    phi,
    y,
    observed,
    uses: LearnerUses = ALL_USES,
):
    """Learn from one piece of feedback, within the ISR budget.

    Both estimates learn whatever the kind (the runner reports both); with no ISR in
    any condition (``uses.isr`` False) neither is read, and nothing is learned."""
    if not uses.isr:
        return state
    use = observed & jnp.any(phi != 0) & (state.n_feedback < params.isr_budget)
    belief = adf_update(
        state.belief,
        phi,
        y,
        params.praise_beta,
        params.praise_bias,
        caregiver.disapproval,
        use,
        disapproval_possible=uses.disapproval,
    )
    grad_u = jax.grad(feedback_log_likelihood, argnums=1)(
        y, jnp.dot(state.point, phi), params.praise_beta, params.praise_bias, caregiver.disapproval
    )
    point = state.point + jnp.where(use, params.isr_learning_rate * grad_u, 0.0) * phi
    return state.replace(
        belief=belief, point=point, n_feedback=state.n_feedback + use.astype(jnp.int32)
    )
