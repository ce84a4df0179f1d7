"""An SBC job for one model of any family, and for every shipped model: tasks, tables,
figures.

``calibrate(job, out)`` runs ``job.replications`` replications of one model
(``valueint.workflows.sbc.replication``) as tasks of ``valueint.jobs.run_job`` (resumable
in ``out``; seeds from the job's seed and the replication's index), then writes from every
finished replication:

    ranks.csv      one row per replication and quantity (rank, truth, seed, fit diagnostics)
    summary.csv    per quantity: the simultaneous-band check and the POT-C p-value
    ecdf.png       the ECDF-difference plot
    run.json       the job, versions, wall time and what the engine did

``calibrate_all`` does so for every shipped trial-level and paradigm model under
``out/<family>-<model>/`` and adds ``summary.csv``, ``overview.png`` and ``summary.md``.

Fit health.  A replication whose fit failed the one convergence criterion
(``valueint.inference.diagnostics``) is counted in ``fits_*`` beside each quantity: SBC
only tests a sampler that works at the design.

Why not simuk.  simuk runs the replications itself, one after another in one process,
each with its own ``numpyro.infer.MCMC`` on a kernel it is given.  valueint needs each
replication to be a task of the distributed engine (resumable, on a cluster), and each
fit to be the family's ``fit`` as users call it (warm starts, whitening or learned
centeredness, their diagnostics), not a bare kernel.  What simuk would hand on to, the
ECDF band and the uniformity test, comes from arviz-stats here too.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd

from valueint.inference.family import FAMILIES, family_for
from valueint.inference.settings import SamplerSettings
from valueint.jobs import Engine, JobIncomplete, JobSpec, run_job
from valueint.records import atomic_write, run_record, save_figure, write_json
from valueint.workflows.figures import plot_ecdf_differences, plot_overview
from valueint.workflows.sbc import BAND_PROB, rank_table, replication, summarize_ranks

COMMAND = "valueint calibrate"
REPLICATIONS = 200
RANK_DRAWS = 99  # ranks take 100 values
# what each family is calibrated at unless told otherwise: small enough that a fit takes
# seconds (the options of its ``task_design``), and the sampler's changes to its defaults
DESIGNS = {
    "trials": {"size": 8, "trials": 48},
    "paradigm": {"size": 30},
    "infosampling": {"size": 30},
}
# Every replication samples until converged (``valueint.inference.rounds``), within 3x its
# warmup + draws: SBC tests the sampler as a fit of real data would run it.
UNTIL_CONVERGED = {"until_converged": True, "budget_iterations": 1800}
# At 8 subjects x 48 trials the data say little about each subject, and the population
# sds are barely identified: the learned centeredness ("auto") left divergences in 10 of
# 20 rw replications and R-hat above 1.01 in 12; non-centred, 0 and 0 (of 20, both
# measured with rounds within 1,800 iterations).
SAMPLERS = {
    "trials": {
        "chains": 2,
        "warmup": 300,
        "draws": 300,
        "target_accept_prob": 0.9,
        "parameterization": "noncentered",
    },
    "paradigm": {"chains": 2, "warmup": 300, "draws": 300},
    "infosampling": {"chains": 2, "warmup": 300, "draws": 300},
}
SAMPLERS = {family: {**sampler, **UNTIL_CONVERGED} for family, sampler in SAMPLERS.items()}
# design options a family's jobs may add (``task``: a trial task) or must give
OPTIONAL = {"trials": ("task",), "paradigm": ("paradigm",), "infosampling": ("data",)}
REQUIRED = {"paradigm": ("paradigm",), "infosampling": ("data",)}


@dataclasses.dataclass(frozen=True)
class CalibrationJob:
    """SBC of one model: ``replications`` fits at ``design`` (the options of its family's
    ``task_design``: the calibration defaults of the family, updated with the keys given)
    with the sampler ``sampler`` (the calibration defaults, updated).  ``model`` is a
    model's name, or ``"family:name"`` for a name that two families share."""

    model: str
    design: dict = dataclasses.field(default_factory=dict)
    sampler: SamplerSettings | dict | None = None
    replications: int = REPLICATIONS
    rank_draws: int = RANK_DRAWS
    seed: int = 0

    def __post_init__(self):
        family, name = family_for(self.model)
        default_design = DESIGNS.get(family.name, {"size": 30})
        known = [*default_design, *OPTIONAL.get(family.name, ())]
        unknown = sorted(set(self.design) - set(known))
        if unknown:
            raise ValueError(
                f"unknown design setting(s) {', '.join(unknown)} for a {family.name} model; "
                f"its settings are {', '.join(known)}"
            )
        design = {**default_design, **self.design}
        default_sampler = SAMPLERS.get(family.name, {})
        for key in REQUIRED.get(family.name, ()):
            if key not in design:
                raise ValueError(f"a {family.name} calibration job needs design[{key!r}]")
        base = family.default_settings.replace(**default_sampler)
        sampler = self.sampler
        if sampler is None:
            sampler = base
        elif not isinstance(sampler, SamplerSettings):
            sampler = base.replace(**dict(sampler))
        if sampler.chains_run * sampler.draws < self.rank_draws:
            raise ValueError(
                f"{sampler.chains_run} chains x {sampler.draws} draws are fewer than the "
                f"{self.rank_draws} draws ranks are taken among"
            )
        for field in ("replications", "rank_draws"):
            value = getattr(self, field)
            if int(value) != value or value < 1:
                raise ValueError(f"{field} must be a positive integer; got {value!r}")
        family.task_design(name, seed=self.seed, **design)  # a design it cannot build: now
        object.__setattr__(self, "model", name)
        object.__setattr__(self, "design", design)
        object.__setattr__(self, "sampler", sampler)
        object.__setattr__(self, "_family", family.name)

    @property
    def family(self):
        return FAMILIES.get(self._family)

    @property
    def label(self) -> str:
        """``<family>-<model>``: the job's folder under ``calibrate_all``'s."""
        return f"{self._family}-{self.model}"

    def payload(self) -> dict:
        return {
            "family": self._family,
            "model": self.model,
            "design": self.design,
            "sampler": self.sampler.as_dict(),
            "rank_draws": self.rank_draws,
        }

    def as_dict(self) -> dict:
        return {**self.identity(), "replications": self.replications}

    def identity(self) -> dict:
        """What makes two runs the same job: everything but the number of replications,
        which may grow (replication i's seed depends on i alone).  Data in the design
        (a real design's participants) are named by their hash."""
        design = {
            key: (self.family.data_hash(value) if key == "data" else value)
            for key, value in self.design.items()
        }
        return {
            "family": self._family,
            "model": self.model,
            "design": design,
            "sampler": self.sampler.as_dict(),
            "rank_draws": self.rank_draws,
            "seed": self.seed,
        }

    def stated_design(self) -> str:
        d, s = self.design, self.sampler
        fit = f"{s.chains} chains x ({s.warmup} warmup + {s.draws} draws)"
        unit = {"paradigm": "children per condition"}.get(self._family, "subjects")
        extra = f" x {d['trials']} trials" if "trials" in d else ""
        return f"{d['size']} {unit}{extra}; {fit}"


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


