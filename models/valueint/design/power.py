"""One simulated study: data drawn from the truth, every model fitted, the criteria scored.

``paradigm_study`` and ``trial_study`` are tasks of the job engine (``valueint.jobs``):
each gets its study's truth and size in its payload and its seed from the job, and
returns what ``valueint.design.summary`` aggregates: whether the truth model ranks first
by PSIS-LOO, its lead over the best other model and that lead's standard error, the 95%
interval and sd of the internalization weight in the truth model's fit, and the fits'
convergence messages (a study whose fits did not converge is counted, and flagged).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

WEIGHT_INTERVAL = (0.025, 0.975)
# importance draws for the paradigm fits' marginal likelihood (the log10 Bayes factor)
EVIDENCE_SAMPLES = 2000


def truth_lead(table: pd.DataFrame, truth: str) -> tuple[float, float, str]:
    """The truth model's elpd lead over the best other model, the se of that paired
    difference, and that model's name, from a comparison table (best first)."""
    others = table.drop(index=truth)
    rival = others["elpd"].idxmax()
    lead = float(table.loc[truth, "elpd"] - table.loc[rival, "elpd"])
    # compare's dse is relative to the best model: the rival's row when the truth leads,
    # the truth's row when the rival does
    se = float(table.loc[rival if lead >= 0 else truth, "dse"])
    return lead, se, str(rival)


def weight_summary(draws: np.ndarray) -> dict:
    draws = np.asarray(draws, float).ravel()
    low, high = np.quantile(draws, WEIGHT_INTERVAL)
    return {
        "weight_low": float(low),
        "weight_high": float(high),
        "weight_mean": float(draws.mean()),
        "weight_sd": float(draws.std(ddof=1)),
    }


def paradigm_study(payload: dict, seed: int) -> dict:
    """Simulate counts at ``payload["size"]`` children per condition from the truth
    parameters (natural scale), fit every model with NUTS, compare by PSIS-LOO."""
    import jax
    import numpyro

    from valueint.paradigm.catalogue import design_arrays, get_paradigm_model
    from valueint.paradigm.conditions import Counts, paradigm_from_dict
    from valueint.paradigm.fit import ParadigmFitWarning, compare_paradigm, fit_paradigm

    numpyro.enable_x64()
    paradigm = paradigm_from_dict(payload["paradigm"], "paradigm of the study")
    truth = get_paradigm_model(payload["truth_model"])
    design = design_arrays(paradigm)
    n = np.full(len(paradigm.condition_names), int(payload["size"]))
    params = {name: float(v) for name, v in payload["truth"].items()}
    k = np.asarray(truth.simulate(params, design, n, jax.random.key(seed))).round().astype(int)
    counts = Counts(paradigm.condition_names, n, k)
    fit = payload["fit"]
    fits, messages = {}, {}
    for name in payload["models"]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # the fit warns its diagnostics: keep them
            fits[name] = fit_paradigm(
                paradigm,
                counts,
                name,
                chains=fit["chains"],
                warmup=fit["warmup"],
                draws=fit["draws"],
                seed=seed,
                evidence_samples=EVIDENCE_SAMPLES,
            )
        messages[name] = _messages(caught, ParadigmFitWarning)
    table = compare_paradigm(fits)
    lead, lead_se, rival = truth_lead(table, truth.name)
    weight = fits[truth.name]["posterior"][payload["weight"]].values
    bayes = table["log10_bf"]
    log10_bf = float(bayes[truth.name] - bayes.drop(index=truth.name).max())
    return {
        **_common(payload, table, lead, lead_se, rival, messages),
        **weight_summary(weight),
        "log10_bf": log10_bf if math.isfinite(log10_bf) else None,
        "counts": k.tolist(),
    }


def trial_study(payload: dict, seed: int) -> dict:
    """Simulate ``payload["size"]`` participants on the socialization design from the
    truth population (unconstrained means and sds), fit every model, compare by PSIS-LOO
    (one trial left out)."""
    from valueint.inference.comparison import compare
    from valueint.trials.fit import FitWarning
    from valueint.trials.fit import fit as fit_trials
    from valueint.trials.recovery import synthetic_data
    from valueint.trials.socialization import SocializationDesign

    design = SocializationDesign(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in payload["design"].items()}
    )
    population = {name: tuple(v) for name, v in payload["truth"].items()}
    data, _ = synthetic_data(
        payload["truth_model"], int(payload["size"]), None, seed, population, design=design
    )
    settings = dict(payload["fit"])
    method = settings.pop("method")
    if method == "svi":
        settings = {"draws": settings["draws"], "svi_steps": settings["svi_steps"]}
    else:
        settings.pop("svi_steps", None)
    fits, messages = {}, {}
    for name in payload["models"]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits[name] = fit_trials(
                data,
                name,
                method=method,
                seed=seed,
                options=design.options(name),
                progress=False,
                **settings,
            )
        messages[name] = _messages(caught, FitWarning) if method == "nuts" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare(fits, ic="loo", by="trial")
    lead, lead_se, rival = truth_lead(table, payload["truth_model"])
    weight = fits[payload["truth_model"]]["posterior"][f"mu_{payload['weight']}"].values
    return {
        **_common(payload, table, lead, lead_se, rival, messages),
        **weight_summary(weight),
    }


def _messages(caught, category) -> list[str]:
    """The messages of the warnings of ``category`` among ``caught``: a fit's diagnostics,
    which it warns once each."""
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def _common(payload, table, lead, lead_se, rival, messages) -> dict:
    return {
        "size": int(payload["size"]),
        "study": int(payload["study"]),
        "truth": dict(payload["truth"]),
        "winner": str(table["elpd"].idxmax()),
        "lead": lead,
        "lead_se": lead_se,
        "rival": rival,
        "elpd": {str(name): float(v) for name, v in table["elpd"].items()},
        "fit_messages": {name: list(m) for name, m in messages.items() if m},
    }
