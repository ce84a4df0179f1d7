"""Hierarchical Bayesian fits of a sampling model, with covariate formulas per parameter.

Per parameter p on its unconstrained scale (``valueint.inference.parameters``)::

    b_p[0] ~ Normal(prior_loc, prior_scale)      the intercept
    b_p[k] ~ Normal(0, prior_scale)              k >= 1: covariate terms (e.g. spline bases)
    sigma_p ~ HalfNormal(prior_scale)
    theta_p[s] = X_p[s] . b_p + sigma_p * z_p[s],    z_p[s] ~ Normal(0, 1)

for the parameters that vary between participants (the model's ``varying``: the prior's
pseudo-counts and the rule's stopping parameter); the others (stop sharpness and the
trust rule, ``SamplingModel.population_only``) follow their age curve exactly,
theta_p[s] = X_p[s] . b_p.

X_p comes from the parameter's formula (``valueint.inference.covariates``), by default
``1 + bs(age, df=4, extrapolation='extend')``: a smooth curve in age with one interior
knot at the median age, so that development need not be linear (``extend`` lets a
participant held out of a K-fold fit lie just past the fitting subjects' ages).

Sampling.  A participant's 60 trials pin their parameters down tightly and with strong
trade-offs (the prior's pseudo-counts against each other and against the stopping
parameter), so neither the centred nor the non-centred form suits NUTS: with either,
trees reach depth 8-10.  Each participant's parameters are instead sampled in
coordinates whitened by a Gaussian approximation of their own likelihood
(``valueint.inference.whitening``): first from importance-sampled moments around each
participant's penalized maximum (``valueint.infosampling.coordinates``), then from a
short pilot run's draws, which see the likelihood's real width under the population.
The population block (coefficients and sds) gets a dense mass matrix that starts at the
inverse of the potential's Hessian there, and the main run keeps what the pilot adapted.
The approximation sets the coordinates only; the target is exact.  The likelihood is
the count form (``valueint.infosampling.arrays``), at the visited states only: exact,
and far cheaper than walking every step.

``fit_sampling`` returns an ``xarray.DataTree`` in the layout every valueint fit has:
``posterior`` (subject parameters [chain, draw, subject], ``coef_<p>``, ``sigma_<p>``,
``mu_<p>``), ``log_likelihood["choice"]`` per trial (dims chain, draw, obs; coordinate
``subject``), ``sample_stats``, ``observed_data`` and attrs (model, seed, settings, versions,
data hash, the covariate design), so ``valueint.inference.comparison`` and
``valueint.inference.diagnostics`` read it as they read any fit.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import xarray as xr

from valueint.inference.chains import (
    block_inverse_mass,
    jittered_starts,
    run_mcmc,
    unconstrained_starts,
)
from valueint.inference.covariates import CovariateFormulas, build_design
from valueint.inference.diagnostics import warn_diagnostics
from valueint.inference.fit_files import data_hash, run_attrs
from valueint.inference.parameters import constrain_value
from valueint.inference.reparam import SUBJECT_SITE
from valueint.inference.rounds import until_for
from valueint.inference.settings import SamplerSettings, resolve_settings
from valueint.inference.whitening import (
    WHITENED_SUFFIX,
    LikelihoodApproximation,
    WhitenedReparam,
    from_draws,
    theta_from_whitened,
    whitened_from_theta,
)
from valueint.infosampling.arrays import (
    cells_loglik,
    count_tables,
    decision_cells,
    paths_from_trials,
    trial_loglik,
)
from valueint.infosampling.belief import prior_sd
from valueint.infosampling.catalogue import decision_tables, get_model, prior_of
from valueint.infosampling.coordinates import (
    approximation_from_moments,
    subject_modes,
    subject_moments,
)

DEFAULT_FORMULA = "1 + bs(age, df=4, extrapolation='extend')"


def formulas_for(model, formulas=None) -> CovariateFormulas:
    """Every parameter's formula: ``formulas`` (a mapping, strings or a CovariateFormulas)
    where given, else ``DEFAULT_FORMULA``."""
    if isinstance(formulas, CovariateFormulas):
        return formulas
    return CovariateFormulas(formulas or {}, default=DEFAULT_FORMULA)


def design_for(model, subjects: pd.DataFrame, formulas=None):
    """The design matrices of ``model``'s parameters for ``subjects`` (index: ids)."""
    model = get_model(model)
    return build_design(formulas_for(model, formulas), subjects, model.parameter_names)


