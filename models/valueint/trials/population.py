"""The hierarchical population model of a trial-level fit, as a numpyro model.

Per parameter p on its unconstrained scale (``Parameter.prior_loc`` and ``prior_scale``
give the default priors)::

    b_p[0]          ~ Normal(prior_loc, prior_scale)      the intercept
    b_p[k]          ~ Normal(0, prior_scale)              k >= 1: covariate terms
    sigma_p         ~ HalfNormal(prior_scale)
    theta_p[s]      ~ Normal(X_p[s] . b_p, sigma_p)

where X_p is the parameter's design matrix from its covariate formula
(``valueint.inference.covariates``: numeric covariates z-scored over subjects, categorical
ones treatment-coded against their first level; intercept only by default), and
``theta`` is mapped to the natural scale by the parameter's transform.  How theta is
sampled (centred, non-centred or partially centred, per subject and parameter) is left
to ``reparameterized``; see
``valueint.inference.sampling`` for why and how it is chosen.  The unpooled model gives each
subject the default prior instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from valueint.inference.parameters import constrain, constrain_value
from valueint.inference.reparam import POPULATION_OFFSET, POPULATION_SIGMA, SUBJECT_SITE
from valueint.trials.specs import ModelSpec, TrialArrays


def device_arrays(arrays: TrialArrays) -> TrialArrays:
    return jax.tree.map(jnp.asarray, arrays)


def prior_arrays(spec: ModelSpec):
    loc = jnp.asarray([p.prior_loc for p in spec.parameters], dtype=float)
    scale = jnp.asarray([p.prior_scale for p in spec.parameters], dtype=float)
    return loc, scale


def natural_parameters(spec: ModelSpec, unconstrained) -> dict:
    """Natural-scale parameters {name: [...]} from an array [..., n_parameters]."""
    return constrain(spec, {p.name: unconstrained[..., i] for i, p in enumerate(spec.parameters)})


def subject_loglik(spec: ModelSpec, options):
    """log p(choice) per [subject, block, trial] for subject parameters {name: [subject]}."""

    def one(params, data):
        return spec.loglik(params, data, options)

    return jax.vmap(one)


def hierarchical_model(spec, options, data, design):
    """The population model; ``design`` holds one [subject, K_p] matrix per parameter
    (``valueint.inference.covariates``; column 0 the intercept)."""
    _, scale = prior_arrays(spec)
    # Site names carry a prefix that no parameter name is expected to start with.
    sigma = numpyro.sample(POPULATION_SIGMA, dist.HalfNormal(scale).to_event(1))
    means = []
    for i, (parameter, matrix) in enumerate(zip(spec.parameters, design, strict=True)):
        # the intercept has the parameter's default prior; every other coefficient is a
        # shift per unit of a standardized covariate (or per level), Normal(0, prior_scale)
        coef_loc = jnp.zeros(matrix.shape[1]).at[0].set(parameter.prior_loc)
        coef = numpyro.sample(
            coefficient_site(parameter.name),
            dist.Normal(coef_loc, parameter.prior_scale).to_event(1),
        )
        means.append(matrix @ coef)
        numpyro.deterministic(f"mu_{parameter.name}", constrain_value(parameter, coef[0]))
        numpyro.deterministic(f"sigma_{parameter.name}", sigma[i])
    offset = jnp.stack(means, axis=-1)
    numpyro.deterministic(POPULATION_OFFSET, offset)
    # theta[s] ~ Normal(offset[s], sigma), parameterized by ``reparameterized``; one site [subject, parameter] rather than a plate, so that the centeredness can be
    # learned per subject and parameter: whether a subject's own data pin a parameter down
    # differs from subject to subject (a near-deterministic chooser's beta is only bounded
    # by the population, a noisy chooser's alpha hardly at all)
    theta = numpyro.sample(SUBJECT_SITE, dist.Normal(offset, sigma).to_event(2))
    choice_likelihood(spec, options, data, theta)


def coefficient_site(parameter: str) -> str:
    """The sample site of one parameter's population coefficients [K_p]."""
    return f"population_coef_{parameter}"


def subject_total_loglik(spec: ModelSpec, options):
    """One subject's summed log-likelihood from its unconstrained parameters [P]."""

    def total(theta, data):
        params = natural_parameters(spec, theta)
        dtype = data.outcome.dtype
        loglik = spec.loglik({k: v.astype(dtype) for k, v in params.items()}, data, options)
        return jnp.sum(jnp.where(data.mask, loglik, 0.0).astype(jnp.float64))

    return total


def unpooled_model(spec, options, data, design):
    del design  # no population to attach covariates to
    loc, scale = prior_arrays(spec)
    with numpyro.plate("subject", data.choice.shape[0]):
        theta = numpyro.sample(SUBJECT_SITE, dist.Normal(loc, scale).to_event(1))
    choice_likelihood(spec, options, data, theta)


def choice_likelihood(spec, options, data, unconstrained):
    params = natural_parameters(spec, unconstrained)
    for name, value in params.items():
        numpyro.deterministic(name, value)
    # the trial loop runs in the data's precision (see ``likelihood_precision``); the
    # sum over trials is taken in float64
    dtype = data.outcome.dtype
    loglik = subject_loglik(spec, options)({k: v.astype(dtype) for k, v in params.items()}, data)
    numpyro.factor("choices", jnp.sum(jnp.where(data.mask, loglik, 0.0).astype(jnp.float64)))


FLOAT32_ABOVE = 5_000  # observed trials above which "auto" precision computes in float32


def likelihood_dtype(precision: str, n_observed: int):
    """float64, float32, or "auto": float32 for data sets over FLOAT32_ABOVE observed trials.

    In float32 the log density of ~20,000 trials is off by about 1e-3, far below what
    moves a NUTS acceptance decision or the Monte Carlo error, and the trial loop runs
    about twice as fast; small data sets keep float64.
    """
    if precision not in ("auto", "float32", "float64"):
        raise ValueError(f"precision must be 'auto', 'float32' or 'float64'; got {precision!r}")
    if precision == "auto":
        precision = "float32" if n_observed > FLOAT32_ABOVE else "float64"
    return jnp.float32 if precision == "float32" else jnp.float64


def cast_floats(arrays: TrialArrays, dtype) -> TrialArrays:
    return jax.tree.map(
        lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, arrays
    )
