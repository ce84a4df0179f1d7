"""Hierarchical Bayesian fits of trial-by-trial cognitive models, on numpyro.

``fit(data, model)`` samples a non-centred hierarchical model with NUTS (or fits a
mean-field SVI approximation) and returns an ``xarray.DataTree`` with the groups arviz
reads: the posterior (group- and subject-level parameters on the natural scale), the
pointwise log-likelihood of every observed trial (for PSIS-LOO), posterior-predictive choices,
the observed data and the design, sampler statistics and a record of how it was made.

Population model, per parameter p on its unconstrained scale (``Parameter.prior_loc``
and ``prior_scale`` give the default priors)::

    mu_p            ~ Normal(prior_loc, prior_scale)
    sigma_p         ~ HalfNormal(prior_scale)
    delta_p[c, g]   ~ Normal(0, prior_scale)          g = 2..G_c of covariate c
    z_p[s]          ~ Normal(0, 1)
    theta_p[s]      = mu_p + sum_c delta_p[c, level_c(s)] + sigma_p * z_p[s]

with ``delta_p[c, first level] = 0`` (reference coding: ``mu_p`` is the population
mean of the first level of every covariate) and ``theta`` mapped to the natural scale
by the parameter's transform.  ``hierarchical=False`` drops mu, sigma and delta and
gives each subject the default prior ``Normal(prior_loc, prior_scale)`` (no pooling).

Posterior variables (natural scale unless said): ``<p>`` per subject (dim ``subject``,
the subject ids); ``mu_<p>``, the transform of mu_p (the population median of the
reference level); ``sigma_<p>`` on the unconstrained scale; per covariate c,
``<p>_by_<c>`` (dim ``c``: the transform of mu_p + delta_p[c, level], one per level) and
``delta_<p>_<c>`` (dim ``<c>_effect``: the non-reference levels, unconstrained scale).
The log-likelihood has one entry per observed trial (dim ``obs``, with coordinates
``subject``, ``block`` and ``trial`` (positions, from 0), ``context`` and covariates);
masked trials are left out.  ``posterior_predictive`` holds choices simulated by the
model's ``simulate`` on the observed design for an evenly thinned subset of draws.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import xarray as xr
from numpyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO, init_to_median
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

from valueint.records import package_versions
from valueint.trials.diagnostics import diagnostics
from valueint.trials.fit_data import as_fit_data, data_hash, resolve_spec
from valueint.trials.specs import TRIAL_FIELDS, ModelSpec, TrialArrays
from valueint.trials.transforms import constrain

METHODS = ("nuts", "svi")


class FitWarning(UserWarning):
    """A fit whose diagnostics say its numbers should not be trusted yet."""


# --------------------------------------------------------------------------- device arrays


def _device_arrays(arrays: TrialArrays) -> TrialArrays:
    return jax.tree.map(jnp.asarray, arrays)


# --------------------------------------------------------------------------- model


def _prior_arrays(spec: ModelSpec):
    loc = jnp.asarray([p.prior_loc for p in spec.parameters], dtype=float)
    scale = jnp.asarray([p.prior_scale for p in spec.parameters], dtype=float)
    return loc, scale


def _natural(spec: ModelSpec, unconstrained) -> dict:
    """Natural-scale parameters {name: [...]} from an array [..., n_parameters]."""
    return constrain(spec, {p.name: unconstrained[..., i] for i, p in enumerate(spec.parameters)})


def subject_loglik(spec: ModelSpec, options):
    """log p(choice) per [subject, block, trial] for subject parameters {name: [subject]}."""

    def one(params, data):
        return spec.loglik(params, data, options)

    return jax.vmap(one)


def _hierarchical_model(spec, options, data, covariate_codes, covariate_levels):
    loc, scale = _prior_arrays(spec)
    names = spec.parameter_names
    n_subjects = data.choice.shape[0]
    # Site names carry a prefix that no parameter name is expected to start with.
    mu = numpyro.sample("population_mu", dist.Normal(loc, scale).to_event(1))
    sigma = numpyro.sample("population_sigma", dist.HalfNormal(scale).to_event(1))
    offset = jnp.broadcast_to(mu, (n_subjects, len(names)))
    for (cov_name, n_levels), codes in zip(covariate_levels, covariate_codes, strict=True):
        delta = numpyro.sample(
            f"population_delta_{cov_name}",
            dist.Normal(jnp.zeros((n_levels - 1, len(names))), scale).to_event(2),
        )
        effects = jnp.concatenate([jnp.zeros((1, len(names))), delta])
        offset = offset + effects[codes]
        level_means = _natural(spec, mu + effects)
        for i, name in enumerate(names):
            numpyro.deterministic(f"{name}_by_{cov_name}", level_means[name])
            numpyro.deterministic(f"delta_{name}_{cov_name}", delta[:, i])
    with numpyro.plate("subject", n_subjects):
        z = numpyro.sample("subject_z", dist.Normal(jnp.zeros(len(names)), 1.0).to_event(1))
    natural_mu = _natural(spec, mu)
    for i, name in enumerate(names):
        numpyro.deterministic(f"mu_{name}", natural_mu[name])
        numpyro.deterministic(f"sigma_{name}", sigma[i])
    _likelihood(spec, options, data, offset + sigma * z)


def _unpooled_model(spec, options, data, covariate_codes, covariate_levels):
    del covariate_codes, covariate_levels  # no population to attach them to
    loc, scale = _prior_arrays(spec)
    with numpyro.plate("subject", data.choice.shape[0]):
        theta = numpyro.sample("subject_theta", dist.Normal(loc, scale).to_event(1))
    _likelihood(spec, options, data, theta)


def _likelihood(spec, options, data, unconstrained):
    params = _natural(spec, unconstrained)
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


def _cast_floats(arrays: TrialArrays, dtype) -> TrialArrays:
    return jax.tree.map(
        lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, arrays
    )


# --------------------------------------------------------------------------- fit


def fit(
    data,
    model,
    hierarchical: bool = True,
    group_covariates: str | Sequence[str] | None = None,
    method: str = "nuts",
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    options=None,
    progress: bool = True,
    *,
    target_accept_prob: float = 0.8,
    max_tree_depth: int = 10,
    svi_steps: int = 5000,
    svi_learning_rate: float = 0.01,
    svi_guide: str = "normal",
    predictive_draws: int = 100,
    likelihood_precision: str = "auto",
) -> xr.DataTree:
    """Fit ``model`` to ``data``; an ``xarray.DataTree`` with every group filled.

    ``method="nuts"`` runs ``chains`` chains of ``warmup`` + ``draws`` NUTS steps, in
    parallel when JAX has a CPU device per chain (``numpyro.set_host_device_count``
    before JAX starts), else one after another.  ``method="svi"`` fits an AutoNormal
    (``svi_guide="normal"``) or AutoMultivariateNormal (``"multivariate"``) guide with
    Adam for ``svi_steps`` steps and returns ``draws`` guide samples as one chain.
    ``group_covariates`` names per-subject categorical covariates of the data (e.g.
    ``"group"``) that shift every parameter's population mean (reference coding).
    ``predictive_draws`` posterior draws (thinned evenly) feed the simulated choices.
    Parameters and the log density are float64; the per-trial loop of the likelihood runs
    in ``likelihood_precision`` (``"auto"``: float32 above 5,000 observed trials, see
    ``likelihood_dtype``).  The exported pointwise log-likelihood is always float64.
    Diagnostics that fail raise a ``FitWarning``.
    """
    numpyro.enable_x64()
    spec = resolve_spec(model)
    fit_data = as_fit_data(data, spec)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    for name, value in (("chains", chains), ("draws", draws), ("warmup", warmup)):
        if int(value) != value or value < (0 if name == "warmup" else 1):
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not 0.0 < target_accept_prob < 1.0:
        raise ValueError(f"target_accept_prob must lie in (0, 1); got {target_accept_prob}")
    if isinstance(group_covariates, str):
        group_covariates = (group_covariates,)
    covariates = tuple(fit_data.covariate(name) for name in group_covariates or ())
    if covariates and not hierarchical:
        raise ValueError("group_covariates shift population means: they need hierarchical=True")
    for covariate in covariates:
        if len(covariate.labels) < 2:
            raise ValueError(f"covariate {covariate.name!r} has a single level; nothing to compare")

    arrays = _device_arrays(fit_data.arrays)
    n_observed = int(np.asarray(fit_data.arrays.mask).sum())
    dtype = likelihood_dtype(likelihood_precision, n_observed)
    arrays = _cast_floats(arrays, dtype)
    codes = tuple(jnp.asarray(c.codes) for c in covariates)
    levels = tuple((c.name, len(c.labels)) for c in covariates)
    numpyro_model = _hierarchical_model if hierarchical else _unpooled_model
    model_args = (spec, options, arrays, codes, levels)
    key_fit, key_predict = jax.random.split(jax.random.key(seed))
    subject_sites = spec.parameter_names
    group_sites = _group_sites(spec, covariates) if hierarchical else ()

    start = time.perf_counter()
    if method == "nuts":
        samples, stats, chain_method = _run_nuts(
            numpyro_model,
            model_args,
            key_fit,
            chains=chains,
            draws=draws,
            warmup=warmup,
            target_accept_prob=target_accept_prob,
            max_tree_depth=max_tree_depth,
            progress=progress,
            sites=subject_sites + group_sites,
        )
        extra = {"chain_method": chain_method}
    else:
        samples, losses = _run_svi(
            numpyro_model,
            model_args,
            key_fit,
            draws=draws,
            steps=svi_steps,
            learning_rate=svi_learning_rate,
            guide=svi_guide,
            progress=progress,
            sites=subject_sites + group_sites,
        )
        stats = None
        extra = {
            "svi_guide": svi_guide,
            "svi_loss_first": float(losses[0]),
            "svi_loss_final": float(np.mean(losses[-max(1, len(losses) // 100) :])),
        }
    sampling_s = time.perf_counter() - start

    settings = {
        "hierarchical": hierarchical,
        "group_covariates": [c.name for c in covariates],
        "chains": chains if method == "nuts" else 1,
        "draws": draws,
        "warmup": warmup if method == "nuts" else 0,
        "target_accept_prob": target_accept_prob,
        "max_tree_depth": max_tree_depth,
        "svi_steps": svi_steps if method == "svi" else 0,
        "svi_learning_rate": svi_learning_rate,
        "predictive_draws": predictive_draws,
        "likelihood_precision": jnp.dtype(dtype).name,
        "options": repr(options),
        **extra,
    }
    tree = _build_fit_tree(
        spec,
        fit_data,
        samples,
        stats,
        covariates,
        options,
        key_predict,
        predictive_draws=predictive_draws,
        group_sites=group_sites,
    )
    tree.attrs.update(
        {
            "model": spec.name,
            "method": method,
            "seed": int(seed),
            "data_sha256": data_hash(fit_data.arrays),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "sampling_time_s": round(sampling_s, 3),
            "versions": json.dumps(package_versions()),
            "settings": json.dumps(settings),
            "parameter_names": json.dumps(list(spec.parameter_names)),
            "context_labels": json.dumps(list(fit_data.context_labels)),
            "inference_library": "numpyro",
        }
    )
    for message in diagnostics(tree).messages:
        warnings.warn(message, FitWarning, stacklevel=2)
    return tree


def _group_sites(spec: ModelSpec, covariates) -> tuple[str, ...]:
    sites = []
    for name in spec.parameter_names:
        sites += [f"mu_{name}", f"sigma_{name}"]
        for covariate in covariates:
            sites += [f"{name}_by_{covariate.name}", f"delta_{name}_{covariate.name}"]
    return tuple(sites)


def _chain_method(chains: int) -> str:
    if chains == 1:
        return "sequential"
    devices = jax.local_device_count()
    if devices >= chains:
        return "parallel"
    warnings.warn(
        f"{chains} chains but JAX sees {devices} CPU device(s), so the chains run one after "
        "another; call numpyro.set_host_device_count(n) before JAX starts to run them in "
        "parallel",
        UserWarning,
        stacklevel=3,
    )
    return "sequential"


def _run_nuts(
    numpyro_model,
    model_args,
    key,
    *,
    chains,
    draws,
    warmup,
    target_accept_prob,
    max_tree_depth,
    progress,
    sites,
):
    chain_method = _chain_method(chains)
    kernel = NUTS(
        numpyro_model, target_accept_prob=target_accept_prob, max_tree_depth=max_tree_depth
    )
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method=chain_method,
        progress_bar=progress,
    )
    mcmc.run(
        key,
        *model_args,
        extra_fields=("diverging", "num_steps", "accept_prob", "energy", "potential_energy"),
    )
    grouped = mcmc.get_samples(group_by_chain=True)
    samples = {name: np.asarray(grouped[name]) for name in sites}
    fields = mcmc.get_extra_fields(group_by_chain=True)
    stats = {
        "diverging": np.asarray(fields["diverging"], dtype=bool),
        "n_steps": np.asarray(fields["num_steps"]),
        "tree_depth": np.log2(np.asarray(fields["num_steps"]) + 1).astype(np.int64),
        "acceptance_rate": np.asarray(fields["accept_prob"]),
        "energy": np.asarray(fields["energy"]),
        "lp": -np.asarray(fields["potential_energy"]),
    }
    return samples, stats, chain_method


def _run_svi(
    numpyro_model, model_args, key, *, draws, steps, learning_rate, guide, progress, sites
):
    guides = {"normal": AutoNormal, "multivariate": AutoMultivariateNormal}
    if guide not in guides:
        raise ValueError(f"svi_guide must be one of {', '.join(guides)}; got {guide!r}")
    if steps < 1:
        raise ValueError(f"svi_steps must be at least 1; got {steps}")
    # Started at prior medians: from random starts the mean-field guide can settle in a
    # poor optimum with an inflated population sd.
    autoguide = guides[guide](numpyro_model, init_loc_fn=init_to_median)
    svi = SVI(numpyro_model, autoguide, numpyro.optim.Adam(learning_rate), Trace_ELBO())
    key_run, key_draw = jax.random.split(key)
    result = svi.run(key_run, steps, *model_args, progress_bar=progress)
    losses = np.asarray(result.losses)
    if not np.isfinite(losses[-1]):
        raise FloatingPointError(
            "SVI diverged (the loss became non-finite); try a smaller svi_learning_rate"
        )
    predictive = Predictive(
        numpyro_model,
        guide=autoguide,
        params=result.params,
        num_samples=draws,
        return_sites=list(sites),
    )
    drawn = predictive(key_draw, *model_args)
    samples = {name: np.asarray(drawn[name])[None] for name in sites}
    return samples, losses


# --------------------------------------------------------------------------- output


def observed_index(mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(subject, block, trial) indices of the observed trials, in C order."""
    return tuple(np.nonzero(np.asarray(mask)))


