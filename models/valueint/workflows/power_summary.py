"""From simulated studies to power: rates per size with Monte Carlo intervals, the plot,
and the smallest size that meets each criterion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from valueint.inference.predictive import jeffreys_interval
from valueint.records import pyplot
from valueint.workflows.power_study import PowerStudy

MC_LEVEL = 0.95
# each criterion: the column of studies.csv that says whether a study met it
RATES = {
    "win_rate": "truth wins (PSIS-LOO)",
    "lead_rate": "lead > {lead_se:g} se",
    "weight_rate": "95% interval of {weight} above {null_below:g}",
}


def proportion_interval(k, n) -> tuple[np.ndarray, np.ndarray]:
    """The Monte Carlo interval of a rate of k successes in n studies (Jeffreys)."""
    return jeffreys_interval(k, n, MC_LEVEL)


def study_table(results: list[dict], study: PowerStudy) -> pd.DataFrame:
    """One row per simulated study, with whether it met each criterion."""
    criteria = study.criteria
    rows = []
    for r in results:
        rows.append(
            {
                "size": r["size"],
                "study": r["study"],
                "seed": r["seed"],
                "winner": r["winner"],
                "rival": r["rival"],
                "lead": r["lead"],
                "lead_se": r["lead_se"],
                "lead_ratio": r["lead"] / r["lead_se"] if r["lead_se"] > 0 else math.nan,
                "weight_low": r["weight_low"],
                "weight_high": r["weight_high"],
                "weight_mean": r["weight_mean"],
                "weight_sd": r["weight_sd"],
                "log10_bf": r.get("log10_bf"),
                "converged": not r["fit_messages"],
                "win": r["winner"] == study.truth_model,
                "lead_beyond": r["lead"] > criteria.lead_se * r["lead_se"],
                "weight_excludes": r["weight_low"] > criteria.null_below,
                **{f"truth_{k}": v for k, v in r["truth"].items() if not isinstance(v, list)},
                **{f"truth_{k}_mean": v[0] for k, v in r["truth"].items() if isinstance(v, list)},
            }
        )
    return pd.DataFrame(rows).sort_values(["size", "study"], ignore_index=True)


def power_table(studies: pd.DataFrame) -> pd.DataFrame:
    """Per size: each rate with its Monte Carlo interval, the expected posterior sd of the
    weight with its interval, the median lead in se, and the studies whose fits did not
    all converge."""
    rows = []
    for size, group in studies.groupby("size"):
        n = len(group)
        row = {"size": int(size), "studies": n}
        for rate, column in (
            ("win_rate", "win"),
            ("lead_rate", "lead_beyond"),
            ("weight_rate", "weight_excludes"),
        ):
            k = int(group[column].sum())
            low, high = proportion_interval(k, n)
            row |= {rate: k / n, f"{rate}_low": float(low), f"{rate}_high": float(high)}
        sd = group["weight_sd"]
        half = 1.96 * sd.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
        row |= {
            "weight_sd": float(sd.mean()),
            "weight_sd_low": float(sd.mean() - half),
            "weight_sd_high": float(sd.mean() + half),
            "median_lead_ratio": float(group["lead_ratio"].median()),
            "unconverged": int((~group["converged"]).sum()),
        }
        if group["log10_bf"].notna().any():
            row["bf10_rate"] = float((group["log10_bf"] > 1).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def smallest_size(power: pd.DataFrame, rate: str, target: float) -> dict:
    """The smallest size whose ``rate`` reaches ``target``, and the smallest whose Monte
    Carlo interval lies wholly above it (None where no size of the grid does)."""
    reached = power[power[rate] >= target]
    sure = power[power[f"{rate}_low"] >= target]
    return {
        "rate": rate,
        "target": target,
        "estimate": int(reached["size"].min()) if len(reached) else None,
        "interval_above": int(sure["size"].min()) if len(sure) else None,
    }


def median_crossing(power: pd.DataFrame, threshold: float) -> float | None:
    """The size at which the median lead in se reaches ``threshold``, interpolated
    linearly in sqrt(size) (the lead's z grows as sqrt(n)); None outside the grid."""
    x, y = np.sqrt(power["size"].to_numpy(float)), power["median_lead_ratio"].to_numpy()
    above = np.flatnonzero(y >= threshold)
    if not len(above):
        return None
    i = above[0]
    if i == 0:
        return float(power["size"].iloc[0])
    t = (threshold - y[i - 1]) / (y[i] - y[i - 1])
    return float((x[i - 1] + t * (x[i] - x[i - 1])) ** 2)


def plot_power(power: pd.DataFrame, study: PowerStudy):
    """Each rate against size with its Monte Carlo interval; the weight's expected sd."""
    plt = pyplot()
    criteria = study.criteria
    labels = {
        rate: text.format(
            lead_se=criteria.lead_se, weight=criteria.weight, null_below=criteria.null_below
        )
        for rate, text in RATES.items()
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for rate, label in labels.items():
        left.errorbar(
            power["size"],
            power[rate],
            yerr=[power[rate] - power[f"{rate}_low"], power[f"{rate}_high"] - power[rate]],
            marker="o",
            capsize=3,
            label=label,
        )
    left.axhline(criteria.power, color="grey", ls="--", lw=0.8, label=f"target {criteria.power:g}")
    left.set(
        xlabel=study.size_label,
        ylabel="share of simulated studies",
        ylim=(-0.02, 1.02),
        title=f"{study.name}: {int(power['studies'].min())}+ studies per size",
    )
    left.legend(fontsize=8, loc="lower right")
    right.errorbar(
        power["size"],
        power["weight_sd"],
        yerr=[
            power["weight_sd"] - power["weight_sd_low"],
            power["weight_sd_high"] - power["weight_sd"],
        ],
        marker="o",
        capsize=3,
        color="black",
    )
    right.set(
        xlabel=study.size_label,
        ylabel=f"posterior sd of {criteria.weight}",
        title="expected posterior sd (95% MC interval)",
    )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(power["size"], [str(s) for s in power["size"]])
        ax.minorticks_off()
    fig.tight_layout()
    return fig


def power_markdown(study: PowerStudy, power: pd.DataFrame, answers: dict, record: dict) -> str:
    """The report: the design, the table, and the answers, every number from the run."""
    criteria = study.criteria
    lines = [
        f"# Study design: {study.name}",
        "",
        f"Written by `valueint design {study.source}`; seed {study.seed}; "
        f"{int(power['studies'].sum())} simulated studies in all.",
        "",
        f"- Level: {study.level}; sizes ({study.size_label}): {', '.join(map(str, study.sizes))}.",
        f"- Truth: `{study.truth_model}`, parameters "
        + {
            "values": f"fixed at {dict(study.truth_values)}",
            "prior": "drawn from the priors, one draw per simulated study",
            "posterior": f"drawn from its posterior given the pilot counts `{study.pilot_counts}`, "
            "one draw per simulated study (the same draw at every size)",
        }[study.truth_from]
        + ".",
        f"- Fitted: {', '.join(f'`{m}`' for m in study.models)} by {study.fit['method'].upper()} "
        f"({', '.join(f'{k} {v}' for k, v in study.fit.items() if k != 'method')}); compared by "
        "PSIS-LOO.",
        f"- Criteria: the truth model ranks first; its LOO lead over the best other model "
        f"exceeds {criteria.lead_se:g} se; the 95% interval of `{criteria.weight}` lies above "
        f"{criteria.null_below:g} (the weight is positive by construction, so an interval "
        "cannot contain 0 itself). Rates are given with 95% Monte Carlo (Jeffreys) intervals.",
        "",
        "| size | studies | truth wins | lead > "
        f"{criteria.lead_se:g} se | {criteria.weight} above {criteria.null_below:g} | "
        f"sd of {criteria.weight} | median lead / se | unconverged |",
        "|---:|---:|---|---|---|---|---:|---:|",
    ]
    for row in power.itertuples():
        lines.append(
            f"| {row.size} | {row.studies} | {_rate(row, 'win_rate')} | {_rate(row, 'lead_rate')} "
            f"| {_rate(row, 'weight_rate')} | {row.weight_sd:.3f} [{row.weight_sd_low:.3f}, "
            f"{row.weight_sd_high:.3f}] | {row.median_lead_ratio:.2f} | {row.unconverged} |"
        )
    lead = answers["lead_rate"]
    crossing = answers["median_lead_crossing"]
    lines += [
        "",
        "## Answers",
        "",
        f"- **Power {criteria.power:g} for a LOO lead beyond {criteria.lead_se:g} se**: "
        + (
            f"{lead['estimate']} {study.size_label}"
            + (
                f" (the Monte Carlo interval is wholly above {criteria.power:g} from "
                f"{lead['interval_above']})"
                if lead["interval_above"] is not None
                else "; no size of the grid has its Monte Carlo interval wholly above the target"
            )
            if lead["estimate"] is not None
            else f"not reached at any size of the grid (largest: {study.sizes[-1]})"
        )
        + ".",
        f"- **The median study's lead reaches {criteria.lead_se:g} se** at about "
        + (
            f"{crossing:.0f} {study.size_label} (interpolated in sqrt(size))."
            if crossing is not None
            else f"no size of the grid (largest: {study.sizes[-1]})."
        ),
    ]
    for rate in ("win_rate", "weight_rate"):
        answer = answers[rate]
        text = RATES[rate].format(
            lead_se=criteria.lead_se, weight=criteria.weight, null_below=criteria.null_below
        )
        lines.append(
            f"- Power {criteria.power:g} for *{text}*: "
            + (
                f"{answer['estimate']} {study.size_label}."
                if answer["estimate"] is not None
                else "not reached in the grid."
            )
        )
    unconverged = int(power["unconverged"].sum())
    lines += [
        "",
        f"Studies with a fit that failed a convergence check: {unconverged} of "
        f"{int(power['studies'].sum())} (counted as they are; see `studies.csv`, column "
        "`converged`).",
        "",
        f"Wall time {record['wall_time_s'] / 60:.1f} min; versions and settings in `run.json`.",
        "",
    ]
    return "\n".join(lines)


def _rate(row, rate: str) -> str:
    value, low, high = (getattr(row, name) for name in (rate, f"{rate}_low", f"{rate}_high"))
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"
