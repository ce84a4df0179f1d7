"""Parameter and model recovery, for every family: simulate from a known truth, refit,
compare.

``recover`` draws subjects from a known population on a simulated study's design
(``ModelFamily.task_design``, ``draw_subjects``, ``simulate``), refits the model
(``ModelFamily.fit``) and scores, per quantity, the posterior means and central
intervals against the truth (``ModelFamily.recovery_draws``: trial models on each
parameter's natural scale, sampling models on the unconstrained scale with the prior's
derived quantities): Pearson r, the slope of estimate on truth, the RMSE and how often the
central interval covers the truth.  ``model_recovery`` simulates from each of several
models, fits all of them and counts which one PSIS-LOO prefers: a confusion matrix.

Seeds: for data set ``seed``, the design and the truth are drawn with ``seed``, the data
simulated with ``seed + 1`` (a task's own feedback with ``seed + 2``) and the fit made
with ``seed``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valueint.inference.comparison import compare
from valueint.inference.diagnostics import diagnostics
from valueint.inference.family import QUALIFIER, family_for, fit_in_task
from valueint.inference.settings import SamplerSettings, resolve_settings
from valueint.jobs import Engine, JobSpec, run_job

INTERVAL = 0.9
SUMMARY_COLUMNS = ("n", "pearson_r", "slope", "rmse", "coverage", "truth_sd")


@dataclasses.dataclass(frozen=True)
class RecoveryResult:
    """Per subject and quantity estimates, and their summary per quantity."""

    model: str
    estimates: pd.DataFrame  # seed, subject, parameter, scale, true, mean, lower, upper, covered
    summary: pd.DataFrame  # index: parameter; scale and SUMMARY_COLUMNS
    interval: float
    fit_seconds: float
    fit_messages: tuple[str, ...] = ()
    # each data set's fit: its diagnostics row (valueint.inference.diagnostics)
    fit_diagnostics: tuple[dict, ...] = ()

    @property
    def coverage(self) -> float:
        """Coverage pooled over every quantity, subject and seed."""
        return float(self.estimates["covered"].mean())


@dataclasses.dataclass(frozen=True)
class ModelRecoveryResult:
    """How often LOO picked each fitted model (columns) for data from each model (rows)."""

    confusion: pd.DataFrame  # counts, rows = generating model, columns = selected model
    runs: pd.DataFrame  # one row per (seed, generating model, fitted model): elpd, se, rank
    by: str
    # each generating model's parameters recovered by its own fit (free with the fits)
    parameters: dict[str, RecoveryResult] = dataclasses.field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        counts = self.confusion.to_numpy()
        return float(np.trace(counts) / counts.sum())


def simulated_study(model: str, size: int, seed: int, task=None, population=None):
    """(the family, the design, the truth, the simulated data) of data set ``seed``: the
    design of ``size`` subjects (``task``: the family's ``task_design`` options), the
    truth drawn from ``population``, the data simulated from it."""
    family, name = family_for(model)
    design = family.task_design(name, size=size, seed=seed, **dict(task or {}))
    truth = family.draw_subjects(name, design, seed, population)
    return family, design, truth, family.simulate(name, design, truth, seed + 1)


def recover(
    model: str,
    size: int = 40,
    seeds: Sequence[int] = (0,),
    settings=None,
    *,
    task: Mapping | None = None,
    population=None,
    interval: float = INTERVAL,
    progress: bool = False,
    family: str | None = None,
    **options,
) -> RecoveryResult:
    """Simulate ``model`` for each seed (``size`` subjects on the design ``task`` asks
    for; the truth drawn from ``population``, by default from the priors), refit it with
    the sampler ``settings`` (and ``options``: sampler changes and the family's fit
    options) and score the estimates; ``family`` names the model's family (for a name two
    families share)."""
    _check_interval(interval)
    model = qualified(model, family)
    family, name = family_for(model)
    rows, seconds, messages, checks = [], 0.0, set(), []
    for seed in seeds:
        family, design, truth, data = simulated_study(model, size, seed, task, population)
        start = time.perf_counter()
        fit = _fit(family, data, name, settings, seed, design, progress, options, messages)
        seconds += time.perf_counter() - start
        checks.append(diagnostics(fit).row())
        draws = family.recovery_draws(name, fit, truth)
        rows.append(score_estimates(draws, seed, interval, _subjects(family, data, draws)))
    estimates = pd.concat(rows, ignore_index=True)
    return RecoveryResult(
        name,
        estimates,
        summarize_recovery(estimates),
        interval,
        seconds,
        tuple(sorted(messages)),
        tuple(checks),
    )


def recovery_task(payload: dict, seed: int) -> dict:
    """One model's recovery on one simulated data set (a job task): its summary and its
    fit's diagnostics row."""
    family, _ = family_for(payload["model"])
    settings = SamplerSettings.from_dict(payload["sampler"], family.default_settings)
    result = recover(
        payload["model"],
        payload["size"],
        (seed,),
        settings,
        task=payload["task"],
        population=payload["population"],
    )
    return {
        "summary": result.summary.reset_index().to_dict(orient="list"),
        "diagnostics": result.fit_diagnostics[0],
        "fit_messages": list(result.fit_messages),
    }


