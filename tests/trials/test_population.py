"""The population model: covariate formulas on the subject parameters' means.

The recovery test simulates subjects whose inverse temperature rises with age in years
(a known slope per standard deviation of age), fits ``beta ~ 1 + age`` and checks that
the 90% interval of the slope holds the truth and that its sign is right.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from valueint.inference.diagnostics import FitWarning
from valueint.inference.parameters import constrain
from valueint.trials.fit import fit
from valueint.trials.fit_data import FitData, NumericCovariate
from valueint.trials.simulation import make_design, simulate_data
from valueint.trials.specs import get_spec

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("trials.test_population")

N_SUBJECTS = 48
N_TRIALS = 96  # 6 blocks of 16, the real task's block length
TRUE = {"alpha": (0.0, 0.4), "log_beta_intercept": np.log(4.0), "log_beta_age_slope": 0.5}
BETA_SD = 0.25  # subject sd of log beta around the age line


@pytest.fixture(scope="session")
def age_data():
    rng = np.random.default_rng(20261202)
    age = rng.uniform(10.0, 25.0, N_SUBJECTS)
    z_age = (age - age.mean()) / age.std()  # the fit's standardization (sd with ddof 0)
    spec = get_spec("rw")
    unconstrained = {
        "alpha": rng.normal(*TRUE["alpha"], N_SUBJECTS),
        "beta": TRUE["log_beta_intercept"]
        + TRUE["log_beta_age_slope"] * z_age
        + rng.normal(0.0, BETA_SD, N_SUBJECTS),
    }
    params = {k: np.asarray(v) for k, v in constrain(spec, unconstrained).items()}
    design = make_design(N_SUBJECTS, N_TRIALS, seed=1)
    arrays = simulate_data(spec, params, design, seed=2)
    subject_ids = tuple(f"s{i:02d}" for i in range(N_SUBJECTS))
    return FitData(arrays, subject_ids, numeric_covariates=(NumericCovariate("age", age),))


def _age_fit(data, draws: int, warmup: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # short chains; checked below
        return fit(
            data,
            "rw",
            formulas={"beta": "1 + age"},
            chains=2,
            draws=draws,
            warmup=warmup,
            seed=5,
            progress=False,
            predictive_draws=10,
        )


@pytest.fixture(scope="session")
def age_fit(age_data):
    """A short fit: the layout and records of a numeric covariate."""
    return _age_fit(age_data, draws=30, warmup=30)


@pytest.mark.slow
def test_continuous_age_slope_is_recovered(age_data):
    coef = _age_fit(age_data, draws=400, warmup=300)["posterior"]["coef_beta"]
    coef = coef.sel(beta_term="age").values.ravel()
    lower, upper = np.quantile(coef, [0.05, 0.95])
    truth = TRUE["log_beta_age_slope"]
    assert lower <= truth <= upper, (lower, upper, truth)
    assert lower > 0, f"the age slope's 90% interval [{lower:.2f}, {upper:.2f}] includes 0"


def test_formulas_and_standardization_are_stored(age_fit, age_data):
    import json

    from valueint.inference.covariates import DesignMatrices

    design = DesignMatrices.from_json(age_fit.attrs["covariate_design"])
    assert design.columns["beta"] == ("Intercept", "age")
    assert design.columns["alpha"] == ("Intercept",)
    age = age_data.numeric_covariates[0].values
    assert design.standardization["age"].mean == pytest.approx(age.mean())
    np.testing.assert_allclose(age_fit["constant_data"]["age_value"].values, age)
    settings = json.loads(age_fit.attrs["settings"])
    assert settings["formulas"]["formulas"] == {"beta": "1 + age"}
    # alpha has no covariate: no coefficient variable, only its mean and sd
    assert "coef_alpha" not in age_fit["posterior"]
    assert "mu_alpha" in age_fit["posterior"]


def test_formulas_need_a_hierarchical_fit(age_data):
    with pytest.raises(ValueError, match="need hierarchical=True"):
        fit(age_data, "rw", hierarchical=False, formulas={"beta": "1 + age"})
    with pytest.raises(ValueError, match="not both"):
        fit(age_data, "rw", formulas={"beta": "1 + age"}, group_covariates="group")


def test_saved_fit_keeps_numeric_covariates(age_fit, age_data, tmp_path):
    from valueint.inference.fit_files import load_fit, save_fit
    from valueint.trials.fit_record import fit_data_from

    loaded = load_fit(save_fit(age_fit, tmp_path / "age.nc"))
    rebuilt = fit_data_from(loaded)
    assert [c.name for c in rebuilt.numeric_covariates] == ["age"]
    np.testing.assert_allclose(
        rebuilt.numeric_covariates[0].values, age_data.numeric_covariates[0].values
    )
    assert loaded.attrs["covariate_design"] == age_fit.attrs["covariate_design"]
