"""NUTS chains compiled once per model, parameterization and data shape.

Why.  numpyro's ``MCMC`` closes over the model arguments when it runs chains in parallel,
so every fit compiles its sampler anew, even a fit of the same model to data of the same
shape (a recovery study, K-fold, simulation-based calibration, the stages of one whitened
fit): on 2 CPU cores that compile was most of a small fit's time.  Here the data, the
parameterization's arrays and the starting point are arguments of one module-level
program, the warmup and the draws run in one ``lax.scan`` per chain (numpyro's NUTS
kernel, with its step-size and mass-matrix adaptation, does the work), and the program is
reused by every call with the same static settings and shapes.

Parallel chains are ``pmap``-ed over the CPU devices (``numpyro.set_host_device_count``);
with fewer devices than chains they run one after another in one program.  Progress is
reported from inside the program by a host callback, so a progress bar does not change
what is compiled.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import MCMC, NUTS, init_to_median, init_to_value

from valueint.inference.progress import progress_bar, report_progress
from valueint.inference.reparam import reparameterized, whitened
from valueint.inference.rounds import Rounds, Until, sample_until_converged
from valueint.inference.whitening import WHITENED_SUFFIX, LikelihoodApproximation

PARAMETERIZATIONS = ("as_written", "centeredness", "whitened")
FIELDS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")


@dataclasses.dataclass(frozen=True)
class ChainProgram:
    """What a chain program is compiled for: everything but the arrays.

    ``parameterization`` says how the subject site is sampled: ``"as_written"``, with a
    ``"centeredness"`` array [S, P] (``LocScaleReparam``) or ``"whitened"`` by a
    ``LikelihoodApproximation`` (its ``h`` and ``precision`` as the arrays).  ``dense`` is
    numpyro's ``dense_mass`` (a bool or blocks of site names); ``start`` is ``"median"``
    (each chain from the prior medians), ``"values"`` (all from the given constrained
    values) or ``"params"`` (each chain from its own unconstrained point)."""

    numpyro_model: Any
    spec: Any
    parameterization: str
    warmup: int
    draws: int
    target_accept_prob: float
    max_tree_depth: int
    dense: bool | tuple[tuple[str, ...], ...]
    sites: tuple[str, ...]
    start: str

    def __post_init__(self) -> None:
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}; "
                f"got {self.parameterization!r}"
            )
        if self.start not in ("median", "values", "params"):
            raise ValueError(f"start must be 'median', 'values' or 'params'; got {self.start!r}")


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
        stacklevel=5,
    )
    return "sequential"


def parameterized(numpyro_model, parameterization: str, arrays):
    """``numpyro_model`` with its subject site sampled as ``parameterization`` says;
    ``arrays`` may be traced."""
    if parameterization == "centeredness":
        return reparameterized(numpyro_model, arrays)
    if parameterization == "whitened":
        return whitened(numpyro_model, LikelihoodApproximation(*arrays))
    return numpyro_model


class ChainRun(NamedTuple):
    """What ``run_chains`` returns: samples {site: [chain, iteration, ...]} (the warmup,
    then every kept draw), fields {name: [chain, iteration]}, as NumPy arrays; the chain
    method; and, when sampled until converged, its ``Rounds`` (else None)."""

    samples: dict
    fields: dict
    method: str
    rounds: Rounds | None = None


def run_chains(
    program: ChainProgram,
    key,
    *,
    chains: int,
    model_args,
    arrays=None,
    start=None,
    progress: bool = False,
    until: Until | None = None,
) -> ChainRun:
    """Run ``chains`` chains of ``program``: its warmup and draws, and with ``until``
    (``valueint.inference.rounds``) more rounds from the adapted state until its judge
    says converged or its budget is spent.

    ``model_args`` is (spec, options, data, design); ``start`` holds the constrained start
    values (``program.start == "values"``) or one unconstrained point per chain, stacked on
    a leading chain axis (``"params"``)."""
    spec, *dynamic = model_args
    if spec is not program.spec:
        raise ValueError("model_args[0] must be the program's spec")
    keys = jax.random.split(key, chains)
    shared = {"dynamic": tuple(dynamic), "arrays": arrays, "values": None}
    per_chain = None
    if program.start == "values":
        shared["values"] = start
    elif program.start == "params":
        per_chain = start
    parallel = chain_method(chains) == "parallel"
    method = "parallel" if parallel else "sequential"

    def adapt_and_draw(program, keys, per_chain):
        total = chains * (program.warmup + program.draws)
        with progress_bar(progress, total, "NUTS (warmup, then draws)") as token:
            run = _parallel_chains if parallel else _sequential_chains
            samples, fields, state = run(program, token, keys, per_chain, shared)
            return _as_numpy(samples), _as_numpy(fields), state

    if until is None:
        samples, fields, _ = adapt_and_draw(program, keys, per_chain)
        return ChainRun(samples, fields, method)

    def more(state):
        with progress_bar(progress, chains * program.draws, "NUTS (more draws)") as token:
            run = _parallel_more if parallel else _sequential_more
            samples, fields, state = run(program, token, state, shared)
            return _as_numpy(samples), _as_numpy(fields), state

    def again(state, target):
        nonlocal program
        program = dataclasses.replace(program, target_accept_prob=target, start="params")
        fresh = jax.random.split(jax.random.fold_in(key, round(target * 1e6)), chains)
        return adapt_and_draw(program, fresh, state.z)

    samples, fields, _, rounds = sample_until_converged(
        lambda: adapt_and_draw(program, keys, per_chain),
        more,
        again,
        until,
        warmup=program.warmup,
        draws=program.draws,
        target_accept_prob=program.target_accept_prob,
    )
    return ChainRun(samples, fields, method, rounds)


def _as_numpy(values: dict) -> dict:
    return {name: np.asarray(value) for name, value in values.items()}


def _kernel(program: ChainProgram, shared):
    """(numpyro's NUTS kernel for ``program``, the model's arguments)."""
    model = parameterized(program.numpyro_model, program.parameterization, shared["arrays"])
    model_args = (program.spec, *shared["dynamic"])
    if program.start == "values":
        strategy = init_to_value(values=shared["values"])
    else:
        strategy = init_to_median
    kernel = NUTS(
        model,
        target_accept_prob=program.target_accept_prob,
        max_tree_depth=program.max_tree_depth,
        dense_mass=list(program.dense) if isinstance(program.dense, tuple) else program.dense,
        init_strategy=strategy,
    )
    return kernel, model_args


def _steps(program: ChainProgram, kernel, model_args, token, state, total: int):
    """``total`` NUTS steps from ``state`` in one scan: (the sites, the fields, the last
    state)."""
    constrain = kernel.postprocess_fn(model_args, {})

    def step(state, iteration):
        state = kernel.sample(state, model_args, {})
        report_progress(token, iteration, total)
        fields = {name: getattr(state, name) for name in FIELDS}
        return state, (state.z, fields)

    state, (z, fields) = jax.lax.scan(step, state, jnp.arange(total))
    # deterministic sites (the natural-scale parameters, the whitened model's theta) from
    # the unconstrained draws, in batches to bound the memory of the model's trial loop
    values = jax.lax.map(constrain, z, batch_size=min(total, 64))
    return {name: values[name] for name in program.sites}, fields, state


def _one_chain(program: ChainProgram, token, key, chain_start, shared):
    kernel, model_args = _kernel(program, shared)
    state = kernel.init(key, program.warmup, chain_start, model_args, {})
    return _steps(program, kernel, model_args, token, state, program.warmup + program.draws)


def _one_chain_more(program: ChainProgram, token, state, shared):
    """``program.draws`` more draws from an adapted ``state``: its iteration count is past
    the warmup, so nothing is adapted."""
    kernel, model_args = _kernel(program, shared)
    # init sets up the kernel's step function; the state it returns is not used
    kernel.init(state.rng_key, program.warmup, state.z, model_args, {})
    return _steps(program, kernel, model_args, token, state, program.draws)


@functools.partial(jax.pmap, in_axes=(None, None, 0, 0, None), static_broadcasted_argnums=(0,))
def _parallel_chains(program, token, keys, per_chain, shared):
    return _one_chain(program, token, keys, per_chain, shared)


@functools.partial(jax.jit, static_argnums=(0,))
def _sequential_chains(program, token, keys, per_chain, shared):
    return jax.lax.map(lambda pair: _one_chain(program, token, *pair, shared), (keys, per_chain))


@functools.partial(jax.pmap, in_axes=(None, None, 0, None), static_broadcasted_argnums=(0,))
def _parallel_more(program, token, state, shared):
    return _one_chain_more(program, token, state, shared)


@functools.partial(jax.jit, static_argnums=(0,))
def _sequential_more(program, token, state, shared):
    return jax.lax.map(lambda one: _one_chain_more(program, token, one, shared), state)


# --------------------------------------------------------------------------- from given starts
# NUTS run by numpyro's MCMC from one start per chain, with the dense inverse mass matrix
# of a block of sites given at the start and read back at the end: a pilot run adapts the
# block, and the main run starts from what the pilot learned (``valueint.infosampling.fit``).
# Sites named ``sigma_*`` are population sds (positive); every other site is real-valued.


def run_mcmc(
    numpyro_model,
    model_args,
    key,
    *,
    starts: list[dict],
    warmup: int,
    draws: int,
    target_accept_prob: float,
    max_tree_depth: int,
    block: tuple[str, ...],
    block_inverse_mass,
    dense_block: bool = True,
    progress: bool = False,
    until: Until | None = None,
):
    """``len(starts)`` NUTS chains from the given (constrained) starts: (samples {site:
    [chain, draw, ...]}, extra fields {diverging, num_steps: [chain, draw]}, the block's
    adapted inverse mass matrix, averaged over chains, and with ``until`` the ``Rounds``
    of sampling until converged, else None)."""
    chains = len(starts)
    method = "parallel" if jax.local_device_count() >= chains else "sequential"
    mcmc = None

    def run(target, init_params, run_key, post_warmup_state=None):
        nonlocal mcmc
        if post_warmup_state is None:
            kernel = NUTS(
                numpyro_model,
                target_accept_prob=target,
                max_tree_depth=max_tree_depth,
                init_strategy=init_to_value(values=starts[0]),
                dense_mass=[tuple(block)] if dense_block else False,
                inverse_mass_matrix={tuple(block): block_inverse_mass},
            )
            mcmc = MCMC(
                kernel,
                num_warmup=warmup,
                num_samples=draws,
                num_chains=chains,
                chain_method=method,
                progress_bar=progress,
            )
        else:  # more draws from the adapted state: numpyro skips the warmup
            mcmc.post_warmup_state = post_warmup_state
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "There are not enough devices")
            mcmc.run(
                run_key,
                *model_args,
                extra_fields=("diverging", "num_steps"),
                init_params=init_params,
            )
        samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        fields = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
        return samples, fields, mcmc.last_state

    first_params = unconstrained_starts(starts)
    if until is None:
        samples, fields, state = run(target_accept_prob, first_params, key)
        rounds = None
    else:
        samples, fields, state, rounds = sample_until_converged(
            lambda: run(target_accept_prob, first_params, key),
            lambda state: run(None, None, state.rng_key, post_warmup_state=state),
            lambda state, target: run(target, state.z, jax.random.fold_in(key, 7)),
            until,
            warmup=warmup,
            draws=draws,
            target_accept_prob=target_accept_prob,
            leading=0,
        )
    adapted = state.adapt_state.inverse_mass_matrix[tuple(block)]
    adapted = np.asarray(adapted).reshape(-1, *np.shape(block_inverse_mass)).mean(axis=0)
    return samples, fields, adapted, rounds


def block_inverse_mass(numpyro_model, model_args, start: dict, sites) -> np.ndarray:
    """The inverse of the potential's Hessian in ``sites`` (unconstrained, in their order)
    at ``start`` (unconstrained values of every site), the other sites held: an initial
    dense inverse mass matrix for that block.  Directions the start sees as flat or convex
    get unit variance."""
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import potential_energy

    block = {k: jnp.asarray(start[k]) for k in sites}
    flat, unravel = ravel_pytree([block[k] for k in sites])
    rest = {k: v for k, v in start.items() if k not in block}

    def energy(vector):
        values = dict(zip(sites, unravel(vector), strict=True))
        return potential_energy(numpyro_model, model_args, {}, {**rest, **values})

    hessian = np.asarray(jax.jit(jax.hessian(energy))(flat))
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    values = np.where(np.isfinite(values) & (values > 1e-2), values, 1.0)
    return (vectors / values) @ vectors.T


def jittered_starts(start: dict, chains: int, seed: int) -> list[dict]:
    """``start`` for the first chain and jittered copies of it for the others, so that the
    chains start apart (R-hat can only see chains that could disagree): sds by a factor
    exp(N(0, 0.1)), whitened coordinates by N(0, 0.3), other values by N(0, 0.1)."""
    rng = np.random.default_rng(seed)
    starts = [start]
    for _ in range(chains - 1):
        jitter = {}
        for name, value in start.items():
            value = np.asarray(value)
            if name.startswith("sigma_"):
                jitter[name] = jnp.asarray(value * np.exp(rng.normal(0.0, 0.1, value.shape)))
            else:
                scale = 0.3 if name.endswith(WHITENED_SUFFIX) else 0.1
                jitter[name] = jnp.asarray(value + rng.normal(0.0, scale, value.shape))
        starts.append(jitter)
    return starts


def unconstrained_starts(starts: list[dict]) -> dict:
    """Per-chain starting values on NUTS's unconstrained scale (sds as logs), stacked
    over chains (one chain: as they are)."""
    unconstrained = [
        {k: jnp.log(v) if k.startswith("sigma_") else jnp.asarray(v) for k, v in s.items()}
        for s in starts
    ]
    if len(unconstrained) == 1:
        return unconstrained[0]
    return jax.tree.map(lambda *values: jnp.stack(values), *unconstrained)
