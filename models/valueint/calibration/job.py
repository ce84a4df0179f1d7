"""An SBC job for one model, and for every shipped model: tasks, tables, figures.

``calibrate(job, out)`` runs ``job.replications`` replications of one model as tasks of
``valueint.jobs`` (resumable in ``out``; seeds from the job's seed and the replication's
index), then writes from every finished replication:

    ranks.csv      one row per replication and quantity (rank, truth, seed, fit diagnostics)
    summary.csv    per quantity: the simultaneous-band check and the POT-C p-value
    ecdf.png       the ECDF-difference plot
    run.json       the job, versions, wall time and what the engine did

``calibrate_all`` does so for every shipped trial-level and paradigm model under
``out/<level>-<model>/`` and adds ``summary.csv``, ``overview.png`` and ``summary.md``.

Why not simuk.  simuk runs the replications itself, one after another in one process,
each with its own ``numpyro.infer.MCMC`` on a kernel it is given.  valueint needs each
replication to be a task of the distributed engine (resumable, on a cluster), and each
fit to be ``valueint.trials.fit`` / ``fit_paradigm`` as users call them (warm starts,
whitening or learned centeredness, their diagnostics), not a bare kernel.  What simuk
would hand on to, the ECDF band and the uniformity test, comes from arviz-stats here too.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd

from valueint.calibration.designs import PARADIGM_DESIGN, RANK_DRAWS, REPLICATIONS, TRIAL_DESIGN
from valueint.calibration.figures import plot_ecdf_differences, plot_overview
from valueint.calibration.paradigm_sbc import paradigm_replication
from valueint.calibration.ranks import BAND_PROB, rank_table, summarize_ranks
from valueint.calibration.trial_sbc import trial_replication
from valueint.jobs import TaskStore, finished_only, run_tasks
from valueint.records import atomic_write, run_record, save_figure, write_json

LEVELS = ("trial", "paradigm")
COMMAND = "valueint calibrate"


def models_at(level: str) -> tuple[str, ...]:
    if level == "trial":
        from valueint.trials.specs import registered

        return registered()
    from valueint.paradigm.catalogue import PARADIGM_MODELS

    return PARADIGM_MODELS.names()


def resolve_level(model: str, level: str | None) -> str:
    """The level ``model`` is calibrated at: ``level`` if given, else the one registry
    that knows the name; a name known to both needs ``level``."""
    known = [lv for lv in LEVELS if model in models_at(lv)]
    if level is not None:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
        if level not in known:
            raise ValueError(
                f"no {level}-level model called {model!r}; the {level}-level models are "
                f"{', '.join(models_at(level))}"
            )
        return level
    if not known:
        raise ValueError(
            f"unknown model {model!r}; trial-level: {', '.join(models_at('trial'))}; "
            f"paradigm-level: {', '.join(models_at('paradigm'))}"
        )
    if len(known) > 1:
        raise ValueError(
            f"{model!r} names a trial-level and a paradigm-level model; pass --level trial "
            "or --level paradigm"
        )
    return known[0]


@dataclasses.dataclass(frozen=True)
class CalibrationJob:
    """SBC of one model: ``replications`` fits at ``design`` (the level's defaults,
    updated with the given keys; a paradigm job's design must hold ``paradigm``, the
    paradigm's TOML as a dict)."""

    model: str
    level: str
    design: dict
    replications: int = REPLICATIONS
    rank_draws: int = RANK_DRAWS
    seed: int = 0

    def __post_init__(self):
        defaults = TRIAL_DESIGN if self.level == "trial" else PARADIGM_DESIGN
        unknown = sorted(set(self.design) - set(defaults) - {"paradigm"})
        if unknown:
            raise ValueError(
                f"unknown design setting(s) {', '.join(unknown)} for a {self.level}-level "
                f"model; its settings are {', '.join(defaults)}"
            )
        design = {**defaults, **self.design}
        if self.level == "paradigm" and "paradigm" not in design:
            raise ValueError("a paradigm-level job needs the paradigm (design['paradigm'])")
        for name, value in design.items():
            if name == "target_accept_prob":
                if not 0 < value < 1:
                    raise ValueError(f"target_accept_prob must lie in (0, 1); got {value!r}")
            elif name != "paradigm" and (int(value) != value or value < 1):
                raise ValueError(f"design setting {name} must be a positive integer; got {value!r}")
        if design["chains"] * design["draws"] < self.rank_draws:
            raise ValueError(
                f"{design['chains']} chains x {design['draws']} draws are fewer than the "
                f"{self.rank_draws} draws ranks are taken among"
            )
        for name in ("replications", "rank_draws"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)!r}")
        object.__setattr__(self, "design", design)

    def payload(self) -> dict:
        return {"model": self.model, **self.design, "rank_draws": self.rank_draws}

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self) -> dict:
        """What makes two runs the same job: everything but the number of replications,
        which may grow (replication i's seed depends on i alone)."""
        return {k: v for k, v in self.as_dict().items() if k != "replications"}

    @property
    def task(self):
        return trial_replication if self.level == "trial" else paradigm_replication

    def stated_design(self) -> str:
        d = self.design
        fit = f"{d['chains']} chains x ({d['warmup']} warmup + {d['draws']} draws)"
        if self.level == "trial":
            return f"{d['subjects']} subjects x {d['trials']} trials; {fit}"
        return f"{d['children']} children per condition of {d['paradigm'].get('name')}; {fit}"


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    job: CalibrationJob
    ranks: pd.DataFrame
    summary: pd.DataFrame
    report: object  # valueint.jobs.JobReport
    failures: tuple[dict, ...]

    @property
    def passes(self) -> bool:
        return bool(len(self.summary)) and bool(self.summary["passes"].all())