def population_model(model, cells, matrices, varying, approximation=None):
    """The numpyro model: population coefficients, and sds of the parameters that vary
    between participants (positions ``varying``); then those parameters' unconstrained
    values [S, V] ~ Normal(X b, sigma) (one site).  The other parameters follow their age
    curve exactly.  ``approximation``, given, is the ``LikelihoodApproximation`` that
    whitens the participants."""
    offsets = []
    for parameter, matrix in zip(model.parameters, matrices, strict=True):
        loc = jnp.zeros(matrix.shape[1]).at[0].set(parameter.prior_loc)
        coef = numpyro.sample(
            f"coef_{parameter.name}", dist.Normal(loc, parameter.prior_scale).to_event(1)
        )
        offsets.append(matrix @ coef)
    sigma = jnp.stack(
        [
            numpyro.sample(f"sigma_{p.name}", dist.HalfNormal(p.prior_scale))
            for p in (model.parameters[i] for i in varying)
        ]
    )
    offset = jnp.stack(offsets, axis=-1)
    site = dist.Normal(offset[:, list(varying)], sigma).to_event(2)
    if approximation is None:
        theta_varying = numpyro.sample(SUBJECT_SITE, site)
    else:
        with numpyro.handlers.reparam(config={SUBJECT_SITE: WhitenedReparam(approximation)}):
            theta_varying = numpyro.sample(SUBJECT_SITE, site)
    theta = offset.at[:, list(varying)].set(theta_varying)
    params = {p.name: constrain_value(p, theta[:, i]) for i, p in enumerate(model.parameters)}
    numpyro.factor("choices", cells_loglik(model, params, cells))


def whitened_model(model, cells, matrices, varying, h, precision):
    """``population_model`` with the participants whitened by the approximation (h,
    precision), which comes in as data: the pilot and the main run then trace one and the
    same program (a persistent compilation cache serves the second)."""
    population_model(model, cells, matrices, varying, LikelihoodApproximation(h, precision))


def subject_parameters(model, samples: dict) -> dict:
    """Natural-scale subject parameters {p: [..., subject]} from the samples."""
    theta = samples[SUBJECT_SITE]
    return {
        p.name: np.asarray(constrain_value(p, theta[..., i]))
        for i, p in enumerate(model.parameters)
    }


def derived_prior(params: dict) -> dict:
    """The prior's mean, strength and sd {name: array} from its pseudo-tiles."""
    mean, count = prior_of(params)
    return {
        "prior_mean": np.asarray(mean),
        "prior_count": np.asarray(count),
        "prior_sd": np.asarray(prior_sd(mean, count)),
    }


def data_sha256(trials: pd.DataFrame) -> str:
    """The trial table's fingerprint (``valueint.inference.fit_files.data_hash``)."""
    columns = ["subject", "trial", "reciprocation", "tiles", "green", "trust"]
    return data_hash({c: trials[c].to_numpy() for c in columns})


# the sampling models' sampler defaults: every participant whitened, after a pilot
DEFAULT_SETTINGS = SamplerSettings(
    target_accept_prob=0.85, parameterization="whitened", pilot_warmup=150, pilot_draws=50
)


def check_settings(settings: SamplerSettings) -> None:
    """Refuse what a sampling-model fit cannot do (it starts each participant at its
    penalized mode, so ``init`` and ``warm_start_steps`` do not apply)."""
    if settings.method != "nuts":
        raise ValueError(f"sampling models are fitted by NUTS; got method={settings.method!r}")
    if settings.parameterization != "whitened":
        raise ValueError(
            "sampling models whiten every participant (parameterization='whitened'); "
            f"got {settings.parameterization!r}"
        )
    if settings.mass_matrix == "dense":
        raise ValueError("mass_matrix='dense' is not offered here: use 'population' or 'diagonal'")


