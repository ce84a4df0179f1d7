"""The coordinates the whitened sampler moves a subject's parameters in.

Why.  A learning rate alpha and an inverse temperature beta trade off within a subject,
and not linearly.  A slow learner's choices pin down only the product alpha * beta (its
value differences are about alpha times a sum of outcomes), so as alpha falls towards 0
beta is held only by the population prior: on (logit alpha, log beta) the posterior is a
curved ridge that widens into a funnel, which no Gaussian whitening
(``valueint.trials.whitening``) can straighten.  In the coordinates

    s_gain = log beta + mean_k log alpha_k,        every other s = theta,

the ridge runs straight along logit alpha for a slow learner (log alpha ~ logit alpha)
and along log beta for a fast one (log alpha ~ 0); what is left is close to Gaussian.
The map is a shear, triangular with a unit diagonal, so its Jacobian determinant is 1:
the target density is unchanged, only the whitening's coordinates move.  A model opts in
with ``ModelSpec.sampling_shear`` = (gain, rates); without it the coordinates are the
parameters' own unconstrained scales.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from valueint.trials.specs import ModelSpec


@dataclasses.dataclass(frozen=True)
class SubjectCoordinates:
    """``to_sampler`` and ``from_sampler`` map unconstrained subject parameters [..., P]
    to the sampler's coordinates and back; ``gain`` is None for the identity."""

    gain: int | None = None
    rates: tuple[int, ...] = ()

    def _log_rate(self, x):
        # log alpha = log sigmoid(logit alpha), computed without forming alpha
        return sum(jax.nn.log_sigmoid(x[..., k]) for k in self.rates) / len(self.rates)

    def to_sampler(self, theta):
        theta = jnp.asarray(theta)
        if self.gain is None:
            return theta
        return theta.at[..., self.gain].add(self._log_rate(theta))

    def from_sampler(self, s):
        s = jnp.asarray(s)
        if self.gain is None:
            return s
        return s.at[..., self.gain].add(-self._log_rate(s))  # the rates are unchanged


IDENTITY = SubjectCoordinates()


def subject_coordinates(spec: ModelSpec) -> SubjectCoordinates:
    """The coordinates ``spec`` declares (``sampling_shear``), checked: the gain is a
    log-scale parameter, each rate a logit-scale one on (0, 1), none of them the gain."""
    if spec.sampling_shear is None:
        return IDENTITY
    gain, rates = spec.sampling_shear
    by_name = {p.name: (i, p) for i, p in enumerate(spec.parameters)}
    for name in (gain, *rates):
        if name not in by_name:
            raise ValueError(
                f"model {spec.name!r}: sampling_shear names {name!r}, which is not one of "
                f"its parameters ({', '.join(by_name)})"
            )
    gain_index, gain_parameter = by_name[gain]
    if gain_parameter.transform != "log" or not rates or gain in rates:
        raise ValueError(
            f"model {spec.name!r}: sampling_shear needs a log-scale gain and at least one "
            f"other parameter as its rate; got {spec.sampling_shear}"
        )
    for name in rates:
        p = by_name[name][1]
        if p.transform != "logit" or (p.lower, p.upper) != (0.0, 1.0):
            raise ValueError(
                f"model {spec.name!r}: sampling_shear rate {name!r} must be a logit-scale "
                f"parameter on (0, 1); it is {p.transform} on ({p.lower}, {p.upper})"
            )
    return SubjectCoordinates(gain_index, tuple(by_name[name][0] for name in rates))
