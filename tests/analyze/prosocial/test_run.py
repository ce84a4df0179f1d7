"""The prosocial-learning analysis: a synthetic run with a known group difference, a quick
run on the real data (skipped when absent) and the command's refusals."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valueint.analyze.prosocial.curves import coverage_table
from valueint.analyze.prosocial.figures import plot_learning_curves
from valueint.analyze.prosocial.fitting import COMPARISON_COLUMNS
from valueint.analyze.prosocial.run import output_paths, run_prosocial_analysis
from valueint.analyze.prosocial.settings import EXTRA_MODELS, ProsocialSettings
from valueint.cli.app import app
from valueint.inference.fit_files import load_fit
from valueint.records import save_figure
from valueint.trials import fit as inference
from valueint.trials.datasets import resolve_cutler2021
from valueint.trials.simulation import draw_parameters, make_design, simulate_data
from valueint.trials.specs import CONTEXTS, get_spec

N_PER_GROUP = 20
# Older adults simulated with a much lower softmax inverse temperature than young ones
# (median 1.6 against 6), everything else from the default population.
BETA_YOUNG, BETA_OLDER = math.log(6.0), math.log(1.6)
FITTED = ("rw", "choice_kernel")
SYNTHETIC = ProsocialSettings(
    models=FITTED,
    # sampled until converged, as the analysis is by default, within 2 more rounds
    sampler=ProsocialSettings().sampler.replace(
        chains=2, draws=150, warmup=200, budget_iterations=650
    ),
    predictive_draws=40,
)


def synthetic_frame(seed: int = 3) -> pd.DataFrame:
    """40 subjects x 9 blocks x 16 trials of the rw model, two age groups, 20 missed trials."""
    spec = get_spec("rw")
    young = draw_parameters(spec, N_PER_GROUP, seed, {"beta": (BETA_YOUNG, 0.3)})
    older = draw_parameters(spec, N_PER_GROUP, seed + 1, {"beta": (BETA_OLDER, 0.3)})
    params = {name: np.concatenate([young[name], older[name]]) for name in young}
    design = make_design(2 * N_PER_GROUP, 144, seed)
    # simulated with the initial value the analysis fits, so that the fit is well specified
    arrays = simulate_data(spec, params, design, seed + 2, {"q_init": ProsocialSettings().q_init})
    s, b, t = np.indices(np.shape(arrays.choice)).reshape(3, -1)
    frame = pd.DataFrame(
        {
            "subject": [f"s{i:02d}" for i in s],
            "block": b + 1,
            "trial": t + 1,
            "choice": np.asarray(arrays.choice).ravel().astype(float),
            "outcome": np.asarray(arrays.outcome).ravel(),
            "context": np.asarray(CONTEXTS)[np.asarray(arrays.context).ravel()],
            "group": np.where(s < N_PER_GROUP, "young", "older"),
        }
    )
    missed = np.random.default_rng(seed).choice(len(frame), 20, replace=False)
    frame.loc[missed, ["choice", "outcome"]] = np.nan
    return frame


def direct_curves(frame: pd.DataFrame) -> pd.Series:
    """Share of choice == 1 per (group, context, trial), straight from the trials."""
    return frame.dropna(subset=["choice"]).groupby(["group", "context", "trial"])["choice"].mean()


def check_outputs(result, out) -> None:
    for path in output_paths(out).values():
        assert path.is_file() and path.stat().st_size > 0, path
    written = pd.read_csv(out / "comparison.csv")
    assert tuple(written.columns) == COMPARISON_COLUMNS
    assert sorted(written["unit"]) == ["subject"] * 2 + ["trial"] * 2
    assert set(written["model"]) == set(FITTED)
    diagnostics = pd.read_csv(out / "diagnostics.csv")
    # every model, then the best one refitted at the alternative initial value
    assert list(diagnostics["model"]) == [*FITTED, f"{result.best_model}_q_init_0"]
    initial_value = pd.read_csv(out / "initial_value.csv")
    assert sorted(initial_value["unit"]) == ["subject"] * 2 + ["trial"] * 2
    assert set(initial_value["q_init"]) == {0.0, 0.5}
    assert set(initial_value["model"]) == {result.best_model}
    for column in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "sampling_time_s"):
        assert column in diagnostics
    parameters = pd.read_csv(out / "parameters.csv")
    # rw: alpha, beta; choice_kernel: alpha_c, beta_c; 4 quantities each
    assert len(parameters) == 4 * 4
    assert set(parameters["quantity"]) == {"young", "older", "difference", "delta"}
    curves = pd.read_csv(out / "learning_curves.csv")
    assert len(curves) == len(FITTED) * 2 * 3 * 16
    assert (curves["predicted_q05"] <= curves["predicted_q50"]).all()
    assert (curves["predicted_q50"] <= curves["predicted_q95"]).all()
    assert (curves["observed_lower"] <= curves["observed"]).all()
    assert (curves["observed"] <= curves["observed_upper"]).all()
    coverage = pd.read_csv(out / "coverage.csv")
    assert len(coverage) == len(FITTED) * 2 * 3 and (coverage["n_points"] == 16).all()
    pd.testing.assert_frame_equal(coverage, coverage_table(curves), check_dtype=False)
    record = json.loads((out / "run.json").read_text())
    assert record["best_model"] == result.best_model
    assert record["coverage"]["criterion"] == 0.85
    assert set(record["coverage"]["by_model"]) == set(FITTED)
    assert record["config"]["models"] == list(FITTED)
    assert record["data"]["data_sha256"] == result.fits["rw"].attrs["data_sha256"]
    assert "numpyro" in record["versions"]
    summary = (out / "summary.md").read_text()
    assert f"Best model: `{result.best_model}`" in summary
    assert "## Learning curves: posterior predictive coverage" in summary
    assert "at least 85% of its observed points" in summary


@pytest.mark.slow
def test_synthetic_group_difference_is_recovered(tmp_path):
    frame = synthetic_frame()
    out = tmp_path / "out"
    result = run_prosocial_analysis(frame, out, SYNTHETIC)
    check_outputs(result, out)

    # the generating model wins, and the simulated beta difference comes out with its
    # sign and a 94% HDI clear of zero
    assert result.best_model == "rw"
    beta = result.parameters.query("model == 'rw' and parameter == 'beta'").set_index("quantity")
    assert beta.loc["delta", "hdi_high"] < 0
    assert beta.loc["difference", "hdi_high"] < 0
    assert beta.loc["difference", "p_gt_0"] < 0.03
    # the delta's posterior median lies within 0.5 of the simulated log-ratio
    assert beta.loc["delta", "median"] == pytest.approx(BETA_OLDER - BETA_YOUNG, abs=0.5)

    curves = pd.read_csv(out / "learning_curves.csv")
    expected = direct_curves(frame)
    for model in FITTED:
        got = curves[curves["model"] == model].set_index(["group", "context", "trial"])
        assert got["observed"].sort_index().to_numpy() == pytest.approx(
            expected.sort_index().to_numpy(), abs=1e-12
        )
    # the generating model's 90% bands cover its curves (simulated with the models' reward
    # probabilities, which the simulation draws from too): measured 80 of 96 points (83%),
    # against 26 of 96 for choice_kernel; points of one curve share subjects, so misses
    # come in runs and the margin is wide
    assert "the data hold no outcome schedule" in result.summary
    rw_coverage = result.coverage[result.coverage["model"] == "rw"]
    assert rw_coverage["n_inside"].sum() >= 0.75 * rw_coverage["n_points"].sum()
    # staying after a loss or a win: the generating model's one-step bands cover it
    stays = result.tables["stay_coverage"]
    rw_stays = stays[stays["model"] == "rw"]
    assert rw_stays["n_inside"].sum() >= 0.75 * rw_stays["n_points"].sum()
    # every fit sampled in rounds and says how it stopped
    diagnostics = result.tables["diagnostics"]
    assert (diagnostics["rounds"] >= 1).all() and diagnostics["stopped"].ne("").all()
    # figures are deterministic: drawing the same numbers again gives the same PDF bytes
    again = tmp_path / "again.pdf"
    fig = plot_learning_curves(result.learning_curves, "rw", "choice_kernel", ("young", "older"))
    labels = [text.get_text() for ax in fig.axes for text in ax.texts]
    expected_labels = [f"coverage {c:.0%}" for c in rw_coverage["coverage"]]
    assert labels == expected_labels  # one per panel, rows by group, columns by recipient
    save_figure(fig, again, bbox_inches="tight")
    assert again.read_bytes() == (out / "learning_curves.pdf").read_bytes()


def _real_data_or_skip():
    try:
        return resolve_cutler2021()
    except FileNotFoundError as err:
        pytest.skip(f"real data absent: {err}")


def test_quick_run_on_real_data(tmp_path):
    data_file = _real_data_or_skip()
    settings = ProsocialSettings.quick(
        # SVI: the analysis's code does not depend on the method (NUTS: the slow suite)
        {"method": "svi", "svi_steps": 200, "draws": 40},
        models=FITTED,
        subjects_per_group=4,
        predictive_draws=10,
    )
    out = tmp_path / "real"
    result = run_prosocial_analysis(None, out, settings, save_fits=True)
    check_outputs(result, out)
    # the real data hold the task's schedule: simulations replay it on every observed trial
    n_observed = int(result.prepared.frame["choice"].notna().sum())
    assert f"outcome schedule, both symbols' outcomes, on all {n_observed:,}" in result.summary
    saved = load_fit(out / "fits" / "rw.nc")
    assert saved.attrs["model"] == "rw"
    assert saved.attrs["data_sha256"] == result.fits["rw"].attrs["data_sha256"]
    frame = result.prepared.frame
    assert frame["subject"].nunique() == 8
    assert frame.drop_duplicates("subject")["group"].value_counts().to_dict() == {
        "young": 4,
        "older": 4,
    }
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["source"] == str(data_file)
    assert len(record["data"]["file_sha256"]) == 64
    assert record["dataset_report"]["n_subjects"] == 152
    n_observed = int(frame["choice"].notna().sum())
    comparison = result.comparison.set_index(["unit", "model"])
    assert (comparison.loc["trial", "n_points"] == n_observed).all()
    assert (comparison.loc["subject", "n_points"] == 8).all()
    curves = result.learning_curves
    assert curves.groupby("model")["n"].sum().eq(n_observed).all()
    got = curves[curves["model"] == "rw"].set_index(["group", "context", "trial"])["observed"]
    expected = direct_curves(frame)
    assert got.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())


@pytest.fixture
def no_fitting(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the command fitted a model although it should have stopped")

    monkeypatch.setattr(inference, "fit", refuse)


def test_command_missing_data_exits_2_naming_the_path(tmp_path, no_fitting):
    missing = tmp_path / "nowhere" / "trials.csv"
    result = CliRunner().invoke(
        app,
        ["analyze", "prosocial-learning", "--data", str(missing), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 2, result.output
    assert str(missing) in result.output
    assert not (tmp_path / "o").exists()


def test_command_refuses_existing_output_before_fitting(tmp_path, no_fitting):
    out = tmp_path / "out"
    out.mkdir()
    (out / "comparison.csv").write_text("keep me\n")
    result = CliRunner().invoke(
        app, ["analyze", "prosocial-learning", "--out", str(out), "--quick"]
    )
    assert result.exit_code == 2, result.output
    assert "refusing to overwrite" in result.output and "comparison.csv" in result.output
    assert (out / "comparison.csv").read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv"]


def test_command_rejects_unknown_model(tmp_path, no_fitting):
    result = CliRunner().invoke(
        app,
        ["analyze", "prosocial-learning", "--out", str(tmp_path / "o"), "--models", "rw,nope"],
    )
    assert result.exit_code == 2, result.output
    assert "'nope'" in result.output


def test_extra_models_are_fitted_only_on_request():
    """The extra learners are not in the default family but are accepted by name, and a
    name outside both is refused with the list of what is fitted."""
    assert "rw_asym_ck" in ProsocialSettings().models
    assert not set(EXTRA_MODELS) & set(ProsocialSettings().models)
    assert ProsocialSettings(models=("rw_ck", "rw_asym")).models == ("rw_ck", "rw_asym")
    with pytest.raises(ValueError, match=r"'nope'.*rw_ck, rw_asym_ck, bayes, .*rw_wsls, rw_asym$"):
        ProsocialSettings(models=("rw", "nope"))
