"""``valueint analyze trust-sampling``: what it refuses before any fit (existing outputs,
a single model, missing data).  The analysis itself runs end to end in notebook 05's small
mode (tests/test_notebooks.py), on real participants."""

import pytest
from typer.testing import CliRunner

from valueint.analyze.trust_sampling.run import (
    TrustSamplingSettings,
    output_paths,
    run_trust_sampling_analysis,
)
from valueint.cli.app import app


def test_existing_outputs_are_refused_before_anything_runs(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.md").write_text("a user's file")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        run_trust_sampling_analysis(tmp_path / "no-data.mat", out, TrustSamplingSettings())
    assert (out / "summary.md").read_text() == "a user's file"
    assert set(output_paths(out)) >= {"summary.md", "run.json", "comparison.csv", "predictive.png"}


def test_settings_name_unknown_models_and_bad_folds():
    with pytest.raises(ValueError, match="unknown model"):
        TrustSamplingSettings(models=("fixed_evidence", "nope")).check()
    with pytest.raises(ValueError, match="k must be"):
        TrustSamplingSettings(k=1).check()


def test_the_command_names_missing_data(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "analyze",
            "trust-sampling",
            "--data",
            str(tmp_path / "none.mat"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code != 0
    assert "not found" in result.output