def pointwise_loglik(spec: ModelSpec, options, arrays: TrialArrays, params: dict, batch=64):
    """log p(observed choice) per draw and observed trial: [draw, obs] from {name: [draw, subject]}.

    Draws are processed in batches so that the dense [draw, subject, block, trial]
    array never exists whole.
    """
    index = observed_index(arrays.mask)
    arrays = _device_arrays(arrays)
    per_subject = subject_loglik(spec, options)

    @jax.jit
    def one(draw_params):
        return per_subject(draw_params, arrays)[index]

    stacked = {name: jnp.asarray(value) for name, value in params.items()}
    return np.asarray(jax.lax.map(one, stacked, batch_size=batch))


def simulate_choices(spec: ModelSpec, options, arrays: TrialArrays, params: dict, key):
    """Choices simulated on the design of ``arrays``: [draw, obs] from {name: [draw, subject]}."""
    index = observed_index(arrays.mask)
    arrays = _device_arrays(arrays)
    n_draws, n_subjects = next(iter(params.values())).shape

    def one_subject(subject_params, subject_data, subject_key):
        return spec.simulate(subject_params, subject_data, subject_key, options).choice

    @jax.jit
    def one_draw(draw_params, draw_key):
        keys = jax.random.split(draw_key, n_subjects)
        return jax.vmap(one_subject)(draw_params, arrays, keys)[index]

    keys = jax.random.split(key, n_draws)
    stacked = {name: jnp.asarray(value) for name, value in params.items()}
    return np.asarray(jax.lax.map(lambda a: one_draw(*a), (stacked, keys), batch_size=16))


