"""``design(study, out)``: the power of a study design, by simulation, for the models of
any family.

For each candidate size, ``study.studies`` data sets are simulated from the truth model
and every model of the study is fitted to each, as tasks of ``valueint.jobs.run_job``.
A task (``study_task``) gets its study's truth and size in its payload and its seed from
the job; it draws the design and the subjects with the seed, simulates the data with seed
+ 1 (``ModelFamily.task_design``, ``draw_subjects``, ``simulate``), fits every model
(``ModelFamily.fit``) and compares them (``ModelFamily.compare``: PSIS-LOO, with the
paradigm models' Bayes factors), and returns whether the truth model ranks first, its lead
over the best other model and that lead's standard error, the 95% interval and sd of the
internalization weight in the truth model's fit (``ModelFamily.population_draws``), and
the fits' convergence messages (a study whose fits did not converge is counted, and
flagged).

Writes in ``out``:

    studies.csv   one row per simulated study: size, seed, winner, lead and its se,
                  the weight's interval and sd, convergence, the truth it was drawn from
    power.csv     per size: every rate with its 95% Monte Carlo interval, the weight's
                  expected posterior sd, the median lead in se
    power.png     the rates and the expected sd against size
    summary.md    the design, the table and the answers
    run.json      the study, seeds, versions, wall time and what the engine did

Task i is simulated study ``i // len(sizes)`` at size ``sizes[i % len(sizes)]``, so a
rerun with more ``studies`` keeps every finished task; each study's truth is drawn from
the study seed and its index alone, and is the same at every size (common random
numbers: the curves against size are smoother than independent draws would make them).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.inference.diagnostics import FitWarning
from valueint.inference.family import FAMILIES, fit_in_task
from valueint.inference.settings import SamplerSettings
from valueint.jobs import Engine, JobReport, JobSpec, run_job
from valueint.records import atomic_write, run_record, save_figure, write_json
from valueint.workflows.power_study import PowerStudy
from valueint.workflows.power_summary import (
    median_crossing,
    plot_power,
    power_markdown,
    power_table,
    smallest_size,
    study_table,
)

COMMAND = "valueint design"
OUTPUTS = ("studies.csv", "power.csv", "power.png", "summary.md", "run.json")
# the pilot fit that truth = "posterior" draws from
PILOT_FIT = {"chains": 4, "warmup": 1000, "draws": 1000}
WEIGHT_INTERVAL = (0.025, 0.975)
# importance draws of a paradigm fit's marginal likelihood (its Bayes factor is reported)
STUDY_EVIDENCE_SAMPLES = 2000


@dataclasses.dataclass(frozen=True)
class DesignResult:
    study: PowerStudy
    studies: pd.DataFrame
    power: pd.DataFrame
    answers: dict
    report: JobReport
    failures: tuple


# --------------------------------------------------------------------------- one study


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


def study_task(payload: dict, seed: int) -> dict:
    """One simulated study (a job task): the truth model's data at ``payload["size"]``,
    every model fitted and compared, the criteria's raw numbers returned."""
    import numpyro

    numpyro.enable_x64()
    family = FAMILIES.get(payload["family"])
    truth_model = payload["truth_model"]
    design = family.task_design(
        truth_model, size=int(payload["size"]), seed=seed, **payload["task"]
    )
    truth = family.draw_subjects(truth_model, design, seed, payload["truth"])
    data = family.simulate(truth_model, design, truth, seed + 1)
    settings = SamplerSettings.from_dict(payload["sampler"], family.default_settings)
    fits, messages = {}, {}
    for name in payload["models"]:
        options = {**family.fit_options(design, name), **payload["fit_options"]}
        fits[name], caught = fit_in_task(family, data, name, settings, seed=seed, **options)
        messages[name] = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bad Pareto k are in the table
        table = family.compare(fits)
    lead, lead_se, rival = truth_lead(table, truth_model)
    result = {
        "size": int(payload["size"]),
        "study": int(payload["study"]),
        "truth": dict(payload["truth"]),
        "winner": str(table["elpd"].idxmax()),
        "lead": lead,
        "lead_se": lead_se,
        "rival": rival,
        "elpd": {str(name): float(v) for name, v in table["elpd"].items()},
        "fit_messages": {name: list(m) for name, m in messages.items() if m},
        **weight_summary(family.population_draws(fits[truth_model], payload["weight"])),
    }
    if "log10_bf" in table:
        bayes = table["log10_bf"]
        log10_bf = float(bayes[truth_model] - bayes.drop(index=truth_model).max())
        result["log10_bf"] = log10_bf if math.isfinite(log10_bf) else None
    return result


