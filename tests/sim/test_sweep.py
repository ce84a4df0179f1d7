"""Sweeps: the grid is parsed and checked, runs as one program, and gives the numbers a
plain run of each cell gives; chunked on the job engine it gives the same table."""

import copy

import numpy as np
import pandas as pd
import pytest

import valueint
from valueint.errors import ConfigError
from valueint.jobs import Engine, JobMismatchError
from valueint.sim import runner, sweep
from valueint.sim.figures import plot_sweep

SEEDS = 64
GRID = ["caregiver.presence=0.25,0.5,1", "learner.kappa=0,1,2"]


def short_config():
    config = copy.deepcopy(valueint.default_config())
    config["experiment"].update(n_episodes=20, chunk_episodes=10)
    config["caregiver"]["socialization_episodes"] = 10
    config["conditions"] = [
        {"label": "isr_bayes", "learner": {"kind": "isr_bayes", "isr_mode": "pessimistic"}}
    ]
    return config


@pytest.fixture(scope="session")
def one_program():
    """The 3 x 3 grid over 64 seeds, with every run_experiment call recorded."""
    calls = []

    def spy(experiment, seeds, progress=None):
        calls.append((experiment, list(seeds)))
        return run_experiment(experiment, seeds, progress)

    run_experiment = runner.run_experiment
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "run_experiment", spy)
        table = sweep.run_sweep(short_config(), sweep.parse_grid(GRID), seeds=SEEDS)
    return table, calls


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, rtol=1e-6, atol=1e-9):
    """Column for column: ids, phases and counts exactly, real numbers to ``rtol``."""
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    assert list(left.columns) == list(right.columns)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=column)
        else:
            pd.testing.assert_series_equal(a, b, check_categorical=True, obj=column)


def test_grid_values_are_toml_literals():
    grid = sweep.parse_grid(
        [
            "caregiver.presence=0.25,0.5,1",
            "learner.kind=isr_bayes,no_isr",
            "caregiver.disapproval=true,false",
            'learner.isr_mode="mean",thompson',
            "env.object_cells=[0, 1, 2],[3,4,5,6]",
        ]
    )
    assert grid == {
        "caregiver.presence": [0.25, 0.5, 1],
        "learner.kind": ["isr_bayes", "no_isr"],
        "caregiver.disapproval": [True, False],
        "learner.isr_mode": ["mean", "thompson"],
        "env.object_cells": [[0, 1, 2], [3, 4, 5, 6]],
    }
    assert len(sweep.grid_cells(grid)) == 3 * 2 * 2 * 2 * 2
    assert sweep.grid_cells({"a.b": [1, 2], "c.d": [3, 4]})[1] == {"a.b": 1, "c.d": 4}


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["caregiver.presence"], r"must be KEY=V1,V2"),
        (["=1,2"], r"must be KEY=V1,V2"),
        (["caregiver.presence="], r"caregiver\.presence has an empty value"),
        (["caregiver.presence=0.5,,1"], r"caregiver\.presence has an empty value"),
        (["learner.kappa=1", "learner.kappa=2"], r"learner\.kappa is given twice"),
        (["learner.kappa=1,2,1.0"], r"learner\.kappa repeats the value 1\.0"),
        (["experiment.n_episodes=5"], r"experiment\.n_episodes: a grid key is TABLE\.FIELD"),
        (["presence=1"], r"presence: a grid key is TABLE\.FIELD with TABLE one of env, "),
        (["caregiver.presense=1"], r"'presense' is not a caregiver field; allowed: \[.*'presence'"),
        (["learner.kapa=1"], r"'kapa' is not a learner field; allowed: \[.*'kappa'"),
        (["env.name=prosocial"], r"env\.name: the world cannot be swept"),
        (["learner.kappa=[1,2"], r"learner\.kappa: '\[1,2' is not a TOML value"),
        ([], r"the grid is empty"),
    ],
)
def test_a_bad_grid_is_refused_naming_the_key(specs, message):
    with pytest.raises(ConfigError, match=message):
        sweep.parse_grid(specs)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"env.flavour": [1]},
            r"--grid env\.flavour: env\.flavour is not a gridworld option; allowed: \[",
        ),
        (
            {"learner.kappa": [0, 1], "caregiver.presence": [0.5, 1.5]},
            r"grid cell 1 \(learner\.kappa=0, caregiver\.presence=1\.5\) on condition "
            r"'isr_bayes': caregiver\.presence = 1\.5 is outside the allowed range \[0\.0, 1\.0\]",
        ),
        (
            {"learner.kind": ["isr_bayes", "no_isr"]},
            r"grid cell 1 \(learner\.kind=no_isr\) on condition 'isr_bayes': learner\.isr_mode "
            r"= 'pessimistic' needs learner\.kind = 'isr_bayes'",
        ),
        (
            {"env.size": [5, 6]},
            r"grid cell 1 \(env\.size=6\) .*env\.size cannot be swept in one program",
        ),
        ({"learner.q": ["linear", "tabular"]}, r"learner\.q cannot be swept in one program"),
    ],
)
def test_a_bad_cell_is_named(grid, message):
    with pytest.raises(ConfigError, match=message):
        sweep.resolve_sweep(short_config(), grid)


def test_every_cell_lies_over_every_condition():
    config = short_config()
    config["conditions"].append({"label": "plain", "caregiver": {"presence": 0.9}})
    product, cells = sweep.sweep_config(config, {"caregiver.presence": [0.1, 0.2]})
    assert [c["label"] for c in product["conditions"]] == [
        "isr_bayes|caregiver.presence=0.1",
        "plain|caregiver.presence=0.1",
        "isr_bayes|caregiver.presence=0.2",
        "plain|caregiver.presence=0.2",
    ]
    # the cell's value wins over the condition's own; the rest of the condition is kept
    assert product["conditions"][1]["caregiver"] == {"presence": 0.1}
    assert product["conditions"][2]["learner"]["isr_mode"] == "pessimistic"
    assert list(cells["cell"]) == [0, 0, 1, 1]
    assert list(cells["condition"]) == ["isr_bayes", "plain"] * 2
    assert config["conditions"][1]["caregiver"] == {"presence": 0.9}  # not changed


