"""``valueint analyze prosocial-learning``: hierarchical model comparison on the prosocial
learning data of Cutler et al. (2021), young against older adults.

Every model of the family (``COMPARED_MODELS``) is fitted to all subjects at once, hierarchically,
with the age group shifting the population mean of every parameter (reference coding:
the first group, "young", is the reference).  The fits are compared by PSIS-LOO, leaving
out one trial and one subject; the best model's posterior predictive learning curves are
drawn over the observed ones (with the share of observed points inside each model's 90%
band, ``coverage.csv``), and every model's group-level parameters and group
differences are tabulated.  ``run_prosocial_analysis`` is the Python entry point; the
command (``valueint.cli.analyze``) adds argument checks and console messages.

The work is split by job: ``prosocial_settings`` (what is fitted and how),
``prosocial_data``, ``prosocial_fitting`` (fits, diagnostics, comparison),
``prosocial_curves``, ``prosocial_parameters``, ``prosocial_figures`` and
``prosocial_report`` (``summary.md``); this module runs them in order and writes the files.

Files written to OUT (each atomically; figures as PNG and PDF):
``comparison.csv/.png/.pdf``, ``learning_curves.csv/.png/.pdf``, ``coverage.csv``,
``parameters.csv``,
``parameters_by_group.png/.pdf`` (best model), ``diagnostics.csv``, ``run.json``,
``summary.md`` and, with ``save_fits``, ``fits/<model>.nc``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from valueint.analyze.prosocial.curves import (
    COVERAGE_CRITERION,
    coverage_table,
    learning_curves_table,
)
from valueint.analyze.prosocial.data import PreparedData, prepare_data
from valueint.analyze.prosocial.figures import (
    plot_comparison_panels,
    plot_learning_curves,
    plot_parameters_by_group,
    save_png_and_pdf,
)
from valueint.analyze.prosocial.fitting import (
    diagnostics_table,
    fit_models,
    initial_value_comparison,
    kfold_comparison,
    prosocial_comparison,
    ranking,
)
from valueint.analyze.prosocial.parameters import parameters_table
from valueint.analyze.prosocial.report import prosocial_markdown
from valueint.analyze.prosocial.settings import COMMAND, ProsocialSettings
from valueint.analyze.prosocial.stay import stay_coverage, stay_table
from valueint.jobs import QUIET, Engine
from valueint.records import report_paths

# what the analysis writes: tables (CSV), figures (PNG and PDF), records
TABLES = (
    "comparison",
    "learning_curves",
    "coverage",
    "stay_after_outcome",
    "stay_coverage",
    "initial_value",
    "parameters",
    "diagnostics",
)
FIGURES = ("comparison", "learning_curves", "parameters_by_group")


def output_paths(
    out: str | Path, save_fits: bool = False, models: Sequence[str] = (), kfold: bool = False
) -> dict:
    """Every file the analysis writes, by name (``fits/<model>.nc`` with ``save_fits``,
    ``kfold.csv`` with K-fold; the K-fold job folder ``kfold/`` is resumed, not replaced)."""
    out = Path(out)
    tables = ("kfold", *TABLES) if kfold else TABLES
    paths = report_paths(out, tables, FIGURES, ("run.json", "summary.md"))
    if save_fits:
        paths.update({f"fits/{m}.nc": out / "fits" / f"{m}.nc" for m in models})
    return paths


@dataclasses.dataclass(frozen=True)
class ProsocialResult:
    """Everything the analysis made: the fits (in memory) and the tables it wrote."""

    settings: ProsocialSettings
    fits: dict
    tables: dict  # {stem: table} of every CSV written (``TABLES``, and kfold with K-fold)
    best_model: str
    runner_up: str
    record: dict
    summary: str
    paths: dict
    prepared: PreparedData

    comparison = property(lambda self: self.tables["comparison"])
    learning_curves = property(lambda self: self.tables["learning_curves"])
    coverage = property(lambda self: self.tables["coverage"])
    parameters = property(lambda self: self.tables["parameters"])
    diagnostics = property(lambda self: self.tables["diagnostics"])
    kfold = property(lambda self: self.tables.get("kfold", pd.DataFrame()))

    @property
    def converged(self) -> bool:
        """Every model converged by ``valueint.inference.diagnostics`` (R-hat, bulk and tail
        ESS, divergences)."""
        return bool(self.diagnostics["converged"].all())


def _quiet(_: str) -> None:
    pass


def run_prosocial_analysis(
    data=None,
    out: str | Path = "runs/prosocial_learning",
    settings: ProsocialSettings | None = None,
    overwrite: bool = False,
    save_fits: bool = False,
    *,
    report: Callable[[str], None] | None = None,
    engine: Engine = QUIET,
) -> ProsocialResult:
    """Fit, compare and summarise the models of ``settings`` on the prosocial learning data.

    ``data``: a path to the trial file (or its folder), None for the loader's resolution
    (``datasets.resolve_cutler2021``), or a trial frame with ``group`` and ``context``
    columns.  Existing outputs in ``out`` are refused unless ``overwrite`` (checked before
    anything is fitted).  ``report`` receives progress messages (plain text).
    With ``settings.kfold`` the models are also compared by exact K-fold
    cross-validation by subject, refitted on ``engine`` (``valueint.jobs.Engine``: local
    workers by default, or a Dask scheduler by address); its task folder ``out/kfold/``
    lets a rerun resume.
    """
    from valueint.inference.fit_files import save_fit
    from valueint.records import atomic_write, check_output_paths, run_record, write_csv, write_json

    settings = settings or ProsocialSettings.full()
    report = report or _quiet
    paths = output_paths(out, save_fits, settings.models, settings.kfold is not None)
    check_output_paths(paths.values(), overwrite)
    start = time.perf_counter()

    prepared = prepare_data(data, settings.subjects_per_group)
    report(f"data: {prepared.source}")
    if prepared.report is not None:
        report(str(prepared.report))
    fits, fit_messages = fit_models(prepared, settings, report, engine.progress)
    hashes = {idata.attrs["data_sha256"] for idata in fits.values()}

    report("comparing the fits by PSIS-LOO (leave one trial out, leave one subject out)")
    comparison, compare_messages = prosocial_comparison(fits)
    order = ranking(comparison, "trial")
    best, runner_up = order[0], order[1]
    initial_value = pd.DataFrame()
    judged = dict(fits)  # every fit whose diagnostics are reported
    if settings.q_init_alternative is not None:
        report(
            f"refitting {best} with q_init = {settings.q_init_alternative:g} to compare the "
            f"initial value {settings.q_init:g}"
        )
        initial_value, alternative = initial_value_comparison(
            prepared, settings, best, fits[best], report, engine.progress
        )
        judged.update(alternative)
    kfold = pd.DataFrame()
    if settings.kfold is not None:
        kfold, kfold_messages = kfold_comparison(
            fits, settings, Path(out) / "kfold", report, engine
        )
        compare_messages = [*compare_messages, *kfold_messages]
    curves = learning_curves_table(prepared.frame, fits, prepared.groups)
    coverage = coverage_table(curves)
    stays = stay_table(fits, prepared.groups, settings.seed)
    stays_covered = stay_coverage(stays)
    parameters = parameters_table(fits, prepared.groups)
    diagnostics = diagnostics_table(judged)

    made_tables = (
        comparison,
        curves,
        coverage,
        stays,
        stays_covered,
        initial_value,
        parameters,
        diagnostics,
    )
    tables = dict(zip(TABLES, made_tables, strict=True))
    if settings.kfold is not None:
        tables["kfold"] = kfold
    for stem, table in tables.items():
        write_csv(paths[f"{stem}.csv"], table)
    save_png_and_pdf(plot_comparison_panels(comparison), paths, "comparison")
    save_png_and_pdf(
        plot_learning_curves(curves, best, runner_up, prepared.groups), paths, "learning_curves"
    )
    best_params = parameters[parameters["model"] == best]
    save_png_and_pdf(
        plot_parameters_by_group(best, fits[best], best_params, prepared.groups),
        paths,
        "parameters_by_group",
    )
    if save_fits:
        for name, idata in fits.items():
            save_fit(idata, paths[f"fits/{name}.nc"], overwrite=True)

    wall = time.perf_counter() - start
    summary = prosocial_markdown(prepared, settings, tables, best, compare_messages, wall)
    frame = prepared.frame
    record = run_record(
        command=COMMAND,
        config=settings.as_dict(),
        seeds=[settings.seed],
        wall_time_s=wall,
        data={
            "source": prepared.source,
            "file_sha256": prepared.file_sha256,
            "data_sha256": sorted(hashes)[0] if len(hashes) == 1 else sorted(hashes),
            "n_subjects": int(frame["subject"].nunique()),
            "subjects_by_group": {
                g: int(n)
                for g, n in frame.drop_duplicates("subject")["group"].value_counts().items()
            },
            "n_observed": int(frame["choice"].notna().sum()),
            "n_missed": int(frame["choice"].isna().sum()),
            "groups": {"reference": prepared.groups[0], "compared": prepared.groups[1]},
        },
        dataset_report=(
            dataclasses.asdict(prepared.report) if prepared.report is not None else None
        ),
        best_model=best,
        runner_up=runner_up,
        best_model_by_subject=ranking(comparison, "subject")[0],
        all_converged=bool(diagnostics["converged"].all()),
        coverage={
            "criterion": COVERAGE_CRITERION,
            "by_model": {
                model: {
                    f"{r.group}/{r.context}": round(float(r.coverage), 4)
                    for r in coverage[coverage["model"] == model].itertuples()
                }
                for model in fits
            },
            "stay_after_outcome_by_model": {
                model: {
                    f"after {r.after}/{r.group}/{r.context}": round(float(r.coverage), 4)
                    for r in stays_covered[stays_covered["model"] == model].itertuples()
                }
                for model in fits
            },
        },
        fits={
            name: {
                "seed": int(idata.attrs["seed"]),
                "sampling_time_s": float(idata.attrs["sampling_time_s"]),
                "settings": json.loads(idata.attrs["settings"]),
                "warnings": fit_messages[name],
            }
            for name, idata in fits.items()
        },
        comparison_warnings=compare_messages,
        kfold_best_model=str(kfold.sort_values("rank")["model"].iloc[0]) if len(kfold) else None,
        outputs=sorted(str(p.relative_to(Path(out))) for p in paths.values()),
    )
    write_json(paths["run.json"], record)
    atomic_write(paths["summary.md"], summary)
    made = (tables, best, runner_up, record, summary, paths, prepared)
    return ProsocialResult(settings, fits, *made)