def combined_summary(results) -> pd.DataFrame:
    """The summaries of several jobs' results as one table (empty when none finished)."""
    summaries = [r.summary for r in results if len(r.summary)]
    return pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()


def fit_health(ranks: pd.DataFrame) -> dict:
    """Shares of replications whose fit had divergences, had R-hat above the criterion, or
    did not converge (``valueint.inference.diagnostics``: R-hat, bulk and tail ESS,
    divergences)."""
    from valueint.inference.diagnostics import RHAT_MAX

    one = ranks.drop_duplicates("replication")
    return {
        "with_divergences": float((one["divergences"] > 0).mean()),
        f"rhat_above_{RHAT_MAX}": float((one["max_rhat"] > RHAT_MAX).mean()),
        "not_converged": float((~one["converged"].astype(bool)).mean()),
    }


def calibrate(
    job: CalibrationJob, out, *, engine: Engine | None = None, run: bool = True
) -> CalibrationResult:
    """Run (or resume) ``job`` in the folder ``out`` and write its tables and figure;
    ``run=False`` runs nothing and summarizes the replications already finished.  A job
    with failed replications raises ``valueint.jobs.JobIncomplete`` (rerun to retry)."""
    out = Path(out)
    start = time.perf_counter()
    spec = JobSpec("sbc", job.identity(), job.seed, f"SBC {job.label}")
    payloads = [job.payload()] * job.replications
    outcome = run_job(replication, payloads, out, spec, engine=engine, run=run)
    ranks = rank_table(outcome.results)
    summary = summarize_ranks(ranks, job.seed) if outcome.results else pd.DataFrame()
    if outcome.results:
        health = fit_health(ranks)
        summary = summary.assign(
            family=job.family.name, **{f"fits_{k}": v for k, v in health.items()}
        )
        atomic_write(out / "ranks.csv", ranks.to_csv(index=False))
        atomic_write(out / "summary.csv", summary.to_csv(index=False))
        title = f"{job.label} ({job.stated_design()})"
        save_figure(plot_ecdf_differences(ranks, summary, job.seed, title), out / "ecdf.png")
    record = run_record(
        command=f"{COMMAND} {job.family.name}:{job.model}",
        config=job.as_dict(),
        seeds=[job.seed],
        wall_time_s=time.perf_counter() - start,
        replications_finished=len(outcome.results),
        engine=outcome.report.record(),
    )
    write_json(out / "run.json", record)
    return CalibrationResult(job, ranks, summary, outcome.report, outcome.failures)


