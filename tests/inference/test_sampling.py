"""The SVI objective: numpyro's Trace_ELBO estimate, as one program whatever the process."""

import hashlib
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import numpyro
from numpyro.infer import Trace_ELBO
from numpyro.infer.autoguide import AutoNormal

from valueint.inference.sampling import TraceOrderELBO

# a model with several latent sites, so that an order of site names has room to vary;
# run here and, as source, in fresh interpreters
MODEL_SOURCE = """
import numpyro
import numpyro.distributions as dist


def hierarchy(y):
    mu = numpyro.sample("mu", dist.Normal(0.0, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    tau = numpyro.sample("tau", dist.Normal(0.0, 1.0))
    with numpyro.plate("subject", y.shape[0]):
        theta = numpyro.sample("theta", dist.Normal(mu, sigma))
        numpyro.sample("y", dist.Normal(theta + tau, 1.0), obs=y)
"""
_namespace: dict = {}
exec(MODEL_SOURCE, _namespace)
_hierarchy = _namespace["hierarchy"]


def test_loss_equals_numpyros_trace_elbo():
    y = np.linspace(-2.0, 3.0, 7)
    guide = AutoNormal(_hierarchy)
    svi = numpyro.infer.SVI(_hierarchy, guide, numpyro.optim.Adam(0.1), Trace_ELBO())
    param_map = svi.get_params(svi.init(jax.random.key(0), y))
    for seed in range(5):
        key = jax.random.key(seed)
        ours = TraceOrderELBO().loss(key, param_map, _hierarchy, guide, y)
        theirs = Trace_ELBO().loss(key, param_map, _hierarchy, guide, y)
        # the same draws and terms; only the order of the sum may differ
        np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-12)


PROGRAM_TEXT = MODEL_SOURCE + textwrap.dedent(
    """
    import hashlib, jax, numpy as np
    from numpyro.infer.autoguide import AutoNormal
    from valueint.inference.sampling import TraceOrderELBO

    y = np.linspace(-2.0, 3.0, 7)
    guide = AutoNormal(hierarchy)
    svi = numpyro.infer.SVI(hierarchy, guide, numpyro.optim.Adam(0.1), TraceOrderELBO())
    state = svi.init(jax.random.key(0), y)
    text = jax.jit(lambda s: svi.update(s, y)).lower(state).as_text()
    print(hashlib.sha256(text.encode()).hexdigest())
    """
)


def test_svi_program_does_not_depend_on_string_hashing():
    """Each process must trace the same program, or the persistent compilation cache
    never hits across processes (test workers, notebook kernels, repeated runs)."""
    digests = set()
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM_TEXT],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "JAX_PLATFORMS": "cpu"},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1, digests
    assert all(len(d) == len(hashlib.sha256().hexdigest()) for d in digests)
