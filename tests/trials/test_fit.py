"""Fitting: the DataTree's contents, pointwise log-likelihood parity, diagnostics, files, CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.conftest import N_SUBJECTS, N_TRIALS, SMALL_FITS
from valueint.inference.comparison import loo
from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX, FitWarning, diagnostics
from valueint.inference.fit_files import load_fit, save_fit
from valueint.records import package_versions
from valueint.trials.fit import fit
from valueint.trials.fit_data import as_fit_data, data_hash
from valueint.trials.predictive_check import predictive_check
from valueint.trials.specs import TrialArrays

# the shared small fits (tests/conftest.py) are made once, on one worker
pytestmark = pytest.mark.xdist_group(SMALL_FITS)


def _rw_loglik_reference(alpha, beta, choice, outcome, mask):
    """log p(choice) per trial of one subject's [block, trial] data, by plain loops."""
    out = np.zeros(choice.shape)
    for b in range(choice.shape[0]):
        q = np.zeros(2)  # q_init = 0
        for t in range(choice.shape[1]):
            if not mask[b, t]:
                continue
            p1 = 1.0 / (1.0 + np.exp(-beta * (q[1] - q[0])))
            out[b, t] = np.log(p1 if choice[b, t] == 1 else 1.0 - p1)
            c = choice[b, t]
            q[c] += alpha * (outcome[b, t] - q[c])
    return out


def test_fit_returns_every_group_with_named_dims(small_fit, small_data):
    for group in (
        "posterior",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "sample_stats",
    ):
        assert group in small_fit.children, group
    posterior = small_fit.posterior
    assert posterior["alpha"].dims == ("chain", "draw", "subject")
    assert list(posterior["subject"].values) == list(small_data.subject_ids)
    assert posterior["alpha_by_group"].dims == ("chain", "draw", "group")
    assert list(posterior["group"].values) == ["young", "older"]
    assert list(posterior["group_effect"].values) == ["older"]
    assert ((posterior["alpha"] > 0) & (posterior["alpha"] < 1)).all()
    assert (posterior["beta"] > 0).all() and (posterior["sigma_beta"] > 0).all()
    # reference coding: the first level's mean is mu
    np.testing.assert_allclose(
        posterior["alpha_by_group"].sel(group="young"), posterior["mu_alpha"], rtol=1e-12
    )
    assert small_fit.sample_stats["diverging"].dtype == bool


def test_pointwise_loglik_counts_observed_trials_only(small_fit, small_data):
    n_observed = int(np.asarray(small_data.arrays.mask).sum())
    assert n_observed == N_SUBJECTS * N_TRIALS - 5
    loglik = small_fit.log_likelihood["choice"]
    assert loglik.dims == ("chain", "draw", "obs")
    assert loglik.sizes["obs"] == n_observed
    assert small_fit.observed_data["choice"].sizes["obs"] == n_observed
    assert small_fit.posterior_predictive["choice"].sizes["obs"] == n_observed
    assert set(np.unique(small_fit.posterior_predictive["choice"])) <= {0, 1}
    # subject 0, block 0, trials 5-8 were missed: absent from the observations
    first = (loglik["subject"] == small_data.subject_ids[0]) & (loglik["block"] == 0)
    assert sorted(loglik["trial"].values[first.values]) == [0, 1, 2, 3, 4, *range(9, 16)]
    result = loo(small_fit)
    assert np.isfinite(result.elpd) and result.n_data_points == n_observed


def test_pointwise_loglik_matches_numpy_reference(small_fit, small_data):
    arrays = small_data.arrays
    loglik = small_fit.log_likelihood["choice"]
    for chain, draw in ((0, 0), (1, 77)):
        expected = []
        for s, subject in enumerate(small_data.subject_ids):
            alpha = float(small_fit.posterior["alpha"].sel(subject=subject)[chain, draw])
            beta = float(small_fit.posterior["beta"].sel(subject=subject)[chain, draw])
            dense = _rw_loglik_reference(
                alpha,
                beta,
                np.asarray(arrays.choice[s]),
                np.asarray(arrays.outcome[s]),
                np.asarray(arrays.mask[s]),
            )
            expected.append(dense[np.asarray(arrays.mask[s])])
        np.testing.assert_allclose(
            loglik.values[chain, draw], np.concatenate(expected), rtol=1e-10, atol=1e-12
        )