def _finished(rows: pd.DataFrame, job: CalibrationJob) -> str:
    n = int(rows["n"].min())
    return str(n) if n >= job.replications else f"{n} of {job.replications} (unfinished)"


def calibration_markdown(summary: pd.DataFrame, jobs: list[CalibrationJob]) -> str:
    from valueint.inference.diagnostics import RHAT_MAX

    lines = [
        "# Simulation-based calibration of every shipped model",
        "",
        f"Written by `{COMMAND} all` from the replications in each model's folder.  A "
        f"quantity passes when the ECDF of its PIT values stays inside the {BAND_PROB:.0%} "
        "simultaneous band; the POT-C p-value is shown beside it.  A fit has converged when "
        f"R-hat <= {RHAT_MAX}, bulk and tail ESS >= 400 and no transition diverged.",
        "",
        "| family | model | design | replications | quantities outside the band | "
        f"min POT-C p | fits with divergences | R-hat > {RHAT_MAX} | fits not converged |",
        "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for job in jobs:
        rows = summary[(summary["model"] == job.model) & (summary["family"] == job.family.name)]
        if rows.empty:
            lines.append(
                f"| {job.family.name} | {job.model} | {job.stated_design()} | 0 | not run | | | | |"
            )
            continue
        failed = ", ".join(rows.loc[~rows["passes"], "quantity"]) or "none"
        first = rows.iloc[0]
        lines.append(
            f"| {job.family.name} | {job.model} | {job.stated_design()} | "
            f"{_finished(rows, job)} | {failed} | {rows['p_value'].min():.3f} | "
            f"{first['fits_with_divergences']:.0%} | {first[f'fits_rhat_above_{RHAT_MAX}']:.0%} "
            f"| {first['fits_not_converged']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def shipped_models(families=("trials", "paradigm")) -> list[str]:
    """Every shipped model of ``families``, qualified (``"paradigm:isr"``)."""
    return [f"{f}:{m}" for f in families for m in FAMILIES.get(f).models.names()]


def calibrate_all(
    out,
    *,
    paradigm: dict,
    replications: int = REPLICATIONS,
    rank_draws: int = RANK_DRAWS,
    seed: int = 0,
    designs: dict[str, dict] | None = None,
    samplers: dict[str, dict] | None = None,
    models: list[str] | None = None,
    engine: Engine | None = None,
    run: bool = True,
) -> list[CalibrationResult]:
    """SBC of every shipped trial-level and paradigm model (or of ``models``, qualified
    names) under ``out``; ``designs`` and ``samplers`` change a family's defaults.  Every
    job runs; those with failed replications are named by one ``JobIncomplete`` at the
    end, after the summary of the others is written."""
    out = Path(out)
    designs, samplers = dict(designs or {}), dict(samplers or {})
    jobs = []
    for model in models or shipped_models():
        family = family_for(model)[0].name
        design = dict(designs.get(family, {}))
        if family == "paradigm":
            design["paradigm"] = paradigm
        jobs.append(
            CalibrationJob(model, design, samplers.get(family), replications, rank_draws, seed)
        )
    results, incomplete = [], []
    for job in jobs:
        try:
            results.append(calibrate(job, out / job.label, engine=engine, run=run))
        except JobIncomplete as err:
            incomplete.append(str(err))
    summary = combined_summary(results)
    if len(summary):
        atomic_write(out / "summary.csv", summary.to_csv(index=False))
        atomic_write(out / "summary.md", calibration_markdown(summary, jobs))
        save_figure(plot_overview(summary), out / "overview.png")
    if incomplete:
        raise JobIncomplete("; ".join(incomplete), None)
    return results
