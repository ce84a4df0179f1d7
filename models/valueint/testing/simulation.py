"""A slow, obvious NumPy re-implementation of the learners and the runner, for parity tests.

Everything here is float64 NumPy and plain Python loops, written to be read line
by line against the docstrings of the JAX modules:

* the worlds                           are in ``valueint.testing.worlds``
* the caregiver functions              mirror ``valueint.sim.caregiver``
* ``tilted_moments`` / ``adf_update``  mirror ``valueint.isr.belief``
* the learner functions                mirror ``valueint.sim.agents`` (gradients by hand)
* ``run_reference``                    mirrors ``valueint.sim.runner.make_episode_runner``

No random numbers are drawn here: ``run_reference`` replays the noise that
``runner.trace_episodes`` returns, so the two must produce the same trajectory.
Only the probit-mixture constants are shared with the JAX code; the rest (the phase
schedule included) is computed here again on purpose, since it is what the JAX code
is checked against.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
from scipy import special

from valueint.isr.belief import PROBIT_SCALES, PROBIT_WEIGHTS
from valueint.sim.runner import EpisodeMetrics
from valueint.testing.worlds import make_env

# Indices of the categorical options (same order as in valueint.sim.agents).
NO_ISR, ISR_POINT, ISR_BAYES = 0, 1, 2
MEAN, THOMPSON, PESSIMISTIC = 0, 1, 2
SOFTMAX, EPSILON_GREEDY = 0, 1
OBSERVED, PROBABILITY = 0, 1


# --- parameters --------------------------------------------------------------


def condition_params(tree, condition: int):
    """One condition's slice of a stacked params dataclass, as NumPy values.

    Nested dataclasses (ConditionParams holds env, caregiver and learner params)
    become nested namespaces; every leaf becomes a float64 / int NumPy value.
    """
    if dataclasses.is_dataclass(tree):
        return SimpleNamespace(
            **{
                f.name: condition_params(getattr(tree, f.name), condition)
                for f in dataclasses.fields(tree)
            }
        )
    leaf = np.asarray(tree)[condition]
    if np.issubdtype(leaf.dtype, np.floating):
        return leaf.astype(np.float64)
    return leaf


# --- caregiver ---------------------------------------------------------------------


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def log_sigmoid(x):
    """log(1 / (1 + exp(-x))), computed stably."""
    return -np.logaddexp(0.0, -x)


def presence_probability(care, episode):
    """P during socialization, a linear fade over fade_episodes, then autonomous_presence."""
    start = float(care.socialization_episodes)
    if care.fade_episodes > 0:
        frac = (episode - start + 1.0) / (float(care.fade_episodes) + 1.0)
        frac = min(max(frac, 0.0), 1.0)
    else:
        frac = 1.0 if episode >= start else 0.0
    return float(care.presence + frac * (care.autonomous_presence - care.presence))


def phase_index(care, episode):
    """0 socialization, 1 fade, 2 autonomous (written out again, independently of
    ``valueint.sim.caregiver.phase_starts``, which it checks)."""
    if episode < care.socialization_episodes:
        return 0
    if episode < care.socialization_episodes + care.fade_episodes:
        return 1
    return 2


def feedback_probabilities(u, beta, bias, disapproval):
    """(P(y=+1), P(y=-1)) given u = theta . phi."""
    return sigmoid(beta * u + bias), disapproval * sigmoid(-beta * u + bias)


def feedback_log_likelihood(y, u, beta, bias, disapproval):
    """log P(y | u) for one y in {-1, 0, +1} and one u."""
    if y > 0:
        return log_sigmoid(beta * u + bias)
    if y < 0:
        return math.log(max(disapproval, 1e-300)) + log_sigmoid(-beta * u + bias)
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    return math.log(min(max(1.0 - p_plus - p_minus, 1e-300), 1.0))


def feedback_log_likelihood_grad(y, u, beta, bias, disapproval):
    """d/du log P(y | u), by hand (the JAX code uses jax.grad)."""
    if y > 0:
        # d/dz log sigmoid(z) = sigmoid(-z), z = beta u + bias
        return beta * sigmoid(-(beta * u + bias))
    if y < 0:
        # z = -beta u + bias
        return -beta * sigmoid(-(-beta * u + bias))
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    p_zero = 1.0 - p_plus - p_minus
    if not 1e-300 < p_zero < 1.0:  # clipped: the clip has zero slope
        return 0.0
    s_minus = sigmoid(-beta * u + bias)
    d_plus = beta * p_plus * (1.0 - p_plus)
    d_minus = -beta * disapproval * s_minus * (1.0 - s_minus)
    return -(d_plus + d_minus) / p_zero


def expected_feedback(u, beta, bias, disapproval):
    p_plus, p_minus = feedback_probabilities(u, beta, bias, disapproval)
    return p_plus - p_minus


def sample_feedback(care, phi, uniform):
    """Inverse CDF: +1 below P(+1), -1 below P(+1) + P(-1), else 0."""
    u = float(np.dot(care.theta, phi))
    p_plus, p_minus = feedback_probabilities(u, care.beta, care.bias, care.disapproval)
    if uniform < p_plus:
        return 1
    if uniform < p_plus + p_minus:
        return -1
    return 0


# --- posterior (ISR belief) ------------------------------------------------------


def _mixture_moments(terms, mu, var):
    """Tilted mean and variance of N(u; mu, var) * sum_j c_j exp(tau_j u) Phi(alpha_j u + gamma_j)
    for terms (c, alpha, gamma, tau) that share one tilt tau."""
    masses, means, variances = [], [], []
    for c, alpha, gamma, tau in terms:
        m = mu + tau * var  # exp(tau u) N(u; mu, var) is proportional to N(u; mu + tau var, var)
        s = math.sqrt(1.0 + alpha**2 * var)
        z = (alpha * m + gamma) / s
        log_mass = float(special.log_ndtr(z))
        mills = math.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - log_mass)
        masses.append((c, log_mass))
        means.append(m + var * alpha * mills / s)
        variances.append(var - (var * alpha / s) ** 2 * mills * (z + mills))
    top = max(log_mass for _, log_mass in masses)
    w = np.array([c * math.exp(log_mass - top) for c, log_mass in masses])
    w = w / w.sum()
    new_mu = float(np.sum(w * np.array(means)))
    new_var = float(np.sum(w * (np.array(variances) + (np.array(means) - new_mu) ** 2)))
    return new_mu, new_var


def probit_plain_mean(mu, var, slope, offset):
    """Posterior mean under N(u; mu, var) * Phi(sqrt(pi/8) (slope u + offset)): the cheap
    estimate that picks between the plain and the tail form."""
    lam = math.sqrt(math.pi / 8.0)
    s = math.sqrt(1.0 + (lam * slope) ** 2 * var)
    z = (lam * slope * mu + lam * offset) / s
    mills = math.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - float(special.log_ndtr(z)))
    return mu + var * lam * slope * mills / s


def tilted_moments(mu, var, y, beta, bias, disapproval):
    """Mean and variance of u under N(u; mu, var) * P(y | u), term by term.

    P(y | u) is written with the logistic as a probit mixture sum_k A_k Phi(S_k x);
    each term's tilted mass, mean and variance are textbook.  A single sigmoid(a)
    (a = slope u + offset) is written exp(a) sigmoid(-a) instead when the
    (probit-approximated) posterior mean lies at a < 0.
    """
    pairs = list(zip(PROBIT_WEIGHTS, PROBIT_SCALES, strict=True))
    if y == 0 and disapproval > 0:  # sigmoid(-beta u - b) - sigmoid(-beta u + b)
        terms = [(a_k, -s_k * beta, -s_k * bias, 0.0) for a_k, s_k in pairs]
        terms += [(-a_k, -s_k * beta, s_k * bias, 0.0) for a_k, s_k in pairs]
    else:
        slope = beta if y > 0 else -beta
        offset = -bias if y == 0 else bias
        if slope * probit_plain_mean(mu, var, slope, offset) + offset < 0:
            terms = [(a_k, -s_k * slope, -s_k * offset, slope) for a_k, s_k in pairs]
        else:
            terms = [(a_k, s_k * slope, s_k * offset, 0.0) for a_k, s_k in pairs]
    new_mu, new_var = _mixture_moments(terms, mu, var)
    return new_mu, min(max(new_var, 1e-12 * var), var)


def adf_update(mean, cov, phi, y, beta, bias, disapproval, observed):
    """Moment-matched Gaussian after feedback y on features phi (unchanged if uninformative)."""
    s_phi = cov @ phi
    var = float(phi @ s_phi)
    mu = float(mean @ phi)
    if not (observed and var > 1e-12):
        return mean, cov
    new_mu, new_var = tilted_moments(mu, var, y, beta, bias, disapproval)
    gain = s_phi / var
    new_mean = mean + gain * (new_mu - mu)
    new_cov = cov - np.outer(gain, gain) * (var - new_var)
    new_cov = 0.5 * (new_cov + new_cov.T)
    return new_mean, new_cov


def value_sd(cov, phi):
    return math.sqrt(max(float(phi @ cov @ phi), 0.0))


# --- learner -------------------------------------------------------------------------


@dataclasses.dataclass
class Learner:
    q_weights: np.ndarray  # [n_q]
    mean: np.ndarray  # [K] belief mean
    cov: np.ndarray  # [K, K] belief covariance
    point: np.ndarray  # [K] point ISR
    theta_sample: np.ndarray  # [K] Thompson draw for this episode
    n_feedback: int


def init_learner(lp, n_q, n_features):
    prior_cov = np.eye(n_features) * float(lp.prior_sd) ** 2
    return Learner(
        q_weights=np.zeros(n_q),
        mean=np.zeros(n_features),
        cov=prior_cov,
        point=np.zeros(n_features),
        theta_sample=np.zeros(n_features),
        n_feedback=0,
    )


def start_episode(learner, normal_noise):
    """theta_tilde = mean + L z, L the Cholesky factor of cov + 1e-6 trace(cov) / K I."""
    k = len(learner.mean)
    jitter = 1e-6 * np.trace(learner.cov) / k
    chol = np.linalg.cholesky(learner.cov + jitter * np.eye(k))
    learner.theta_sample = learner.mean + chol @ normal_noise


def q_feature_rows(env, q_representation, obs, i):
    """psi(s, a) for agent i and every action: linear features or a one-hot table row."""
    if q_representation == "linear":
        return obs.q_features[i]
    n_q = env.n_states * env.n_actions
    rows = np.zeros((env.n_actions, n_q))
    for a in range(env.n_actions):
        rows[a, obs.state_index[i] * env.n_actions + a] = 1.0
    return rows


def q_values(learner, psi_rows):
    return np.array([float(row @ learner.q_weights) for row in psi_rows])


def select_action(lp, q, u_explore, u_action):
    """Softmax by inverse CDF of u_action; or epsilon-greedy (random if u_explore < epsilon)."""
    n_actions = len(q)
    if lp.policy == SOFTMAX:
        x = q / lp.temperature
        top = max(x)
        e = np.array([math.exp(v - top) for v in x])
        probs = e / np.sum(e)
        cdf = np.cumsum(probs)
        below = 0
        for a in range(n_actions):
            if cdf[a] < u_action * cdf[-1]:
                below += 1
        return min(below, n_actions - 1)
    if u_explore < lp.epsilon:
        return min(int(math.floor(u_action * n_actions)), n_actions - 1)
    best = 0  # argmax, ties broken by the first index
    for a in range(1, n_actions):
        if q[a] > q[best]:
            best = a
    return best


def isr_value(lp, learner, phi):
    """u_hat: the ISR's estimate of theta_c . phi."""
    if lp.kind != ISR_BAYES:
        return float(phi @ learner.point)
    if lp.isr_mode == THOMPSON:
        return float(phi @ learner.theta_sample)
    mean_value = float(phi @ learner.mean)
    if lp.isr_mode == PESSIMISTIC:
        return mean_value - float(lp.kappa) * value_sd(learner.cov, phi)
    return mean_value


