"""``valueint analyze trust-sampling-calibration``: parameter recovery and SBC of the
sampling models at the real design of ``trust_sampling_ma2022``.

Recovery: for each model, participants are drawn from the population a fit of the real
data found (its posterior-mean coefficients and sds;
``valueint.infosampling.simulation.population_from_fit``, read from ``--fits``) or else
from the priors, the real design (every participant's age, trials and reciprocation
levels) is played with them, the model is refitted as the analysis fits it, and each
quantity's estimates are scored against the truth (``valueint.workflows.recovery``: r,
slope, RMSE, interval coverage on the unconstrained scale; the prior's mean, strength and
sd included).  SBC: ``replications`` populations drawn from the priors, each played on
``subjects`` real participants spread over the ages and refitted; the ranks of the truths
(population intercepts and sds, the first participant's parameters) among thinned
posterior draws are tested for uniformity (``valueint.workflows.calibration``).  Both run
as tasks on the job engine, resumable in OUT.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd

from valueint.analyze.trust_sampling.settings import COMPARED_MODELS
from valueint.analyze.trust_sampling.settings import SAMPLER as ANALYSIS_SAMPLER
from valueint.inference.settings import SamplerSettings
from valueint.jobs import QUIET, Engine
from valueint.records import check_output_paths, run_record, write_csv, write_json

COMMAND = "valueint analyze trust-sampling-calibration"
# each replication's and each recovery's fit: the analysis's sampler, with shorter chains
SAMPLER = ANALYSIS_SAMPLER.replace(warmup=300, draws=300)


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    models: tuple[str, ...] = COMPARED_MODELS
    sampler: SamplerSettings = SAMPLER
    replications: int = 0
    subjects: int = 30
    rank_draws: int = 100
    seed: int = 0
    recovery: bool = True


def run_calibration(
    data_path,
    out,
    settings: CalibrationSettings,
    *,
    fits: dict | None = None,
    overwrite: bool = False,
    report=lambda m: None,
    engine: Engine = QUIET,
) -> dict:
    """Recovery and SBC (module docstring); writes recovery.csv, sbc_ranks.csv,
    sbc_summary.csv and run.json to ``out``."""
    from valueint.infosampling.data import load_trust_sampling
    from valueint.infosampling.simulation import population_from_fit
    from valueint.workflows.calibration import CalibrationJob, calibrate
    from valueint.workflows.recovery import recover_models

    out = Path(out)
    names = (
        ["run.json"]
        + (["recovery.csv"] if settings.recovery else [])
        + (["sbc_ranks.csv", "sbc_summary.csv"] if settings.replications else [])
    )
    check_output_paths([out / n for n in names], overwrite)
    start = time.perf_counter()
    data = load_trust_sampling(data_path)
    tables = {}
    if settings.recovery:
        populations = {
            m: population_from_fit(fits[m], data.subjects) if fits and m in fits else None
            for m in settings.models
        }
        results = recover_models(
            {f"infosampling:{m}": populations[m] for m in settings.models},
            size=data.n_subjects,
            seed=settings.seed,
            settings=settings.sampler,
            task={"data": data},
            out=out / "recovery",
            engine=engine,
        )
        rows = []
        for (model, population), table in zip(populations.items(), results, strict=True):
            rows.append(table.assign(model=model, population="fit" if population else "prior"))
        tables["recovery.csv"] = pd.concat(rows, ignore_index=True)
        report(
            tables["recovery.csv"][["model", "parameter", "pearson_r", "coverage"]]
            .round(2)
            .to_string(index=False)
        )
    if settings.replications:
        ranks, summaries = [], []
        for model in settings.models:
            job = CalibrationJob(
                f"infosampling:{model}",
                {"size": settings.subjects, "data": data},
                settings.sampler,
                settings.replications,
                settings.rank_draws,
                settings.seed,
            )
            result = calibrate(job, out / "sbc" / model, engine=engine)
            ranks.append(result.ranks)
            summaries.append(result.summary)
        tables["sbc_ranks.csv"] = pd.concat(ranks, ignore_index=True)
        tables["sbc_summary.csv"] = pd.concat(summaries, ignore_index=True)
        report(tables["sbc_summary.csv"].to_string(index=False))
    for name, table in tables.items():
        write_csv(out / name, table)
    write_json(
        out / "run.json",
        run_record(
            command=COMMAND,
            config=dataclasses.asdict(settings),
            seeds=[settings.seed],
            wall_time_s=time.perf_counter() - start,
            data={"source": data.report.source},
        ),
    )
    return tables
