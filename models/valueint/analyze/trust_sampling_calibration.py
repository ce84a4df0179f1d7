"""``valueint analyze trust-sampling-calibration``: parameter recovery and SBC of the
sampling models at the real design of ``trust_sampling_ma2022``.

Recovery: for each model, participants are drawn from the population a fit of the real
data found (its posterior-mean coefficients and sds; ``recovery.population_from_fit``,
read from ``--fits``) or else from the priors, the real design (every participant's age,
trials and reciprocation levels) is played with them, the model is refitted as the
analysis fits it, and each parameter's estimates are scored against the truth
(``recovery.score_recovery``: r, slope, interval coverage; the prior's mean, strength and
sd included).  SBC: ``replications`` populations drawn from the priors, each played on
``subjects`` real participants spread over the ages and refitted; the ranks of the truths
(population intercepts and sds, the first participant's parameters) among thinned
posterior draws are tested for uniformity (``valueint.calibration.ranks``).  Both run as
tasks on the job engine, resumable in OUT.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from valueint.records import check_output_paths, run_record, write_csv, write_json

COMMAND = "valueint analyze trust-sampling-calibration"


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    models: tuple[str, ...] = ("fixed_evidence", "sample_cost", "uncertainty", "confidence")
    chains: int = 2
    warmup: int = 300
    draws: int = 300
    pilot_warmup: int = 100
    pilot_draws: int = 50
    replications: int = 0
    subjects: int = 30
    rank_draws: int = 100
    seed: int = 0
    recovery: bool = True
    workers: int | None = None
    address: str | None = None

    def fit_arguments(self) -> dict:
        return {
            "chains": self.chains,
            "warmup": self.warmup,
            "draws": self.draws,
            "pilot_warmup": self.pilot_warmup,
            "pilot_draws": self.pilot_draws,
        }


def recovery_task(payload: dict, seed: int) -> dict:
    """One model's recovery at the real design (a job task)."""
    from valueint.infosampling.recovery import recover

    scores, fit, _ = recover(
        payload["model"],
        payload["data"],
        population=payload["population"],
        seed=seed,
        fit_arguments=payload["fit_arguments"],
    )
    from valueint.inference.diagnostics import diagnostics

    check = diagnostics(fit)
    return {
        "scores": scores.to_dict(orient="list"),
        "max_rhat": check.max_rhat,
        "min_ess_bulk": check.min_ess_bulk,
        "divergences": check.n_divergent,
    }


def run_calibration(
    data_path,
    out,
    settings: CalibrationSettings,
    *,
    fits: dict | None = None,
    overwrite: bool = False,
    report=lambda m: None,
    progress: bool = False,
) -> dict:
    """Recovery and SBC (module docstring); writes recovery.csv, sbc_ranks.csv,
    sbc_summary.csv and run.json to ``out``."""
    import time

    from valueint.analyze.trust_sampling import spread_subjects
    from valueint.calibration.ranks import rank_table, summarize_ranks
    from valueint.infosampling.data import load_trust_sampling
    from valueint.infosampling.recovery import population_from_fit, sbc_replication
    from valueint.jobs.engine import run_tasks
    from valueint.jobs.store import TaskStore

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
        payloads = [
            {
                "model": m,
                "data": data,
                "population": populations[m],
                "fit_arguments": settings.fit_arguments(),
            }
            for m in settings.models
        ]
        store = TaskStore(
            out / "recovery",
            kind="infosampling_recovery",
            config={
                "models": list(settings.models),
                "fit_arguments": settings.fit_arguments(),
                "population": {m: "fit" if populations[m] else "prior" for m in settings.models},
            },
            seed=settings.seed,
            n_tasks=len(payloads),
        )
        run_tasks(
            recovery_task,
            payloads,
            store,
            address=settings.address,
            workers=settings.workers,
            progress=progress,
            description="recovery fits",
        )
        rows = []
        for result in store.results():
            frame = pd.DataFrame(result["scores"])
            frame["population"] = "fit" if populations[frame.model.iloc[0]] else "prior"
            frame["fit_max_rhat"], frame["fit_min_ess_bulk"], frame["fit_divergences"] = (
                result["max_rhat"],
                result["min_ess_bulk"],
                result["divergences"],
            )
            rows.append(frame)
        tables["recovery.csv"] = pd.concat(rows, ignore_index=True)
        report(
            tables["recovery.csv"][["model", "parameter", "r", "coverage"]]
            .round(2)
            .to_string(index=False)
        )
    if settings.replications:
        design = spread_subjects(data, settings.subjects)
        payloads = [
            {
                "model": m,
                "data": design,
                "fit_arguments": settings.fit_arguments(),
                "rank_draws": settings.rank_draws,
            }
            for m in settings.models
            for _ in range(settings.replications)
        ]
        store = TaskStore(
            out / "sbc",
            kind="infosampling_sbc",
            config={
                "models": list(settings.models),
                "replications": settings.replications,
                "subjects": settings.subjects,
                "fit_arguments": settings.fit_arguments(),
                "rank_draws": settings.rank_draws,
            },
            seed=settings.seed,
            n_tasks=len(payloads),
        )
        run_tasks(
            sbc_replication,
            payloads,
            store,
            address=settings.address,
            workers=settings.workers,
            progress=progress,
            description="SBC fits",
        )
        ranks = rank_table(store.results())
        tables["sbc_ranks.csv"] = ranks
        tables["sbc_summary.csv"] = summarize_ranks(ranks, settings.seed)
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
