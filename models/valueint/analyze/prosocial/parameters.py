"""Group-level parameters of the prosocial-learning fits: each group's population value,
their difference and the unconstrained group effect, with HDIs and convergence."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.settings import HDI_PROB


def hdi(values: np.ndarray) -> tuple[float, float]:
    """The ``HDI_PROB`` highest-density interval of all ``values`` pooled."""
    import arviz_stats as azs

    low, high = azs.hdi(np.asarray(values, float).ravel(), prob=HDI_PROB)
    return float(low), float(high)


def _row(model, parameter, quantity, scale, values, with_sign: bool) -> dict:
    from valueint.inference.diagnostics import parameter_convergence

    values = np.asarray(values, float)
    low, high = hdi(values)
    rhat, ess = parameter_convergence(values)
    return {
        "model": model,
        "parameter": parameter,
        "quantity": quantity,
        "scale": scale,
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)),
        "median": float(np.median(values)),
        "hdi_low": low,
        "hdi_high": high,
        "hdi_prob": HDI_PROB,
        "p_gt_0": float((values > 0).mean()) if with_sign else math.nan,
        "r_hat": rhat,
        "ess_bulk": ess,
    }


def parameter_table(name: str, idata, groups: Sequence[str]) -> pd.DataFrame:
    """Group-level parameters of one fit: per parameter the population value of each
    group (``<p>_by_group``, natural scale), their ``difference`` (compared - reference,
    natural scale) and ``delta`` (the same on the unconstrained scale)."""
    reference, compared = groups
    posterior = idata.posterior
    rows = []
    for parameter in json.loads(idata.attrs["parameter_names"]):
        by_group = posterior[f"{parameter}_by_group"].transpose("chain", "draw", "group")
        ref = by_group.sel(group=reference).values
        other = by_group.sel(group=compared).values
        delta = posterior[f"delta_{parameter}_group"].sel(group_effect=compared).values
        rows += [
            _row(name, parameter, reference, "natural", ref, False),
            _row(name, parameter, compared, "natural", other, False),
            _row(name, parameter, "difference", "natural", other - ref, True),
            _row(name, parameter, "delta", "unconstrained", delta, True),
        ]
    return pd.DataFrame(rows)


def parameters_table(fits: Mapping, groups: Sequence[str]) -> pd.DataFrame:
    """``parameter_table`` of every fit, stacked in the order of ``fits``."""
    return pd.concat(
        [parameter_table(name, idata, groups) for name, idata in fits.items()], ignore_index=True
    )
