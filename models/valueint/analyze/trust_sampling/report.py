"""``summary.md`` of ``valueint analyze trust-sampling``: what was fitted, whether it
converged, which model predicts best, what the age curves say, and whether the predictive
checks cover the data (and where they miss)."""

from __future__ import annotations

from valueint.analyze.prosocial.report import markdown_table
from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX

WORDS = {
    "prior_green": "prior pseudo-tiles, green",
    "prior_red": "prior pseudo-tiles, red",
    "prior_mean": "prior mean belief that a peer reciprocates",
    "prior_count": "prior strength (pseudo-tiles)",
    "prior_sd": "prior uncertainty (sd)",
    "stop_tiles": "tiles before stopping",
    "cost": "cost per tile",
    "sd_threshold": "posterior sd at which sampling stops",
    "stop_sharpness": "stop sharpness",
    "trust_sharpness": "trust sharpness",
    "trust_threshold": "trust threshold (below 1/2: a bias toward trust)",
    "lapse": "trust lapse rate",
}


def _change_sentence(row) -> str:
    words = WORDS.get(row.parameter, row.parameter)
    interval = f"{row.change:+.3g} [90% interval {row.change_lower:+.3g}, {row.change_upper:+.3g}]"
    if row.change_lower > 0:
        verdict = "rises with age"
    elif row.change_upper < 0:
        verdict = "falls with age"
    else:
        verdict = "shows no clear change with age (the interval spans 0)"
    return (
        f"- **{words}** ({row.parameter}) {verdict}: {row.at_youngest:.3g} at "
        f"{row.age_from:.1f} years to {row.at_oldest:.3g} at {row.age_to:.1f}, change "
        f"{interval}, P(increase) = {row.p_increase:.2f}."
    )


def misses_text(predictive, model: str) -> list[str]:
    missed = predictive[(predictive.model == model) & ~predictive.inside]
    if missed.empty:
        return ["Every observed point lies inside its 90% band."]
    lines = ["Points outside the 90% band:"]
    for row in missed.itertuples():
        side = "above" if row.observed > row.upper else "below"
        lines.append(
            f"- {row.statistic}, ages {row.age_band}, reciprocation {row.reciprocation:.1f}: "
            f"observed {row.observed:.3f}, band [{row.lower:.3f}, {row.upper:.3f}] ({side})"
        )
    return lines


def _excluded_lines(engagement) -> list[str]:
    if engagement is None or not engagement.excluded.any():
        return []
    rows = engagement[engagement.excluded]
    listed = ", ".join(
        f"{r.subject} (age {r.age:.1f}, agreement {r.agreement:.2f}, {r.mean_tiles:.1f} tiles)"
        for r in rows.itertuples()
    )
    return [
        f"Set aside before fitting ({len(rows)}): participants whose trust choices follow the "
        f"majority of the tiles they saw on too few trials (below min_agreement, run.json; "
        f"the others: median "
        f"{engagement[~engagement.excluded].agreement.median():.2f}): {listed}. "
        "See `engagement.csv`.",
        "",
    ]


def trust_sampling_markdown(data, settings, tables: dict, *, kfold, best, wall, target) -> str:
    """summary.md of a run: ``tables`` are the CSV tables it wrote, by file name."""
    comparison, diagnostic = tables["comparison.csv"], tables["diagnostics.csv"]
    contrasts, coverage = tables["age_contrasts.csv"], tables["coverage.csv"]
    predictive, engagement = tables["predictive.csv"], tables.get("engagement.csv")
    sampler = settings.sampler
    lines = [
        "# Trust sampling across adolescence (trust_sampling_ma2022)",
        "",
        f"{data.n_subjects} participants, {len(data.trials):,} trials, "
        f"{int((data.steps.decision == 'open').sum()):,} tile openings. Data notes:",
        *(f"- {note}" for note in data.report.notes),
        "",
        "## Models",
        "Every model shares a Beta belief about the peer's reciprocation (a prior mean and a "
        "strength per participant, updated by each tile) and a trust rule (a threshold on "
        "the belief, below 1/2 a bias toward trust; a sharpness; lapses); they differ in "
        "when sampling stops: `fixed_evidence` after a fixed number of tiles, `sample_cost` "
        "when a tile's expected value of information (for the participant's own trust "
        "threshold) no longer pays its cost (optimal stopping), `uncertainty` when the "
        "posterior sd reaches a threshold, `confidence` when the belief lies enough "
        "posterior sds from the trust threshold. Every parameter's population mean is a "
        "B-spline in age (`1 + bs(age, df=4)`); the prior's two pseudo-counts and the stopping "
        "parameter vary between participants, the stop sharpness and the trust rule follow "
        "their age curve.",
        "",
        *_excluded_lines(engagement),
        f"Settings: {sampler.chains} chains x ({sampler.pilot_warmup} + {sampler.pilot_draws} "
        f"pilot, then {sampler.warmup} warmup + {sampler.draws} draws), seed {settings.seed}; "
        f"K-fold: {settings.kfold} folds by participant"
        + ("" if settings.kfold else " (not run)")
        + ".",
        "",
        "## Convergence",
        f"Criterion: R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_MIN}, no divergences, over "
        "every posterior variable.",
        "",
        markdown_table(diagnostic.drop(columns=["messages"])),
        "",
    ]
    failed = diagnostic[~diagnostic.converged]
    if len(failed):
        lines += [
            f"**Not converged: {', '.join(failed.model)}.** Their numbers below are provisional.",
            "",
        ]
        lines += [f"- {r.model}: {r.messages}" for r in failed.itertuples()] + [""]
    lines += [
        "## Model comparison",
        "elpd differences are to the best model of each column (0 for it); dse is their "
        "standard error. PSIS-LOO leaves out one trial; K-fold leaves out whole "
        "participants, each predicted as a new member of the population at their age.",
        "",
        markdown_table(comparison),
        "",
        f"Best model: **{best}**" + (" (by K-fold)." if kfold is not None else " (by PSIS-LOO)."),
        "",
        "## Development: the age curves",
        f"From the best model, {best}: the typical participant's parameter at the youngest "
        "and oldest ages, and the change between them.",
        "",
        *(_change_sentence(r) for r in contrasts[contrasts.model == best].itertuples()),
        "",
        "## Predictive checks",
        f"Criterion: at least {target:.0%} of the observed points of both curves (tiles per "
        "trial, trust rate; by age band and reciprocation) inside the 90% predictive band.",
        "",
        markdown_table(coverage),
        "",
    ]
    best_cov = coverage[(coverage.model == best) & (coverage.statistic == "both")].coverage.iloc[0]
    lines.append(
        f"{best}: {best_cov:.0%} of points covered: "
        + ("the criterion is met." if best_cov >= target else "**the criterion is not met.**")
    )
    lines += ["", *misses_text(predictive, best), "", f"Wall time: {wall:.0f} s.", ""]
    return "\n".join(lines)
