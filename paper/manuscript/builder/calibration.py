"""Simulation-based calibration: per model, the quantities outside their band and the share
of replication fits that did not converge."""

from __future__ import annotations

from provenance import RecordError

from .formatting import count, flag, number, percent, words
from .values import Values

# the third health column, by the layout of the summary: the share of replication fits
# that missed the whole criterion (current), or whose bulk ESS fell below 100 (older runs)
HEALTH_COLUMNS = {
    "fits_not_converged": "not converged",
    "fits_ess_bulk_below_100": "bulk ESS below 100",
}


def calibration(v: Values, crit: dict) -> None:
    base = "calibration"
    src = f"{base}/summary.csv"
    rows = v.records.csv(src)
    rhat_column = f"fits_rhat_above_{crit['rhat_max']}"
    health = [c for c in HEALTH_COLUMNS if c in rows[0]]
    if not health:
        raise RecordError(f"{v.records.name(src)}: none of the columns {', '.join(HEALTH_COLUMNS)}")
    health_column = health[0]
    v.add("sbc.health_label", HEALTH_COLUMNS[health_column], source=src)
    by_model: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_model.setdefault((row["level"], row["model"]), []).append(row)
    table, failing, unfinished = [], [], []
    for (level, model), quantities in by_model.items():
        record_src = f"{base}/{level}-{model}/run.json"
        run = v.records.json(record_src)
        planned, finished = run["config"]["replications"], run["replications_finished"]
        outside = [q["quantity"] for q in quantities if not flag(q["passes"])]
        failing += [f"{level} {model}: {q}" for q in outside]
        if finished < planned:
            unfinished.append(f"{level} {model} ({count(finished)} of {count(planned)})")
        first = quantities[0]
        table.append(
            {
                "level": level,
                "model": model,
                "replications": count(finished)
                if finished >= planned
                else f"{count(finished)} of {count(planned)}",
                "quantities": count(len(quantities)),
                "outside": ", ".join(outside) or "none",
                "min_p": number(min(float(q["p_value"]) for q in quantities), 3),
                "divergent": percent(float(first["fits_with_divergences"])),
                "rhat": percent(float(first[rhat_column])),
                "health": percent(float(first[health_column])),
            }
        )
    v.add_list("sbc.table", table, source=src)
    passing = [t for t in table if t["outside"] == "none"]
    v.add("sbc.models", len(table), count(len(table)), source=src)
    v.add("sbc.passing", len(passing), count(len(passing)), source=src)
    v.add("sbc.quantities", len(rows), count(len(rows)), source=src)
    v.add("sbc.failing", failing, words(failing) or "none", source=src)
    v.add("sbc.unfinished", unfinished, words(unfinished) or "none", source=src)
    divergent = [float(t["divergent"].rstrip("%")) / 100 for t in table if t["level"] == "trial"]
    rhat = [float(t["rhat"].rstrip("%")) / 100 for t in table if t["level"] == "trial"]
    v.add(
        "sbc.trial_divergent",
        divergent,
        f"{percent(min(divergent))}–{percent(max(divergent))}",
        source=src,
    )
    v.add("sbc.trial_rhat", rhat, f"{percent(min(rhat))}–{percent(max(rhat))}", source=src)
