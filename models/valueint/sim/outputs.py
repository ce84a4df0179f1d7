"""What a simulation or a sweep writes, and the short tables it reports.

``write_simulation`` writes a run of ``valueint simulate``: ``episodes.csv`` (the tidy
frame), ``config.toml`` (the config as run) and ``run.json`` (seeds, config, versions,
wall time); ``write_sweep`` a sweep: the tidy table (``sweep.parquet`` or ``sweep.csv``),
``summary.csv``, ``config.toml`` and ``run.json``.  Every file is written atomically, and
an existing one is refused unless ``overwrite`` (``valueint.records``).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from valueint.records import atomic_path, atomic_write, run_record, write_json

SIMULATION_FILES = ("episodes.csv", "run.json", "config.toml")
SWEEP_FORMATS = ("parquet", "csv")
LATE_SHARE = 0.2  # the summary's "late" episodes: the last 20% of each phase


def simulation_paths(out) -> list[Path]:
    return [Path(out) / name for name in SIMULATION_FILES]


def write_simulation(
    out, frame: pd.DataFrame, raw: dict, *, seeds, wall_time_s: float, source: str, conditions
) -> list[Path]:
    """Write a simulation's files to ``out`` (its paths must be free: ``simulation_paths``)."""
    import tomli_w

    paths = simulation_paths(out)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write(paths[0], buffer.getvalue())
    atomic_write(paths[2], tomli_w.dumps(raw))
    record = run_record(
        command="simulate",
        config=raw,
        seeds=seeds,
        wall_time_s=wall_time_s,
        config_source=source,
        conditions=list(conditions),
        outputs=[p.name for p in paths],
    )
    write_json(paths[1], record)
    return paths


def phase_summary(frame: pd.DataFrame, metric: str = "socialized_rate") -> pd.DataFrame:
    """The mean of ``metric`` over seeds in the late episodes (the last ``LATE_SHARE``) of
    each phase: one row per condition, one column per phase that occurs."""
    phases = [p for p in frame["phase"].cat.categories if (frame["phase"] == p).any()]
    rows = {}
    for condition, group in frame.groupby("condition", observed=True):
        cells = {}
        for phase in phases:
            sub = group[group["phase"] == phase]
            late = sub[sub["episode"] >= sub["episode"].quantile(1 - LATE_SHARE)]
            cells[phase] = late[metric].mean()
        rows[str(condition)] = cells
    table = pd.DataFrame.from_dict(rows, orient="index", columns=phases)
    table.index.name = "condition"
    return table


def sweep_paths(out, table_format: str) -> list[Path]:
    if table_format not in SWEEP_FORMATS:
        raise ValueError(f"format {table_format!r} is not one of {', '.join(SWEEP_FORMATS)}")
    out = Path(out)
    return [
        out / f"sweep.{table_format}",
        out / "summary.csv",
        out / "run.json",
        out / "config.toml",
    ]


def write_sweep(
    out,
    table: pd.DataFrame,
    summary: pd.DataFrame,
    raw: dict,
    *,
    table_format: str,
    record: dict,
) -> list[Path]:
    """Write a sweep's files to ``out`` (its paths must be free: ``sweep_paths``);
    ``record`` is what ``run_record`` takes beyond the command."""
    import tomli_w

    paths = sweep_paths(out, table_format)
    if table_format == "parquet":
        with atomic_path(paths[0]) as tmp:
            table.to_parquet(tmp, index=False)
    else:
        buffer = io.StringIO()
        table.to_csv(buffer, index=False)
        atomic_write(paths[0], buffer.getvalue())
    atomic_write(paths[1], summary.to_csv(index=False))
    atomic_write(paths[3], tomli_w.dumps(raw))
    write_json(paths[2], run_record(command="sweep", outputs=[p.name for p in paths], **record))
    return paths


def sweep_means(summary: pd.DataFrame, keys, metric: str = "socialized_rate") -> pd.DataFrame:
    """The mean of ``metric`` over seeds per cell, grid value, condition and phase."""
    return (
        summary.groupby(["cell", *keys, "condition", "phase"], observed=True, sort=True)[metric]
        .mean()
        .unstack("phase")
    )