def fit_sampling(
    data,
    model,
    settings: SamplerSettings | None = None,
    *,
    formulas=None,
    seed: int = 0,
    varying=None,
    progress: bool = False,
    loglik_batch: int = 100,
    **sampler,
) -> xr.DataTree:
    """Fit ``model`` to ``data`` (a ``TrustSamplingData``) by NUTS; a DataTree (module doc).

    ``settings`` (or keyword changes to ``DEFAULT_SETTINGS``) are the sampler's: its
    chains, warmup, draws and target acceptance; ``pilot_warmup`` and ``pilot_draws`` of
    the pilot run whose draws refit the whitening.  Chains run in parallel when JAX has a
    CPU device per chain (``numpyro.set_host_device_count`` before JAX starts), else in
    turn.  With ``mass_matrix="population"`` the population block (coefficients and sds)
    gets a dense mass matrix: spline coefficients of one parameter are strongly correlated.
    """
    numpyro.enable_x64()
    settings = resolve_settings(settings, DEFAULT_SETTINGS, **sampler)
    check_settings(settings)
    chains = settings.chains
    model = get_model(model)
    subject_ids = list(data.subjects.index)
    design = design_for(model, data.subjects, formulas)
    matrices = tuple(jnp.asarray(design.matrix(p)) for p in model.parameter_names)
    paths = paths_from_trials(data.trials, data.steps, subject_ids)
    counts = count_tables(paths, len(subject_ids))
    cells = decision_cells(counts)
    varying = varying_positions(model, varying)
    modes = subject_modes(model, counts)
    key_moments, key_pilot, key_main = jax.random.split(jax.random.key(seed), 3)
    mean, covariance = subject_moments(model, counts, modes, key_moments)
    approximation = approximation_from_moments(model, mean, covariance, varying)
    init = _initial_values(
        model, np.asarray(modes), [np.asarray(m) for m in matrices], approximation, varying
    )
    population_sites = tuple(
        [f"coef_{p}" for p in model.parameter_names]
        + [f"sigma_{model.parameter_names[i]}" for i in varying]
    )
    dense = settings.mass_matrix == "population"

    def run(approximation, starts, n_warmup, n_draws, key, population_mass, until=None):
        """NUTS from one start per chain, the population block's inverse mass matrix
        starting at ``population_mass``; the participants' theta added to the samples."""
        samples, extra, adapted, rounds = run_mcmc(
            whitened_model,
            (model, cells, matrices, varying, *_arrays(approximation)),
            key,
            starts=starts,
            warmup=n_warmup,
            draws=n_draws,
            target_accept_prob=settings.target_accept_prob,
            max_tree_depth=settings.max_tree_depth,
            block=population_sites,
            block_inverse_mass=population_mass,
            dense_block=dense,
            progress=progress,
            until=until,
        )
        samples[SUBJECT_SITE] = _subject_theta(model, samples, matrices, approximation, varying)
        return samples, extra, adapted, rounds

    def posterior_of(approximation):
        """The posterior of kept samples of the whitened model (for the rounds' judge)."""

        def build(samples):
            theta = _subject_theta(model, samples, matrices, approximation, varying)
            return posterior_dataset(model, design, subject_ids, {**samples, SUBJECT_SITE: theta})

        return build

    start = time.perf_counter()
    # the pilot: the Hessian's coordinates miss where a participant's likelihood is far
    # from Gaussian (skewed, or flat on one side); its draws give the real widths
    # every chain starts apart (R-hat can only see chains that could disagree): the pilot's
    # from jittered values, the main run's from each chain's own last pilot draw
    # the population block starts from its curvature at the start: from a unit mass matrix
    # the pilot's short warmup spends hundreds of leapfrog steps per draw learning it
    population_mass = block_inverse_mass(
        whitened_model,
        (model, cells, matrices, varying, *_arrays(approximation)),
        unconstrained_starts([init]),
        population_sites,
    )
    pilot, _, population_mass, _ = run(
        approximation,
        jittered_starts(init, chains, seed),
        settings.pilot_warmup,
        settings.pilot_draws,
        key_pilot,
        population_mass,
    )
    approximation = _approximation_from_draws(model, pilot, matrices, varying)
    starts = [
        _initial_values_from_draws(model, pilot, matrices, approximation, varying, chain=c)
        for c in range(chains)
    ]
    # the main run keeps the pilot's adapted population block (its coordinates are unchanged)
    until = until_for(settings, posterior_of(approximation))
    samples, extra, _, rounds = run(
        approximation, starts, settings.warmup, settings.draws, key_main, population_mass, until
    )
    sampling_s = time.perf_counter() - start
    tree = _fit_tree(model, data, design, paths, samples, extra, loglik_batch)
    record = {
        "formulas": design.formulas.to_dict(),
        "varying": [model.parameter_names[i] for i in varying],
        "chain_method": "parallel" if jax.local_device_count() >= chains else "sequential",
    }
    if rounds is not None:
        record.update(rounds.record())
    timing = {"seed": seed, "data_sha256": data_sha256(data.trials), "sampling_time_s": sampling_s}
    tree.attrs.update(run_attrs("infosampling", model, settings, record, **timing))
    tree.attrs["covariate_design"] = design.to_json()
    warn_diagnostics(tree)
    return tree


