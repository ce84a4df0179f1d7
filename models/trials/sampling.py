"""Running the samplers on a numpyro model: NUTS with a warm start and a parameterization
fitted to the data, and mean-field or full-rank SVI.

Why.  A hierarchical posterior mixes slowly when the subject parameters are parameterized
against what the data say: non-centred (theta = mean + sigma z) is right where a
subject's own data say little, centred (theta sampled directly) where they pin it down;
which holds differs from subject to subject and parameter to parameter, and within a
subject a learning rate and an inverse temperature trade off (posterior correlations
near 0.9 on the Cutler data).  ``run_whitened_nuts`` (``centeredness="whitened"``) samples
every subject in its own whitened coordinates (``valueint.trials.whitening``): a short SVI
run (``warm_start``) finds the starting point, each subject's Hessian there gives a first
Gaussian approximation of its likelihood, a first warmup refits it from the draws'
moments, and the fit's own warmup and draws follow, each chain continuing where it
stopped.  The default scheme (its extra compiles make short fits slower), one learned
centeredness per subject and parameter
(``LocScaleReparam`` with ``centered=None``, the variationally inferred parameterization
of Gorinova, Moore & Hoffman, 2020) with a shared start at the guide's median, is
``run_nuts``.  In both the population block (means, sds, covariate effects)
is small and correlated, so it gets a dense mass matrix; the subject coordinates keep a
diagonal one.

Measured on rw, the Cutler data (152 subjects, group on both parameters), 2 chains x
(500 + 500), min bulk ESS per 1,000 sampling gradients: non-centred 2.1, centred 1.0,
learned centeredness with the dense population block 2.4-3.3, whitened 8.0 (mean tree
size 31 leapfrog steps instead of 67).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.distributions import biject_to
from numpyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO, init_to_median, init_to_value
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

from valueint.trials.population import (
    POPULATION_OFFSET,
    SUBJECT_SITE,
    WHITENED_SITE,
    reparameterized,
    whitened,
)
from valueint.trials.whitening import from_draws, from_hessian, whitened_from_theta

CENTEREDNESS = ("whitened", "auto", "centered", "noncentered")
INITS = ("svi", "median")
MASS_MATRICES = ("population", "diagonal", "dense")
GUIDES = {"normal": AutoNormal, "multivariate": AutoMultivariateNormal}


def chain_method(chains: int) -> str:
    """ "parallel" when JAX has a CPU device per chain, else "sequential" (with a warning)."""
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
        stacklevel=4,
    )
    return "sequential"


def fixed_centeredness(centeredness, shape: tuple[int, int]):
    """Centeredness in [0, 1] per [subject, parameter] from "centered", "noncentered", a
    number, one per parameter or a full array; None for "auto" (learned by SVI)."""
    if isinstance(centeredness, str):
        named = {"auto": None, "centered": 1.0, "noncentered": 0.0}
        if centeredness not in named:
            raise ValueError(
                f"centeredness must be one of {', '.join(CENTEREDNESS)}, a number in [0, 1], "
                f"one per parameter or one per subject and parameter; got {centeredness!r}"
            )
        if named[centeredness] is None:
            return None
        return np.full(shape, named[centeredness])
    try:
        values = np.broadcast_to(np.asarray(centeredness, dtype=float), shape).copy()
    except ValueError:
        raise ValueError(
            f"centeredness of shape {np.shape(centeredness)} does not fit [subject, parameter] "
            f"= {shape}"
        ) from None
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(f"centeredness must lie in [0, 1]; got {values.tolist()}")
    return values


def warm_start(numpyro_model, model_args, key, *, centeredness, steps, learning_rate):
    """SVI on the partially centred model: (centeredness [S, P], initial values, final loss).

    With ``centeredness=None`` the centeredness is learned with the guide; otherwise it is
    kept fixed and only the starting point is fitted."""
    model = reparameterized(numpyro_model, centeredness)
    guide = AutoNormal(model, init_loc_fn=init_to_median)
    svi = SVI(model, guide, numpyro.optim.Adam(learning_rate), Trace_ELBO())
    result = svi.run(key, steps, *model_args, progress_bar=False)
    losses = np.asarray(result.losses)
    if not np.isfinite(losses[-1]):
        raise FloatingPointError("the SVI warm start diverged (non-finite loss); try init='median'")
    if centeredness is None:
        centeredness = np.asarray(result.params[f"{SUBJECT_SITE}_centered"])
    values = {k: np.asarray(v) for k, v in guide.median(result.params).items()}
    final = float(np.mean(losses[-max(1, steps // 20) :]))
    return np.asarray(centeredness, dtype=float), values, final


def subject_values(numpyro_model, model_args, centeredness, values):
    """The population values of ``values`` (a warm start of the partially centred model)
    with the subject parameters ``SUBJECT_SITE`` [S, P] on the unconstrained scale."""
    model = numpyro.handlers.substitute(
        numpyro.handlers.seed(reparameterized(numpyro_model, centeredness), 0), values
    )
    trace = numpyro.handlers.trace(model).get_trace(*model_args)
    population = {
        name: np.asarray(values[name]) for name in population_sites(numpyro_model, model_args)
    }
    return {**population, SUBJECT_SITE: np.asarray(trace[SUBJECT_SITE]["value"])}


def population_sites(numpyro_model, model_args) -> tuple[str, ...]:
    """The latent sample sites other than the subject parameters: the dense block."""
    trace = numpyro.handlers.trace(numpyro.handlers.seed(numpyro_model, 0)).get_trace(*model_args)
    return tuple(
        name
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"] and name != SUBJECT_SITE
    )


def run_nuts(numpyro_model, model_args, key, *, centeredness, init_values, mass_matrix, **settings):
    """NUTS on ``numpyro_model`` with the subject site partially centred; ``settings`` are
    ``_nuts``'s (chains, draws, warmup, target_accept_prob, max_tree_depth, progress, sites).

    Returns (samples {site: [chain, draw, ...]}, sample stats, record), where the record
    holds the chain method and the leapfrog steps of warmup and sampling."""
    model = numpyro_model if centeredness is None else reparameterized(numpyro_model, centeredness)
    init = init_to_median if init_values is None else init_to_value(values=init_values)
    dense = _dense_blocks(numpyro_model, model_args, mass_matrix)
    return _nuts(model, model_args, key, dense=dense, init_strategy=init, **settings)


def _dense_blocks(numpyro_model, model_args, mass_matrix):
    if mass_matrix not in MASS_MATRICES:
        raise ValueError(
            f"mass_matrix must be one of {', '.join(MASS_MATRICES)}; got {mass_matrix!r}"
        )
    dense = {"diagonal": False, "dense": True}.get(mass_matrix)
    if dense is None:
        block = population_sites(numpyro_model, model_args)
        dense = [block] if block else False
    return dense


def _nuts(
    model,
    model_args,
    key,
    *,
    dense,
    init_strategy,
    chains,
    draws,
    warmup,
    target_accept_prob,
    max_tree_depth,
    progress,
    sites,
    init_params=None,
):
    method = chain_method(chains)
    kernel = NUTS(
        model,
        target_accept_prob=target_accept_prob,
        max_tree_depth=max_tree_depth,
        dense_mass=dense,
        init_strategy=init_strategy,
    )
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=max(draws, 1),  # 0: warmup only, but MCMC wants a positive number
        num_chains=chains,
        chain_method=method,
        progress_bar=progress,
    )
    # Warmup and draws in one loop, every iteration collected and split afterwards: numpyro
    # compiles each ``warmup`` and ``run`` call anew, and that compile is most of a small
    # fit's time (about 15 s each for 40 subjects on 2 cores, against 6 s of sampling).
    mcmc._set_collection_params(0, warmup + draws, warmup + draws)
    extra = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")
    mcmc.run(key, *model_args, extra_fields=extra, init_params=init_params)
    # sliced as NumPy arrays: slicing the sharded device arrays compiles a program apiece
    everything = mcmc.get_samples(group_by_chain=True)
    fields = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    warmup_steps = int(fields["num_steps"][:, :warmup].sum())
    if draws == 0:  # a warmup-only run (a stage of ``run_whitened_nuts``): its draws
        samples = {name: np.asarray(everything[name]) for name in sites}
        return samples, None, {"chain_method": method, "n_gradients_warmup": warmup_steps}
    samples = {name: np.asarray(everything[name])[:, warmup:] for name in sites}
    fields = {name: value[:, warmup:] for name, value in fields.items()}
    steps = fields["num_steps"]
    stats = {
        "diverging": fields["diverging"].astype(bool),
        "n_steps": steps,
        "tree_depth": np.log2(steps + 1).astype(np.int64),
        "acceptance_rate": fields["accept_prob"],
        "energy": fields["energy"],
        "lp": -fields["potential_energy"],
    }
    record = {
        "chain_method": method,
        "n_gradients_warmup": warmup_steps,
        "n_gradients_sampling": int(steps.sum()),
    }
    return samples, stats, record


def run_whitened_nuts(
    numpyro_model,
    model_args,
    key,
    *,
    subject_loglik,
    start,
    approximation_warmup,
    sites,
    **nuts_settings,
):
    """NUTS on ``numpyro_model`` with each subject whitened (``valueint.trials.whitening``).

    ``start`` holds the warm start's population values and subject parameters
    (``SUBJECT_SITE``, unconstrained).  Stage 1 whitens by each subject's Hessian there and
    runs ``approximation_warmup`` warmup steps per chain; the second half of those draws
    re-estimate the approximation from their moments, and stage 2 (the fit) continues
    every chain from where it stopped, with its own warmup.  The record says what was done
    and counts both stages' gradients as warmup."""
    data = model_args[2]
    stage_sites = (SUBJECT_SITE, POPULATION_OFFSET, "population_sigma")
    approximation = from_hessian(subject_loglik, start[SUBJECT_SITE], data)
    population = {k: v for k, v in start.items() if k != SUBJECT_SITE}
    offset, sigma = _population_prior(numpyro_model, model_args, population)
    u = whitened_from_theta(approximation, offset, sigma, jnp.asarray(start[SUBJECT_SITE]))
    key_first, key_second = jax.random.split(key)
    block = population_sites(numpyro_model, model_args)
    dense = _dense_blocks(numpyro_model, model_args, nuts_settings["mass_matrix"])
    first, _, first_record = _nuts(
        whitened(numpyro_model, approximation),
        model_args,
        key_first,
        dense=dense,
        init_strategy=init_to_value(values={**population, WHITENED_SITE: np.asarray(u)}),
        chains=nuts_settings["chains"],
        draws=0,
        warmup=approximation_warmup,
        target_accept_prob=nuts_settings["target_accept_prob"],
        max_tree_depth=nuts_settings["max_tree_depth"],
        progress=nuts_settings["progress"],
        sites=stage_sites + block,
    )
    half = approximation_warmup // 2
    pooled = {k: v[:, half:].reshape(-1, *v.shape[2:]) for k, v in first.items()}
    approximation = from_draws(
        pooled[SUBJECT_SITE], pooled["population_sigma"], pooled[POPULATION_OFFSET]
    )
    # every chain continues from its own last stage-1 state, in the new coordinates
    last = {k: v[:, -1] for k, v in first.items()}
    init_params = {}
    for name in block:
        init_params[name] = _unconstrained(numpyro_model, model_args, name, last[name])
    init_params[WHITENED_SITE] = jax.vmap(
        lambda o, s, t: whitened_from_theta(approximation, o, s, t)
    )(last[POPULATION_OFFSET], last["population_sigma"], last[SUBJECT_SITE])
    settings = {k: v for k, v in nuts_settings.items() if k != "mass_matrix"}
    samples, stats, record = _nuts(
        whitened(numpyro_model, approximation),
        model_args,
        key_second,
        dense=dense,
        init_strategy=init_to_median,
        init_params=init_params,
        sites=sites,
        **settings,
    )
    record["n_gradients_warmup"] += first_record["n_gradients_warmup"]
    record["approximation_warmup"] = approximation_warmup
    return samples, stats, record


