"""``valueint analyze trust-sampling`` end to end on a small simulated study written in the
source's file format: every file is written, nothing is overwritten unasked, a rerun
reuses the finished fits, and the report states convergence and coverage."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from valueint.analyze.trust_sampling import (
    TrustSamplingSettings,
    output_paths,
    run_trust_sampling_analysis,
)
from valueint.cli.app import app
from valueint.infosampling import recovery
from valueint.infosampling.data import write_source
from valueint.infosampling.models import get_model

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("analyze.test_trust_sampling")]

TINY = TrustSamplingSettings(
    models=("fixed_evidence", "uncertainty"),
    chains=1,
    warmup=60,
    draws=40,
    pilot_warmup=30,
    pilot_draws=20,
    k=2,
    kfold_chains=1,
    kfold_warmup=40,
    kfold_draws=30,
    predictive_draws=20,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    design = recovery.synthetic_design(12, seed=4)
    model = get_model("uncertainty")
    params = {
        p.name: np.full(12, float(recovery.constrain_value(p, p.prior_loc)))
        for p in model.parameters
    }
    study = recovery.simulate_study(model, params, design, seed=5)
    return write_source(study, tmp_path_factory.mktemp("source") / "trials.mat")


def test_the_analysis_writes_every_file_and_refuses_to_overwrite(source, tmp_path):
    out = tmp_path / "out"
    messages = []
    result = run_trust_sampling_analysis(source, out, TINY, report=messages.append)
    for path in output_paths(out).values():
        assert path.exists(), path
    assert (out / "fits" / "uncertainty.nc").exists()
    comparison = result["comparison.csv"]
    assert {"elpd_loo_trial", "se_loo_trial", "dse_loo_trial", "n_pareto_k_bad"} <= set(comparison)
    assert comparison.elpd_diff_loo_trial.max() == 0.0
    summary = (out / "summary.md").read_text()
    assert "## Convergence" in summary and "## Predictive checks" in summary
    assert "Not converged" in summary  # 40 draws cannot reach an ESS of 400: said so
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["seed"] == 0 and "versions" in record
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        run_trust_sampling_analysis(source, out, TINY)
    again = []
    run_trust_sampling_analysis(source, out, TINY, overwrite=True, report=again.append)
    assert any("reusing the finished fit" in m for m in again)


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
