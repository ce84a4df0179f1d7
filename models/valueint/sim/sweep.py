"""Parameter sweeps: a grid of config values, every cell on every condition, in one program.

A grid maps dotted keys into the condition tables (``caregiver.presence``,
``learner.kappa``, ``env.object_cells``, ...) to lists of values; its cells are the
Cartesian product, first key slowest.  Every cell is laid over every ``[[conditions]]``
entry of the config (the cell's value wins), so a grid of n cells on a config of m
conditions is an experiment of n x m conditions, labelled ``condition|key=value|...``.

``run_sweep`` resolves that experiment once and runs it with one ``run_experiment``
call: cells x conditions are vmapped and seeds sharded over the local devices, all in
ONE compiled program.  Keys that change the static shape of the world (``env.size``,
``env.horizon``, ``env.slots``, ``env.features``, ``learner.q``, ...) cannot share one
program; a grid that varies them is refused, naming the key (run one sweep per value).

``run_sweep_tasks`` splits the cells into chunks of K, each chunk one task of the job
engine (``valueint.jobs``), resumable in its folder.  Seed s is ``jax.random.key(s)``
in every condition of every chunk, so the table is the same as in one program.

The tidy table has one row per cell, condition, seed, episode and agent: the columns of
``runner.metrics_frame`` with ``cell``, one column per grid key and the config's own
``condition`` label in front.  ``summarize_sweep`` averages it per cell, condition, seed
and phase; ``valueint.sim.figures.plot_sweep`` draws a metric against a grid key.
"""

from __future__ import annotations

import base64
import copy
import io
import itertools
import json
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from valueint.errors import ConfigError
from valueint.sim import envs, runner
from valueint.sim.config import (
    CAREGIVER_DEFAULTS,
    CONDITION_TABLES,
    LEARNER_DEFAULTS,
    merge_tables,
    resolve,
)
from valueint.text import top_level_split

FIELDS = {"caregiver": tuple(CAREGIVER_DEFAULTS), "learner": tuple(LEARNER_DEFAULTS)}
ENV_TABLES = ("env", "env_autonomous")  # their fields are the world's options
ID_COLUMNS = ("cell", "condition", "seed", "episode", "agent", "phase", "learner", "isr_mode")
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")


# -- the grid ------------------------------------------------------------------------
def _split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets, braces and quotes."""
    return [part.strip() for part in top_level_split(text, ",")]


def parse_value(text: str, key: str = "value"):
    """A TOML literal (``0.5``, ``true``, ``[1, 2]``, ``"a"``), or a bare word as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.fullmatch(text):
            return text
        raise ConfigError(f"--grid {key}: {text!r} is not a TOML value") from None


