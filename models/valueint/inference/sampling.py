"""Running the samplers on a numpyro model: NUTS with a warm start and a parameterization
fitted to the data, and mean-field or full-rank SVI.

Why.  A hierarchical posterior mixes slowly when the subject parameters are parameterized
against what the data say: non-centred (theta = mean + sigma z) is right where a
subject's own data say little, centred (theta sampled directly) where they pin it down;
which holds differs from subject to subject and parameter to parameter, and within a
subject a learning rate and an inverse temperature trade off (posterior correlations
near 0.9 on the Cutler data).  ``run_whitened_nuts`` (``parameterization="whitened"``) samples
every subject in its own whitened coordinates (``valueint.inference.whitening``): a short SVI
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

Which wins depends on the model: ``benchmarks/compare_samplers.py`` measures each on the
Cutler data, its table is in ``benchmarks/FIT_RESULTS.md``.

Each sampler runs as one compiled program with the data as arguments (NUTS in
``valueint.inference.chains``, SVI in ``run_svi_program``), so a second fit of the same
model to data of the same shape compiles nothing: a 40-subject rw NUTS fit took 15 s
again after its first, now 3 s; an SVI fit of the ISR model 10 s, now 1.6 s.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.distributions import biject_to
from numpyro.handlers import replay, seed
from numpyro.infer import SVI, Predictive, init_to_median
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal
from numpyro.infer.elbo import ELBO
from numpyro.infer.util import log_density

from valueint.inference.chains import ChainProgram, run_chains
from valueint.inference.progress import progress_bar, report_progress
from valueint.inference.reparam import (
    POPULATION_OFFSET,
    POPULATION_SIGMA,
    SUBJECT_SITE,
    WHITENED_SITE,
    reparameterized,
)
from valueint.inference.settings import MASS_MATRICES, PARAMETERIZATIONS, SamplerSettings
from valueint.inference.whitening import from_draws, from_hessian, whitened_from_theta

GUIDES = {"normal": AutoNormal, "multivariate": AutoMultivariateNormal}  # settings.GUIDES


def default_pilot_warmup(warmup: int) -> int:
    """The whitened sampler's pilot when none is given: half the warmup, at least 50."""
    return max(50, warmup // 2)


def fixed_centeredness(centeredness, shape: tuple[int, int]):
    """Centeredness in [0, 1] per [subject, parameter] from "centered", "noncentered", a
    number, one per parameter or a full array; None for "auto" (learned by SVI)."""
    if isinstance(centeredness, str):
        named = {"auto": None, "centered": 1.0, "noncentered": 0.0}
        if centeredness not in named:
            raise ValueError(
                f"parameterization must be one of {', '.join(PARAMETERIZATIONS)} (or a "
                f"centeredness in [0, 1], one per parameter or per subject and parameter); "
                f"got {centeredness!r}"
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
    learned = centeredness is None
    program = SviProgram(
        numpyro_model=numpyro_model,
        spec=model_args[0],
        centeredness="learned" if learned else "fixed",
        guide="normal",
        steps=steps,
        learning_rate=learning_rate,
    )
    arrays = None if learned else jnp.asarray(centeredness, dtype=float)
    params, losses, values, _ = run_svi_program(program, key, model_args, arrays)
    if not np.isfinite(losses[-1]):
        raise FloatingPointError("the SVI warm start diverged (non-finite loss); try init='median'")
    if learned:
        centeredness = params[f"{SUBJECT_SITE}_centered"]
    final = float(np.mean(losses[-max(1, steps // 20) :]))
    return np.asarray(centeredness, dtype=float), values, final


@dataclasses.dataclass(frozen=True)
class SviProgram:
    """What an SVI program is compiled for: everything but the arrays.  ``centeredness``
    is ``"as_written"``, ``"fixed"`` (an array argument) or ``"learned"`` with the guide."""

    numpyro_model: Any
    spec: Any
    centeredness: str
    guide: str
    steps: int
    learning_rate: float
    draws: int = 0
    sites: tuple[str, ...] = ()


class TraceOrderELBO(ELBO):
    """numpyro's ``Trace_ELBO`` with one particle, log q(z) - log p(x, z) at z ~ q, each
    trace summed in its own order.  ``Trace_ELBO`` sums over a ``set`` of site names, an
    order that follows Python's string hashing and so changes from process to process:
    each process then traces a different program (no hit in the persistent compilation
    cache, and losses that differ in the last bits)."""

    def loss_with_mutable_state(self, rng_key, param_map, model, guide, *args, **kwargs):
        model_key, guide_key = jax.random.split(rng_key)  # Trace_ELBO's split
        guide_log_q, guide_trace = log_density(seed(guide, guide_key), args, kwargs, param_map)
        model = replay(seed(model, model_key), guide_trace)
        model_log_p, _ = log_density(model, args, kwargs, param_map)
        return {"loss": guide_log_q - model_log_p, "mutable_state": None}


def run_svi_program(program: SviProgram, key, model_args, arrays=None, progress=False):
    """Fit ``program``'s guide by Adam in one compiled program, reused by every fit of the
    same model and data shape: (params, losses, guide median, ``draws`` guide draws of
    ``sites``), as NumPy arrays."""
    spec, *dynamic = model_args
    with progress_bar(progress, program.steps, "SVI") as token:
        out = _svi(program, token, key, tuple(dynamic), arrays)
        return jax.tree.map(np.asarray, out)


@functools.partial(jax.jit, static_argnums=(0,))
def _svi(program: SviProgram, token, key, dynamic, arrays):
    centeredness = {"as_written": 1.0, "fixed": arrays, "learned": None}[program.centeredness]
    model = reparameterized(program.numpyro_model, centeredness)
    model_args = (program.spec, *dynamic)
    # Started at prior medians: from random starts the mean-field guide can settle in a
    # poor optimum with an inflated population sd.
    guide = GUIDES[program.guide](model, init_loc_fn=init_to_median)
    svi = SVI(model, guide, numpyro.optim.Adam(program.learning_rate), TraceOrderELBO())
    key_init, key_draw = jax.random.split(key)
    state = svi.init(key_init, *model_args)

    def step(state, iteration):
        state, loss = svi.update(state, *model_args)
        report_progress(token, iteration, program.steps)
        return state, loss

    state, losses = jax.lax.scan(step, state, jnp.arange(program.steps))
    params = svi.get_params(state)
    draws = {}
    if program.draws:
        predictive = Predictive(
            model,
            guide=guide,
            params=params,
            num_samples=program.draws,
            return_sites=list(program.sites),
            parallel=True,
        )
        draws = predictive(key_draw, *model_args)
    return params, losses, guide.median(params), draws


def warm_start_values(numpyro_model, model_args, centeredness, values):
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
    as_written = centeredness is None or np.all(np.asarray(centeredness) == 1)
    return _nuts(
        numpyro_model,
        model_args,
        key,
        parameterization="as_written" if as_written else "centeredness",
        arrays=None if as_written else jnp.asarray(centeredness, dtype=float),
        dense=_dense_blocks(numpyro_model, model_args, mass_matrix),
        start=init_values,
        **settings,
    )


def _dense_blocks(numpyro_model, model_args, mass_matrix):
    """numpyro's ``dense_mass`` for ``mass_matrix``, hashable: a bool or blocks of sites."""
    if mass_matrix not in MASS_MATRICES:
        raise ValueError(
            f"mass_matrix must be one of {', '.join(MASS_MATRICES)}; got {mass_matrix!r}"
        )
    dense = {"diagonal": False, "dense": True}.get(mass_matrix)
    if dense is None:
        block = population_sites(numpyro_model, model_args)
        dense = (block,) if block else False
    return dense


def _nuts(
    numpyro_model, model_args, key, *, arrays, start, start_per_chain=False, until=None, **settings
):
    """Warmup and draws of ``chains`` chains in one compiled program (``valueint.inference.chains``):
    ``settings`` are ``chains``, ``progress`` and the program's (parameterization, dense, warmup, draws,
    target_accept_prob, max_tree_depth, sites); ``start`` is None (prior medians),
    constrained start values shared by the chains, or, with ``start_per_chain``, one
    unconstrained point per chain."""
    chains, progress = settings.pop("chains"), settings.pop("progress")
    settings["sites"] = tuple(settings["sites"])
    settings["target_accept_prob"] = float(settings["target_accept_prob"])
    settings["max_tree_depth"] = int(settings["max_tree_depth"])
    begin = "median" if start is None else ("params" if start_per_chain else "values")
    program = ChainProgram(numpyro_model=numpyro_model, spec=model_args[0], start=begin, **settings)
    warmup, draws = program.warmup, program.draws
    run = {"chains": chains, "model_args": model_args, "arrays": arrays, "progress": progress}
    ran = run_chains(program, key, start=start, until=until, **run)
    everything, fields, method = ran.samples, ran.fields, ran.method
    warmup_steps = int(fields["num_steps"][:, :warmup].sum())
    if draws == 0:  # a warmup-only run (a stage of ``run_whitened_nuts``): its draws
        return everything, None, {"chain_method": method, "n_gradients_warmup": warmup_steps}
    samples = {name: value[:, warmup:] for name, value in everything.items()}
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
    if ran.rounds is not None:
        record.update(ran.rounds.record())
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
    """NUTS on ``numpyro_model`` with each subject whitened (``valueint.inference.whitening``).

    ``start`` holds the warm start's population values and subject parameters
    (``SUBJECT_SITE``, unconstrained).  Stage 1 whitens by each subject's Hessian there and
    runs ``approximation_warmup`` warmup steps per chain; the second half of those draws
    re-estimate the approximation from their moments, and stage 2 (the fit) continues
    every chain from where it stopped, with its own warmup.  The record says what was done
    and counts both stages' gradients as warmup."""
    data = model_args[2]
    stage_sites = (SUBJECT_SITE, POPULATION_OFFSET, POPULATION_SIGMA)
    approximation = from_hessian(subject_loglik, start[SUBJECT_SITE], data)
    population = {k: v for k, v in start.items() if k != SUBJECT_SITE}
    offset, sigma = _population_prior(numpyro_model, model_args, population)
    u = whitened_from_theta(approximation, offset, sigma, jnp.asarray(start[SUBJECT_SITE]))
    key_first, key_second = jax.random.split(key)
    block = population_sites(numpyro_model, model_args)
    dense = _dense_blocks(numpyro_model, model_args, nuts_settings["mass_matrix"])
    settings = {k: v for k, v in nuts_settings.items() if k != "mass_matrix"}

    def stage(key, approximation, **changes):
        """NUTS in the coordinates whitened by ``approximation``."""
        arrays = _approximation_arrays(approximation)
        options = {**settings, **changes, "parameterization": "whitened", "dense": dense}
        return _nuts(numpyro_model, model_args, key, arrays=arrays, **options)

    stage_start = {**population, WHITENED_SITE: np.asarray(u)}
    # the approximation's warmup draws nothing to judge: rounds are the fit's (stage 2)
    stage_one = {
        "draws": 0,
        "warmup": approximation_warmup,
        "sites": stage_sites + block,
        "until": None,
    }
    first, _, first_record = stage(key_first, approximation, start=stage_start, **stage_one)
    half = approximation_warmup // 2
    pooled = {k: v[:, half:].reshape(-1, *v.shape[2:]) for k, v in first.items()}
    approximation = from_draws(
        pooled[SUBJECT_SITE], pooled[POPULATION_SIGMA], pooled[POPULATION_OFFSET]
    )
    # every chain continues from its own last stage-1 state, in the new coordinates
    last = {k: v[:, -1] for k, v in first.items()}
    init_params = {}
    for name in block:
        init_params[name] = _unconstrained(numpyro_model, model_args, name, last[name])
    init_params[WHITENED_SITE] = jax.vmap(
        lambda o, s, t: whitened_from_theta(approximation, o, s, t)
    )(last[POPULATION_OFFSET], last[POPULATION_SIGMA], last[SUBJECT_SITE])
    samples, stats, record = stage(
        key_second, approximation, start=init_params, start_per_chain=True, sites=sites
    )
    record["n_gradients_warmup"] += first_record["n_gradients_warmup"]
    record["approximation_warmup"] = approximation_warmup
    return samples, stats, record


def _approximation_arrays(approximation):
    return (jnp.asarray(approximation.h), jnp.asarray(approximation.precision))


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


def run_svi(numpyro_model, model_args, key, settings: SamplerSettings, *, progress, sites):
    """The SVI of ``settings``: a mean-field (``"normal"``) or full-rank
    (``"multivariate"``) guide fitted by Adam for ``svi_steps``; ``draws`` guide samples as
    one chain, and the losses."""
    guide, steps = settings.svi_guide, settings.svi_steps
    if guide not in GUIDES:
        raise ValueError(f"svi_guide must be one of {', '.join(GUIDES)}; got {guide!r}")
    if steps < 1:
        raise ValueError(f"svi_steps must be at least 1; got {steps}")
    fitted = {"guide": guide, "steps": steps, "learning_rate": settings.svi_learning_rate}
    program = SviProgram(
        numpyro_model,
        model_args[0],
        "as_written",
        **fitted,
        draws=settings.draws,
        sites=tuple(sites),
    )
    _, losses, _, drawn = run_svi_program(program, key, model_args, progress=progress)
    if not np.isfinite(losses[-1]):
        raise FloatingPointError(
            "SVI diverged (the loss became non-finite); try a smaller svi_learning_rate"
        )
    samples = {name: drawn[name][None] for name in sites}
    return samples, losses
