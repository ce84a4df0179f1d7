"""Zhao et al.'s praise-and-cheating paradigm: the fits to its counts, and the design study
of how many children a replication needs."""

from __future__ import annotations

from .criteria import converged
from .formatting import count, estimate, flag, interval, number, percent
from .values import Values, row_where, sampler_config


def praise_cheating(v: Values, crit: dict) -> None:
    base = "praise_cheating"
    run = v.records.json(f"{base}/run.json")
    v.figure("praise_proportions", f"{base}/proportions.png")
    config = run["config"]
    src = f"{base}/run.json"
    sampler = sampler_config(config)
    v.add("praise.chains", sampler["chains"], count(sampler["chains"]), source=src)
    v.add("praise.draws", sampler["draws"], count(sampler["draws"]), source=src)
    v.add("praise.warmup", sampler["warmup"], count(sampler["warmup"]), source=src)
    v.add("praise.best_loo", run["best_by_loo"], source=src)
    v.add("praise.best_evidence", run["best_by_evidence"], source=src)
    v.add("praise.models", len(config["models"]), count(len(config["models"])), source=src)
    praised = [
        sum(e["count"] for e in c["events"] if e["feedback"] == "praise")
        for c in run["paradigm"]["conditions"]
    ]
    praised = sorted({n for n in praised if n})
    v.add("praise.praise_events", praised, " or ".join(count(n) for n in praised), source=src)

    src = f"{base}/predictions.csv"
    predictions = v.records.csv(src)
    conditions = []
    for row in predictions:
        if row["model"] != run["best_by_loo"]:
            continue
        cond = row["condition"]
        conditions.append(cond)
        n, k = int(row["n"]), int(row["k"])
        v.add(f"praise.n.{cond}", n, count(n), source=src)
        v.add(f"praise.k.{cond}", k, f"{k} of {n}", source=src)
        observed = estimate(
            float(row["observed"]), float(row["observed_lower"]), float(row["observed_upper"])
        )
        v.add(f"praise.observed.{cond}", float(row["observed"]), observed, source=src)
        predicted = estimate(float(row["p_mean"]), float(row["p_lower"]), float(row["p_upper"]))
        v.add(f"praise.predicted.{cond}", float(row["p_mean"]), predicted, source=src)
    v.add("praise.total_n", sum(v.values[f"praise.n.{c}"]["value"] for c in conditions), source=src)
    v.values["praise.total_n"]["text"] = count(v.values["praise.total_n"]["value"])
    rows = []
    for row in predictions:
        rows.append(
            {
                "model": row["model"],
                "condition": row["condition"],
                "observed": f"{row['k']}/{row['n']} = {number(float(row['observed']))}",
                "predicted": estimate(
                    float(row["p_mean"]), float(row["p_lower"]), float(row["p_upper"])
                ),
                "replicate": interval(float(row["replicate_lower"]), float(row["replicate_upper"])),
                "inside": "yes" if flag(row["observed_in_replicate_interval"]) else "no",
            }
        )
    v.add_list("praise.predictions", rows, source=src)

    src = f"{base}/comparison.csv"
    comparison = sorted(v.records.csv(src), key=lambda r: int(r["rank"]))
    best = comparison[0]
    runner = comparison[1]
    v.add("praise.runner_up", runner["model"], source=src)
    diff, dse = float(runner["elpd_diff"]), float(runner["dse"])
    v.add("praise.lead", diff, number(diff, 1), source=src)
    v.add("praise.lead_dse", dse, number(dse, 1), source=src)
    v.add("praise.lead_ratio", diff / dse, number(diff / dse, 1), source=src)
    bayes = {r["model"]: 10 ** (-float(r["log10_bf"])) for r in comparison[1:]}
    v.add("praise.bf_min", min(bayes.values()), count(min(bayes.values())), source=src)
    v.add("praise.bf_max", max(bayes.values()), count(max(bayes.values())), source=src)
    v.add(
        "praise.posterior_best",
        float(best["posterior_probability"]),
        number(float(best["posterior_probability"])),
        source=src,
    )
    table = [
        {
            "model": r["model"],
            "elpd": number(float(r["elpd"]), 1),
            "diff": number(float(r["elpd_diff"]), 1),
            "dse": number(float(r["dse"]), 1),
            "log10_bf": number(float(r["log10_bf"]), 2),
            "posterior": number(float(r["posterior_probability"]), 3),
        }
        for r in comparison
    ]
    v.add_list("praise.comparison", table, source=src)

    src = f"{base}/parameters.csv"
    parameters = v.records.csv(src)
    for name in ("value_weight", "correlation", "bias"):
        row = row_where(parameters, src, model=run["best_by_loo"], parameter=name)
        text = estimate(float(row["mean"]), float(row["hdi_3%"]), float(row["hdi_97%"]))
        v.add(f"praise.{name}", float(row["mean"]), text, source=src)
    # the columns name the HDI's tails: hdi_3% and hdi_97% make a 94% interval
    tails = [float(c[4:-1]) for c in parameters[0] if c.startswith("hdi_")]
    v.add(
        "praise.hdi",
        (max(tails) - min(tails)) / 100,
        percent((max(tails) - min(tails)) / 100),
        source=src,
    )

    src = f"{base}/diagnostics.csv"
    diagnostics = v.records.csv(src)
    v.add("praise.max_rhat", max(float(r["max_rhat"]) for r in diagnostics), source=src)
    v.values["praise.max_rhat"]["text"] = number(v.values["praise.max_rhat"]["value"], 3)
    v.add("praise.min_ess", min(float(r["min_ess_bulk"]) for r in diagnostics), source=src)
    v.values["praise.min_ess"]["text"] = count(v.values["praise.min_ess"]["value"])
    v.add("praise.divergences", sum(int(r["divergences"]) for r in diagnostics), source=src)
    v.values["praise.divergences"]["text"] = count(v.values["praise.divergences"]["value"])
    unconverged = [r["model"] for r in diagnostics if not converged(r, crit, "divergences")]
    v.add("praise.all_converged", not unconverged, source=src)


