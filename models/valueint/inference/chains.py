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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import NUTS, init_to_median, init_to_value

from valueint.inference.progress import progress_bar, report_progress
from valueint.inference.reparam import reparameterized, whitened
from valueint.inference.whitening import LikelihoodApproximation

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


def run_chains(
    program: ChainProgram,
    key,
    *,
    chains: int,
    model_args,
    arrays=None,
    start=None,
    progress: bool = False,
):
    """Run ``chains`` chains of ``program``: (samples {site: [chain, iteration, ...]} over
    warmup and draws, fields {name: [chain, iteration]}, chain method), as NumPy arrays.

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
    total = chains * (program.warmup + program.draws)
    with progress_bar(progress, total, "NUTS (warmup, then draws)") as token:
        if parallel:
            samples, fields = _parallel_chains(program, token, keys, per_chain, shared)
        else:
            samples, fields = _sequential_chains(program, token, keys, per_chain, shared)
        samples = {name: np.asarray(value) for name, value in samples.items()}
        fields = {name: np.asarray(value) for name, value in fields.items()}
    return samples, fields, "parallel" if parallel else "sequential"


def _one_chain(program: ChainProgram, token, key, chain_start, shared):
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
    state = kernel.init(key, program.warmup, chain_start, model_args, {})
    constrain = kernel.postprocess_fn(model_args, {})
    total = program.warmup + program.draws

    def step(state, iteration):
        state = kernel.sample(state, model_args, {})
        report_progress(token, iteration, total)
        fields = {name: getattr(state, name) for name in FIELDS}
        return state, (state.z, fields)

    _, (z, fields) = jax.lax.scan(step, state, jnp.arange(total))
    # deterministic sites (the natural-scale parameters, the whitened model's theta) from
    # the unconstrained draws, in batches to bound the memory of the model's trial loop
    values = jax.lax.map(constrain, z, batch_size=min(total, 64))
    return {name: values[name] for name in program.sites}, fields


@functools.partial(jax.pmap, in_axes=(None, None, 0, 0, None), static_broadcasted_argnums=(0,))
def _parallel_chains(program, token, keys, per_chain, shared):
    return _one_chain(program, token, keys, per_chain, shared)


@functools.partial(jax.jit, static_argnums=(0,))
def _sequential_chains(program, token, keys, per_chain, shared):
    return jax.lax.map(lambda pair: _one_chain(program, token, *pair, shared), (keys, per_chain))
