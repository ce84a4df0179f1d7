"""A socialization design for the trial-level ISR models: watched, then alone.

Each block is one socialization episode with two new options (learning restarts at each
block, as in every trial model).  In its first trials, the *watched phase*, the caregiver
is present (``present = 1``) and praises the chosen option with probability
sigmoid(praise_beta * theta_c . phi + praise_bias) (``valueint.isr.feedback``); in the
rest, the *unwatched phase*, the caregiver is gone (``present = 0``: no praise, and no
evidence about theta_c).  Outcomes follow ``reward_probs`` throughout.

Why this design identifies w.  In ``isr`` (``valueint.trials.isr_rule``) the learner
chooses by U_k = Q_k + (P + (1 - P) w) R_k, where R_k is the praise it expects for option
k from its belief about theta_c.  While watched (P = 1) the weight on R is 1 whatever w
is, so w shows only on unwatched trials, and only once the belief has something to say:
the design needs a watched phase, in which the belief is learned, followed by an
unwatched phase in which it is either kept (w > 0) or dropped (w = 0).

w must also be told apart from a learner who simply likes the option anyway.  Had the
caregiver praised the option that pays more, internalized praise and extrinsic value
would push the unwatched choices the same way, and w would trade off against beta and
alpha.  Here they disagree: option 1 pays more (``reward_probs`` 0.1 / 0.9), and the
caregiver approves of option 0 and disapproves of option 1 (``caregiver_theta``
(1, -1)).  Unwatched, the share of choices the caregiver would approve of climbs with w:
with alpha 0.3 and beta 4 it is about 6% at w = 0, 35% at w = 1 and 65% at w = 2,
while the watched choices, which w never touches, are the same for all three.  (Giving
both options the same extrinsic value would show w as well, but then Q never differs
systematically between the options and alpha, which shows in how fast the extrinsic
preference is learned, would be left unidentified.)  The watched phase, where w plays
no part, pins down beta and alpha (how fast the paying option wins against the praise),
and the unwatched phase then measures w against them.

The defaults are the design the recovery tests use (``tests/trials/test_socialization.py``):
4 blocks of 32 trials, 16 watched then 16 alone, and a wide reward contrast (0.1 / 0.9),
which makes the extrinsic preference, and with it alpha, show within a block (in trial
runs it recovered alpha and w a little better than 0.25 / 0.75).  The learner's model of the praise is
the caregiver's own (``praise_beta``, ``praise_bias`` of the ISR models' defaults).

``SocializationTask.arrays`` gives the design as ``TrialArrays`` [subject, block,
trial]; ``options(model)`` the model options it needs; ``feedback`` adds the caregiver's
praise to data simulated by a learner that does not read praise (``rw``), so that every
model's data come from the same socialization.  ``valueint.trials.recovery.recover`` and
``model_recovery`` take such a design as ``design=``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from valueint.trials.catalogue import ISR_MODELS, RULES, resolve_options
from valueint.trials.isr_rule import caregiver_praise
from valueint.trials.specs import TrialArrays


@dataclasses.dataclass(frozen=True)
class SocializationTask:
    """Blocks of a watched phase followed by an unwatched phase (see the module doc).

    ``n_blocks`` blocks of ``n_trials`` trials per subject; the first ``watched`` share of
    each block's trials form the watched phase, where the caregiver is present on each
    trial with probability ``presence`` (1: always); the caregiver is absent from the rest.
    ``reward_probs`` are P(reward) of option 0 and 1; ``caregiver_theta`` the caregiver's
    weight on each option (each option is its own feature, one-hot ``features``);
    ``social_reward`` the value of one expected praise in reward points.
    """

    n_blocks: int = 4
    n_trials: int = 32
    watched: float = 0.5
    presence: float = 1.0
    reward_probs: tuple[float, float] = (0.1, 0.9)
    caregiver_theta: tuple[float, float] = (1.0, -1.0)
    social_reward: float = 1.0

    def __post_init__(self):
        for name in ("n_blocks", "n_trials"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(
                    f"SocializationTask.{name} must be a positive integer; got {value!r}"
                )
        if not 0.0 < self.presence <= 1.0:
            raise ValueError(
                f"SocializationTask.presence = {self.presence} must lie in (0, 1]: "
                "the caregiver must be there on some watched-phase trials"
            )
        if not 1 <= self.n_watched <= self.n_trials - 1:
            raise ValueError(
                f"SocializationTask.watched = {self.watched} gives {self.n_watched} watched of "
                f"{self.n_trials} trials per block; w is identified only with both a watched "
                "and an unwatched phase, so it must leave between 1 and n_trials - 1 watched"
            )
        # the options are checked by the models' own option check
        resolve_options("isr", self.options("isr"))

    @property
    def n_watched(self) -> int:
        """Trials per block in the watched phase (``watched`` share, rounded)."""
        return round(self.watched * self.n_trials)

    @property
    def trials_per_subject(self) -> int:
        return self.n_blocks * self.n_trials

    def options(self, model: str = "isr") -> dict:
        """The options ``model`` needs on this design: reward probabilities for every model;
        for the ISR models also the features, the caregiver's weights and the social reward."""
        options = {"reward_probs": tuple(self.reward_probs)}
        if model in ISR_MODELS:
            options |= {
                "features": ((1.0, 0.0), (0.0, 1.0)),  # each option is its own feature
                "caregiver_theta": tuple(self.caregiver_theta),
                "social_reward": float(self.social_reward),
            }
        return options

    def arrays(self, n_subjects: int, seed: int = 0) -> TrialArrays:
        """The design [subject, block, trial]: ``present`` 1 on watched trials, context 0
        (self) throughout, every trial observed; choice, outcome and praise are zeros, to be
        filled by a model's ``simulate``.  ``seed`` draws the caregiver's presence within the
        watched phase when ``presence`` < 1 (with ``presence`` 1 the design is fixed)."""
        if int(n_subjects) != n_subjects or n_subjects < 1:
            raise ValueError(f"n_subjects must be a positive integer; got {n_subjects!r}")
        shape = (n_subjects, self.n_blocks, self.n_trials)
        in_watched_phase = np.arange(self.n_trials) < self.n_watched
        there = np.random.default_rng(seed).random(shape) < self.presence
        return TrialArrays(
            choice=np.zeros(shape, np.int32),
            outcome=np.zeros(shape),
            praise=np.zeros(shape),
            present=(in_watched_phase & there).astype(np.float64),
            context=np.zeros(shape, np.int32),
            mask=np.ones(shape, bool),
        )

    def feedback(self, model: str, simulated: TrialArrays, seed: int) -> TrialArrays:
        """``simulated`` with the caregiver's praise of its choices on watched trials.

        The ISR models draw praise while they simulate, since their choices depend on it;
        their data are returned as they are.  A learner that ignores praise (``rw``) keeps
        the design's zeros, so its praise is drawn here: its choices never depend on it, so
        drawing it afterwards gives the same data as drawing it trial by trial."""
        rule = RULES.get(model)
        if rule is not None and rule.draw_praise is not None:
            return simulated
        options = resolve_options("isr", self.options("isr"))
        shape = np.shape(simulated.choice)
        dtype = jnp.result_type(float)
        uniform = jax.random.uniform(jax.random.key(seed), (int(np.prod(shape)),), dtype)
        one_trial = jax.vmap(lambda c, p, u: caregiver_praise(options, c, p, u, dtype))
        praise = one_trial(
            jnp.ravel(jnp.asarray(simulated.choice)),
            jnp.ravel(jnp.asarray(simulated.present)),
            uniform,
        )
        praise = np.where(np.asarray(simulated.mask), np.asarray(praise).reshape(shape), 0.0)
        return simulated.replace(praise=praise.astype(np.asarray(simulated.praise).dtype))
