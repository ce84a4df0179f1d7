"""Limitations (every unconverged fit and missed predictive check, from the records) and the
provenance note (every record behind the paper, as it was judged)."""

from __future__ import annotations

from collections.abc import Callable

from provenance import Records, RecordState

from .criteria import converged, fit_shortfall, refit_diagnostics
from .formatting import count, flag, number, percent, words
from .values import Values, slug

Add = Callable[[str, str, str, str], None]  # add(study, what, text, source)


def _zhao(add: Add, records: Records, crit: dict) -> None:
    """Zhao et al.: the fits, and each model's replicate intervals against the counts."""
    src = "praise_cheating/diagnostics.csv"
    for row in records.csv(src):
        if not converged(row, crit, "divergences"):
            add(
                "Zhao et al.",
                "unconverged fit",
                f"{row['model']}: {fit_shortfall(row, crit, 'divergences')}",
                src,
            )
    src = "praise_cheating/predictions.csv"
    rows = records.csv(src)
    for model in dict.fromkeys(r["model"] for r in rows):
        own = [r for r in rows if r["model"] == model]
        inside = [r for r in own if flag(r["observed_in_replicate_interval"])]
        if len(inside) / len(own) < crit["coverage"]:
            missed = words(r["condition"] for r in own if r not in inside)
            add(
                "Zhao et al.",
                "predictive check",
                f"{model}: {len(inside)} of {len(own)} conditions inside the replicate interval ({percent(len(inside) / len(own))}); outside: {missed}",
                src,
            )


def _design(add: Add, records: Records) -> None:
    """The study design: simulated studies with a fit that failed a convergence check."""
    src = "design/zhao2017/power.csv"
    rows = records.csv(src)
    per_size = ", ".join(
        f"{r['unconverged']} at {r['size']}" for r in rows if int(r["unconverged"])
    )
    total = sum(int(r["unconverged"]) for r in rows)
    studies = sum(int(float(r["studies"])) for r in rows)
    if total:
        add(
            "Study design",
            "unconverged fits",
            f"{total} of {studies} simulated studies had a fit that failed a convergence check (per children per condition: {per_size}); they are counted as they came out",
            src,
        )
    run = records.json("design/zhao2017/run.json")
    if run["engine"]["failed"]:
        add(
            "Study design",
            "failed fits",
            f"{run['engine']['failed']} study tasks failed",
            "design/zhao2017/run.json",
        )


def _prosocial(add: Add, records: Records, crit: dict) -> None:
    """Cutler et al.: the full run and the K-fold run."""
    for label, base in (
        ("Cutler et al.", "prosocial_learning"),
        ("Cutler et al., K-fold run", "prosocial_learning/kfold"),
    ):
        src = f"{base}/diagnostics.csv"
        for row in records.csv(src):
            if not flag(row["converged"]):
                add(
                    label,
                    "unconverged fit",
                    f"{row['model']}: {fit_shortfall(row, crit, 'n_divergent')}",
                    src,
                )
        checked = records.json(f"{base}/run.json")["coverage"]
        criterion = checked["criterion"]
        # the stay-after-outcome check, where the run made it (the K-fold run did not)
        checks = {"learning-curve": "by_model", "stay-after-outcome": "stay_after_outcome_by_model"}
        for what, key in checks.items():
            for model, panels in checked.get(key, {}).items():
                low = [
                    f"{panel} {percent(share)}"
                    for panel, share in panels.items()
                    if share < criterion
                ]
                if low:
                    add(
                        label,
                        "predictive check",
                        f"{model}: {len(low)} of {len(panels)} {what} panels below {percent(criterion)}: {', '.join(low)}",
                        f"{base}/run.json",
                    )
    src = "prosocial_learning/kfold/kfold.csv"
    for row in records.csv(src):
        if int(row["folds_with_warnings"]) or int(row["n_heldout_k_bad"]):
            add(
                "Cutler et al., K-fold run",
                "fold fits",
                f"{row['model']}: {row['folds_with_warnings']} of {row['k']} fold fits failed a convergence check; {row['n_heldout_k_bad']} of {row['n_points']} held-out subjects with Pareto k > {number(crit['pareto_k'], 1)}",
                src,
            )
    src = "prosocial_learning/comparison.csv"
    for row in records.csv(src):
        if row["unit"] == "subject" and int(row["n_pareto_k_bad"]):
            add(
                "Cutler et al.",
                "LOO by subject",
                f"{row['model']}: {row['n_pareto_k_bad']} of {row['n_points']} subjects with Pareto k > {number(crit['pareto_k'], 1)}",
                src,
            )


