"""Test setup: float64 and two CPU devices, fixed before JAX starts.

Compiled programs are cached on disk so that test workers and repeated shapes
share one compilation.
"""

import os
import tempfile

import jax
import numpyro

numpyro.set_host_device_count(2)
numpyro.enable_x64()
jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get("VALUEINT_JAX_CACHE", os.path.join(tempfile.gettempdir(), "valueint-jax-cache")),
)
# small programs too: many are compiled alike in every worker and notebook kernel
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