def design(v: Values) -> None:
    base = "design/zhao2017"
    src = f"{base}/run.json"
    run = v.records.json(src)
    v.figure("design_power", f"{base}/power.png")
    config = run["config"]
    sizes = config["sizes"]
    v.add("design.sizes", sizes, ", ".join(count(s) for s in sizes), source=src)
    v.add("design.max_size", max(sizes), count(max(sizes)), source=src)
    v.add("design.studies_per_size", config["studies"], count(config["studies"]), source=src)
    v.add("design.studies", run["studies_finished"], count(run["studies_finished"]), source=src)
    v.add("design.truth", config["truth_model"], source=src)
    fit = config["fit"]
    v.add(
        "design.fit",
        fit,
        f"{fit['chains']} chains of {count(fit['warmup'])} warmup and {count(fit['draws'])} draws",
        source=src,
    )
    crit = config["criteria"]
    v.add("design.lead_se", crit["lead_se"], number(crit["lead_se"], 0), source=src)
    v.add("design.power", crit["power"], number(crit["power"], 1), source=src)
    v.add("design.null_below", crit["null_below"], number(crit["null_below"], 1), source=src)
    answers = run["answers"]
    lead = answers["lead_rate"]["estimate"]
    v.add("design.lead_power_reached", lead is not None, source=src)
    v.add("design.lead_power_size", lead, count(lead) if lead is not None else "none", source=src)
    crossing = answers["median_lead_crossing"]
    v.add(
        "design.median_crossing",
        crossing,
        count(crossing) if crossing is not None else "none",
        source=src,
    )
    for rate in ("win_rate", "weight_rate"):
        answer = answers[rate]
        for part in ("estimate", "interval_above"):
            value = answer[part]
            v.add(
                f"design.{rate}.{part}",
                value,
                count(value) if value is not None else "none",
                source=src,
            )
    failed = run["engine"]["failed"]
    v.add("design.engine_failed", failed, count(failed), source=src)

    src = f"{base}/power.csv"
    rows = v.records.csv(src)
    table = []
    for row in rows:
        size = int(row["size"])
        for rate in ("win_rate", "lead_rate", "weight_rate"):
            text = estimate(float(row[rate]), float(row[f"{rate}_low"]), float(row[f"{rate}_high"]))
            v.add(f"design.{rate}.at_{size}", float(row[rate]), text, source=src)
        table.append(
            {
                "size": count(size),
                "studies": count(float(row["studies"])),
                "win": v.values[f"design.win_rate.at_{size}"]["text"],
                "lead": v.values[f"design.lead_rate.at_{size}"]["text"],
                "weight": v.values[f"design.weight_rate.at_{size}"]["text"],
                "ratio": number(float(row["median_lead_ratio"])),
                "unconverged": count(float(row["unconverged"])),
            }
        )
    v.add_list("design.table", table, source=src)
    smallest, largest = min(int(r["size"]) for r in rows), max(int(r["size"]) for r in rows)
    for rate in ("win_rate", "lead_rate", "weight_rate"):
        v.values[f"design.{rate}.at_smallest"] = dict(v.values[f"design.{rate}.at_{smallest}"])
        v.values[f"design.{rate}.at_largest"] = dict(v.values[f"design.{rate}.at_{largest}"])
    unconverged = sum(int(r["unconverged"]) for r in rows)
    v.add("design.unconverged", unconverged, count(unconverged), source=src)