def pointwise_loglik(model, params: dict, paths, batch: int = 100) -> np.ndarray:
    """log p(trial) [draw, trial] for subject parameters {p: [draw, subject]}, in batches
    of draws (the tables of a batch are [batch, subject, 26, 26])."""

    @jax.jit
    def one(batch_params):
        return jax.vmap(lambda p: trial_loglik(decision_tables(model, p), paths))(batch_params)

    n = next(iter(params.values())).shape[0]
    parts = [
        np.asarray(one({k: jnp.asarray(v[i : i + batch]) for k, v in params.items()}))
        for i in range(0, n, batch)
    ]
    return np.concatenate(parts)


def fit_varying(fit, model) -> tuple[str, ...]:
    """The parameters that vary between participants in ``fit`` (those with an sd)."""
    return tuple(p for p in model.parameter_names if f"sigma_{p}" in fit["posterior"])


def varying_positions(model, varying) -> tuple[int, ...]:
    """Positions of the parameters that vary between participants (None: the model's
    own ``varying``; "all": every parameter)."""
    if varying is None:
        varying = model.varying
    elif varying == "all":
        varying = model.parameter_names
    unknown = sorted(set(varying) - set(model.parameter_names))
    if unknown or not varying:
        raise ValueError(
            f"varying must name some of {', '.join(model.parameter_names)}; got {list(varying)}"
        )
    return tuple(i for i, p in enumerate(model.parameter_names) if p in varying)


def _initial_values(model, modes, matrices, approximation, varying) -> dict:
    """The chains' start: each parameter's population regressed on the participants'
    modes, and the whitened coordinates of the modes under it."""
    values, offsets, sigmas = {}, [], []
    for i, (p, matrix) in enumerate(zip(model.parameters, matrices, strict=True)):
        coef, *_ = np.linalg.lstsq(matrix, modes[:, i], rcond=None)
        values[f"coef_{p.name}"] = jnp.asarray(coef)
        offsets.append(matrix @ coef)
        if i in varying:
            residual = modes[:, i] - matrix @ coef
            sigma = float(np.clip(residual.std(), 0.05, 3.0 * p.prior_scale))
            values[f"sigma_{p.name}"] = jnp.asarray(sigma)
            sigmas.append(sigma)
    offset = jnp.stack(offsets, -1)
    values[SUBJECT_SITE + WHITENED_SUFFIX] = whitened_from_theta(
        approximation,
        offset[:, list(varying)],
        jnp.asarray(sigmas),
        jnp.asarray(modes[:, list(varying)]),
    )
    return values


def _population_offsets(model, samples, matrices, varying):
    """[draw, S, V] population means and [draw, V] sds of the varying parameters."""
    names = model.parameter_names
    offset = np.stack(
        [
            np.einsum("...k,sk->...s", samples[f"coef_{names[i]}"], np.asarray(matrices[i]))
            for i in varying
        ],
        axis=-1,
    )
    sigma = np.stack([samples[f"sigma_{names[i]}"] for i in varying], axis=-1)
    return offset.reshape(-1, *offset.shape[2:]), sigma.reshape(-1, sigma.shape[-1])


def _approximation_from_draws(model, samples, matrices, varying):
    offset, sigma = _population_offsets(model, samples, matrices, varying)
    theta = samples[SUBJECT_SITE][..., list(varying)]
    return from_draws(theta.reshape(-1, *theta.shape[2:]), sigma, offset)


def _arrays(approximation) -> tuple:
    return jnp.asarray(approximation.h), jnp.asarray(approximation.precision)


def _initial_values_from_draws(
    model, samples, matrices, approximation, varying, chain: int = 0
) -> dict:
    """A main-run start: chain ``chain``'s last pilot draw, in the new coordinates."""
    last = {k: v[chain, -1] for k, v in samples.items()}
    values = {k: jnp.asarray(v) for k, v in last.items() if k.startswith(("coef_", "sigma_"))}
    offset, sigma = _population_offsets(
        model, {k: v[None, None] for k, v in last.items()}, matrices, varying
    )
    values[SUBJECT_SITE + WHITENED_SUFFIX] = whitened_from_theta(
        approximation,
        jnp.asarray(offset[0]),
        jnp.asarray(sigma[0]),
        jnp.asarray(last[SUBJECT_SITE][:, list(varying)]),
    )
    return values


