"""K-fold cross-validation by subject: the folds, and refits on real local workers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference.family import FAMILIES
from valueint.jobs import Engine
from valueint.trials.fit import fit
from valueint.trials.fit_data import Covariate
from valueint.trials.fit_record import refit_arguments
from valueint.trials.simulation import RecipientBlocks, synthetic_data
from valueint.workflows.comparison import compare
from valueint.workflows.kfold import deal_folds, kfold

TRIALS = FAMILIES.get("trials")


def fold_of_subjects(data, k, seed):
    return deal_folds(TRIALS.strata(data, k), k, seed)


def with_groups(data, codes):
    return type(data)(
        data.arrays,
        data.subject_ids,
        (Covariate("group", np.asarray(codes), ("a", "b")),),
        data.context_labels,
    )


SUBJECTS, _ = synthetic_data("rw", 40, RecipientBlocks(16), seed=0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=6, max_size=40), st.integers(2, 6), st.integers(0, 99))
def test_folds_are_balanced_within_groups_and_fixed_by_the_seed(codes, k, seed):
    data = with_groups(SUBJECTS.select_subjects(slice(0, len(codes))), codes)
    k = min(k, len(codes))
    folds = fold_of_subjects(data, k, seed)
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    for level in (0, 1):
        in_level = np.bincount(folds[np.asarray(codes) == level], minlength=k)
        assert in_level.max() - in_level.min() <= 1
    np.testing.assert_array_equal(folds, fold_of_subjects(data, k, seed))


def test_a_bad_number_of_folds_is_named():
    data = SUBJECTS.select_subjects(slice(0, 4))
    with pytest.raises(ValueError, match="k must be an integer from 2 to the 4 subjects"):
        fold_of_subjects(data, 5, 0)
    with pytest.raises(ValueError, match="by='subject'"):
        compare({"a": None, "b": None}, by="trial", method="kfold")


def test_kfold_scores_every_subject_once_and_resumes(tmp_path):
    """Six subjects, two folds, one short SVI model: each subject is held out once, its
    density is finite, and a rerun refits nothing."""
    data, _ = synthetic_data("rw", 6, RecipientBlocks(16), seed=1)
    fits = {"rw": fit(data, "rw", method="svi", draws=40, svi_steps=100, progress=False)}
    options = {"out": tmp_path, "engine": Engine(workers=1, progress=False), "heldout_draws": 200}
    results = kfold(fits, 2, population_draws=20, **options)
    result = results["rw"]
    assert result.subject_ids == data.subject_ids and np.isfinite(result.elpd_i).all()
    assert sorted(np.bincount(result.folds)) == [3, 3]
    assert set(result.fold_diagnostics) == {0, 1}
    table = result.subjects_table()
    assert list(table.columns[:6]) == ["model", "subject", "elpd", "mc_se", "pareto_k", "fold"]
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()}
    again = kfold(fits, 2, population_draws=20, **options)["rw"]
    np.testing.assert_array_equal(again.elpd_i, result.elpd_i)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()} == written
    with pytest.raises(ValueError, match="fits of the data given"):
        kfold(fits, 2, data=synthetic_data("rw", 6, RecipientBlocks(16), seed=2)[0])


@pytest.mark.slow
def test_kfold_prefers_the_generating_model_and_resumes(tmp_path):
    # 12 subjects of a Rescorla-Wagner learner; the choice kernel alone cannot learn
    data, _ = synthetic_data("rw", 12, RecipientBlocks(48), seed=3)
    fits = {
        m: fit(data, m, method="svi", draws=200, svi_steps=600, progress=False)
        for m in ("rw", "choice_kernel")
    }
    # each refit is made as the full fit was: the same call on the same data repeats it
    settings, options = refit_arguments(fits["rw"])
    assert settings.method == "svi" and settings.svi_steps == 600 and settings.draws == 200
    seed = int(fits["rw"].attrs["seed"])
    repeat = fit(data, "rw", settings, seed=seed, progress=False, **options)
    np.testing.assert_array_equal(repeat["posterior"]["alpha"], fits["rw"]["posterior"]["alpha"])
    options = {"out": tmp_path, "engine": Engine(workers=1, progress=False), "heldout_draws": 1000}
    table = compare(fits, by="subject", method="kfold", k=2, **options)
    assert list(table.index) == ["rw", "choice_kernel"]
    loser = table.loc["choice_kernel"]
    assert loser["elpd_diff"] > 2 * loser["dse"]  # clear of zero, not only ahead
    assert (table["n_points"] == 12).all() and (table["ic"] == "kfold").all()
    assert np.isfinite(table["elpd_psis"]).all() and (table["mc_se"] < 1.0).all()
    results = table.attrs["kfold"]
    assert set(np.unique(results["rw"].folds)) == {0, 1}
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()}
    assert len(written) == 4
    again = compare(fits, by="subject", method="kfold", k=2, **options)
    np.testing.assert_array_equal(again["elpd"].values, table["elpd"].values)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "tasks").iterdir()} == written
