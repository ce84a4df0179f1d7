"""Maps between a model's unconstrained parameters and their natural, bounded scale.

Each ``Parameter`` names its transform: ``"logit"`` maps the real line onto
(lower, upper), ``"log"`` onto (lower, inf) and ``"identity"`` leaves it alone.
Group priors and samplers work on the unconstrained scale; the models' ``loglik``
and ``simulate`` take natural values.  Both directions are elementwise jnp
functions, so they jit, vmap over subjects and differentiate.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import jax
import jax.numpy as jnp

TRANSFORMS = ("logit", "log", "identity")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of a model, of any family.

    ``transform`` maps an unconstrained real to the bounded scale:
    ``"logit"`` for (lower, upper), ``"log"`` for (lower, inf), ``"identity"`` for
    the real line.  The default group prior is Normal(prior_loc, prior_scale) on
    the unconstrained scale.
    """

    name: str
    lower: float
    upper: float
    transform: str
    prior_loc: float = 0.0
    prior_scale: float = 1.0
    description: str = ""


class HasParameters(Protocol):
    """Anything with named parameters: a model of any family."""

    name: str
    parameters: tuple[Parameter, ...]

    @property
    def parameter_names(self) -> tuple[str, ...]: ...


def check_parameter(parameter: Parameter) -> Parameter:
    """Raise ValueError unless the transform is known and the bounds fit it."""
    name, lower, upper = parameter.name, parameter.lower, parameter.upper
    if parameter.transform not in TRANSFORMS:
        raise ValueError(
            f"parameter {name!r} has transform {parameter.transform!r}; "
            f"expected one of {', '.join(TRANSFORMS)}"
        )
    if parameter.transform == "logit" and not (
        math.isfinite(lower) and math.isfinite(upper) and lower < upper
    ):
        raise ValueError(
            f"parameter {name!r} (logit) needs finite bounds lower < upper; got ({lower}, {upper})"
        )
    if parameter.transform == "log" and not (math.isfinite(lower) and upper == math.inf):
        raise ValueError(
            f"parameter {name!r} (log) needs a finite lower bound and upper = inf; "
            f"got ({lower}, {upper})"
        )
    if parameter.transform == "identity" and not (lower == -math.inf and upper == math.inf):
        raise ValueError(
            f"parameter {name!r} (identity) must be unbounded (-inf, inf); got ({lower}, {upper})"
        )
    return parameter


def constrain_value(parameter: Parameter, z):
    """The natural value of one parameter from its unconstrained value ``z``."""
    check_parameter(parameter)
    z = jnp.asarray(z, dtype=jnp.result_type(z, float))
    if parameter.transform == "logit":
        return parameter.lower + (parameter.upper - parameter.lower) * jax.nn.sigmoid(z)
    if parameter.transform == "log":
        return parameter.lower + jnp.exp(z)
    return z


def unconstrain_value(parameter: Parameter, x):
    """The unconstrained value of one parameter from its natural value ``x``.

    Values on or outside the bounds map to +-inf or nan, as the inverse demands.
    """
    check_parameter(parameter)
    x = jnp.asarray(x, dtype=jnp.result_type(x, float))
    if parameter.transform == "logit":
        # log(x - lower) - log(upper - x) keeps precision near both bounds
        return jnp.log(x - parameter.lower) - jnp.log(parameter.upper - x)
    if parameter.transform == "log":
        return jnp.log(x - parameter.lower)
    return x


def _take(spec: HasParameters, values: dict, scale: str) -> list:
    missing = [p.name for p in spec.parameters if p.name not in values]
    extra = sorted(set(values) - set(spec.parameter_names))
    if missing or extra:
        raise KeyError(
            f"model {spec.name!r}: {scale} parameters "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {', '.join(extra)}" if extra else "")
            + f" (expected exactly: {', '.join(spec.parameter_names)})"
        )
    return [values[p.name] for p in spec.parameters]


def constrain(spec: HasParameters, unconstrained: dict) -> dict:
    """Natural-scale parameters {name: value} from unconstrained ones (same keys)."""
    values = _take(spec, unconstrained, "unconstrained")
    return {p.name: constrain_value(p, v) for p, v in zip(spec.parameters, values, strict=True)}


def unconstrain(spec: HasParameters, natural: dict) -> dict:
    """Unconstrained parameters {name: value} from natural-scale ones (same keys)."""
    values = _take(spec, natural, "natural")
    return {p.name: unconstrain_value(p, v) for p, v in zip(spec.parameters, values, strict=True)}
