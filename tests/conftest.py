"""Test setup: float64 and two CPU devices, fixed before JAX starts.

Compiled programs are cached on disk so that test workers, notebook kernels and other
subprocesses, and repeated shapes share one compilation: the cache settings are put in
the environment, which JAX reads when it starts and subprocesses inherit.  The job
engine's local workers are threads of the test process (``VALUEINT_DASK_PROCESSES=0``):
a job starts in a moment and compiles nothing twice; the engine's own tests
(``tests/jobs/test_engine.py``) start real worker processes.
"""

import os
import tempfile

CACHE_DIR = os.environ.get(
    "VALUEINT_JAX_CACHE", os.path.join(tempfile.gettempdir(), "valueint-jax-cache")
)
# small programs too: many are compiled alike in every worker and notebook kernel
MIN_COMPILE_TIME_S = 0.1
os.environ["JAX_COMPILATION_CACHE_DIR"] = CACHE_DIR
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(MIN_COMPILE_TIME_S)
os.environ.setdefault("VALUEINT_DASK_PROCESSES", "0")

import jax  # noqa: E402
import numpyro  # noqa: E402

numpyro.set_host_device_count(2)
numpyro.enable_x64()
# also set here, in case a plugin imported JAX before this file
jax.config.update("jax_compilation_cache_dir", CACHE_DIR)
jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)


# --------------------------------------------------------------------------- shared fits
# One small data set and its fits serve every module that reads a trial fit (the fit's
# layout, comparison, files, the command line): made once per test worker.  The modules
# that use them are in one xdist group (``SMALL_FITS``), so that one worker makes them.

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SMALL_FITS = "small_fits"
N_SUBJECTS, N_TRIALS = 8, 48


@pytest.fixture(scope="session")
def small_data():
    """Simulated rw data with a few missed trials and a two-level subject covariate."""
    from valueint.trials.fit_data import Covariate, FitData
    from valueint.trials.simulation import RecipientBlocks, synthetic_data

    data, _ = synthetic_data("rw", N_SUBJECTS, RecipientBlocks(N_TRIALS), seed=3)
    mask = np.array(data.arrays.mask)
    mask[0, 0, 5:9] = False
    mask[3, 2, 15] = False
    arrays = data.arrays.replace(
        mask=mask,
        choice=np.where(mask, data.arrays.choice, 0),
        outcome=np.where(mask, data.arrays.outcome, 0.0),
    )
    group = Covariate("group", np.arange(N_SUBJECTS) % 2, ("young", "older"))
    return FitData(arrays, data.subject_ids, (group,), data.context_labels)


def _quiet_fit(data, model, **options):
    from valueint.inference.diagnostics import FitWarning
    from valueint.trials.fit import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # short chains: low ESS is expected
        return fit(data, model, progress=False, **options)


@pytest.fixture(scope="session")
def small_fit(small_data):
    """rw with the group on every parameter: 2 chains x (150 warmup + 150 draws)."""
    return _quiet_fit(
        small_data, "rw", group_covariates="group", chains=2, draws=150, warmup=150, seed=11
    )


@pytest.fixture(scope="session")
def two_fits(small_data, small_fit):
    """``small_fit`` and the choice kernel alone, fitted to the same data."""
    kernel = _quiet_fit(small_data, "choice_kernel", chains=2, draws=150, warmup=150)
    return {"rw": small_fit, "choice_kernel": kernel}
