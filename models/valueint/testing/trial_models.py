"""Slow, obvious NumPy versions of the learning models, for parity tests.

Plain Python loops over blocks and trials, float64, one ``if`` per model, written to
be read against the docstrings of ``valueint.trials.catalogue``.  Only the design defaults
(``resolve_options``) and the names of the fields are shared with the JAX code; the
ISR's belief update is the NumPy one in ``valueint.testing.simulation``.  No random
numbers are drawn: ``simulate`` replays the uniforms that
``valueint.trials.learning.draw_uniforms`` makes.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from valueint.testing import simulation as reference
from valueint.trials.catalogue import ISR_MODELS, resolve_options
from valueint.trials.specs import TRIAL_FIELDS


def log_sigmoid(x: float) -> float:
    return -float(np.logaddexp(0.0, -x))


def sigmoid(x: float) -> float:
    return math.exp(log_sigmoid(x))


def as_numpy(data) -> dict:
    """{field: NumPy array [block, trial]} from a TrialArrays (or a dict of the same)."""
    get = data.get if isinstance(data, dict) else lambda name: getattr(data, name)
    return {name: np.asarray(get(name)) for name in TRIAL_FIELDS}


def _options(model: str, options) -> dict:
    resolved = resolve_options(model, options)
    return {k: np.asarray(v, dtype=float) for k, v in resolved.items()}


class RefLearner:
    """One block's learner state for ``model``; ``logit()`` then ``update(...)`` per trial."""

    def __init__(self, model: str, params: dict, opts: dict):
        self.model, self.p, self.o = model, {k: float(v) for k, v in params.items()}, opts
        q0 = float(opts["q_init"])
        self.q = [q0, q0]  # option values
        self.ck = [0.0, 0.0]  # choice kernel
        self.n = [0, 0]  # bayes: outcomes seen of each option, and their sum
        self.outcome_sum = [0.0, 0.0]
        self.last = None  # rw_wsls: (choice, outcome) of the block's last observed trial
        if model in ISR_MODELS:
            n_features = opts["features"].shape[1]
            self.mean = np.zeros(n_features)
            self.cov = np.eye(n_features) * float(opts["prior_sd"]) ** 2

    def expected_praise(self, k: int) -> float:
        """social_reward * E[y | mean . phi_k], 0 for an option without features."""
        o = self.o
        phi = o["features"][k]
        if not np.any(phi != 0):
            return 0.0
        u = float(self.mean @ phi)
        e = reference.expected_feedback(u, o["praise_beta"], o["praise_bias"], o["disapproval"])
        return float(o["social_reward"]) * e

    def logit(self, context: int, present: float) -> float:
        p, m = self.p, self.model
        if m in ("rw", "rw_recipient", "value_recipient", "rw_asym", "rw_anti"):
            return p["beta"] * (self.q[1] - self.q[0])
        if m in ("bayes", "bayes_recipient"):
            return p["beta"] * (self.q[1] - self.q[0])
        if m == "rw_wsls":
            p_rl = sigmoid(p["beta"] * (self.q[1] - self.q[0]))
            if self.last is None:
                p_ws = 0.5
            else:
                choice, outcome = self.last
                p_ws = float(choice == 1) if outcome > 0 else float(choice == 0)
            p1 = (1 - p["omega"]) * p_rl + p["omega"] * p_ws
            return math.log(p1) - math.log(1 - p1)
        if m == "choice_kernel":
            return p["beta_c"] * (self.ck[1] - self.ck[0])
        if m in ("rw_ck", "rw_asym_ck", "bayes_ck", "rw_anti_ck"):
            return p["beta"] * (self.q[1] - self.q[0]) + p["beta_c"] * (self.ck[1] - self.ck[0])
        # isr / no_internalization
        w = p.get("w", 0.0)
        weight = present + (1.0 - present) * w
        u1 = self.q[1] + weight * self.expected_praise(1)
        u0 = self.q[0] + weight * self.expected_praise(0)
        return p["beta"] * (u1 - u0)

    def update(self, choice: int, outcome: float, praise: float, context: int, present: float):
        p, m = self.p, self.model
        if m in ("rw", "rw_ck", "rw_wsls", *ISR_MODELS):
            self.q[choice] += p["alpha"] * (outcome - self.q[choice])
            self.last = (choice, outcome)
        elif m in ("rw_anti", "rw_anti_ck"):
            # the other symbol's value moves towards the complement of the outcome
            self.q[choice] += p["alpha"] * (outcome - self.q[choice])
            self.q[1 - choice] += p["alpha"] * ((1.0 - outcome) - self.q[1 - choice])
        elif m == "rw_recipient":
            alpha = (p["alpha_self"], p["alpha_other"], p["alpha_none"])[context]
            self.q[choice] += alpha * (outcome - self.q[choice])
        elif m == "value_recipient":
            w = (1.0, p["w_other"], p["w_none"])[context]
            self.q[choice] += p["alpha"] * (w * outcome - self.q[choice])
        elif m in ("rw_asym", "rw_asym_ck"):
            error = outcome - self.q[choice]
            alpha = p["alpha_neg"] if error < 0 else p["alpha_pos"]
            self.q[choice] += alpha * error
        elif m in ("bayes", "bayes_ck"):
            # the mean of kappa pseudo-outcomes q_init and the n outcomes seen
            self.n[choice] += 1
            self.outcome_sum[choice] += outcome
            prior = p["kappa"] * float(self.o["q_init"])
            self.q[choice] = (prior + self.outcome_sum[choice]) / (p["kappa"] + self.n[choice])
        elif m == "bayes_recipient":
            # each step moves 1 / (kappa + n) of the way, kappa that of the trial's
            # recipient (the running mean above when a block keeps one recipient)
            kappa = (p["kappa_self"], p["kappa_other"], p["kappa_none"])[context]
            self.n[choice] += 1
            self.q[choice] += (outcome - self.q[choice]) / (kappa + self.n[choice])
        if m in ("choice_kernel", "rw_ck", "rw_asym_ck", "bayes_ck", "rw_anti_ck"):
            for k in range(2):
                chosen = 1.0 if k == choice else 0.0
                self.ck[k] += p["alpha_c"] * (chosen - self.ck[k])
        if m in ISR_MODELS and present > 0:
            o = self.o
            self.mean, self.cov = reference.adf_update(
                self.mean,
                self.cov,
                o["features"][choice],
                praise,
                float(o["praise_beta"]),
                float(o["praise_bias"]),
                float(o["disapproval"]),
                True,
            )


