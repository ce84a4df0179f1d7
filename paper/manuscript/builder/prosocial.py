"""Cutler et al.'s prosocial learning task: the model comparison (by trial, by subject and
K-fold), the age-group parameters, the fits and the learning-curve checks."""

from __future__ import annotations

from .formatting import count, estimate, flag, number, percent, probability, words
from .values import Values, row_where, sampler_config, until_words, warmup_words


def prosocial(v: Values, crit: dict) -> None:
    base = "prosocial_learning"
    src = f"{base}/run.json"
    run = v.records.json(src)
    v.figure("prosocial_curves", f"{base}/learning_curves.png")
    data = run["data"]
    v.add("pro.subjects", data["n_subjects"], count(data["n_subjects"]), source=src)
    for group, n in data["subjects_by_group"].items():
        v.add(f"pro.subjects.{group}", n, count(n), source=src)
    v.add("pro.trials", data["n_observed"], count(data["n_observed"]), source=src)
    v.add("pro.missed", data["n_missed"], count(data["n_missed"]), source=src)
    config = run["config"]
    v.add("pro.models", config["models"], words(config["models"]), source=src)
    v.add("pro.n_models", len(config["models"]), count(len(config["models"])), source=src)
    sampler = sampler_config(config)
    v.add("pro.chains", sampler["chains"], count(sampler["chains"]), source=src)
    v.add("pro.warmup", sampler["warmup"], warmup_words(sampler), source=src)
    v.add("pro.draws", sampler["draws"], count(sampler["draws"]), source=src)
    rounds = run["fits"][run["best_model"]]["settings"].get("rounds") or {}
    v.add(
        "pro.until",
        bool(sampler.get("until_converged")),
        until_words(sampler, rounds.get("budget")),
        source=src,
    )
    v.add("pro.q_init", config["q_init"], number(config["q_init"], 1), source=src)
    v.add(
        "pro.q_init_alternative",
        config["q_init_alternative"],
        number(config["q_init_alternative"], 1),
        source=src,
    )
    best = run["best_model"]
    v.add("pro.best", best, source=src)
    from valueint.trials.specs import get_spec  # the registry's own words for the model

    v.add(
        "pro.best_description",
        get_spec(best).description,
        source="models/valueint/trials/catalogue.py",
    )
    v.add("pro.runner_up", run["runner_up"], source=src)
    v.add("pro.best_by_subject", run["best_model_by_subject"], source=src)
    v.add("pro.all_converged", bool(run["all_converged"]), source=src)
    v.add(
        "pro.coverage_criterion",
        run["coverage"]["criterion"],
        percent(run["coverage"]["criterion"]),
        source=src,
    )

    src = f"{base}/comparison.csv"
    comparison = v.records.csv(src)
    for unit in ("trial", "subject"):
        rows = sorted((r for r in comparison if r["unit"] == unit), key=lambda r: int(r["rank"]))
        runner = rows[1]
        diff, dse = float(runner["elpd_diff"]), float(runner["dse"])
        v.add(f"pro.{unit}.lead", diff, number(diff, 1), source=src)
        v.add(f"pro.{unit}.lead_dse", dse, number(dse, 1), source=src)
        v.add(f"pro.{unit}.lead_ratio", diff / dse, number(diff / dse, 1), source=src)
        recipient = [float(r["elpd_diff"]) for r in rows if "recipient" in r["model"]]
        v.add(f"pro.{unit}.recipient_behind", min(recipient), count(min(recipient)), source=src)
        v.add(f"pro.{unit}.last", rows[-1]["model"], source=src)
    subject_rows = [r for r in comparison if r["unit"] == "subject"]
    shares = [int(r["n_pareto_k_bad"]) / int(r["n_points"]) for r in subject_rows]
    v.add("pro.subject.k_bad_max", max(shares), percent(max(shares)), source=src)
    v.add("pro.subject.k_bad_min", min(shares), percent(min(shares)), source=src)

    src = f"{base}/initial_value.csv"
    initial = v.records.csv(src)
    alternative = row_where(initial, src, unit="trial", rank=1)
    diff, dse = float(alternative["elpd_diff"]), float(alternative["dse"])
    v.add("pro.q_init.lead", diff, number(diff, 1), source=src)
    v.add("pro.q_init.lead_dse", dse, number(dse, 1), source=src)
    preferred = float(row_where(initial, src, unit="trial", rank=0)["q_init"])
    v.add("pro.q_init.preferred", preferred, number(preferred, 1), source=src)

    src = f"{base}/parameters.csv"
    parameters = [r for r in v.records.csv(src) if r["model"] == best]
    table, excluding, differences = [], [], []
    for name in dict.fromkeys(r["parameter"] for r in parameters):
        cells = {}
        for quantity in ("young", "older", "difference"):
            row = row_where(parameters, src, parameter=name, quantity=quantity, scale="natural")
            cells[quantity] = estimate(
                float(row["median"]), float(row["hdi_low"]), float(row["hdi_high"])
            )
            v.add(f"pro.{name}.{quantity}", float(row["median"]), cells[quantity], source=src)
        difference = row_where(
            parameters, src, parameter=name, quantity="difference", scale="natural"
        )
        p_positive = float(difference["p_gt_0"])
        v.add(f"pro.{name}.p_positive", p_positive, probability(p_positive), source=src)
        low, high = float(difference["hdi_low"]), float(difference["hdi_high"])
        if low > 0 or high < 0:
            excluding.append(name)
            direction = "higher" if low > 0 else "lower"
            chance = probability(p_positive)
            chance = chance if chance[0] in "<>" else f"= {chance}"
            differences.append(
                f"{name} {direction} in older adults (difference {cells['difference']}, "
                f"P(Δ > 0) {chance})"
            )
        v.add(f"pro.{name}.older_higher", low > 0, source=src)
        v.add(f"pro.{name}.older_lower", high < 0, source=src)
        table.append({"parameter": name, **cells, "p_positive": probability(p_positive)})
        hdi_prob = float(difference["hdi_prob"])
    v.add_list("pro.parameters", table, source=src)
    v.add("pro.hdi", hdi_prob, percent(hdi_prob), source=src)
    v.add("pro.differences_excluding_zero", excluding, words(excluding) or "none", source=src)
    v.add(
        "pro.group_differences",
        excluding,
        f"the age groups differ in {'; '.join(differences)}"
        if differences
        else "no parameter differs clearly between the age groups",
        source=src,
    )

    src = f"{base}/diagnostics.csv"
    diagnostics = v.records.csv(src)
    fits = [r["model"] for r in diagnostics]
    unconverged = [r for r in diagnostics if not flag(r["converged"])]
    v.add("pro.fits", len(fits), count(len(fits)), source=src)
    v.add("pro.unconverged_count", len(unconverged), count(len(unconverged)), source=src)
    v.add(
        "pro.converged_models",
        [r["model"] for r in diagnostics if flag(r["converged"])],
        words(r["model"] for r in diagnostics if flag(r["converged"])) or "none",
        source=src,
    )
    v.add(
        "pro.best_converged", flag(row_where(diagnostics, src, model=best)["converged"]), source=src
    )
    sampling = sum(float(r["sampling_time_s"]) for r in diagnostics) / 60
    v.add("pro.sampling_minutes", sampling, number(sampling, 1), source=src)
    v.add(
        "pro.wall_minutes",
        run["wall_time_s"] / 60,
        number(run["wall_time_s"] / 60, 1),
        source=f"{base}/run.json",
    )

    src = f"{base}/coverage.csv"
    coverage = v.records.csv(src)
    best_panels = [r for r in coverage if r["model"] == best]
    panel_text = [
        f"{r['group']}/{r['context']} {percent(float(r['coverage']))}" for r in best_panels
    ]
    v.add(
        "pro.best_coverage",
        [float(r["coverage"]) for r in best_panels],
        ", ".join(panel_text),
        source=src,
    )
    # the stay-after-outcome check, where the run made it (its outputs list the table;
    # earlier runs did not): a run that lists it and lacks the file fails the build
    stay_checked = "stay_coverage.csv" in run.get("outputs", [])
    v.add("pro.stay_checked", stay_checked, source=f"{base}/run.json")
    if stay_checked:
        src_stay = f"{base}/stay_coverage.csv"
        stay_all = v.records.csv(src_stay)
        stays = [r for r in stay_all if r["model"] == best]
        v.add(
            "pro.best_stay_coverage",
            [float(r["coverage"]) for r in stays],
            ", ".join(
                f"after {r['after']}/{r['group']}/{r['context']} {percent(float(r['coverage']))}"
                for r in stays
            ),
            source=src_stay,
        )
        stay_models = dict.fromkeys(r["model"] for r in stay_all)
        stay_pass = [
            m
            for m in stay_models
            if all(flag(r["meets_criterion"]) for r in stay_all if r["model"] == m)
        ]
        v.add(
            "pro.stay_models_covering_every_panel",
            len(stay_pass),
            count(len(stay_pass)),
            source=src_stay,
        )
    else:  # every key the source names resolves; the source shows these only if checked
        for key in ("pro.best_stay_coverage", "pro.stay_models_covering_every_panel"):
            v.add(key, None, "not checked in this run", source=f"{base}/run.json")
    passing = [r for r in coverage if flag(r["meets_criterion"])]
    v.add("pro.panels_passing", len(passing), count(len(passing)), source=src)
    v.add("pro.panels", len(coverage), count(len(coverage)), source=src)
    every_panel = {m for m in fits if m in {r["model"] for r in coverage}}
    all_pass = [
        m
        for m in every_panel
        if all(flag(r["meets_criterion"]) for r in coverage if r["model"] == m)
    ]
    v.add("pro.models_covering_every_panel", len(all_pass), count(len(all_pass)), source=src)

    base_k = f"{base}/kfold"
    src = f"{base_k}/kfold.csv"
    kfold = sorted(v.records.csv(src), key=lambda r: int(r["rank"]))
    v.add("kfold.best", kfold[0]["model"], source=src)
    v.add("kfold.runner_up", kfold[1]["model"], source=src)
    diff, dse = float(kfold[1]["elpd_diff"]), float(kfold[1]["dse"])
    v.add("kfold.lead", diff, number(diff, 1), source=src)
    v.add("kfold.lead_dse", dse, number(dse, 1), source=src)
    v.add("kfold.lead_ratio", diff / dse, number(diff / dse, 1), source=src)
    v.add("kfold.k", int(kfold[0]["k"]), count(int(kfold[0]["k"])), source=src)
    v.add("kfold.last", kfold[-1]["model"], source=src)
    heldout = [int(r["n_heldout_k_bad"]) for r in kfold]
    v.add(
        "kfold.heldout_k_bad",
        heldout,
        f"{min(heldout)}–{max(heldout)} of {kfold[0]['n_points']}",
        source=src,
    )
    warned = [int(r["folds_with_warnings"]) for r in kfold]
    v.add(
        "kfold.all_folds_warned",
        all(w == int(r["k"]) for w, r in zip(warned, kfold, strict=True)),
        source=src,
    )
    src = f"{base_k}/run.json"
    krun = v.records.json(src)
    kc = krun["config"]
    v.add(
        "kfold.settings",
        kc,
        f"{kc['chains']} chains × ({count(kc['warmup'])} warmup + {count(kc['draws'])} draws)",
        source=src,
    )
