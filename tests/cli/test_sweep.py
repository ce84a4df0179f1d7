"""``valueint sweep``: writes the table, summary and record; refuses to overwrite; a bad
grid fails naming the key."""

import copy
import json

import pandas as pd
import tomli_w
from typer.testing import CliRunner

import valueint
from valueint.cli.app import app


def config_file(tmp_path):
    config = copy.deepcopy(valueint.default_config())
    config["experiment"].update(n_episodes=20, chunk_episodes=10)
    config["caregiver"]["socialization_episodes"] = 10
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def sweep(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def test_a_sweep_writes_its_table_summary_and_record_and_is_not_overwritten(tmp_path):
    config, out = config_file(tmp_path), tmp_path / "out"
    grid = ["--grid", "caregiver.presence=0.5,1", "--grid", "learner.kind=isr_bayes,no_isr"]
    result = sweep(config, *grid, "--seeds", 3, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "4 cells x 3 conditions x 3 seeds x 20 episodes, as one program" in result.output
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == 4 * 3 * 3 * 20
    assert list(table.columns[:4]) == ["cell", "caregiver.presence", "learner.kind", "condition"]
    assert set(table["condition"]) == {"no_isr", "isr_point", "isr_bayes"}
    assert set(table.loc[table["cell"] == 1, "learner"]) == {"no_isr"}  # the cell's kind wins
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 * 3 * 3 * 2  # cells x conditions x seeds x phases
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "sweep" and record["seeds"] == [0, 1, 2]
    assert record["grid"] == {
        "caregiver.presence": [0.5, 1],
        "learner.kind": ["isr_bayes", "no_isr"],
    }
    assert record["cells"][3] == {"cell": 3, "caregiver.presence": 1, "learner.kind": "no_isr"}
    assert record["engine"] == {"programs": 1, "conditions_in_program": 12}
    assert (out / "config.toml").is_file()

    again = sweep(config, *grid, "--seeds", 3, "--out", out)
    assert again.exit_code != 0 and "refusing to overwrite" in again.output
    csv = sweep(config, "--grid", "learner.kappa=0,1", "--out", out, "--format", "csv")
    assert csv.exit_code != 0 and "refusing to overwrite" in csv.output  # summary.csv exists
    # the same shapes (one compiled program, reused), other values
    other = ["--grid", "caregiver.presence=0.25,0.75", "--grid", "learner.kind=isr_bayes,no_isr"]
    replaced = sweep(config, *other, "--seeds", 3, "--out", out, "--overwrite", "--no-progress")
    assert replaced.exit_code == 0, replaced.output
    assert set(pd.read_parquet(out / "sweep.parquet")["caregiver.presence"]) == {0.25, 0.75}


def test_a_bad_grid_fails_naming_the_key(tmp_path):
    config, out = config_file(tmp_path), tmp_path / "out"
    cases = {
        "caregiver.presense=0.5": "'presense' is not a caregiver field; allowed:",
        "caregiver.presence=0.5,1.5": "grid cell 1 (caregiver.presence=1.5)",
        "env.size=5,6": "env.size cannot be swept in one program",
        "experiment.n_episodes=5": "experiment.n_episodes: a grid key is TABLE.FIELD",
        "learner.kappa": "must be KEY=V1,V2",
    }
    for spec, message in cases.items():
        result = sweep(config, "--grid", spec, "--out", out)
        assert result.exit_code != 0, spec
        assert message in result.output, (spec, result.output)
    result = sweep(config, "--out", out)
    assert result.exit_code != 0 and "the grid is empty" in result.output
    result = sweep(config, "--grid", "learner.kappa=1", "--workers", 2, "--out", out)
    assert result.exit_code != 0 and "--cells-per-task" in result.output
    assert not out.exists()
