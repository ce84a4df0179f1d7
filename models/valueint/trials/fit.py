"""Hierarchical Bayesian fits of trial-by-trial cognitive models, on numpyro.

``fit(data, model)`` samples the hierarchical model of ``valueint.trials.population``
with NUTS (or fits an SVI approximation) and returns an ``xarray.DataTree`` with the groups
arviz reads: the posterior (group- and subject-level parameters on the natural scale), the
pointwise log-likelihood of every observed trial (for PSIS-LOO), posterior-predictive choices,
the observed data and the design, sampler statistics and a record of how it was made.
How NUTS is set up (a learned centeredness per parameter, a warm start, a dense mass
matrix on the population block) is ``valueint.inference.sampling``'s business.

Posterior variables (natural scale unless said): ``<p>`` per subject (dim ``subject``,
the subject ids); ``mu_<p>``, the transform of the intercept (the population median at
the reference level of every categorical covariate and the mean of every numeric one);
``sigma_<p>`` on the unconstrained scale; ``coef_<p>`` (dim ``<p>_term``, unconstrained)
for a parameter with covariates; per categorical covariate c of a parameter,
``<p>_by_<c>`` (dim ``c``: one transformed mean per level) and ``delta_<p>_<c>``
(dim ``<c>_effect``: the non-reference levels, unconstrained scale).
The log-likelihood has one entry per observed trial (dim ``obs``, with coordinates
``subject``, ``block`` and ``trial`` (positions, from 0), ``context`` and categorical
covariates); masked trials are left out.  ``posterior_predictive`` holds choices simulated
by the model's ``simulate`` on the observed design (replaying the data's outcome schedule
where it holds one) for an evenly thinned subset of draws.  ``constant_data`` holds the
design, and per subject the covariates' codes and values; ``attrs["covariate_design"]``
the formulas and standardization that rebuild the design matrices.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import xarray as xr

from valueint.datasets import data_model_options
from valueint.inference.covariates import (
    CovariateFormulas,
    build_design,
    coefficient_labels,
    formula_variables,
)
from valueint.inference.diagnostics import warn_diagnostics
from valueint.inference.fit_files import run_attrs
from valueint.inference.parameters import constrain_value
from valueint.inference.rounds import until_for
from valueint.inference.sampling import (
    default_pilot_warmup,
    fixed_centeredness,
    run_nuts,
    run_svi,
    run_whitened_nuts,
    warm_start,
    warm_start_values,
)
from valueint.inference.settings import SamplerSettings, resolve_settings
from valueint.trials.fit_data import as_fit_data, data_hash, resolve_spec
from valueint.trials.population import (
    cast_floats,
    coefficient_site,
    device_arrays,
    hierarchical_model,
    likelihood_dtype,
    subject_loglik,
    subject_total_loglik,
    unpooled_model,
)
from valueint.trials.specs import TRIAL_FIELDS, ModelSpec, TrialArrays

# the trial models' sampler defaults (``valueint.inference.settings``)
DEFAULT_SETTINGS = SamplerSettings()


# --------------------------------------------------------------------------- fit


def fit(
    data,
    model,
    settings: SamplerSettings | None = None,
    *,
    hierarchical: bool = True,
    group_covariates: str | Sequence[str] | None = None,
    formulas=None,
    options=None,
    seed: int = 0,
    progress: bool = True,
    predictive_draws: int = 100,
    **sampler,
) -> xr.DataTree:
    """Fit ``model`` to ``data``; an ``xarray.DataTree`` with every group filled.

    ``settings`` (a ``valueint.inference.settings.SamplerSettings``; None: the defaults,
    ``DEFAULT_SETTINGS``) and keyword changes to it (``chains=2``, ``draws=500``, ...) say
    how it samples.  ``method="nuts"`` runs ``chains`` chains of ``warmup`` + ``draws``
    NUTS steps, in parallel when JAX has a CPU device per chain
    (``numpyro.set_host_device_count`` before JAX starts), else one after another.
    ``method="svi"`` fits an AutoNormal (``svi_guide="normal"``) or AutoMultivariateNormal
    (``"multivariate"``) guide with Adam for ``svi_steps`` steps and returns ``draws``
    guide samples as one chain.
    ``formulas`` puts per-subject covariates on the population means, one formula per
    parameter (``valueint.inference.covariates.CovariateFormulas``, a dict
    ``{"alpha": "1 + age"}`` or strings such as ``"beta ~ 1 + group + bs(age, df=3)"``;
    parameters not named get the intercept only).  ``group_covariates`` is the short
    form for categorical covariates on every parameter: ``"group"`` means the default
    formula ``1 + group``.  Numeric covariates named in a formula are read from the
    data's per-subject columns.
    ``parameterization``, ``init``, ``mass_matrix``, ``warm_start_steps`` and
    ``pilot_warmup`` set how NUTS samples a hierarchical model
    (``valueint.inference.sampling`` and ``valueint.inference.whitening`` say why).  With
    ``parameterization="whitened"`` a short SVI run finds the chains' starting point, each
    subject's parameters are sampled in coordinates whitened by a Gaussian approximation
    of its own likelihood (fitted at the start, then refitted from the moments of
    ``pilot_warmup`` warmup steps per chain; None: half of ``warmup``, at least 50), and
    the population block gets a dense mass matrix.  ``"auto"`` (the default, cheaper to
    compile for short fits) learns one centeredness per subject and parameter instead;
    ``"centered"`` or ``"noncentered"`` fix it.
    ``options`` are the model's options (``q_init``, ...), over those that ``data``
    carries from its named data set (``valueint.datasets.NamedDataset.model_options``).
    ``predictive_draws`` posterior draws (thinned evenly) feed the simulated choices.
    Parameters and the log density are float64; the per-trial loop of the likelihood runs
    in ``precision`` (``"auto"``: float32 above 5,000 observed trials, see
    ``likelihood_dtype``).  The exported pointwise log-likelihood is always float64.
    Diagnostics that fail raise a ``FitWarning``.
    """
    numpyro.enable_x64()
    settings = resolve_settings(settings, DEFAULT_SETTINGS, **sampler)
    # a named data set's declared options first (``valueint.datasets``); the given win
    options = {**data_model_options(data), **(options or {})} or None
    spec = resolve_spec(model)
    if isinstance(group_covariates, str):
        group_covariates = (group_covariates,)
    formulas = _formulas(formulas, group_covariates, hierarchical)
    used = tuple(
        dict.fromkeys(
            v for name in spec.parameter_names for v in formula_variables(formulas.rhs(name))
        )
    )
    fit_data = as_fit_data(data, spec, covariates=used or None)
    for name in group_covariates or ():
        covariate = fit_data.covariate(name)
        if len(covariate.labels) < 2:
            raise ValueError(f"covariate {covariate.name!r} has a single level; nothing to compare")
    design = build_design(formulas, fit_data, spec) if hierarchical else None

    numpyro_model, model_args, dtype = numpyro_inputs(
        spec, options, fit_data, design, precision=settings.precision
    )
    key_fit, key_predict = jax.random.split(jax.random.key(seed))
    subject_sites = spec.parameter_names
    group_sites = _group_sites(spec) if hierarchical else ()

    start, started = time.perf_counter(), time.time()
    if settings.method == "nuts":
        samples, stats, extra = _sample_nuts(
            numpyro_model,
            model_args,
            key_fit,
            settings,
            hierarchical=hierarchical,
            shape=(fit_data.n_subjects, len(spec.parameter_names)),
            progress=progress,
            sites=subject_sites + group_sites,
            subject_loglik=subject_total_loglik(spec, options),
            posterior_of=functools.partial(
                posterior_dataset,
                spec,
                np.asarray(fit_data.subject_ids),
                covariate_design=design,
                group_sites=group_sites,
            ),
        )
    else:
        sites = subject_sites + group_sites
        samples, losses = run_svi(
            numpyro_model, model_args, key_fit, settings, progress=progress, sites=sites
        )
        stats = None
        extra = {
            "svi_loss_first": float(losses[0]),
            "svi_loss_final": float(np.mean(losses[-max(1, len(losses) // 100) :])),
        }
    sampling_s = time.perf_counter() - start

    record = {
        "hierarchical": hierarchical,
        "group_covariates": list(group_covariates or ()),
        "formulas": formulas.to_dict(),
        "predictive_draws": predictive_draws,
        "likelihood_precision": jnp.dtype(dtype).name,
        "options": repr(options),
        # the wall-clock start of ``sampling_time_s`` (what a benchmark aligns compiles to)
        "sampling_started_unix": round(started, 3),
        **extra,
    }
    tree = _build_fit_tree(
        spec,
        fit_data,
        samples,
        stats,
        design,
        options,
        key_predict,
        predictive_draws=predictive_draws,
        group_sites=group_sites,
    )
    timing = {
        "seed": seed,
        "data_sha256": data_hash(fit_data.arrays),
        "sampling_time_s": sampling_s,
    }
    tree.attrs.update(run_attrs("trials", spec, settings, record, **timing))
    tree.attrs["context_labels"] = json.dumps(list(fit_data.context_labels))
    if design is not None:
        tree.attrs["covariate_design"] = design.to_json()
    warn_diagnostics(tree)
    return tree


def _sample_nuts(
    numpyro_model,
    model_args,
    key,
    settings: SamplerSettings,
    *,
    hierarchical,
    shape,
    progress,
    sites,
    subject_loglik,
    posterior_of,
):
    """NUTS after the warm start that the settings' ``init`` and ``parameterization`` ask
    for (see ``valueint.inference.sampling``), in rounds until converged where the
    settings say so (judged on the posterior ``posterior_of(samples)`` builds); the
    samples, stats and a record of what was done."""
    init, parameterization = settings.init, settings.parameterization
    whiten = hierarchical and parameterization == "whitened"
    fixed = fixed_centeredness(parameterization, shape) if hierarchical and not whiten else None
    if hierarchical and fixed is None and init != "svi":
        raise ValueError(
            f"parameterization={parameterization!r} starts from the SVI warm start: it needs "
            "init='svi'"
        )
    pilot_warmup = settings.pilot_warmup
    if pilot_warmup is None:
        pilot_warmup = default_pilot_warmup(settings.warmup)
    nuts_settings = {
        "chains": settings.chains,
        "draws": settings.draws,
        "warmup": settings.warmup,
        "target_accept_prob": settings.target_accept_prob,
        "max_tree_depth": settings.max_tree_depth,
        "progress": progress,
        "sites": sites,
        "until": until_for(settings, posterior_of),
    }
    record = {"init": init, "mass_matrix": settings.mass_matrix}
    init_values = None
    key_start, key_nuts = jax.random.split(key)
    if init == "svi":
        begun = time.perf_counter()
        # an unpooled model has no population to decentre from: it stays centred
        learned, init_values, loss = warm_start(
            numpyro_model,
            model_args,
            key_start,
            centeredness=fixed if hierarchical else np.ones(shape),
            steps=settings.warm_start_steps,
            learning_rate=WARM_START_LEARNING_RATE,
        )
        if hierarchical:
            fixed = learned
        record.update(
            warm_start_steps=settings.warm_start_steps,
            warm_start_loss=loss,
            warm_start_s=round(time.perf_counter() - begun, 3),
        )
    if whiten:
        record["parameterization"] = "whitened"
        start = warm_start_values(numpyro_model, model_args, fixed, init_values)
        samples, stats, sampled = run_whitened_nuts(
            numpyro_model,
            model_args,
            key_nuts,
            subject_loglik=subject_loglik,
            start=start,
            approximation_warmup=int(pilot_warmup),
            mass_matrix=settings.mass_matrix,
            **nuts_settings,
        )
        return samples, stats, {**record, **sampled}
    if hierarchical:
        record["parameterization"] = "centeredness"
        # the mean per parameter for reading, every value for repeating the fit
        record["centeredness"] = [round(float(c), 4) for c in np.mean(fixed, axis=0)]
        record["centeredness_by_subject"] = np.round(fixed, 4).tolist()
    samples, stats, sampled = run_nuts(
        numpyro_model,
        model_args,
        key_nuts,
        centeredness=fixed if hierarchical else None,
        init_values=init_values,
        mass_matrix=settings.mass_matrix if hierarchical else "diagonal",
        **nuts_settings,
    )
    return samples, stats, {**record, **sampled}


WARM_START_LEARNING_RATE = 0.02


def numpyro_inputs(spec: ModelSpec, options, fit_data, design, *, precision: str = "auto"):
    """(the numpyro model, its arguments (spec, options, arrays, design matrices), the
    likelihood's dtype) of a fit: hierarchical when ``design`` is given, else unpooled.
    What ``fit`` samples, for code that samples it another way (``benchmarks/``)."""
    n_observed = int(np.asarray(fit_data.arrays.mask).sum())
    dtype = likelihood_dtype(precision, n_observed)
    arrays = cast_floats(device_arrays(fit_data.arrays), dtype)
    numpyro_model = unpooled_model if design is None else hierarchical_model
    matrices = (
        ()
        if design is None
        else tuple(jnp.asarray(design.matrix(name)) for name in spec.parameter_names)
    )
    return numpyro_model, (spec, options, arrays, matrices), dtype


def _formulas(formulas, group_covariates, hierarchical: bool) -> CovariateFormulas:
    """The covariate formulas of a fit from ``formulas`` or the ``group_covariates`` short form."""
    if formulas is not None and group_covariates:
        raise ValueError(
            "give covariates either as formulas or as group_covariates, not both (write "
            "group_covariates=('group',) as the default formula '1 + group')"
        )
    if group_covariates:
        formulas = CovariateFormulas(default=" + ".join(("1", *group_covariates)))
    elif formulas is None:
        formulas = CovariateFormulas()
    elif not isinstance(formulas, CovariateFormulas):
        formulas = CovariateFormulas(formulas)
    if not hierarchical and (formulas.default != "1" or formulas.formulas):
        raise ValueError(
            "covariates shift population means: they need hierarchical=True "
            f"(got formulas {formulas.to_dict()})"
        )
    return formulas


def _group_sites(spec: ModelSpec) -> tuple[str, ...]:
    sites = []
    for name in spec.parameter_names:
        sites += [f"mu_{name}", f"sigma_{name}", coefficient_site(name)]
    return tuple(sites)


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
    arrays = device_arrays(arrays)

    def chunk(draws):
        return _pointwise_loglik(spec, options, arrays, draws, index)

    return _in_chunks(chunk, params, batch)


def simulate_choices(spec: ModelSpec, options, arrays: TrialArrays, params: dict, key):
    """Choices simulated on the design of ``arrays``: [draw, obs] from {name: [draw, subject]}."""
    index = observed_index(arrays.mask)
    arrays = device_arrays(arrays)
    keys = np.asarray(jax.random.key_data(jax.random.split(key, _n_draws(params))))

    def chunk(draws):
        draw_keys = jax.random.wrap_key_data(draws.pop("key"))
        return _simulate_choices(spec, options, arrays, draws, draw_keys, index)

    return _in_chunks(chunk, {**params, "key": keys}, 16)


def _n_draws(params: dict) -> int:
    return int(np.shape(next(iter(params.values())))[0])


def _in_chunks(function, params: dict, size: int) -> np.ndarray:
    """``function`` on the draws of ``params`` in chunks of ``size`` (the last one padded
    with copies of the final draw, then cut), concatenated: one compiled program for every
    chunk, where a ``lax.map`` run eagerly would compile anew for each call."""
    n_draws = _n_draws(params)
    size = min(size, n_draws)
    params = {name: np.asarray(value) for name, value in params.items()}
    pieces = []
    for start in range(0, n_draws, size):
        stop = min(start + size, n_draws)
        draws = {name: value[start:stop] for name, value in params.items()}
        if stop - start < size:
            draws = {
                name: np.concatenate([value, np.repeat(value[-1:], size - len(value), axis=0)])
                for name, value in draws.items()
            }
        pieces.append(np.asarray(function(draws))[: stop - start])
    return np.concatenate(pieces)


# Module-level jits with the data as arguments: one compile per model and shape, shared by
# every fit of that model to data of that shape (recovery runs, refits, resumed jobs).


@functools.partial(jax.jit, static_argnames=("spec",))
def _pointwise_loglik(spec, options, arrays, draws, index):
    per_subject = subject_loglik(spec, options)
    return jax.vmap(lambda draw: per_subject(draw, arrays)[index])(draws)


@functools.partial(jax.jit, static_argnames=("spec",))
def _simulate_choices(spec, options, arrays, draws, keys, index):
    n_subjects = jnp.shape(arrays.choice)[0]

    def one_subject(subject_params, subject_data, subject_key):
        return spec.simulate(subject_params, subject_data, subject_key, options).choice

    def one_draw(draw_params, draw_key):
        subject_keys = jax.random.split(draw_key, n_subjects)
        return jax.vmap(one_subject)(draw_params, arrays, subject_keys)[index]

    return jax.vmap(one_draw)(draws, keys)


def _population_terms(spec: ModelSpec, covariate_design, samples, coords) -> dict:
    """Posterior variables of the population coefficients: ``coef_<p>`` (dim ``<p>_term``,
    unconstrained scale, the intercept first) for every parameter with covariates, and for
    each categorical covariate c that enters p as a main effect ``delta_<p>_<c>`` (dim
    ``<c>_effect``: the non-reference levels) and ``<p>_by_<c>`` (dim ``c``: the
    transform of intercept + effect, numeric covariates at their mean)."""
    variables = {}
    for parameter in spec.parameters:
        name = parameter.name
        coef = samples[coefficient_site(name)]
        columns = covariate_design.columns[name]
        if len(columns) > 1:
            dim = f"{name}_term"
            coords[dim] = np.asarray(coefficient_labels(columns))
            variables[f"coef_{name}"] = (("chain", "draw", dim), coef)
        for covariate, levels in covariate_design.levels.items():
            wanted = [f"{covariate}[T.{level}]" for level in levels[1:]]
            if not all(column in columns for column in wanted):
                continue
            delta = coef[..., [columns.index(column) for column in wanted]]
            coords[f"{covariate}_effect"] = np.asarray(levels[1:])
            coords[covariate] = np.asarray(levels)
            variables[f"delta_{name}_{covariate}"] = (
                ("chain", "draw", f"{covariate}_effect"),
                delta,
            )
            level_values = coef[..., :1] + np.concatenate(
                [np.zeros_like(delta[..., :1]), delta], -1
            )
            variables[f"{name}_by_{covariate}"] = (
                ("chain", "draw", covariate),
                np.asarray(constrain_value(parameter, level_values)),
            )
    return variables


def posterior_dataset(spec, subject_ids, samples, covariate_design, group_sites) -> xr.Dataset:
    """The fit's posterior group from samples {site: [chain, draw, ...]}."""
    n_chains, n_draws = next(iter(samples.values())).shape[:2]
    posterior = {}
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "subject": subject_ids}
    for name in spec.parameter_names:
        posterior[name] = (("chain", "draw", "subject"), samples[name])
    for name in group_sites:
        if not name.startswith("population_coef_"):
            posterior[name] = (("chain", "draw"), samples[name])
    if covariate_design is not None:
        posterior.update(_population_terms(spec, covariate_design, samples, coords))
    return xr.Dataset(posterior, coords=coords)


def _build_fit_tree(
    spec, fit_data, samples, stats, covariate_design, options, key, *, predictive_draws, group_sites
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

    posterior = posterior_dataset(spec, subject_ids, samples, covariate_design, group_sites)

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
    for covariate in fit_data.numeric_covariates:
        design[f"{covariate.name}_value"] = (("subject",), np.asarray(covariate.values, float))
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
