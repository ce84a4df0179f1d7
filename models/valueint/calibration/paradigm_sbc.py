"""One SBC replication of a count-level paradigm model: prior, simulated counts, fit, rank.

The truth and the counts are drawn together from ``valueint.paradigm.fit``'s
numpyro model with the counts left unobserved (its prior predictive), on the paradigm's
conditions with ``children`` per condition, and refitted with ``fit_paradigm``.  Ranked
quantities: every parameter, and ``loglik``, the counts' log-likelihood (one Bernoulli
term per child, as in the fit's ``log_likelihood`` group).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from valueint.calibration.ranks import replication_result
from valueint.paradigm.catalogue import design_arrays, get_paradigm_model
from valueint.paradigm.conditions import Counts, paradigm_from_dict
from valueint.paradigm.fit import fit_paradigm, numpyro_model

# importance draws for the fit's marginal likelihood, which SBC does not use
EVIDENCE_SAMPLES = 500


def bernoulli_loglik(p, n, k) -> np.ndarray:
    """sum over conditions of k log p + (n - k) log(1 - p), for p [..., condition]."""
    p = np.asarray(p, float)
    return np.sum(k * np.log(p) + (n - k) * np.log1p(-p), axis=-1)


def paradigm_replication(payload: dict, seed: int) -> dict:
    """Run one replication; ``payload`` holds ``model``, ``paradigm`` (the paradigm's TOML
    as a dict), ``children`` per condition, ``chains``, ``warmup``, ``draws``, ``rank_draws``."""
    numpyro.enable_x64()
    model = get_paradigm_model(payload["model"])
    paradigm = paradigm_from_dict(payload["paradigm"], "paradigm of the calibration job")
    design = design_arrays(paradigm)
    n = np.full(len(paradigm.condition_names), int(payload["children"]))
    seeded = numpyro.handlers.seed(numpyro_model, jax.random.key(seed))
    trace = numpyro.handlers.trace(seeded).get_trace(model, design, jnp.asarray(n))
    k = np.asarray(trace["k"]["value"]).round().astype(int)
    counts = Counts(paradigm.condition_names, n, k)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = fit_paradigm(
            paradigm,
            counts,
            model,
            chains=payload["chains"],
            warmup=payload["warmup"],
            draws=payload["draws"],
            seed=seed,
            evidence_samples=EVIDENCE_SAMPLES,
        )
    posterior = idata["posterior"].to_dataset()
    quantities = {
        name: (float(trace[name]["value"]), posterior[name].values)
        for name in model.parameter_names
    }
    quantities["loglik"] = (
        float(bernoulli_loglik(trace["p"]["value"], n, k)),
        bernoulli_loglik(posterior["p"].values, n, k),
    )
    result = replication_result(model.name, quantities, payload["rank_draws"], idata, caught)
    return {**result, "counts": k.tolist()}
