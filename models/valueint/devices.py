"""JAX's CPU set-up, applied before JAX starts: one device per core, and XLA's own loops
for the element-wise work.

Simulations and fits run many small per-learner (or per-chain) arrays through
element-wise ops and short reductions.  This jaxlib hands such fusions to its YNNPACK
library by default, which on CPU runs valueint's simulation step 1.5-5x slower than
XLA's own generated loops (``benchmarks/RESULTS.md``); matrix products keep YNNPACK.
"""

from __future__ import annotations

import os

# the flag is read when the CPU backend starts; unknown flags abort that start, so it is
# only set for the jaxlib it was measured with (pinned in pyproject.toml)
_CPU_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type=individual_dot"
_CPU_FUSION_JAXLIB = ("0.12",)


def cpu_fusion_flag() -> str | None:
    """The XLA flag that keeps element-wise fusions in XLA, or None for other jaxlibs."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("jaxlib")
    except PackageNotFoundError:
        return None
    return _CPU_FUSION_FLAG if installed.startswith(_CPU_FUSION_JAXLIB) else None


def use_cpu_devices(n: int) -> None:
    """Expose ``n`` CPU devices to JAX and set the fusion flag, before JAX starts.

    The seeds of a simulation are spread over the devices, and NUTS runs one chain on
    each.  Once JAX has started, neither takes effect (JAX reads them only once).
    """
    import numpyro

    numpyro.set_host_device_count(n)
    flag = cpu_fusion_flag()
    flags = os.environ.get("XLA_FLAGS", "")
    if flag and flag.split("=")[0] not in flags:  # a setting already there wins
        os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()
