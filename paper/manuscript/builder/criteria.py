"""The package's own thresholds, where the records do not carry them, and the convergence
criterion they make."""

from __future__ import annotations

from types import ModuleType

from provenance import RecordError

from .formatting import count, number, percent
from .values import Values


def package_constant(module: ModuleType, name: str):
    """A module-level constant of the package, and where it is defined, as values.json
    names it (``models/valueint/inference/diagnostics.py:RHAT_MAX``)."""
    if not hasattr(module, name):
        raise RecordError(f"no constant {name} in {module.__name__}")
    path = module.__name__.removeprefix("valueint.").replace(".", "/")
    return getattr(module, name), f"models/valueint/{path}.py:{name}"


def criteria(v: Values) -> dict:
    """The thresholds, as ``crit.*`` values and returned by key (``rhat_max``, ...)."""
    # imported here, not at the top: the modules start JAX (about 3 s), which importing
    # the builder alone (its tests, --help) need not wait for
    from valueint.analyze.trust_sampling import curves
    from valueint.inference import diagnostics, predictive, psis
    from valueint.sim import claims, reproduce
    from valueint.workflows import power_summary, sbc

    constants = {
        "rhat_max": package_constant(diagnostics, "RHAT_MAX"),
        "ess_min": package_constant(diagnostics, "ESS_MIN"),
        "pareto_k": package_constant(psis, "PARETO_K_BAD"),
        "coverage": package_constant(predictive, "COVERAGE_TARGET"),
        "band": package_constant(predictive, "BAND"),
        "claim_level": package_constant(claims, "LEVEL"),
        "late": package_constant(reproduce, "LATE"),
        "mc_level": package_constant(power_summary, "MC_LEVEL"),
        "sbc_band": package_constant(sbc, "BAND_PROB"),
        "trust_bands": package_constant(curves, "BANDS"),
    }
    found = {key: value for key, (value, _) in constants.items()}
    texts = {
        "rhat_max": number(found["rhat_max"]),
        "ess_min": count(found["ess_min"]),
        "pareto_k": number(found["pareto_k"], 1),
        "coverage": percent(found["coverage"]),
        "band": percent(found["band"]),
        "claim_level": percent(found["claim_level"]),
        "late": count(found["late"]),
        "mc_level": percent(found["mc_level"]),
        "sbc_band": percent(found["sbc_band"]),
        "trust_bands": percent(found["trust_bands"][-1]),
    }
    for key, (value, source) in constants.items():
        v.values[f"crit.{key}"] = {"value": value, "text": texts[key], "source": source}
    found["trust_band"] = found["trust_bands"][-1]
    return found


def converged(row: dict, crit: dict, divergence_column: str) -> bool:
    return (
        float(row["max_rhat"]) <= crit["rhat_max"]
        and float(row["min_ess_bulk"]) >= crit["ess_min"]
        and float(row["min_ess_tail"]) >= crit["ess_min"]
        and int(float(row[divergence_column])) == 0
    )


def fit_shortfall(row: dict, crit: dict, divergence_column: str) -> str:
    """What of the convergence criterion a fit misses, in words with its numbers."""
    misses = []
    if float(row["max_rhat"]) > crit["rhat_max"]:
        misses.append(f"R-hat {number(float(row['max_rhat']), 3)}")
    for kind in ("bulk", "tail"):
        ess = float(row[f"min_ess_{kind}"])
        if ess < crit["ess_min"]:
            misses.append(f"{kind} ESS {count(ess)}")
    divergences = int(float(row[divergence_column]))
    if divergences:
        misses.append(f"{divergences} divergence{'s' if divergences > 1 else ''}")
    return ", ".join(misses)


def refit_diagnostics(row: dict) -> tuple[dict, bool]:
    """A recovery table's refit diagnostics (its ``fit_*`` columns) as a diagnostics row,
    and whether the record carries the tail ESS (older recovery tables do not: it is then
    left out of the judgement, and said to be)."""
    tail = row.get("fit_min_ess_tail")
    refit = {
        "max_rhat": row["fit_max_rhat"],
        "min_ess_bulk": row["fit_min_ess_bulk"],
        "min_ess_tail": "inf" if tail is None else tail,
        "divergences": row["fit_divergences"],
    }
    return refit, tail is not None
