"""``valueint analyze paradigm`` and ``praise-cheating``: every output, refusal to
overwrite, and exit code 2 on bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.paradigm.cases import (
    ZHAO,
    ZHAO_COUNTS,
    ZHAO_CSV,
)
from valueint.analyze.paradigm import OUTPUT_FILES
from valueint.cli.app import app

# --------------------------------------------------------------------------- 7. CLI


def refuse_to_fit(*args, **kwargs):
    raise AssertionError("a model was fitted")


@pytest.fixture
def no_fitting(monkeypatch):
    """For commands that must stop before any model is fitted."""
    monkeypatch.setattr("valueint.paradigm.fit.fit_paradigm", refuse_to_fit)


def test_cli_praise_cheating_writes_every_output_and_refuses_to_overwrite(tmp_path, monkeypatch):
    out = tmp_path / "run"
    runner = CliRunner()
    quick = ["--quick", "--models", "isr,null_rate", "--draws", "200", "--warmup", "200"]
    result = runner.invoke(app, ["analyze", "praise-cheating", *quick, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in OUTPUT_FILES:
        assert (out / name).stat().st_size > 0, name

    # read with pandas' defaults, as a user would: every model name must survive
    comparison = pd.read_csv(out / "comparison.csv", index_col=0)
    assert sorted(comparison.index) == ["isr", "null_rate"]
    assert np.all(np.isfinite(comparison["elpd"]))
    # the CSV keeps 6 significant digits: rounded probabilities sum to 1 within 1e-5
    assert comparison["posterior_probability"].sum() == pytest.approx(1.0, abs=1e-5)
    record = json.loads((out / "run.json").read_text())
    assert record["seeds"] == [0] and record["config"]["seed"] == 0
    assert record["data_sha256"] == ZHAO_COUNTS.sha256()
    assert {"jax", "numpyro", "arviz"} <= set(record["versions"])

    before = {
        name: ((out / name).read_bytes(), (out / name).stat().st_mtime_ns) for name in OUTPUT_FILES
    }
    monkeypatch.setattr("valueint.paradigm.fit.fit_paradigm", refuse_to_fit)
    again = runner.invoke(app, ["analyze", "praise-cheating", *quick, "--out", str(out)])
    assert again.exit_code == 2 and "overwrite" in again.output
    after = {
        name: ((out / name).read_bytes(), (out / name).stat().st_mtime_ns) for name in OUTPUT_FILES
    }
    assert after == before


def test_cli_missing_paradigm_file_exits_2(tmp_path, no_fitting):
    missing = tmp_path / "MISSING.toml"
    args = ["analyze", "paradigm", str(missing), "--counts", str(ZHAO / "counts.csv")]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert str(missing) in result.output.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_cli_impossible_counts_exit_2_naming_the_column(tmp_path, no_fitting):
    counts = tmp_path / "counts.csv"
    counts.write_text(ZHAO_CSV.replace("100,41", "100,141"))
    args = ["analyze", "paradigm", str(ZHAO / "paradigm.toml"), "--counts", str(counts)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "'n_peeked'" in result.output and "exceed" in result.output
    assert not (tmp_path / "out").exists()