def _build_fit_tree(
    spec, fit_data, samples, stats, covariates, options, key, *, predictive_draws, group_sites
):
    arrays = fit_data.arrays
    n_chains, n_draws = next(iter(samples.values())).shape[:2]
    s_idx, b_idx, t_idx = observed_index(arrays.mask)
    n_obs = len(s_idx)
    subject_ids = np.asarray(fit_data.subject_ids)
    chain = np.arange(n_chains)
    draw = np.arange(n_draws)
    context_labels = np.asarray(fit_data.context_labels)
    context = np.asarray(arrays.context)[s_idx, b_idx, t_idx]
    obs_coords = {
        "obs": np.arange(n_obs),
        "subject": ("obs", subject_ids[s_idx]),
        "block": ("obs", b_idx),
        "trial": ("obs", t_idx),
        "context": (
            "obs",
            context_labels[np.clip(context, 0, len(context_labels) - 1)]
            if len(context_labels)
            else context.astype(str),
        ),
    }
    for covariate in fit_data.covariates:
        obs_coords[covariate.name] = ("obs", np.asarray(covariate.labels)[covariate.codes[s_idx]])

    posterior = {}
    coords = {"chain": chain, "draw": draw, "subject": subject_ids}
    for name in spec.parameter_names:
        posterior[name] = (("chain", "draw", "subject"), samples[name])
    for name in group_sites:
        value = samples[name]
        if value.ndim == 2:
            posterior[name] = (("chain", "draw"), value)
            continue
        covariate = next(c for c in covariates if name.endswith(f"_{c.name}"))
        if name.startswith("delta_"):
            dim = f"{covariate.name}_effect"
            coords[dim] = np.asarray(covariate.labels[1:])
        else:
            dim = covariate.name
            coords[dim] = np.asarray(covariate.labels)
        posterior[name] = (("chain", "draw", dim), value)
    posterior = xr.Dataset(posterior, coords=coords)

    flat = {name: samples[name].reshape(n_chains * n_draws, -1) for name in spec.parameter_names}
    loglik = pointwise_loglik(spec, options, arrays, flat).reshape(n_chains, n_draws, n_obs)
    log_likelihood = xr.Dataset(
        {"choice": (("chain", "draw", "obs"), loglik)},
        coords={"chain": chain, "draw": draw, **obs_coords},
    )

    per_chain = max(1, min(n_draws, math.ceil(predictive_draws / n_chains)))
    kept = np.unique(np.linspace(0, n_draws - 1, per_chain).round().astype(int))
    thinned = {
        name: samples[name][:, kept].reshape(n_chains * len(kept), -1)
        for name in spec.parameter_names
    }
    simulated = simulate_choices(spec, options, arrays, thinned, key)
    posterior_predictive = xr.Dataset(
        {"choice": (("chain", "draw", "obs"), simulated.reshape(n_chains, len(kept), n_obs))},
        coords={"chain": chain, "draw": kept, **obs_coords},
    )
    observed = xr.Dataset(
        {"choice": (("obs",), np.asarray(arrays.choice)[s_idx, b_idx, t_idx])},
        coords=obs_coords,
    )
    design_dims = ("subject", "block", "trial")
    design_coords = {
        "subject": subject_ids,
        "block": np.arange(arrays.choice.shape[1]),
        "trial": np.arange(arrays.choice.shape[2]),
    }
    design = {f"{name}": (design_dims, np.asarray(getattr(arrays, name))) for name in TRIAL_FIELDS}
    for covariate in fit_data.covariates:
        design[f"{covariate.name}_code"] = (("subject",), covariate.codes)
        design_coords[f"{covariate.name}_level"] = np.asarray(covariate.labels)
    constant_data = xr.Dataset(design, coords=design_coords)

    groups = {
        "posterior": posterior,
        "log_likelihood": log_likelihood,
        "posterior_predictive": posterior_predictive,
        "observed_data": observed,
        "constant_data": constant_data,
    }
    if stats is not None:
        groups["sample_stats"] = xr.Dataset(
            {name: (("chain", "draw"), value) for name, value in stats.items()},
            coords={"chain": chain, "draw": draw},
        )
    return xr.DataTree.from_dict(groups)
