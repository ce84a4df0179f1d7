"""What a trial fit records of how it was made, read back: its data, its model options,
the arguments that refit it, and its log-likelihood recomputed."""

import numpy as np
import pytest

from tests.conftest import SMALL_FITS
from valueint.trials.fit_data import data_hash
from valueint.trials.fit_record import (
    fit_data_from,
    fit_options,
    recompute_log_likelihood,
    refit_arguments,
)

pytestmark = pytest.mark.xdist_group(SMALL_FITS)


def test_the_data_are_rebuilt_from_the_fit(small_fit, small_data):
    rebuilt = fit_data_from(small_fit)
    assert rebuilt.subject_ids == small_data.subject_ids
    assert data_hash(rebuilt.arrays) == data_hash(small_data.arrays)
    assert rebuilt.covariate("group").labels == ("young", "older")


def test_the_refit_arguments_are_the_fits_own(small_fit):
    settings, options = refit_arguments(small_fit)
    assert (settings.chains, settings.warmup, settings.draws) == (2, 150, 150)
    assert settings.parameterization == "auto" and settings.method == "nuts"
    assert options["hierarchical"] is True and options["options"] is None
    assert options["formulas"].to_dict()["default"] == "1 + group"
    assert fit_options(small_fit) is None


def test_the_log_likelihood_recomputes_to_the_stored_one(small_fit):
    again = recompute_log_likelihood(small_fit, chains=[1])["choice"].values
    np.testing.assert_allclose(again, small_fit.log_likelihood["choice"].values[[1]], atol=1e-9)