def test_the_grid_runs_as_one_program_and_matches_a_plain_run_of_each_cell(one_program):
    table, calls = one_program
    assert len(calls) == 1, "the whole grid must be one run_experiment call"
    experiment, seeds = calls[0]
    assert experiment.n_conditions == 9 and seeds == list(range(SEEDS))
    assert len(table) == 9 * SEEDS * 20
    assert list(table.columns[:4]) == ["cell", "caregiver.presence", "learner.kappa", "condition"]
    assert list(table["condition"].cat.categories) == ["isr_bayes"]
    cells = sweep.grid_cells(sweep.parse_grid(GRID))
    by_cell = table.groupby("cell")
    for c, cell in enumerate(cells):
        rows = by_cell.get_group(c)
        assert (rows["caregiver.presence"] == cell["caregiver.presence"]).all()
        assert (rows["learner.kappa"] == cell["learner.kappa"]).all()
        social = rows[rows["phase"] == "socialization"]
        np.testing.assert_allclose(social["presence_prob"], cell["caregiver.presence"])
    # a cell's rows are what a plain simulate of that cell's configuration gives
    cell = cells[4]  # presence 0.5, kappa 1
    alone = runner.simulate(sweep.apply_cell(short_config(), cell), seeds=SEEDS)
    mine = table[table["cell"] == 4].drop(columns=["cell", *cell])
    assert_same_rows(mine, alone)
    # kappa matters to a pessimistic learner: the cells are not copies of each other
    kappa = table[table["caregiver.presence"] == 1].groupby("learner.kappa")["isr_reward"].mean()
    assert kappa.nunique() == 3


def test_the_summary_averages_each_cell_condition_seed_and_phase(one_program):
    table, _ = one_program
    summary = sweep.summarize_sweep(table)
    assert len(summary) == 9 * SEEDS * 2  # socialization and autonomous, no fade
    assert set(summary["phase"].astype(str)) == {"socialization", "autonomous"}
    assert (summary["n_episodes"] == 10).all()
    row = summary.iloc[SEEDS * 2 + 3]  # cell 1, seed 1, autonomous
    assert (row["cell"], row["seed"], row["phase"]) == (1, 1, "autonomous")
    rows = table[(table["cell"] == 1) & (table["seed"] == 1) & (table["phase"] == "autonomous")]
    for metric in ("socialized_rate", "isr_reward", "theta_mean_sweet", "presence_prob"):
        assert row[metric] == pytest.approx(rows[metric].mean())
    for column in ("caregiver.presence", "learner.kappa", "condition", "learner", "isr_mode"):
        assert column in summary.columns


def test_the_figure_draws_one_line_per_hue_value_with_a_point_per_x(one_program):
    table, _ = one_program
    fig = plot_sweep(table, "socialized_rate", x="caregiver.presence", hue="learner.kappa")
    (ax,) = fig.axes
    lines = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
    assert len(lines) == 3
    for line in lines:
        np.testing.assert_allclose(sorted(line.get_xdata()), [0.25, 0.5, 1.0])
    assert len(ax.containers) == 3  # an interval over seeds at every point
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    # from the summary, without hue: one line, its points the means over seeds
    summary = sweep.summarize_sweep(table)
    fig = plot_sweep(summary, "isr_reward", x="learner.kappa")
    (line,) = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    auto = summary[summary["phase"] == "autonomous"]
    per_seed = auto.groupby(["learner.kappa", "seed"])["isr_reward"].mean()
    np.testing.assert_allclose(line.get_ydata(), per_seed.groupby("learner.kappa").mean())
    with pytest.raises(ValueError, match=r"x 'learner\.beta' is not a column"):
        plot_sweep(summary, "isr_reward", x="learner.beta")
    with pytest.raises(ValueError, match=r"no episodes in phase 'fade'"):
        plot_sweep(summary, "isr_reward", x="learner.kappa", phase="fade")


@pytest.mark.xdist_group("dask")
def test_chunked_on_the_engine_gives_the_one_program_table_and_resumes(one_program, tmp_path):
    table, _ = one_program
    grid = sweep.parse_grid(GRID)

    def run_in_chunks():
        engine = Engine(workers=1, progress=False)
        return sweep.run_sweep_tasks(
            short_config(), grid, SEEDS, tmp_path, cells_per_task=3, engine=engine
        )

    chunked, report = run_in_chunks()
    assert (report.n_tasks, report.completed) == (3, 3)  # 3 cells each: one compiled shape
    # every task: the same seeds; ids and counts exact, the rest to rounding
    assert_same_rows(chunked, table, rtol=1e-12, atol=1e-12)
    finished = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()}
    (tmp_path / "tasks" / "00001.json").unlink()  # as if interrupted before task 1 ended
    again, report = run_in_chunks()
    assert (report.skipped, report.completed) == (2, 1)
    for name in ("00000.json", "00002.json"):
        assert (tmp_path / "tasks" / name).stat().st_mtime_ns == finished[name]
    pd.testing.assert_frame_equal(again, chunked)
    with pytest.raises(JobMismatchError, match="holds another job"):
        sweep.run_sweep_tasks(
            short_config(),
            {"learner.kappa": [0, 1]},
            SEEDS,
            tmp_path,
            engine=Engine(workers=1, progress=False),
        )