def format_value(value) -> str:
    """A grid value as written in labels and table columns: ``0.25``, ``true``, ``[1, 2]``."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # a NumPy scalar, as read back from a table
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def parse_grid(specs: Sequence[str]) -> dict[str, list]:
    """``["caregiver.presence=0.25,0.5", "learner.kind=isr_bayes,no_isr"]`` -> a grid
    ``{key: [values]}`` (values are TOML literals; lists may hold commas)."""
    if isinstance(specs, str):
        specs = [specs]
    grid: dict[str, list] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--grid {spec!r} must be KEY=V1,V2,... (e.g. caregiver.presence=0.5,1)"
            )
        if key in grid:
            raise ConfigError(
                f"--grid {key} is given twice; give each key once with all its values"
            )
        texts = _split_values(values)
        if not values.strip() or any(not t for t in texts):
            raise ConfigError(f"--grid {key} has an empty value in {values!r}; expected V1,V2,...")
        grid[key] = [parse_value(t, key) for t in texts]
    return check_grid(grid)


def check_grid(grid: Mapping[str, Sequence], config: dict | None = None) -> dict[str, list]:
    """The grid as ``{key: list}`` if every key is ``TABLE.FIELD`` of a condition table and
    every key has distinct values; with ``config``, world options are checked too."""
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError("the grid is empty: give at least one --grid KEY=V1,V2,...")
    out = {}
    for key, values in grid.items():
        table, _, field = str(key).partition(".")
        if table not in CONDITION_TABLES or not field or "." in field:
            raise ConfigError(
                f"--grid {key}: a grid key is TABLE.FIELD with TABLE one of "
                f"{', '.join(CONDITION_TABLES)} (e.g. caregiver.presence)"
            )
        if table in FIELDS and field not in FIELDS[table]:
            raise ConfigError(
                f"--grid {key}: {field!r} is not a {table} field; allowed: {sorted(FIELDS[table])}"
            )
        if table in ENV_TABLES and field == "name":
            raise ConfigError(f"--grid {key}: the world cannot be swept in one program")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"--grid {key} needs a non-empty list of values")
        values = list(values)
        texts = [format_value(v) for v in values]
        for i, v in enumerate(values):
            if any(v == w or texts[i] == texts[j] for j, w in enumerate(values[:i])):
                raise ConfigError(f"--grid {key} repeats the value {texts[i]}")
        out[str(key)] = values
    if config is not None:
        _check_world_options(out, config)
    return out


def _check_world_options(grid: dict, config: dict) -> None:
    """Env keys the world does not know, named with the world's own list of options."""
    base = config.get("env", {})
    for key, values in grid.items():
        table, _, field = key.partition(".")
        if table not in ENV_TABLES or "name" not in base:
            continue
        options = merge_tables(base, config.get("env_autonomous", {}) if table != "env" else {})
        try:
            envs.build({**options, field: values[0]}, table)
        except ConfigError as err:
            if str(err).startswith(f"{key} is not a"):
                raise ConfigError(f"--grid {key}: {err}") from None


def grid_cells(grid: Mapping[str, Sequence]) -> list[dict]:
    """The cells of ``grid``: one ``{key: value}`` per point of the product, first key slowest."""
    keys = list(grid)
    return [dict(zip(keys, point, strict=True)) for point in itertools.product(*grid.values())]


def _overrides(cell: Mapping) -> dict:
    tables: dict[str, dict] = {}
    for key, value in cell.items():
        table, _, field = key.partition(".")
        tables.setdefault(table, {})[field] = copy.deepcopy(value)
    return tables


def cell_label(condition: str, cell: Mapping) -> str:
    return "|".join([condition, *(f"{k}={format_value(v)}" for k, v in cell.items())])


def _conditions(config: dict) -> list[dict]:
    conditions = config.get("conditions") or [{"label": "default"}]
    if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
        raise ConfigError("conditions must be an array of tables ([[conditions]])")
    return [{**c, "label": c.get("label", f"condition_{i}")} for i, c in enumerate(conditions)]


def apply_cell(config: dict, cell: Mapping) -> dict:
    """``config`` with one cell's values laid over every condition (a plain experiment)."""
    check_grid({k: [v] for k, v in cell.items()})
    out = copy.deepcopy(config)
    out["conditions"] = [merge_tables(c, _overrides(cell)) for c in _conditions(config)]
    return out


def sweep_config(config: dict, grid: Mapping[str, Sequence]) -> tuple[dict, pd.DataFrame]:
    """The config whose conditions are every cell on every condition (cell-major: cell c,
    condition j at c * n_conditions + j), and a frame with a row for each: ``cell``,
    ``condition`` (the config's label), ``label`` (the combined one), the cell's values."""
    grid = check_grid(grid, config)
    conditions = _conditions(config)
    product, rows = [], []
    for c, cell in enumerate(grid_cells(grid)):
        for cond in conditions:
            label = cell_label(cond["label"], cell)
            product.append({**merge_tables(cond, _overrides(cell)), "label": label})
            rows.append({"cell": c, "condition": cond["label"], "label": label, **cell})
    out = copy.deepcopy(config)
    out["conditions"] = product
    return out, pd.DataFrame(rows, columns=["cell", "condition", "label", *grid])


