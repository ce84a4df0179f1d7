"""Test setup: float64 and two CPU devices, fixed before JAX starts."""

import numpyro

numpyro.set_host_device_count(2)
numpyro.enable_x64()