def observed_trials(model: str, params: dict, opts: dict, d: dict):
    """(block, trial, the block's learner) for every observed trial in order; each block
    starts with a fresh learner, and missed trials are skipped (they change nothing)."""
    n_blocks, n_trials = d["choice"].shape
    for b in range(n_blocks):
        learner = RefLearner(model, params, opts)
        for t in range(n_trials):
            if d["mask"][b, t]:
                yield b, t, learner


def loglik(model: str, params: dict, data, options=None) -> np.ndarray:
    """[block, trial] log p(observed choice); missed trials are 0 and change nothing."""
    d, opts = as_numpy(data), _options(model, options)
    out = np.zeros(d["choice"].shape)
    for b, t, learner in observed_trials(model, params, opts, d):
        choice, context = int(d["choice"][b, t]), int(d["context"][b, t])
        present = float(d["present"][b, t])
        logit = learner.logit(context, present)
        out[b, t] = log_sigmoid(logit) if choice == 1 else log_sigmoid(-logit)
        learner.update(
            choice, float(d["outcome"][b, t]), float(d["praise"][b, t]), context, present
        )
    return out


def caregiver_praise(opts: dict, choice: int, present: float, uniform: float) -> float:
    phi = opts["features"][choice]
    if present <= 0 or not np.any(phi != 0):
        return 0.0
    care = SimpleNamespace(
        theta=opts["caregiver_theta"],
        beta=float(opts["praise_beta"]),
        bias=float(opts["praise_bias"]),
        disapproval=float(opts["disapproval"]),
    )
    return float(reference.sample_feedback(care, phi, uniform))


def simulate(model: str, params: dict, data, uniforms: dict, options=None) -> dict:
    """{choice, outcome, praise} [block, trial] replaying ``uniforms``; 0 on missed trials
    (for models without praise the design's praise is kept on observed trials)."""
    d, opts = as_numpy(data), _options(model, options)
    u = {k: np.asarray(v) for k, v in uniforms.items()}
    choice = np.zeros(d["choice"].shape, dtype=int)
    outcome, praise = np.zeros(d["choice"].shape), np.zeros(d["choice"].shape)
    for b, t, learner in observed_trials(model, params, opts, d):
        context, present = int(d["context"][b, t]), float(d["present"][b, t])
        c = int(u["choice"][b, t] < sigmoid(learner.logit(context, present)))
        r = float(u["outcome"][b, t] < opts["reward_probs"][c])
        if model in ISR_MODELS:
            y = caregiver_praise(opts, c, present, float(u["praise"][b, t]))
        else:
            y = float(d["praise"][b, t])
        choice[b, t], outcome[b, t], praise[b, t] = c, r, y
        learner.update(c, r, y, context, present)
    return {"choice": choice, "outcome": outcome, "praise": praise}
