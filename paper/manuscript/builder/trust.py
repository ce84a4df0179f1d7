"""Ma et al.'s trust-sampling task: the model comparison, the fits, the change of each
parameter with age, the predictive checks and the recovery study."""

from __future__ import annotations

from .criteria import converged, refit_diagnostics
from .formatting import count, flag, number, percent, significant, words
from .values import Values, row_where, sampler_config


def trust(v: Values, crit: dict) -> None:
    base = "trust_sampling"
    src = f"{base}/run.json"
    run = v.records.json(src)
    v.figure("trust_age", f"{base}/age_curves.png")
    v.figure("trust_predictive", f"{base}/predictive.png")
    data = run["data"]
    v.add("trust.subjects", data["subjects"], count(data["subjects"]), source=src)
    v.add("trust.trials", data["trials"], count(data["trials"]), source=src)
    v.add("trust.excluded", len(data["excluded"]), count(len(data["excluded"])), source=src)
    config = run["config"]
    v.add("trust.models", config["models"], words(config["models"]), source=src)
    sampler = sampler_config(config)
    v.add(
        "trust.settings",
        config,
        f"{sampler['chains']} chains × ({count(sampler['pilot_warmup'])} + {count(sampler['pilot_draws'])} pilot, then {count(sampler['warmup'])} warmup + {count(sampler['draws'])} draws)",
        source=src,
    )
    v.add("trust.kfold_run", bool(config.get("kfold", config.get("k"))), source=src)
    best = run["best_model"]
    v.add("trust.best", best, source=src)

    src = f"{base}/comparison.csv"
    comparison = v.records.csv(src)
    behind = []
    for row in comparison:
        if row["model"] == best:
            continue
        diff, dse = abs(float(row["elpd_diff_loo_trial"])), float(row["dse_loo_trial"])
        behind.append(f"{row['model']} {count(diff)} behind (dse {count(dse)})")
    v.add("trust.behind", behind, words(behind), source=src)

    src = f"{base}/diagnostics.csv"
    diagnostics = v.records.csv(src)
    converged_models = [r["model"] for r in diagnostics if flag(r["converged"])]
    v.add("trust.any_converged", bool(converged_models), source=src)
    v.add(
        "trust.best_converged",
        flag(row_where(diagnostics, src, model=best)["converged"]),
        source=src,
    )
    rhats = [float(r["max_rhat"]) for r in diagnostics]
    v.add("trust.rhat_range", rhats, f"{number(min(rhats), 2)}–{number(max(rhats), 2)}", source=src)
    ess = [float(r["min_ess_bulk"]) for r in diagnostics]
    v.add("trust.ess_range", ess, f"{count(min(ess))}–{count(max(ess))}", source=src)

    src = f"{base}/age_contrasts.csv"
    contrasts = [r for r in v.records.csv(src) if r["model"] == best]
    first = contrasts[0]
    v.add(
        "trust.age_from", float(first["age_from"]), number(float(first["age_from"]), 1), source=src
    )
    v.add("trust.age_to", float(first["age_to"]), number(float(first["age_to"]), 1), source=src)
    table = []
    for row in contrasts:
        name = row["parameter"]
        low, high = float(row["change_lower"]), float(row["change_upper"])
        change = f"{significant(float(row['change']), signed=True)} [{significant(low, signed=True)}, {significant(high, signed=True)}]"
        v.add(f"trust.{name}.change", float(row["change"]), change, source=src)
        v.add(f"trust.{name}.clear", low > 0 or high < 0, source=src)
        trend = "rises" if low > 0 else "falls" if high < 0 else "shows no clear change"
        v.add(f"trust.{name}.trend", trend, source=src)
        v.add(
            f"trust.{name}.young",
            float(row["at_youngest"]),
            significant(float(row["at_youngest"])),
            source=src,
        )
        v.add(
            f"trust.{name}.old",
            float(row["at_oldest"]),
            significant(float(row["at_oldest"])),
            source=src,
        )
        table.append(
            {
                "parameter": name,
                "young": significant(float(row["at_youngest"])),
                "old": significant(float(row["at_oldest"])),
                "change": change,
                "p_increase": number(float(row["p_increase"])),
            }
        )
    v.add_list("trust.contrasts", table, source=src)

    src = f"{base}/coverage.csv"
    coverage = v.records.csv(src)
    for row in coverage:
        key = f"trust.coverage.{row['model']}.{row['statistic']}"
        text = f"{row['covered']} of {row['points']} ({percent(float(row['fraction']))})"
        v.add(key, float(row["fraction"]), text, source=src)
        if row["model"] == best:  # the text speaks of the best model, whichever it is
            v.add(
                f"trust.coverage.best.{row['statistic']}", float(row["fraction"]), text, source=src
            )

    src = f"{base}/calibration/uncertainty/recovery.csv"
    recovery = v.records.csv(src)
    rs = [float(r["r"]) for r in recovery]
    covers = [float(r["coverage"]) for r in recovery]
    v.add("trust.recovery.r", rs, f"{number(min(rs))}–{number(max(rs))}", source=src)
    v.add(
        "trust.recovery.coverage",
        covers,
        f"{number(min(covers))}–{number(max(covers))}",
        source=src,
    )
    v.add("trust.recovery.parameters", len(recovery), count(len(recovery)), source=src)
    v.add("trust.recovery.model", recovery[0]["model"], source=src)
    refit, tail_recorded = refit_diagnostics(recovery[0])
    v.add("trust.recovery.converged", converged(refit, crit, "divergences"), source=src)
    v.add("trust.recovery.tail_recorded", tail_recorded, source=src)
    src = f"{base}/calibration/uncertainty/run.json"
    calibration = v.records.json(src)
    v.add(
        "trust.sbc_replications",
        calibration["config"]["replications"],
        count(calibration["config"]["replications"]),
        source=src,
    )
