"""``valueint analyze trust-sampling``: what it refuses before any fit (existing outputs,
a single model, missing data).  The analysis itself runs end to end in notebook 05's small
mode (tests/test_notebooks.py), on real participants."""

import pytest
from typer.testing import CliRunner

from valueint.analyze.trust_sampling.run import output_paths, run_trust_sampling_analysis
from valueint.analyze.trust_sampling.settings import TrustSamplingSettings
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
        TrustSamplingSettings(models=("fixed_evidence", "nope"))
    with pytest.raises(ValueError, match="kfold must be"):
        TrustSamplingSettings(kfold=1)
    with pytest.raises(TypeError, match="unknown sampler setting"):
        TrustSamplingSettings(kfold_refit={"chain": 1})
    quick = TrustSamplingSettings.quick({"draws": 20})
    assert quick.sampler.draws == 20 and quick.sampler.pilot_warmup == 60
    assert quick.kfold_sampler.chains == 1 and quick.kfold_sampler.draws == 60


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