def internal_reward(lp, care, learner, phi):
    """R_i = social_reward * E[y | u_hat] on salient actions of ISR learners; else 0."""
    salient = any(v != 0 for v in phi)
    if not salient or lp.kind == NO_ISR:
        return 0.0
    u_hat = isr_value(lp, learner, phi)
    return float(care.social_reward) * expected_feedback(
        u_hat, lp.praise_beta, lp.praise_bias, care.disapproval
    )


def utility(lp, extrinsic, social, internal, present, presence_prob):
    """U = R_e + P R_s + (1 - P) R_i, with P the observed presence or, under the
    probability weighting, p_t while present and 0 while absent.  Returns
    (U, weight on R_s, weight on R_i)."""
    if lp.presence_weighting == OBSERVED:
        social_weight = 1.0 if present else 0.0
    else:
        social_weight = presence_prob if present else 0.0
    internal_weight = 1.0 - social_weight
    return (
        extrinsic + social_weight * social + internal_weight * internal,
        social_weight,
        internal_weight,
    )


def td_update(lp, learner, psi, reward, next_q, terminal, active):
    """w += lr * (r + gamma (1 - terminal) max_a' Q(s', a') - Q(s, a)) psi, if active."""
    if not active:
        return
    target = reward + lp.discount * (0.0 if terminal else 1.0) * max(next_q)
    delta = target - float(psi @ learner.q_weights)
    learner.q_weights = learner.q_weights + lp.learning_rate * delta * psi


