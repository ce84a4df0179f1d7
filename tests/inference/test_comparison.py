"""Model comparison by PSIS-LOO and WAIC, leaving out a trial or a subject, and its
figure; on the shared small fits of two models to one data set."""

import warnings

import numpy as np
import pytest

from tests.conftest import N_SUBJECTS, N_TRIALS, SMALL_FITS
from valueint.inference.comparison import compare
from valueint.inference.figures import plot_comparison

pytestmark = pytest.mark.xdist_group(SMALL_FITS)


def test_compare_ranks_with_stacking_weights_and_pareto_counts(two_fits, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare(two_fits)
        by_subject = compare(two_fits, by="subject")
    assert list(table.columns[:3]) == ["rank", "elpd", "p"]
    assert table.index[0] == "rw"  # the data came from rw
    assert table["weight"].sum() == pytest.approx(1.0)
    assert (table["unit"] == "trial").all() and (by_subject["unit"] == "subject").all()
    assert (table["n_points"] == two_fits["rw"].log_likelihood.sizes["obs"]).all()
    assert (by_subject["n_points"] == N_SUBJECTS).all()
    assert (table["n_pareto_k_bad"] >= 0).all()
    # the first trial of every block is predicted at 0.5 by rw in every draw: exact, not "bad"
    assert table.loc["rw", "n_constant"] >= N_SUBJECTS * (N_TRIALS // 16) - 1
    assert np.isfinite(table["elpd_waic"]).all()
    plot_comparison(table, tmp_path / "compare.png")
    assert (tmp_path / "compare.png").stat().st_size > 1000


def test_compare_refuses_fits_of_different_data(small_fit):
    other = small_fit.copy()
    other.attrs["data_sha256"] = "0" * 64
    with pytest.raises(ValueError, match="different data"):
        compare({"a": small_fit, "b": other})