def test_attrs_record_seed_versions_hash_and_settings(small_fit, small_data):
    attrs = small_fit.attrs
    assert attrs["seed"] == 11
    assert attrs["model"] == "rw" and attrs["method"] == "nuts"
    assert attrs["data_sha256"] == data_hash(small_data.arrays)
    assert json.loads(attrs["versions"]) == package_versions()
    assert attrs["family"] == "trials"
    sampler = json.loads(attrs["sampler"])
    assert sampler["chains"] == 2 and sampler["draws"] == 150 and sampler["warmup"] == 150
    settings = json.loads(attrs["settings"])
    assert settings["group_covariates"] == ["group"]
    assert settings["chain_method"] == "parallel"  # conftest exposes two CPU devices
    # the default sampler: a learned centeredness per subject and parameter
    assert settings["parameterization"] == "centeredness" and settings["init"] == "svi"
    assert settings["n_gradients_warmup"] > 0 and settings["n_gradients_sampling"] > 0


def _short_fit(data, parameterization):
    """A 2 x (20 + 20) rw fit with the given sampler, and its recorded settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        idata = fit(
            data,
            "rw",
            chains=2,
            draws=20,
            warmup=20,
            progress=False,
            parameterization=parameterization,
        )
    return idata, json.loads(idata.attrs["settings"])


def test_learned_centeredness_is_still_available_and_recorded(small_data):
    _, settings = _short_fit(small_data, "auto")
    assert settings["parameterization"] == "centeredness"
    by_subject = np.asarray(settings["centeredness_by_subject"])
    assert by_subject.shape == (N_SUBJECTS, 2) and np.all((by_subject >= 0) & (by_subject <= 1))


def test_data_hash_changes_with_any_choice(small_data):
    arrays = small_data.arrays
    flipped = np.array(arrays.choice)
    flipped[2, 1, 3] = 1 - flipped[2, 1, 3]
    assert data_hash(arrays.replace(choice=flipped)) != data_hash(arrays)


def test_save_is_atomic_refuses_overwrite_and_round_trips(small_fit, tmp_path):
    path = tmp_path / "fits" / "rw.nc"
    save_fit(small_fit, path)
    assert [p.name for p in path.parent.iterdir()] == ["rw.nc"]  # no temporary left behind
    with pytest.raises(FileExistsError, match="overwrite"):
        save_fit(small_fit, path)
    save_fit(small_fit, path, overwrite=True)
    loaded = load_fit(path)
    assert loaded.attrs["data_sha256"] == small_fit.attrs["data_sha256"]
    np.testing.assert_array_equal(
        loaded.log_likelihood["choice"].values, small_fit.log_likelihood["choice"].values
    )
    assert list(loaded.posterior["subject"].values) == list(small_fit.posterior["subject"].values)
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="junk.nc"):
        load_fit(tmp_path / "junk.nc")


def test_diagnostics_warn_in_plain_words_on_a_bad_fit(small_data):
    with pytest.warns(FitWarning) as record:
        bad = fit(small_data, "rw", chains=2, draws=30, warmup=1, seed=0, progress=False)
    text = " ".join(str(w.message) for w in record)
    assert "R-hat" in text and "warmup" in text and "divergent" in text
    assert "effective sample size" in text
    report = diagnostics(bad)
    assert not report.converged and report.max_rhat > RHAT_MAX and report.min_ess_bulk < ESS_MIN
    assert not report.converged
    assert len(report.messages) == len(record)


def test_svi_close_to_nuts(small_fit, small_data):
    """Mean-field SVI on the same model: subject-level posterior medians of alpha within
    0.05 of NUTS on average, of log(beta) within 0.25; population mu_alpha within 0.1."""
    svi = fit(
        small_data,
        "rw",
        group_covariates="group",
        method="svi",
        draws=1000,
        seed=5,
        progress=False,
        svi_steps=3000,
    )
    assert svi.posterior.sizes["chain"] == 1 and "sample_stats" not in svi.children
    assert svi.attrs["method"] == "svi" and diagnostics(svi).converged

    def medians(idata, name):
        return idata.posterior[name].median(("chain", "draw")).values

    assert np.mean(np.abs(medians(svi, "alpha") - medians(small_fit, "alpha"))) < 0.05
    log_beta = np.log(medians(svi, "beta")) - np.log(medians(small_fit, "beta"))
    assert np.mean(np.abs(log_beta)) < 0.25
    assert abs(float(medians(svi, "mu_alpha") - medians(small_fit, "mu_alpha"))) < 0.1


def test_unpooled_fit_has_subject_parameters_only(small_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        idata = fit(
            small_data, "rw", hierarchical=False, chains=2, draws=60, warmup=60, progress=False
        )
    assert set(idata.posterior.data_vars) == {"alpha", "beta"}
    assert json.loads(idata.attrs["settings"])["hierarchical"] is False


def test_more_chains_than_devices_runs_them_in_sequence(small_data):
    with pytest.warns(UserWarning, match="one after another"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            idata = fit(small_data, "rw", chains=3, draws=10, warmup=10, progress=False)
    assert idata.posterior.sizes["chain"] == 3
    assert json.loads(idata.attrs["settings"])["chain_method"] == "sequential"


def test_bad_input_is_named(small_data):
    choice = np.array(small_data.arrays.choice)
    choice[1, 2, 3] = 2
    with pytest.raises(ValueError, match="subject 1, block 2, trial 3"):
        as_fit_data(small_data.arrays.replace(choice=choice))
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        fit(small_data, "nope")
    with pytest.raises(ValueError, match=r"subject covariate\(s\) 'age' not in the data"):
        fit(small_data, "rw", group_covariates="age")
    with pytest.raises(ValueError, match="method"):
        fit(small_data, "rw", method="gibbs")
    with pytest.raises(ValueError, match="pilot_warmup must be an integer of at least 4"):
        fit(small_data, "rw", parameterization="whitened", pilot_warmup=2)
    with pytest.raises(ValueError, match="parameterization must be one of whitened, auto"):
        fit(small_data, "rw", parameterization="sideways")
    with pytest.raises(TypeError, match="unknown sampler setting"):
        fit(small_data, "rw", centeredness="whitened")
    with pytest.raises(ValueError, match="hierarchical"):
        fit(small_data, "rw", hierarchical=False, group_covariates="group")
    frame = pd.DataFrame({"subject": [1, 1], "block": [1, 1], "trial": [1, 2], "choice": [1, 0]})
    with pytest.raises(ValueError, match="outcome"):
        as_fit_data(frame, "rw")


def test_dataframe_input_is_validated_and_converted():
    rows = [
        {"subject": s, "block": 1, "trial": t, "choice": (i + t) % 2, "outcome": t % 2}
        for i, s in enumerate(("a", "b"))
        for t in range(1, 9)
    ]
    rows[3]["choice"], rows[3]["outcome"] = np.nan, np.nan  # a missed trial
    data = as_fit_data(pd.DataFrame(rows), "rw")
    assert data.subject_ids == ("a", "b")
    assert np.asarray(data.arrays.mask).sum() == 15
    assert isinstance(data.arrays, TrialArrays)


def test_predictive_check_table(small_fit):
    check = predictive_check(small_fit)
    assert set(check["group"]) == {"young", "older"}
    assert set(check["trial"]) == set(range(1, 17))
    assert ((check["lower"] <= check["predicted"]) & (check["predicted"] <= check["upper"])).all()
    assert check["n"].sum() == small_fit.observed_data.sizes["obs"]


def test_likelihood_precision_is_float64_for_small_data_and_float32_for_large():
    import jax.numpy as jnp

    from valueint.trials.population import FLOAT32_ABOVE, likelihood_dtype

    assert likelihood_dtype("auto", FLOAT32_ABOVE) == jnp.float64
    assert likelihood_dtype("auto", FLOAT32_ABOVE + 1) == jnp.float32
    assert likelihood_dtype("float64", 10**6) == jnp.float64
    assert likelihood_dtype("float32", 10) == jnp.float32
    with pytest.raises(ValueError, match="precision must be"):
        likelihood_dtype("half", 10)


def test_whitened_sampler_runs_and_is_recorded(small_data):
    idata, settings = _short_fit(small_data, "whitened")
    assert settings["parameterization"] == "whitened"
    assert settings["approximation_warmup"] == 50  # half the warmup, at least 50
    assert json.loads(idata.attrs["sampler"])["parameterization"] == "whitened"
    assert np.all(np.isfinite(idata.posterior["alpha"].values))
