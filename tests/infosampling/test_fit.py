"""Hierarchical fits of the sampling models: a study simulated from a known population
is fitted, and the fit's layout, its diagnostics, its pointwise log-likelihood, the
held-out density of new participants, the age curves and the predictive checks are
checked on it.  One small fit (module scope) serves every test."""

import numpy as np
import pytest

from valueint.inference.covariates import CovariateFormulas
from valueint.infosampling import checks
from valueint.infosampling import fit as fitting
from valueint.infosampling import simulation as recovery
from valueint.infosampling.arrays import count_tables, paths_from_trials
from valueint.infosampling.catalogue import get_model
from valueint.infosampling.family import INFOSAMPLING
from valueint.infosampling.heldout import heldout_density
from valueint.workflows.kfold import deal_folds
from valueint.workflows.recovery import score_estimates, summarize_recovery
from valueint.workflows.sbc import replication

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("infosampling.test_fit")]

MODEL = "uncertainty"
SUBJECTS = 16
FORMULAS = CovariateFormulas({}, default="1 + age")


@pytest.fixture(scope="session")
def study():
    design = recovery.synthetic_design(SUBJECTS)
    model = get_model(MODEL)
    matrices = fitting.design_for(model, design.subjects, FORMULAS)
    rng = np.random.default_rng(1)
    population = {
        p.name: (np.r_[p.prior_loc, 0.0], 0.3 if p.name in model.varying else 0.0)
        for p in model.parameters
    }
    population["sd_threshold"] = (np.r_[-1.6, 0.4], 0.3)  # stopping rises with age
    truth = recovery.draw_subjects(model, population, matrices, rng)
    return recovery.simulate_study(model, recovery.natural(model, truth), design, seed=2), truth


@pytest.fixture(scope="session")
def tree(study):
    data, _ = study
    return fitting.fit_sampling(
        data,
        MODEL,
        formulas=FORMULAS,
        chains=2,
        warmup=100,
        draws=100,
        pilot_warmup=40,
        pilot_draws=30,
        seed=3,
    )


def test_the_fit_has_every_group_and_the_trial_loglik_sums_to_the_total(study, tree):
    data, _ = study
    assert {"posterior", "log_likelihood", "sample_stats", "observed_data", "constant_data"} <= set(
        tree.children
    )
    loglik = tree["log_likelihood"]["choice"]
    assert loglik.sizes["obs"] == len(data.trials)
    model = get_model(MODEL)
    posterior = tree["posterior"]
    params = {p: posterior[p].isel(chain=0, draw=0).values for p in model.parameter_names}
    counts = count_tables(
        paths_from_trials(data.trials, data.steps, list(data.subjects.index)), SUBJECTS
    )
    from valueint.infosampling.arrays import count_loglik
    from valueint.infosampling.catalogue import decision_tables

    total = float(count_loglik(decision_tables(model, params), counts).sum())
    assert float(loglik.isel(chain=0, draw=0).sum()) == pytest.approx(total, rel=1e-9)


def test_the_stopping_parameter_age_slope_is_recovered(tree):
    """The population slope of the threshold in (standardized) age: truth 0.4."""
    slope = tree["posterior"]["coef_sd_threshold"].values[..., 1].ravel()
    lower, upper = np.quantile(slope, [0.025, 0.975])
    assert lower < 0.4 < upper and lower > 0, (lower, upper)


def test_subject_parameters_are_recovered(study, tree):
    _, truth = study
    draws = INFOSAMPLING.recovery_draws(MODEL, tree, recovery.natural(MODEL, truth))
    scores = summarize_recovery(score_estimates(draws, 0, 0.9, range(SUBJECTS)))
    assert scores.loc["sd_threshold", "scale"] == "logit"  # bounded in (0, 0.5)
    assert {"prior_mean", "prior_count", "prior_sd"} <= set(scores.index)
    assert scores.loc["sd_threshold", "pearson_r"] > 0.6, scores
    assert scores.loc["sd_threshold", "coverage"] > 0.6, scores


def test_new_participants_get_a_finite_heldout_density_with_reliable_weights(study, tree):
    data, _ = study
    new = recovery.simulate_study(
        MODEL,
        recovery.natural(
            MODEL,
            {
                p: np.zeros(SUBJECTS) + get_model(MODEL).parameters[i].prior_loc
                for i, p in enumerate(get_model(MODEL).parameter_names)
            },
        ),
        data,
        seed=9,
    )
    density = heldout_density(
        tree, new.select_subjects(list(new.subjects.index[:4])), draws=2000, population=400
    )
    assert np.isfinite(density.elpd).all() and (density.elpd < 0).all()
    # most weights reliable (k < 0.7), none hopeless
    assert (density.pareto_k < 0.7).mean() >= 0.75 and (density.pareto_k < 1.0).all(), density


def test_predictive_checks_cover_data_simulated_from_the_model(study, tree):
    data, _ = study
    table = checks.predictive_table(tree, data, n_draws=60)
    assert set(table.statistic) == {"tiles", "trust"}
    assert table.inside.mean() >= 0.7, table[~table.inside]


def test_folds_are_balanced_over_age():
    design = recovery.synthetic_design(157)
    ages = design.subjects.age.to_numpy()
    folds = deal_folds(INFOSAMPLING.strata(design, 5), 5, seed=0)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    means = [ages[folds == f].mean() for f in range(5)]
    assert max(means) - min(means) < 1.5
    with pytest.raises(ValueError, match="k must be"):
        deal_folds(INFOSAMPLING.strata(design, 1), 1, seed=0)


def test_an_sbc_replication_ranks_every_quantity():
    design = recovery.synthetic_design(8, seed=6)
    sampler = {"chains": 1, "warmup": 30, "draws": 40, "pilot_warmup": 20, "pilot_draws": 15}
    payload = {
        "family": "infosampling",
        "model": "fixed_evidence",
        "design": {"size": 8, "data": design},
        "sampler": INFOSAMPLING.default_settings.replace(**sampler).as_dict(),
        "rank_draws": 20,
    }
    result = replication(payload, seed=7)
    model = get_model("fixed_evidence")
    names = model.parameter_names
    assert set(result["ranks"]) == (
        {f"intercept_{p}" for p in names}
        | {f"sigma_{p}" for p in model.varying}
        | {f"{p}[0]" for p in names}
    )
    assert all(0 <= r <= 20 for r in result["ranks"].values())
    assert result["model"] == "fixed_evidence" and "converged" in result