# --------------------------------------------------------------------------- the truths


def study_truths(study: PowerStudy) -> list[dict]:
    """The truth of every simulated study: the stated values, draws from the prior
    (``ModelFamily.draw_population``), or draws from the posterior of the truth model
    fitted to the pilot data."""
    if study.truth_from == "values":
        return [dict(study.truth_values)] * study.studies
    family = FAMILIES.get(study.family)
    if study.truth_from == "prior":
        return [
            family.draw_population(study.truth_model, _rng(study, j)) for j in range(study.studies)
        ]
    posterior = pilot_posterior(study)
    n_draws = len(next(iter(posterior.values())))
    picks = [int(_rng(study, j).integers(n_draws)) for j in range(study.studies)]
    return [{name: float(v[i]) for name, v in posterior.items()} for i in picks]


def _rng(study: PowerStudy, index: int) -> np.random.Generator:
    return np.random.default_rng([study.seed, index])


def pilot_posterior(study: PowerStudy) -> dict:
    """Posterior draws {parameter: [draw]} of the truth model fitted to the pilot data."""
    family = FAMILIES.get(study.family)
    data = family.load(study.pilot_counts, **study.task_options())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = family.fit(data, study.truth_model, PILOT_FIT, seed=study.seed)
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    names = [p.name for p in family.parameters(study.truth_model)]
    return {name: posterior[name].values for name in names}


def payloads(study: PowerStudy) -> list[dict]:
    truths = study_truths(study)
    fit = dict(study.fit)
    options = {"evidence_samples": STUDY_EVIDENCE_SAMPLES} if study.family == "paradigm" else {}
    common = {
        "family": study.family,
        "truth_model": study.truth_model,
        "models": list(study.models),
        "sampler": FAMILIES.get(study.family).default_settings.replace(**fit).as_dict(),
        "fit_options": options,
        "task": study.task_options(),
        "weight": study.criteria.weight,
    }
    return [
        {**common, "size": size, "study": j, "truth": truths[j]}
        for j in range(study.studies)
        for size in study.sizes
    ]


# --------------------------------------------------------------------------- the job


def design(
    study: PowerStudy, out, *, engine: Engine | None = None, run: bool = True
) -> DesignResult:
    """Run (or resume) the simulated studies of ``study`` in ``out`` and write the
    tables, figure and report; ``run=False`` summarizes the finished studies only.  A job
    with failed studies raises ``valueint.jobs.JobIncomplete`` (rerun to retry)."""
    out = Path(out)
    start = time.perf_counter()
    spec = JobSpec("design", study.identity(), study.seed, f"studies of {study.name}")
    outcome = run_job(study_task, payloads(study), out, spec, engine=engine, run=run)
    if not outcome.results:
        raise RuntimeError(f"no simulated study has finished in {out}; run without --no-run")
    studies = study_table(outcome.results, study)
    power = power_table(studies)
    criteria = study.criteria
    answers = {
        rate: smallest_size(power, rate, criteria.power)
        for rate in ("win_rate", "lead_rate", "weight_rate")
    }
    answers["median_lead_crossing"] = median_crossing(power, criteria.lead_se)
    atomic_write(out / "studies.csv", studies.to_csv(index=False))
    atomic_write(out / "power.csv", power.to_csv(index=False))
    save_figure(plot_power(power, study), out / "power.png")
    record = run_record(
        command=f"{COMMAND} {study.source}",
        config={**study.identity(), "studies": study.studies},
        seeds=[study.seed],
        wall_time_s=time.perf_counter() - start,
        studies_finished=len(outcome.results),
        answers=answers,
        engine=outcome.report.record(),
    )
    atomic_write(out / "summary.md", power_markdown(study, power, answers, record))
    write_json(out / "run.json", record)
    return DesignResult(study, studies, power, answers, outcome.report, outcome.failures)