def _explain(err: ConfigError, cells: pd.DataFrame, grid: dict) -> ConfigError:
    """A product-config error, named after the grid cell and condition it came from."""
    text = str(err)
    match = re.match(r"conditions\[(\d+)\]\.?", text)
    if match is None or int(match[1]) >= len(cells):
        return ConfigError(f"sweep: {text}")
    row = cells.iloc[int(match[1])]
    values = ", ".join(f"{k}={format_value(v)}" for k, v in grid_cells(grid)[row["cell"]].items())
    where = f"grid cell {row['cell']} ({values}) on condition {row['condition']!r}"
    rest = text[match.end() :].replace(match[0], "")
    if "shape of the world" in rest and not rest.startswith("env_autonomous"):
        named = ", ".join(k for k in grid if k.partition(".")[0] in ENV_TABLES) or "the grid"
        return ConfigError(
            f"{where}: {named} cannot be swept in one program: the conditions of one compiled "
            "program share the shape of the world (size, horizon, slots, features, agents); "
            f"run one sweep per value of {named}"
        )
    if "one Q representation" in rest:
        return ConfigError(
            f"{where}: learner.q cannot be swept in one program: its conditions share one Q "
            "representation; run one sweep per value of learner.q"
        )
    return ConfigError(f"{where}: {rest}")


def resolve_sweep(config: dict, grid: Mapping[str, Sequence]):
    """``(experiment, cells)``: the product experiment, resolved once, and its cells frame.

    The config's own errors are raised as they are; an error of one cell names the cell.
    """
    resolve(config)
    product, cells = sweep_config(config, grid)
    try:
        return resolve(product), cells
    except ConfigError as err:
        raise _explain(err, cells, check_grid(grid)) from None


# -- running -------------------------------------------------------------------------
def _seed_list(seeds) -> list[int]:
    return list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]


def _grid_column(values: list) -> pd.Series | pd.Categorical:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pd.Series(values)
    if all(isinstance(v, bool) for v in values):
        return pd.Series(values, dtype=bool)
    texts = [format_value(v) for v in values]
    return pd.Categorical(texts, categories=list(dict.fromkeys(texts)))


def tidy_table(frame: pd.DataFrame, cells: pd.DataFrame, grid: Mapping) -> pd.DataFrame:
    """``metrics_frame`` rows of the product experiment, with ``cell``, one column per grid
    key and the config's ``condition`` label in place of the combined one."""
    index = pd.Categorical(frame["condition"].astype(str), categories=list(cells["label"])).codes
    if (index < 0).any():
        raise ValueError("the frame holds conditions that are not cells of this sweep")
    labels = list(dict.fromkeys(cells["condition"]))
    cell_of = cells["cell"].to_numpy()
    points = grid_cells(grid)
    front = {"cell": cell_of[index]}
    for key in grid:
        column = _grid_column([points[c][key] for c in cell_of])
        front[key] = (
            column[index] if isinstance(column, pd.Categorical) else column.to_numpy()[index]
        )
    front["condition"] = pd.Categorical(cells["condition"].to_numpy()[index], categories=labels)
    rest = frame.drop(columns="condition").reset_index(drop=True)
    return pd.concat([pd.DataFrame(front), rest], axis=1)


def run_sweep(
    config: dict,
    grid: Mapping[str, Sequence] | Sequence[str],
    seeds: int | Sequence[int] = 16,
    progress: Callable | None = None,
) -> pd.DataFrame:
    """Every cell of ``grid`` on every condition of ``config`` over ``seeds``, as ONE
    experiment: cells x conditions x seeds run in one compiled program (one
    ``run_experiment`` call, seeds sharded over the local devices).  Returns the tidy
    table (see the module doc); ``progress(done, total)`` is called per episode block.
    ``grid`` may also be given as the command line's ``KEY=V1,V2`` strings (``parse_grid``)."""
    if not isinstance(grid, Mapping):
        grid = parse_grid(grid)
    grid = check_grid(grid)
    experiment, cells = resolve_sweep(config, grid)
    seed_list = _seed_list(seeds)
    metrics = runner.run_experiment(experiment, seed_list, progress)
    return tidy_table(runner.metrics_frame(experiment, seed_list, metrics), cells, grid)


def metric_columns(table: pd.DataFrame, grid: Sequence[str] = ()) -> list[str]:
    """The numeric columns that are measurements (not ids or grid values)."""
    skip = set(ID_COLUMNS) | set(grid)
    return [c for c in table.columns if c not in skip and pd.api.types.is_float_dtype(table[c])]