def _trust(add: Add, records: Records, crit: dict) -> None:
    """Ma et al.: the fits, the predictive checks, the recovery refit, what was not run."""
    src = "trust_sampling/diagnostics.csv"
    for row in records.csv(src):
        if not flag(row["converged"]):
            add(
                "Ma et al.",
                "unconverged fit",
                f"{row['model']}: {fit_shortfall(row, crit, 'divergences')}",
                src,
            )
    src = "trust_sampling/coverage.csv"
    for row in records.csv(src):
        if float(row["fraction"]) < crit["coverage"]:
            add(
                "Ma et al.",
                "predictive check",
                f"{row['model']}, {row['statistic']}: {row['covered']} of {row['points']} points inside the band ({percent(float(row['fraction']))})",
                src,
            )
    src = "trust_sampling/calibration/uncertainty/recovery.csv"
    fit = records.csv(src)[0]
    recovery_fit, tail_recorded = refit_diagnostics(fit)
    unrecorded = "" if tail_recorded else " (the record does not carry its tail ESS)"
    if not converged(recovery_fit, crit, "divergences"):
        add(
            "Ma et al.",
            "unconverged fit",
            f"recovery refit of {fit['model']}: {fit_shortfall(recovery_fit, crit, 'divergences')}{unrecorded}",
            src,
        )
    elif not tail_recorded:
        add(
            "Ma et al.",
            "unjudged fit",
            f"recovery refit of {fit['model']}: meets the criterion on R-hat, bulk ESS and divergences; the record does not carry its tail ESS",
            src,
        )
    src = "trust_sampling/calibration/uncertainty/run.json"
    if not records.json(src)["config"]["replications"]:
        add(
            "Ma et al.",
            "not run",
            "simulation-based calibration at the real design: no replications in the record",
            src,
        )
    if not records.json("trust_sampling/run.json")["config"]["k"]:
        add("Ma et al.", "not run", "K-fold by participant", "trust_sampling/run.json")


def _calibration(add: Add, records: Records, crit: dict) -> None:
    """Calibration: quantities outside the band, unconverged and unfinished replications."""
    src = "calibration/summary.csv"
    rows = records.csv(src)
    seen = {}
    for row in rows:
        name = f"{row['level']} {row['model']}"
        if not flag(row["passes"]):
            add(
                "Calibration",
                "outside the band",
                f"{name}, {row['quantity']}: {row['points_outside_band']} ECDF points outside the {percent(crit['sbc_band'])} band (POT-C p = {number(float(row['p_value']), 3)})",
                src,
            )
        seen.setdefault(name, row)
    for name, row in seen.items():
        divergent, rhat = (
            float(row["fits_with_divergences"]),
            float(row[f"fits_rhat_above_{crit['rhat_max']}"]),
        )
        if divergent or rhat:
            add(
                "Calibration",
                "unconverged fits",
                f"{name}: {percent(divergent)} of replication fits with divergences, {percent(rhat)} with R-hat > {number(crit['rhat_max'])}",
                src,
            )
    for folder in sorted({f"{r['level']}-{r['model']}" for r in rows}):
        run = records.json(f"calibration/{folder}/run.json")
        if run["replications_finished"] < run["config"]["replications"]:
            add(
                "Calibration",
                "unfinished",
                f"{folder}: {run['replications_finished']} of {run['config']['replications']} replications",
                f"calibration/{folder}/run.json",
            )


def limitations(v: Values, crit: dict) -> None:
    """Every unconverged fit, missed predictive check, quantity outside its calibration band
    and what was not run, one row per study and kind."""
    items: list[dict] = []
    records = v.records

    def add(study: str, what: str, text: str, source: str) -> None:
        items.append({"study": study, "what": what, "text": text, "source": records.name(source)})

    _zhao(add, records, crit)
    _design(add, records)
    _prosocial(add, records, crit)
    _trust(add, records, crit)
    _calibration(add, records, crit)

    # one row per study and kind, its entries joined: every entry stays, the table shrinks
    grouped: dict[tuple[str, str], dict] = {}
    for item in items:
        row = grouped.setdefault(
            (item["study"], item["what"]),
            {"study": item["study"], "what": item["what"], "entries": [], "sources": []},
        )
        row["entries"].append(item["text"])
        if item["source"] not in row["sources"]:
            row["sources"].append(item["source"])
    table = [
        {**row, "text": "; ".join(row["entries"]), "source": ", ".join(row["sources"])}
        for row in grouped.values()
    ]
    v.add_list(
        "limitations",
        table,
        source=sorted({i["source"][len(records.paper_dir.name) + 1 :] for i in items}),
    )
    v.values["limitations.count"] = {
        "value": len(items),
        "text": count(len(items)),
        "source": "limitations",
    }


def provenance_note(v: Values, states: list[RecordState]) -> None:
    """Every run record behind the paper, as ``Records.check`` judged it, and the counts."""
    by_state: dict[str, list[RecordState]] = {}
    for state in states:
        by_state.setdefault(state.state, []).append(state)
    rows = [
        {
            "path": s.path,
            "created": (s.created or "unknown")[:10],
            "state": s.state,
            "commit": (s.commit or "")[:12],
            "note": s.reason or ("made from uncommitted package changes" if s.dirty else ""),
        }
        for s in states
    ]
    v.lists["records"] = {"items": rows, "source": [s.path for s in states]}
    # compact: per state, the records with their dates
    grouped = [
        {
            "state": name,
            "records": "; ".join(
                f"{r['path']} ({r['created']}{', ' + r['commit'] if r['commit'] else ''}{', ' + r['note'] if r['note'] else ''})"
                for r in rows
                if r["state"] == name
            ),
        }
        for name in by_state
    ]
    v.lists["records.by_state"] = {"items": grouped, "source": [s.path for s in states]}
    for name in ("fresh", "stale", "no commit", "unjudged"):
        n = len(by_state.get(name, []))
        v.values[f"records.{slug(name)}"] = {"value": n, "text": count(n), "source": "records"}
    v.values["records.total"] = {
        "value": len(states),
        "text": count(len(states)),
        "source": "records",
    }
    dirty = sum(s.dirty for s in states)
    v.values["records.dirty"] = {"value": dirty, "text": count(dirty), "source": "records"}
