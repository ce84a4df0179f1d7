"""``design(study, out)``: the simulated studies as tasks on the job engine, then the
tables, figure and report.

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
import time
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.design.power import paradigm_study, trial_study
from valueint.design.study import Study
from valueint.design.summary import (
    median_crossing,
    plot_power,
    power_table,
    smallest_size,
    study_table,
    summary_markdown,
)
from valueint.jobs import JobReport, TaskStore, finished_only, run_tasks
from valueint.records import atomic_write, run_record, save_figure, write_json

COMMAND = "valueint design"
OUTPUTS = ("studies.csv", "power.csv", "power.png", "summary.md", "run.json")
# the pilot fit that truth = "posterior" draws from
PILOT_FIT = {"chains": 4, "warmup": 1000, "draws": 1000}


@dataclasses.dataclass(frozen=True)
class DesignResult:
    study: Study
    studies: pd.DataFrame
    power: pd.DataFrame
    answers: dict
    report: JobReport
    failures: tuple


def study_truths(study: Study) -> list[dict]:
    """The truth of every simulated study (see the module doc)."""
    if study.truth_from == "values":
        return [dict(study.truth_values)] * study.studies
    if study.level == "paradigm":
        return _paradigm_truths(study)
    return _trial_truths(study)


def _rng(study: Study, index: int) -> np.random.Generator:
    return np.random.default_rng([study.seed, index])


def _paradigm_truths(study: Study) -> list[dict]:
    from valueint.inference.parameters import constrain_value
    from valueint.paradigm.catalogue import get_paradigm_model

    model = get_paradigm_model(study.truth_model)
    if study.truth_from == "prior":
        truths = []
        for j in range(study.studies):
            rng = _rng(study, j)
            truths.append(
                {
                    p.name: float(constrain_value(p, rng.normal(p.prior_loc, p.prior_scale)))
                    for p in model.parameters
                }
            )
        return truths
    posterior = pilot_posterior(study)
    n_draws = len(next(iter(posterior.values())))
    picks = [int(_rng(study, j).integers(n_draws)) for j in range(study.studies)]
    return [{name: float(v[i]) for name, v in posterior.items()} for i in picks]


def pilot_posterior(study: Study) -> dict:
    """Posterior draws {parameter: [draw]} of the truth model fitted to the pilot counts."""
    import warnings

    from valueint.paradigm.catalogue import get_paradigm_model
    from valueint.paradigm.conditions import load_counts, paradigm_from_dict
    from valueint.paradigm.fit import fit_paradigm

    paradigm = paradigm_from_dict(study.paradigm, "paradigm of the study")
    counts = load_counts(study.pilot_counts, paradigm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_paradigm(paradigm, counts, study.truth_model, seed=study.seed, **PILOT_FIT)
    posterior = fit["posterior"].to_dataset().stack(sample=("chain", "draw"))
    names = get_paradigm_model(study.truth_model).parameter_names
    return {name: posterior[name].values for name in names}


def _trial_truths(study: Study) -> list[dict]:
    from valueint.trials.recovery import POPULATION_SD_FRACTION
    from valueint.trials.specs import get_spec

    spec = get_spec(study.truth_model)
    truths = []
    for j in range(study.studies):
        rng = _rng(study, j)
        truths.append(
            {
                p.name: [
                    float(rng.normal(p.prior_loc, p.prior_scale)),
                    POPULATION_SD_FRACTION * p.prior_scale,
                ]
                for p in spec.parameters
            }
        )
    return truths


def payloads(study: Study) -> list[dict]:
    truths = study_truths(study)
    common = {
        "truth_model": study.truth_model,
        "models": list(study.models),
        "fit": dict(study.fit),
        "weight": study.criteria.weight,
    }
    if study.level == "paradigm":
        common["paradigm"] = study.paradigm
    else:
        common["design"] = dict(study.socialization)
    return [
        {**common, "size": size, "study": j, "truth": truths[j]}
        for j in range(study.studies)
        for size in study.sizes
    ]


def design(
    study: Study,
    out,
    *,
    address=None,
    workers=None,
    progress=True,
    console=None,
    run=True,
) -> DesignResult:
    """Run (or resume) the simulated studies of ``study`` in ``out`` and write the
    tables, figure and report; ``run=False`` summarizes the finished studies only."""
    out = Path(out)
    start = time.perf_counter()
    n_tasks = study.studies * len(study.sizes)
    store = TaskStore(out, kind="design", config=study.identity(), seed=study.seed, n_tasks=n_tasks)
    if run:
        task = paradigm_study if study.level == "paradigm" else trial_study
        report = run_tasks(
            task,
            payloads(study),
            store,
            address=address,
            workers=workers,
            progress=progress,
            console=console,
            description=f"studies of {study.name}",
        )
    else:
        report = finished_only(store)
    results = store.results()
    if not results:
        raise RuntimeError(f"no simulated study has finished in {out}; run without --no-run")
    studies = study_table(results, study)
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
        studies_finished=len(results),
        answers=answers,
        engine=report.record(),
    )
    atomic_write(out / "summary.md", summary_markdown(study, power, answers, record))
    write_json(out / "run.json", record)
    return DesignResult(study, studies, power, answers, report, tuple(store.failures()))