def recover_models(
    populations: Mapping[str, object],
    *,
    size: int,
    seed: int = 0,
    settings=None,
    task: Mapping | None = None,
    out=None,
    engine: Engine | None = None,
) -> list[pd.DataFrame]:
    """The recovery of every model of ``populations`` ({model: its population, None for
    the priors}), one task each on the job driver (resumable in ``out``): per model, the
    summary per quantity with the fit's diagnostics row (``fit_<column>``)."""
    task = dict(task or {})
    payloads, described = [], {}
    for model, population in populations.items():
        family, _ = family_for(model)
        sampler = resolve_settings(settings, family.default_settings)
        payloads.append(
            {
                "model": model,
                "size": int(size),
                "task": task,
                "population": population,
                "sampler": sampler.as_dict(),
            }
        )
        described[model] = {
            "population": "given" if population is not None else "prior",
            "sampler": sampler.as_dict(),
            "task": {k: family.data_hash(v) if k == "data" else v for k, v in task.items()},
        }
    spec = JobSpec("recovery", {"size": int(size), "models": described}, seed, "recovery fits")
    outcome = run_job(recovery_task, payloads, out, spec, engine=engine)
    tables = []
    for result in outcome.results:
        table = pd.DataFrame(result["summary"])
        for column, value in result["diagnostics"].items():
            table[f"fit_{column}"] = value
        tables.append(table)
    return tables


