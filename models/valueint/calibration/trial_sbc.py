"""One SBC replication of a trial-level model: draw from the prior, simulate, fit, rank.

The truth is drawn from the hierarchical model exactly as ``fit`` states it
(``valueint.trials.population.hierarchical_model``, traced under a seed, so there is one
definition of the prior): population means and sds, then each subject's parameters.
Choices are simulated on the stated design and refitted with ``fit``, the function users
call, with its default sampler settings; only chains, warmup and draws are set here.

Ranked quantities, each the count of thinned posterior draws below the truth:
``mu_<p>`` and ``sigma_<p>`` (the population), ``<p>[0]`` (the first subject; every
subject is exchangeable, and one per replication keeps the ranks independent), and
``loglik``, the data's log-likelihood, a test quantity that depends on the data and so
also catches errors that leave every parameter's margin uniform (Modrak et al., 2023).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from valueint.calibration.ranks import replication_result
from valueint.inference.reparam import SUBJECT_SITE
from valueint.trials.catalogue import ISR_MODELS
from valueint.trials.fit import fit
from valueint.trials.fit_data import FitData
from valueint.trials.population import hierarchical_model, subject_loglik
from valueint.trials.recovery import design_options, make_design, simulate_data
from valueint.trials.socialization import SocializationDesign
from valueint.trials.specs import CONTEXTS, get_spec


def task_design(model: str, trials: int):
    """The task a model is calibrated on: the socialization design (watched, then alone)
    for the ISR models, which read praise and presence; the recipient-block design of
    ``make_design`` for the others.  ``trials`` per subject, in blocks of 16."""
    if model in ISR_MODELS:
        if trials % 16:
            raise ValueError(f"trials must be a multiple of 16; got {trials}")
        return SocializationDesign(n_blocks=trials // 16, n_trials=16)
    return None


def prior_draw(spec, options, arrays, seed: int) -> dict[str, np.ndarray]:
    """Every site of the hierarchical model drawn from its prior (intercept-only
    population): ``mu_<p>``, ``sigma_<p>`` and the subject parameters ``<p>`` [subject]."""
    n_subjects = np.shape(arrays.choice)[0]
    design = [jnp.ones((n_subjects, 1)) for _ in spec.parameters]
    model = numpyro.handlers.seed(hierarchical_model, jax.random.key(seed))
    trace = numpyro.handlers.trace(model).get_trace(
        spec, options, jax.tree.map(jnp.asarray, arrays), design
    )
    names = [*spec.parameter_names]
    names += [f"{kind}_{p}" for p in spec.parameter_names for kind in ("mu", "sigma")]
    draw = {name: np.asarray(trace[name]["value"]) for name in names}
    draw[SUBJECT_SITE] = np.asarray(trace[SUBJECT_SITE]["value"])
    return draw


def total_loglik(spec, options, arrays, params: dict) -> float:
    """The data's summed log-likelihood under subject parameters {name: [subject]}."""
    arrays = jax.tree.map(jnp.asarray, arrays)
    params = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
    loglik = subject_loglik(spec, options)(params, arrays)
    return float(jnp.sum(jnp.where(arrays.mask, loglik, 0.0)))


def trial_replication(payload: dict, seed: int) -> dict:
    """Run one replication; ``payload`` holds ``model``, ``subjects``, ``trials``,
    ``chains``, ``warmup``, ``draws``, ``target_accept_prob`` and ``rank_draws`` (draws the ranks are taken among)."""
    numpyro.enable_x64()
    spec = get_spec(payload["model"])
    design = task_design(spec.name, payload["trials"])
    options = design_options(spec, design, None)
    n_subjects = payload["subjects"]
    if design is None:
        arrays = make_design(n_subjects, payload["trials"], seed)
    else:
        arrays = design.arrays(n_subjects, seed)
    truth = prior_draw(spec, options, arrays, seed)
    subject_params = {p: truth[p] for p in spec.parameter_names}
    arrays = simulate_data(spec, subject_params, arrays, seed + 1, options)
    if design is not None:
        arrays = design.feedback(spec.name, arrays, seed + 2)
    subject_ids = tuple(f"sim{s:03d}" for s in range(n_subjects))
    data = FitData(arrays, subject_ids, (), CONTEXTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = fit(
            data,
            spec,
            chains=payload["chains"],
            warmup=payload["warmup"],
            draws=payload["draws"],
            seed=seed,
            options=options,
            target_accept_prob=payload["target_accept_prob"],
            progress=False,
            predictive_draws=1,
        )
    posterior = idata["posterior"].to_dataset()
    quantities = {}
    for p in spec.parameter_names:
        for name in (f"mu_{p}", f"sigma_{p}"):
            quantities[name] = (float(truth[name]), posterior[name].values)
        quantities[f"{p}[0]"] = (float(truth[p][0]), posterior[p].values[..., 0])
    loglik_draws = idata["log_likelihood"]["choice"].values.sum(axis=-1)
    quantities["loglik"] = (total_loglik(spec, options, arrays, subject_params), loglik_draws)
    return replication_result(spec.name, quantities, payload["rank_draws"], idata, caught)
