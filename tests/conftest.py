"""Test setup: float64 and two CPU devices, fixed before JAX starts.

Compiled programs are cached on disk so that test workers, notebook kernels and other
subprocesses, and repeated shapes share one compilation: the cache settings are put in
the environment, which JAX reads when it starts and subprocesses inherit.
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

import jax  # noqa: E402
import numpyro  # noqa: E402

numpyro.set_host_device_count(2)
numpyro.enable_x64()
# also set here, in case a plugin imported JAX before this file
jax.config.update("jax_compilation_cache_dir", CACHE_DIR)
jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