def score_estimates(draws: list[tuple], seed: int, interval: float, subjects) -> pd.DataFrame:
    """Per subject and quantity of ``draws`` ((quantity, scale, truth [subject], posterior
    draws [subject, draw]), as ``ModelFamily.recovery_draws`` gives them): the truth, the
    posterior mean, the central ``interval`` and whether it covers the truth; ``subjects``
    names the rows."""
    tail = (1 - interval) / 2
    rows = []
    for name, scale, true, samples in draws:
        lower, upper = np.quantile(samples, [tail, 1 - tail], axis=1)
        rows.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "subject": list(subjects),
                    "parameter": name,
                    "scale": scale,
                    "true": np.asarray(true, float),
                    "mean": samples.mean(axis=1),
                    "lower": lower,
                    "upper": upper,
                    "covered": (lower <= true) & (true <= upper),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def summarize_recovery(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per quantity: its scale, n, Pearson r (truth vs posterior mean), the slope of the
    means on the truth, RMSE, interval coverage and the truth's sd."""
    out = []
    for name, sub in estimates.groupby("parameter", sort=False):
        error = sub["mean"] - sub["true"]
        out.append(
            {
                "parameter": name,
                "scale": str(sub["scale"].iloc[0]),
                "n": len(sub),
                "pearson_r": float(np.corrcoef(sub["true"], sub["mean"])[0, 1]),
                "slope": float(np.polyfit(sub["true"], sub["mean"], 1)[0]),
                "rmse": float(np.sqrt(np.mean(error**2))),
                "coverage": float(sub["covered"].mean()),
                "truth_sd": float(sub["true"].std(ddof=0)),
            }
        )
    return pd.DataFrame(out).set_index("parameter")


def model_recovery(
    models: Sequence[str],
    size: int = 20,
    seeds: Sequence[int] = (0,),
    settings=None,
    *,
    task: Mapping | None = None,
    populations: Mapping[str, object] | None = None,
    by: str = "trial",
    interval: float = INTERVAL,
    progress: bool = False,
    family: str | None = None,
    **options,
) -> ModelRecoveryResult:
    """Simulate each model, fit every model, and count which one PSIS-LOO prefers.

    ``populations`` are keyed by model name.  ``by`` is ``"trial"`` (leave one trial out)
    or ``"subject"`` (leave one subject out), as in ``compare``.  Each generating model's
    fit to its own data also scores its parameters, as ``recover`` does
    (``ModelRecoveryResult.parameters``, central ``interval``).  ``family`` names the
    family whose models ``models`` are (for names two families share)."""
    models = [qualified(m, family) for m in models]
    names = [family_for(m)[1] for m in models]
    qualified_names = dict(zip(names, models, strict=True))  # the name each simulates under
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"model recovery needs at least two distinct models; got {names}")
    _check_interval(interval)
    populations = dict(populations or {})
    records = []
    confusion = pd.DataFrame(0, index=pd.Index(names, name="generating"), columns=names)
    confusion.columns.name = "selected"
    estimates = {name: [] for name in names}
    own_seconds = dict.fromkeys(names, 0.0)
    messages = {name: set() for name in names}
    for seed in seeds:
        for generating in names:
            family, design, truth, data = simulated_study(
                qualified_names[generating], size, seed, task, populations.get(generating)
            )
            fits = {}
            for candidate in names:
                start = time.perf_counter()
                fits[candidate] = _fit(
                    family, data, candidate, settings, seed, design, progress, options,
                    messages[candidate],
                )  # fmt: skip
                if candidate == generating:
                    own_seconds[candidate] += time.perf_counter() - start
            draws = family.recovery_draws(generating, fits[generating], truth)
            ids = _subjects(family, data, draws)
            estimates[generating].append(score_estimates(draws, seed, interval, ids))
            table = compare(fits, by=by)
            confusion.loc[generating, str(table.index[0])] += 1
            for fitted, row in table.iterrows():
                records.append(
                    {
                        "seed": seed,
                        "generating": generating,
                        "fitted": fitted,
                        "rank": int(row["rank"]),
                        "elpd": float(row["elpd"]),
                        "se": float(row["se"]),
                        "weight": float(row["weight"]),
                    }
                )
    parameters = {}
    for name in names:
        own = pd.concat(estimates[name], ignore_index=True)
        parameters[name] = RecoveryResult(
            name,
            own,
            summarize_recovery(own),
            interval,
            own_seconds[name],
            tuple(sorted(messages[name])),
        )
    return ModelRecoveryResult(confusion, pd.DataFrame(records), by, parameters)


def _fit(family, data, model, settings, seed, design, progress, options, messages):
    """``model`` fitted to ``data`` with the design's fit options; the fit's warnings
    (its diagnostics) added to ``messages`` and warned on."""
    import warnings

    options = {**family.fit_options(design, model), **options}
    fit, caught = fit_in_task(
        family, data, model, settings, seed=seed, progress=progress, **options
    )
    for warning in caught:
        messages.add(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return fit


def qualified(model: str, family: str | None) -> str:
    """``model`` within ``family`` (``"trials:isr"``), where a family is named."""
    return model if family is None or QUALIFIER in model else f"{family}{QUALIFIER}{model}"


def _subjects(family, data, draws) -> list:
    """The rows' names: the data's subject ids, or positions where the family's data have
    no subjects (a paradigm's parameters are the study's)."""
    try:
        return list(family.subject_ids(data))
    except ValueError:
        return list(range(len(draws[0][2])))


def _check_interval(interval: float) -> None:
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie in (0, 1); got {interval}")


RECOVERY_FILES = ("estimates.csv", "summary.csv", "recovery.png", "run.json")


def recovery_paths(out) -> list:
    from pathlib import Path

    return [Path(out) / name for name in RECOVERY_FILES]


def plot_and_write(result: RecoveryResult, out, *, config: dict, seeds, wall_time_s: float) -> list:
    """Write a recovery's files to ``out`` (its paths must be free: ``recovery_paths``):
    the estimates, the summary, the truth-against-estimate figure and the run record."""
    import json

    from valueint.records import run_record, write_csv, write_json
    from valueint.workflows.figures import plot_recovery

    paths = recovery_paths(out)
    write_csv(paths[0], result.estimates)
    write_csv(paths[1], result.summary.reset_index())
    plot_recovery(result, paths[2], overwrite=True)
    record = run_record(
        command="recover",
        config=config,
        seeds=seeds,
        wall_time_s=wall_time_s,
        coverage=result.coverage,
        summary=json.loads(result.summary.to_json(orient="index")),
        fit_diagnostics=list(result.fit_diagnostics),
    )
    write_json(paths[3], record)
    return paths