def fit_health(ranks: pd.DataFrame) -> dict:
    """Shares of replications whose fit had divergences, R-hat > 1.01 or bulk ESS < 100."""
    one = ranks.drop_duplicates("replication")
    return {
        "with_divergences": float((one["divergences"] > 0).mean()),
        "rhat_above_1.01": float((one["max_rhat"] > 1.01).mean()),
        "ess_bulk_below_100": float((one["min_ess_bulk"] < 100).mean()),
    }


def calibrate(
    job: CalibrationJob,
    out,
    *,
    address=None,
    workers=None,
    progress=True,
    console=None,
    run=True,
) -> CalibrationResult:
    """Run (or resume) ``job`` in the folder ``out`` and write its tables and figure;
    ``run=False`` runs nothing and summarizes the replications already finished."""
    out = Path(out)
    start = time.perf_counter()
    store = TaskStore(
        out, kind="sbc", config=job.identity(), seed=job.seed, n_tasks=job.replications
    )
    if run:
        report = run_tasks(
            job.task,
            [job.payload()] * job.replications,
            store,
            address=address,
            workers=workers,
            progress=progress,
            console=console,
            description=f"SBC {job.level} {job.model}",
        )
    else:
        report = finished_only(store)
    results = store.results()
    ranks = rank_table(results)
    summary = summarize_ranks(ranks, job.seed) if results else pd.DataFrame()
    if results:
        health = fit_health(ranks)
        summary = summary.assign(level=job.level, **{f"fits_{k}": v for k, v in health.items()})
        atomic_write(out / "ranks.csv", ranks.to_csv(index=False))
        atomic_write(out / "summary.csv", summary.to_csv(index=False))
        title = f"{job.level}-level {job.model} ({job.stated_design()})"
        save_figure(plot_ecdf_differences(ranks, summary, job.seed, title), out / "ecdf.png")
    record = run_record(
        command=f"{COMMAND} {job.model} --level {job.level}",
        config=job.as_dict(),
        seeds=[job.seed],
        wall_time_s=time.perf_counter() - start,
        replications_finished=len(results),
        engine=report.record(),
    )
    write_json(out / "run.json", record)
    return CalibrationResult(job, ranks, summary, report, tuple(store.failures()))


def _finished(rows: pd.DataFrame, job: CalibrationJob) -> str:
    n = int(rows["n"].min())
    return str(n) if n >= job.replications else f"{n} of {job.replications} (unfinished)"


def summary_markdown(summary: pd.DataFrame, jobs: list[CalibrationJob]) -> str:
    lines = [
        "# Simulation-based calibration of every shipped model",
        "",
        f"Written by `{COMMAND} all` from the replications in each model's folder.  A "
        f"quantity passes when the ECDF of its PIT values stays inside the {BAND_PROB:.0%} "
        "simultaneous band; the POT-C p-value is shown beside it.",
        "",
        "| level | model | design | replications | quantities outside the band | min POT-C p | "
        "fits with divergences | R-hat > 1.01 |",
        "| --- | --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for job in jobs:
        rows = summary[(summary["model"] == job.model) & (summary["level"] == job.level)]
        if rows.empty:
            lines.append(
                f"| {job.level} | {job.model} | {job.stated_design()} | 0 | not run | | | |"
            )
            continue
        failed = ", ".join(rows.loc[~rows["passes"], "quantity"]) or "none"
        lines.append(
            f"| {job.level} | {job.model} | {job.stated_design()} | {_finished(rows, job)} | "
            f"{failed} | {rows['p_value'].min():.3f} | "
            f"{rows['fits_with_divergences'].iloc[0]:.0%} | {rows['fits_rhat_above_1.01'].iloc[0]:.0%} |"
        )
    return "\n".join(lines) + "\n"


def calibrate_all(
    out,
    *,
    paradigm: dict,
    replications: int = REPLICATIONS,
    rank_draws: int = RANK_DRAWS,
    seed: int = 0,
    trial_design: dict | None = None,
    paradigm_design: dict | None = None,
    models: list[tuple[str, str]] | None = None,
    **engine,
) -> list[CalibrationResult]:
    """SBC of every shipped model (or of ``models``, (level, name) pairs) under ``out``."""
    out = Path(out)
    if models is None:
        models = [(lv, m) for lv in LEVELS for m in models_at(lv)]
    jobs = []
    for level, model in models:
        design = dict(trial_design or {})
        if level == "paradigm":
            design = {**(paradigm_design or {}), "paradigm": paradigm}
        jobs.append(CalibrationJob(model, level, design, replications, rank_draws, seed))
    results = [calibrate(job, out / f"{job.level}-{job.model}", **engine) for job in jobs]
    summary = pd.concat([r.summary for r in results if len(r.summary)], ignore_index=True)
    atomic_write(out / "summary.csv", summary.to_csv(index=False))
    atomic_write(out / "summary.md", summary_markdown(summary, jobs))
    save_figure(plot_overview(summary), out / "overview.png")
    return results