def grid_keys(table: pd.DataFrame) -> list[str]:
    """The grid's keys: the dotted columns of a sweep table or summary."""
    return [c for c in table.columns if "." in c]


def summarize_sweep(table: pd.DataFrame) -> pd.DataFrame:
    """Per cell, condition, seed and phase: the mean of every metric over episodes and
    agents (NaNs skipped), with ``n_episodes`` averaged over."""
    keys = grid_keys(table)
    by = ["cell", *keys, "condition", "learner", "isr_mode", "seed", "phase"]
    by = [c for c in by if c in table.columns]
    metrics = metric_columns(table, keys)
    groups = table.groupby(by, observed=True, sort=True)
    summary = groups[metrics].mean()
    summary.insert(0, "n_episodes", groups["episode"].nunique())
    return summary.reset_index()


# -- on the job engine ---------------------------------------------------------------
def _frame_bytes(frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _frame_from(text: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(base64.b64decode(text)))


def run_chunk(payload: dict, seed: int) -> dict:
    """One engine task: resolve the chunk's config, run it, return its frame.

    ``seed`` (the engine's task seed) is not used: the sweep's seeds are the same in
    every chunk.  The chunk runs in the submitter's precision (``payload["x64"]``).
    """
    import jax

    with jax.enable_x64(bool(payload["x64"])):
        experiment = resolve(payload["config"])
        metrics = runner.run_experiment(experiment, payload["seeds"])
        frame = runner.metrics_frame(experiment, payload["seeds"], metrics)
    return {"cells": payload["cells"], "table": _frame_bytes(frame)}


def chunk_payloads(config: dict, grid: Mapping, seeds: Sequence[int], cells_per_task: int):
    """One payload per chunk of ``cells_per_task`` cells: the product config restricted to
    them, and the seeds."""
    import jax

    product, cells = sweep_config(config, grid)
    n_cells, n_conditions = int(cells["cell"].max()) + 1, len(_conditions(config))
    payloads = []
    for first in range(0, n_cells, cells_per_task):
        last = min(first + cells_per_task, n_cells)
        sub = dict(
            product, conditions=product["conditions"][first * n_conditions : last * n_conditions]
        )
        payloads.append(
            {
                "config": sub,
                "seeds": list(seeds),
                "cells": [first, last],
                "x64": bool(jax.config.read("jax_enable_x64")),
            }
        )
    return payloads


def run_sweep_tasks(
    config: dict,
    grid: Mapping[str, Sequence],
    seeds: int | Sequence[int],
    folder,
    *,
    cells_per_task: int | None = None,
    engine=None,
):
    """The sweep as tasks of the job engine, ``cells_per_task`` cells each (default: all
    in one task), resumable in ``folder`` (``job.json``, ``tasks/``, ``failed/``).

    Returns ``(table, report)``: the same tidy table as ``run_sweep`` and the engine's
    ``JobReport``.  Failed tasks raise ``valueint.jobs.JobIncomplete`` naming them (run
    again to retry them; the finished ones are kept).
    """
    from valueint.jobs import JobSpec, run_job

    grid = check_grid(grid)
    _, cells = resolve_sweep(config, grid)  # every cell is valid before any task runs
    seed_list = _seed_list(seeds)
    n_cells = int(cells["cell"].max()) + 1
    k = n_cells if cells_per_task is None else int(cells_per_task)
    if k < 1:
        raise ValueError(f"cells_per_task must be at least 1; got {cells_per_task}")
    payloads = chunk_payloads(config, grid, seed_list, k)
    identity = {
        "config": config,
        "grid": {key: list(v) for key, v in grid.items()},
        "seeds": seed_list,
        "cells_per_task": k,
        "x64": payloads[0]["x64"],
    }
    spec = JobSpec("sweep", identity, 0, f"sweep chunks ({k} cells each)")
    outcome = run_job(run_chunk, payloads, Path(folder), spec, engine=engine)
    frames = [_frame_from(r["table"]) for r in outcome.results]
    return tidy_table(pd.concat(frames, ignore_index=True), cells, grid), outcome.report