def isr_update(lp, care, learner, phi, y, observed):
    """ADF belief update and point-ISR gradient step, within the ISR budget."""
    salient = any(v != 0 for v in phi)
    use = observed and salient and learner.n_feedback < lp.isr_budget
    if not use:
        return
    learner.mean, learner.cov = adf_update(
        learner.mean, learner.cov, phi, y, lp.praise_beta, lp.praise_bias, care.disapproval, True
    )
    u_point = float(learner.point @ phi)
    grad_u = feedback_log_likelihood_grad(
        y, u_point, lp.praise_beta, lp.praise_bias, care.disapproval
    )
    learner.point = learner.point + lp.isr_learning_rate * grad_u * phi
    learner.n_feedback += 1


# --- the runner -----------------------------------------------------------------


METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(EpisodeMetrics))


def _episode_noise(noise, e):
    """Episode e's slice of the noise pytree (nested dicts of arrays)."""
    if isinstance(noise, dict):
        return {k: _episode_noise(v, e) for k, v in noise.items()}
    return np.asarray(noise, dtype=np.float64)[e]


def _step_noise(steps, t):
    if isinstance(steps, dict):
        return {k: _step_noise(v, t) for k, v in steps.items()}
    return steps[t]


def run_reference(experiment, condition: int, noise, n_episodes: int):
    """Replay ``n_episodes`` of one condition on ``noise`` from ``trace_episodes``.

    Returns (trace, metrics): dicts of NumPy arrays shaped like the JAX trace
    ([episodes, horizon, n_agents, ...]; ``present`` and ``active`` are shared by
    all agents: [episodes, horizon]) and like ``EpisodeMetrics`` ([episodes, n_agents, ...]).

    After an episode ends the world stands still: the remaining steps still pick
    actions (consuming their noise) and are recorded, but they are inactive, so
    y = 0, the Q weights and the ISR do not learn, and the metrics skip them.
    """
    env = make_env(experiment.env)
    cond = condition_params(experiment.params, condition)
    care, lp = cond.caregiver, cond.learner
    q_repr = experiment.q_representation
    n, H, K = env.n_agents, env.horizon, env.n_features
    n_q = env.n_q_features if q_repr == "linear" else env.n_states * env.n_actions
    learners = [init_learner(lp, n_q, K) for _ in range(n)]

    trace = {
        "action": np.zeros((n_episodes, H, n), dtype=np.int32),
        "y": np.zeros((n_episodes, H, n), dtype=np.int64),
        "present": np.zeros((n_episodes, H), dtype=bool),
        "utility": np.zeros((n_episodes, H, n)),
        "reward": np.zeros((n_episodes, H, n)),
        "internal": np.zeros((n_episodes, H, n)),
        "active": np.zeros((n_episodes, H), dtype=bool),
        "q_weights": np.zeros((n_episodes, H, n, n_q)),
        "belief_mean": np.zeros((n_episodes, H, n, K)),
    }
    metrics = {name: np.zeros((n_episodes, n)) for name in METRIC_FIELDS}
    for name in ("theta_mean", "theta_sd", "theta_point"):
        metrics[name] = np.zeros((n_episodes, n, K))

    for e in range(n_episodes):
        ep_noise = _episode_noise(noise, e)
        phase = phase_index(care, e)
        env_params = cond.env_autonomous if phase == 2 else cond.env_social
        p_present = presence_probability(care, e)
        present_episode = ep_noise["present"] < p_present
        new_task = e == int(care.socialization_episodes) + int(care.fade_episodes)  # autonomy
        for i in range(n):
            if new_task and lp.relearn_policy > 0:
                learners[i].q_weights = np.zeros_like(learners[i].q_weights)
            start_episode(learners[i], ep_noise["thompson"][i])
        obs, state = env.reset_from_noise(ep_noise["reset"], env_params)
        done = False
        sums = {
            name: np.zeros(n)
            for name in (
                "salient",
                "socialized",
                "extrinsic",
                "caregiver",
                "isr",
                "internal",
                "social",
                "praise",
                "disapproval",
                "present",
            )
        }
        steps = 0.0

        for t in range(H):
            sn = _step_noise(ep_noise["steps"], t)
            active = not done
            if care.presence_per_step > 0:
                present = bool(sn["present"] < p_present)
            else:
                present = bool(present_episode)

            # Every agent acts on the current observation.
            actions = np.zeros(n, dtype=np.int32)
            psis = []
            for i in range(n):
                rows = q_feature_rows(env, q_repr, obs, i)
                q = q_values(learners[i], rows)
                actions[i] = select_action(lp, q, sn["explore"][i], sn["action"][i])
                psis.append(rows[actions[i]])

            next_obs, next_state, r_ext, next_done, terminated = env.step_from_noise(
                sn["env"], state, actions, env_params
            )

            for i in range(n):
                learner = learners[i]
                phi = obs.social_features[i, actions[i]]
                salient = any(v != 0 for v in phi)
                y = sample_feedback(care, phi, sn["feedback"][i])
                observed = present and salient and active
                if not observed:
                    y = 0
                r_social = float(care.social_reward) * y
                # R_i, u_hat and max Q(s', .) use the learner as it was before this step.
                r_internal = internal_reward(lp, care, learner, phi)
                u, w_social, w_internal = utility(
                    lp, r_ext[i], r_social, r_internal, present, p_present
                )
                # what the ISR believes the act is worth: its mean (or point) estimate
                mean_estimate = learner.mean if lp.kind == ISR_BAYES else learner.point
                u_hat = float(phi @ mean_estimate)
                next_q = q_values(learner, q_feature_rows(env, q_repr, next_obs, i))
                td_update(lp, learner, psis[i], u, next_q, terminated, active)
                isr_update(lp, care, learner, phi, y, observed)

                true_value = float(care.theta @ phi)
                if active:
                    if salient:
                        sums["salient"][i] += 1.0
                        sums["socialized"][i] += 1.0 if true_value > 0 else 0.0
                        sums["caregiver"][i] += true_value
                        sums["isr"][i] += u_hat
                    sums["extrinsic"][i] += r_ext[i]
                    sums["internal"][i] += w_internal * r_internal
                    sums["social"][i] += w_social * r_social
                    sums["present"][i] += 1.0 if present else 0.0
                sums["praise"][i] += 1.0 if y > 0 else 0.0
                sums["disapproval"][i] += 1.0 if y < 0 else 0.0

                trace["action"][e, t, i] = actions[i]
                trace["y"][e, t, i] = y
                trace["utility"][e, t, i] = u
                trace["reward"][e, t, i] = r_ext[i]
                trace["internal"][e, t, i] = r_internal
                trace["q_weights"][e, t, i] = learner.q_weights
                trace["belief_mean"][e, t, i] = learner.mean
            trace["present"][e, t] = present
            trace["active"][e, t] = active
            steps += 1.0 if active else 0.0

            done = done or next_done
            # Past the end of an episode the world stands still.
            if active:
                obs, state = next_obs, next_state

        for i in range(n):
            learner = learners[i]
            salient_acts = sums["salient"][i]
            metrics["socialized_rate"][e, i] = (
                sums["socialized"][i] / salient_acts if salient_acts > 0 else np.nan
            )
            metrics["salient_actions"][e, i] = sums["salient"][i]
            metrics["extrinsic_return"][e, i] = sums["extrinsic"][i]
            metrics["caregiver_reward"][e, i] = sums["caregiver"][i]
            metrics["isr_reward"][e, i] = sums["isr"][i]
            metrics["internal_reward"][e, i] = sums["internal"][i]
            metrics["social_reward"][e, i] = sums["social"][i]
            metrics["praise"][e, i] = sums["praise"][i]
            metrics["disapproval"][e, i] = sums["disapproval"][i]
            metrics["presence"][e, i] = sums["present"][i] / max(steps, 1.0)
            metrics["steps"][e, i] = steps
            metrics["theta_mean"][e, i] = learner.mean
            metrics["theta_sd"][e, i] = np.sqrt(np.diag(learner.cov))
            metrics["theta_point"][e, i] = learner.point
    return trace, metrics