def _population_prior(numpyro_model, model_args, population):
    """(offset [S, P], sigma [P]) of the subject site at the given population values."""
    conditioned = numpyro.handlers.substitute(numpyro.handlers.seed(numpyro_model, 0), population)
    site = numpyro.handlers.trace(conditioned).get_trace(*model_args)[SUBJECT_SITE]
    base = site["fn"].base_dist
    shape = site["fn"].shape()
    return jnp.broadcast_to(base.loc, shape), jnp.broadcast_to(base.scale, shape)[0]


def _unconstrained(numpyro_model, model_args, name, value):
    trace = numpyro.handlers.trace(numpyro.handlers.seed(numpyro_model, 0)).get_trace(*model_args)
    return biject_to(trace[name]["fn"].support).inv(jnp.asarray(value))


def run_svi(numpyro_model, model_args, key, *, draws, steps, learning_rate, guide, progress, sites):
    """A mean-field (``"normal"``) or full-rank (``"multivariate"``) guide fitted by Adam;
    ``draws`` guide samples as one chain, and the losses."""
    if guide not in GUIDES:
        raise ValueError(f"svi_guide must be one of {', '.join(GUIDES)}; got {guide!r}")
    if steps < 1:
        raise ValueError(f"svi_steps must be at least 1; got {steps}")
    # Started at prior medians: from random starts the mean-field guide can settle in a
    # poor optimum with an inflated population sd.
    autoguide = GUIDES[guide](numpyro_model, init_loc_fn=init_to_median)
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
        # vmapped, not a lax.map: run eagerly, a lax.map compiles the whole model anew
        # for every fit, while the vmapped model reuses its jitted trial loop
        parallel=True,
    )
    drawn = predictive(key_draw, *model_args)
    samples = {name: np.asarray(drawn[name])[None] for name in sites}
    return samples, losses