def _subject_theta(model, samples, matrices, approximation, varying) -> np.ndarray:
    """The subjects' unconstrained parameters [chain, draw, S, P] from the whitened draws."""
    names = model.parameter_names
    u = samples[SUBJECT_SITE + WHITENED_SUFFIX]
    chains, draws = u.shape[:2]
    coefs = [jnp.asarray(samples[f"coef_{p}"]).reshape(chains * draws, -1) for p in names]
    sigma = jnp.stack(
        [jnp.asarray(samples[f"sigma_{names[i]}"]).reshape(-1) for i in varying], axis=-1
    )

    def one(args):
        draw_coefs, draw_sigma, draw_u = args
        offset = jnp.stack([m @ c for m, c in zip(matrices, draw_coefs, strict=True)], axis=-1)
        theta = theta_from_whitened(approximation, offset[:, list(varying)], draw_sigma, draw_u)[0]
        return offset.at[:, list(varying)].set(theta)

    u_flat = jnp.asarray(u).reshape(chains * draws, *u.shape[2:])
    theta = jax.lax.map(one, (coefs, sigma, u_flat))
    return np.asarray(theta).reshape(chains, draws, *theta.shape[1:])


def posterior_dataset(model, design, subject_ids, samples) -> xr.Dataset:
    """The fit's posterior group from samples {site: [chain, draw, ...]} that hold the
    participants' unconstrained parameters (``SUBJECT_SITE``)."""
    n_chains, n_draws = samples[SUBJECT_SITE].shape[:2]
    subject_ids = np.asarray(subject_ids)
    natural = subject_parameters(model, samples)
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "subject": subject_ids}
    posterior = {p: (("chain", "draw", "subject"), natural[p]) for p in model.parameter_names}
    for name, value in derived_prior(natural).items():
        posterior[name] = (("chain", "draw", "subject"), value)
    for p in model.parameters:
        coef = samples[f"coef_{p.name}"]
        posterior[f"coef_{p.name}"] = (("chain", "draw", f"coef_{p.name}_dim"), coef)
        # the intercept on the natural scale: the typical participant where every
        # covariate column is 0 (for a B-spline in age, at the youngest age)
        posterior[f"mu_{p.name}"] = (
            ("chain", "draw"),
            np.asarray(constrain_value(p, coef[..., 0])),
        )
        coords[f"coef_{p.name}_dim"] = np.asarray(design.labels(p.name))
        if f"sigma_{p.name}" in samples:
            posterior[f"sigma_{p.name}"] = (("chain", "draw"), samples[f"sigma_{p.name}"])
    return xr.Dataset(posterior, coords=coords)


def _fit_tree(model, data, design, paths, samples, extra, batch) -> xr.DataTree:
    n_chains, n_draws = samples[SUBJECT_SITE].shape[:2]
    subject_ids = np.asarray(list(data.subjects.index))
    natural = subject_parameters(model, samples)
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "subject": subject_ids}
    posterior = posterior_dataset(model, design, subject_ids, samples)
    flat = {p: v.reshape(n_chains * n_draws, -1) for p, v in natural.items()}
    loglik = pointwise_loglik(model, flat, paths, batch).reshape(n_chains, n_draws, -1)
    trials = data.trials
    obs_coords = {
        "obs": np.arange(len(trials)),
        "subject": ("obs", trials.subject.astype(str).to_numpy()),
        "trial": ("obs", trials.trial.to_numpy()),
        "reciprocation": ("obs", trials.reciprocation.to_numpy()),
    }
    log_likelihood = xr.Dataset(
        {"choice": (("chain", "draw", "obs"), loglik)},
        coords={"chain": coords["chain"], "draw": coords["draw"], **obs_coords},
    )
    observed = xr.Dataset(
        {
            "tiles": (("obs",), trials.tiles.to_numpy()),
            "trust": (("obs",), trials.trust.to_numpy()),
        },
        coords=obs_coords,
    )
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.asarray(extra["diverging"])),
            "n_steps": (("chain", "draw"), np.asarray(extra["num_steps"])),
        },
        coords={"chain": coords["chain"], "draw": coords["draw"]},
    )
    subjects = xr.Dataset(
        {"age": (("subject",), data.subjects.age.to_numpy(float))}, coords={"subject": subject_ids}
    )
    return xr.DataTree.from_dict(
        {
            "posterior": posterior,
            "log_likelihood": log_likelihood,
            "sample_stats": stats,
            "observed_data": observed,
            "constant_data": subjects,
        }
    )
