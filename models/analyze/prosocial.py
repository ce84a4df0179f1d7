"""``valueint analyze prosocial-learning``: hierarchical model comparison on the prosocial
learning data of Cutler et al. (2021), young against older adults.

Every model of the family (``MODELS``) is fitted to all subjects at once, hierarchically,
with the age group shifting the population mean of every parameter (reference coding:
the first group, "young", is the reference).  The fits are compared by PSIS-LOO, leaving
out one trial and one subject; the best model's posterior predictive learning curves are
drawn over the observed ones, and every model's group-level parameters and group
differences are tabulated.  ``run_prosocial_analysis`` is the Python entry point; the
command adds argument checks and console messages.

Files written to OUT (each atomically; figures as PNG and PDF):
``comparison.csv/.png/.pdf``, ``learning_curves.csv/.png/.pdf``, ``parameters.csv``,
``parameters_by_group.png/.pdf`` (best model), ``diagnostics.csv``, ``run.json``,
``summary.md`` and, with ``save_fits``, ``fits/<model>.nc``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from valueint.cli.common import fail as _fail

# arviz, matplotlib and the fitting modules are imported where they are used, so that
# ``valueint --help`` stays fast.

MODELS = ("rw", "rw_recipient", "value_recipient", "choice_kernel", "rw_ck")
GROUP_ORDER = ("young", "older")  # the first is the reference level
CONTEXT_ORDER = ("self", "other", "none")
CONTEXT_NAMES = {"self": "self", "other": "other", "none": "no one"}
HDI_PROB = 0.94
CURVE_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
WILSON_Z = 1.959963984540054  # 95% binomial interval
RHAT_TARGET = 1.01
UNRELIABLE_K_SHARE = 0.1  # above this share of points with k > 0.7 a LOO is called unreliable
COMMAND = "valueint analyze prosocial-learning"
TABLE_FILES = ("comparison.csv", "learning_curves.csv", "parameters.csv", "diagnostics.csv")
FIGURES = ("comparison", "learning_curves", "parameters_by_group")
RECORD_FILES = ("run.json", "summary.md")

console = Console(stderr=True, soft_wrap=True)


# --------------------------------------------------------------------------- settings


@dataclasses.dataclass(frozen=True)
class ProsocialSettings:
    """How the models are fitted.  ``subjects_per_group``: keep only the first N subjects
    of each age group (in order of appearance), for quick runs; None keeps all."""

    models: tuple[str, ...] = MODELS
    chains: int = 4
    draws: int = 2000
    warmup: int = 1000
    target_accept_prob: float = 0.97
    max_tree_depth: int = 10
    seed: int = 0
    subjects_per_group: int | None = None
    predictive_draws: int = 200

    def __post_init__(self) -> None:
        models = tuple(self.models)
        object.__setattr__(self, "models", models)
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            raise ValueError(
                f"unknown model(s) {', '.join(map(repr, unknown))}; this analysis fits "
                f"{', '.join(MODELS)}"
            )
        if len(models) < 2 or len(set(models)) != len(models):
            raise ValueError(f"give at least two distinct models to compare; got {models}")
        for name in ("chains", "draws", "warmup", "max_tree_depth", "predictive_draws"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not 0.0 < self.target_accept_prob < 1.0:
            raise ValueError(
                f"target_accept_prob must lie in (0, 1); got {self.target_accept_prob}"
            )
        if self.subjects_per_group is not None and self.subjects_per_group < 2:
            raise ValueError(
                f"subjects_per_group must be at least 2 (or None for all); "
                f"got {self.subjects_per_group}"
            )

    @classmethod
    def full(cls, **changes) -> ProsocialSettings:
        """All subjects; 4 chains of 1000 warmup + 2000 draws at target acceptance 0.97.

        The population sd of beta mixes slowly (bulk ESS about 5% of the draws): with
        1000 draws per chain its R-hat stayed near 1.02-1.03, so the chains are long; the
        high target acceptance removes the rare divergence of ``value_recipient``."""
        return cls(**changes)

    @classmethod
    def quick(cls, **changes) -> ProsocialSettings:
        """10 subjects per group, 2 short chains: checks the pipeline, not the science."""
        preset = {
            "chains": 2,
            "draws": 150,
            "warmup": 150,
            "target_accept_prob": 0.9,
            "subjects_per_group": 10,
            "predictive_draws": 60,
        }
        return cls(**{**preset, **changes})

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "models": list(self.models)}


# --------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class PreparedData:
    """The trials analysed (after any subsetting) and the arrays the models see."""

    frame: pd.DataFrame
    fit_data: Any  # inference.FitData
    groups: tuple[str, str]  # (reference, compared)
    source: str
    file_sha256: str | None
    report: Any  # datasets.DatasetReport, or None for a frame given directly


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def group_levels(frame: pd.DataFrame) -> tuple[str, str]:
    """The two age groups, reference first: (young, older) when those are the labels,
    else in order of first appearance."""
    if "group" not in frame:
        raise ValueError("the trials have no 'group' column; the analysis compares two groups")
    levels = tuple(str(g) for g in pd.unique(frame["group"]))
    if len(levels) != 2:
        raise ValueError(
            f"column 'group' must hold exactly two groups to compare; found {len(levels)}: "
            f"{', '.join(levels)}"
        )
    return GROUP_ORDER if set(levels) == set(GROUP_ORDER) else levels


def select_subjects(frame: pd.DataFrame, per_group: int | None) -> pd.DataFrame:
    """The first ``per_group`` subjects of each group, in order of appearance (all if None)."""
    if per_group is None:
        return frame
    first = frame.drop_duplicates("subject")[["subject", "group"]]
    kept = first.groupby("group", sort=False).head(per_group)["subject"]
    subset = frame[frame["subject"].isin(set(kept))]
    subset.attrs = dict(frame.attrs)
    return subset


def load_trials_frame(data) -> tuple[pd.DataFrame, str, str | None, Any]:
    """(trial frame, source, file sha256, dataset report) from a path, None or a frame."""
    from valueint.trials import contract as trials
    from valueint.trials import datasets

    if isinstance(data, pd.DataFrame):
        frame = trials.validate(data, ("context", "outcome", "group"))
        return frame, str(data.attrs.get("source") or "a trial frame given in memory"), None, None
    file = datasets.resolve_cutler2021(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.DatasetNotice)  # the report says it
        frame = datasets.load_cutler2021(file)
    return frame, str(file), file_sha256(file), datasets.dataset_report(frame)


def prepare_data(data, subjects_per_group: int | None = None) -> PreparedData:
    """Load (or check) the trials, keep the subjects asked for, build the model arrays."""
    from valueint.trials.arrays import to_arrays
    from valueint.trials.inference import as_fit_data

    frame, source, sha, report = load_trials_frame(data)
    groups = group_levels(frame)
    frame = select_subjects(frame, subjects_per_group)
    unknown = sorted(set(frame["context"]) - set(CONTEXT_ORDER))
    if unknown:
        raise ValueError(
            f"{source}: column 'context' holds {', '.join(map(repr, unknown))}; "
            f"expected the recipients {', '.join(CONTEXT_ORDER)}"
        )
    # context codes follow CONTEXT_ORDER (0 self, 1 other, 2 none), as the models expect
    fit_data = as_fit_data(to_arrays(frame, CONTEXT_ORDER, groups=groups))
    return PreparedData(frame, fit_data, groups, source, sha, report)


# --------------------------------------------------------------------------- fitting


def fit_models(
    prepared: PreparedData,
    settings: ProsocialSettings,
    report: Callable[[str], None],
    progress: bool = False,
) -> tuple[dict, dict[str, list[str]]]:
    """Fit every model of ``settings``; returns the fits and each fit's warnings."""
    from valueint.trials import inference

    fits, messages = {}, {}
    n_trials = int(np.asarray(prepared.fit_data.arrays.mask).sum())
    for i, name in enumerate(settings.models, start=1):
        report(
            f"[bold]{name}[/] ({i}/{len(settings.models)}): {prepared.fit_data.n_subjects} "
            f"subjects, {n_trials} observed trials, {settings.chains} chains x "
            f"({settings.warmup} warmup + {settings.draws} draws)"
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", inference.FitWarning)
            idata = inference.fit(
                prepared.fit_data,
                name,
                group_covariates="group",
                chains=settings.chains,
                draws=settings.draws,
                warmup=settings.warmup,
                target_accept_prob=settings.target_accept_prob,
                max_tree_depth=settings.max_tree_depth,
                seed=settings.seed,
                progress=progress,
                predictive_draws=settings.predictive_draws,
            )
        idata.attrs["data_source"] = prepared.source
        fits[name] = idata
        messages[name] = []
        for item in caught:
            if issubclass(item.category, inference.FitWarning):
                messages[name].append(str(item.message))  # reported in the outputs
            else:
                warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        diag = inference.diagnostics(idata)
        verdict = "[green]converged[/]" if _converged(diag) else "[bold red]NOT converged[/]"
        report(
            f"  {verdict}: max R-hat {diag.max_rhat:.3f}, {diag.n_divergent} divergences, "
            f"min bulk ESS {diag.min_ess_bulk:.0f}, "
            f"{float(idata.attrs['sampling_time_s']):.0f} s sampling"
        )
        for message in diag.messages:
            report(f"    [yellow]{escape(message)}[/]")
    return fits, messages


def _converged(diag) -> bool:
    return bool(diag.max_rhat <= RHAT_TARGET and diag.n_divergent == 0)


def diagnostics_table(fits: Mapping) -> pd.DataFrame:
    """One row per model: max R-hat, min bulk/tail ESS, divergences, leapfrog steps per
    draw, draws at the maximum tree depth, sampling time and the messages of
    ``inference.diagnostics``; ``converged`` means R-hat <= 1.01 and no divergence."""
    from valueint.trials.inference import diagnostics

    rows = []
    for name, idata in fits.items():
        diag = diagnostics(idata)
        settings = json.loads(idata.attrs.get("settings", "{}"))
        steps, at_max_depth = _tree_stats(idata, settings.get("max_tree_depth"))
        rows.append(
            {
                "model": name,
                "max_rhat": diag.max_rhat,
                "min_ess_bulk": diag.min_ess_bulk,
                "min_ess_tail": diag.min_ess_tail,
                "n_divergent": diag.n_divergent,
                "n_draws": diag.n_draws,
                "chains": settings.get("chains"),
                "warmup": settings.get("warmup"),
                "target_accept_prob": settings.get("target_accept_prob"),
                "mean_leapfrog_steps": steps,
                "n_max_tree_depth": at_max_depth,
                "sampling_time_s": float(idata.attrs.get("sampling_time_s", math.nan)),
                "converged": _converged(diag),
                "messages": " | ".join(diag.messages),
            }
        )
    return pd.DataFrame(rows)


def _tree_stats(idata, max_tree_depth) -> tuple[float, int]:
    """(mean leapfrog steps per draw, draws whose trajectory hit the maximum tree depth)."""
    if "sample_stats" not in idata.groups() or "n_steps" not in idata.sample_stats:
        return math.nan, 0
    steps = np.asarray(idata.sample_stats["n_steps"].values)
    at_max = 0
    if max_tree_depth:
        at_max = int((steps >= 2**max_tree_depth - 1).sum())
    return float(steps.mean()), at_max


# --------------------------------------------------------------------------- comparison

COMPARISON_COLUMNS = (
    "unit",
    "rank",
    "model",
    "elpd",
    "se",
    "elpd_diff",
    "dse",
    "weight",
    "p",
    "n_pareto_k_bad",
    "n_constant",
    "n_points",
    "elpd_waic",
    "p_waic",
)


def comparison_table(fits: Mapping) -> tuple[pd.DataFrame, list[str]]:
    """PSIS-LOO leaving out one trial, then one subject: both tables stacked (``unit``),
    each best first; and the comparison's warnings (large Pareto k)."""
    from valueint.trials.comparison import ComparisonWarning, compare

    tables, messages = [], []
    for unit in ("trial", "subject"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ComparisonWarning)
            table = compare(fits, ic="loo", by=unit)
        messages += [str(w.message) for w in caught if issubclass(w.category, ComparisonWarning)]
        table = table.drop(columns=["model"]).rename_axis("model").reset_index()
        tables.append(table[list(COMPARISON_COLUMNS)])
    return pd.concat(tables, ignore_index=True), messages


def ranking(comparison: pd.DataFrame, unit: str = "trial") -> list[str]:
    """Model names best first by LOO leaving out one ``unit``."""
    table = comparison[comparison["unit"] == unit].sort_values("rank")
    return [str(m) for m in table["model"]]


# --------------------------------------------------------------------------- learning curves


def trial_positions(frame: pd.DataFrame) -> pd.Series:
    """1-based position of each trial within its block, as the model arrays order them."""
    by_block = frame.groupby(["subject", "block"], sort=False)["trial"]
    return by_block.rank(method="first").astype(np.int64)


def wilson_interval(k, n, z: float = WILSON_Z) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion k/n (95% by default)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    share = k / n
    denom = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denom
    half = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def observed_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of high-reward choices (choice == 1) per group, recipient and trial in block,
    over observed (not missed) trials, with Wilson 95% intervals."""
    chosen = frame.assign(position=trial_positions(frame))[frame["choice"].notna()]
    counts = chosen.groupby(["group", "context", "position"], sort=False)["choice"].agg(
        n="size", n_high="sum"
    )
    counts = counts.reset_index().rename(columns={"position": "trial"})
    counts["n_high"] = counts["n_high"].astype(np.int64)
    counts["observed"] = counts["n_high"] / counts["n"]
    counts["observed_lower"], counts["observed_upper"] = wilson_interval(
        counts["n_high"], counts["n"]
    )
    return counts


def predicted_curves(idata) -> pd.DataFrame:
    """Predicted share of choice == 1 per group, recipient and trial in block.

    ``predicted_mean`` and ``predicted_qNN``: over posterior predictive draws, which
    simulate whole blocks (choices and their outcomes drawn by the model, with the
    models' reward probabilities); ``one_step_mean``: P(choice = 1) given each subject's
    actual history of choices and outcomes, averaged over the posterior (from the
    pointwise likelihood), which follows the task's real outcome sequences.
    """
    simulated = idata.posterior_predictive["choice"].stack(sample=("chain", "draw"))
    simulated = simulated.transpose("obs", "sample")
    keys = [
        simulated["group"].values,
        simulated["context"].values,
        simulated["trial"].values + 1,
    ]
    shares = pd.DataFrame(simulated.values.astype(float)).groupby(keys, sort=False).mean()
    values = shares.to_numpy()
    table = pd.DataFrame(
        {"predicted_mean": values.mean(axis=1)}, index=shares.index.set_names(_CELL)
    )
    for q in CURVE_QUANTILES:
        table[f"predicted_q{round(q * 100):02d}"] = np.quantile(values, q, axis=1)
    one_step = one_step_predictions(idata).groupby(keys, sort=False).mean()
    table["one_step_mean"] = one_step.to_numpy()  # same keys and order as the shares
    return table.reset_index()


def one_step_predictions(idata) -> pd.Series:
    """P(choice = 1) per observed trial given the subject's own history, posterior mean."""
    loglik = idata.log_likelihood["choice"]
    p_observed = np.exp(loglik).mean(dim=("chain", "draw")).values
    chose_high = idata.observed_data["choice"].values == 1
    return pd.Series(np.where(chose_high, p_observed, 1.0 - p_observed))


_CELL = ["group", "context", "trial"]


def learning_curves_table(
    frame: pd.DataFrame, fits: Mapping, groups: Sequence[str]
) -> pd.DataFrame:
    """Observed and predicted learning curves, one row per model and cell; models in the
    order of ``fits``, cells by group, recipient and trial."""
    observed = observed_curves(frame)
    parts = []
    for name, idata in fits.items():
        predicted = predicted_curves(idata)
        merged = observed.merge(predicted, on=_CELL, how="outer", validate="one_to_one")
        if merged[["n", "predicted_mean"]].isna().any().any():
            raise ValueError(
                f"{name}: the fit's trials do not match the data's group, recipient and "
                "trial cells; was it fitted on these data?"
            )
        parts.append(merged.assign(model=name))
    table = pd.concat(parts, ignore_index=True)
    order = {
        "group": {g: i for i, g in enumerate(groups)},
        "context": {c: i for i, c in enumerate(CONTEXT_ORDER)},
        "model": {m: i for i, m in enumerate(fits)},
    }
    table = table.sort_values(
        ["model", "group", "context", "trial"],
        key=lambda col: col.map(order[col.name]) if col.name in order else col,
    )
    first = ["model", *_CELL, "n", "n_high", "observed", "observed_lower", "observed_upper"]
    return table[first + [c for c in table.columns if c not in first]].reset_index(drop=True)


# --------------------------------------------------------------------------- parameters


def _hdi(values: np.ndarray) -> tuple[float, float]:
    import arviz as az

    low, high = az.hdi(np.asarray(values, float).ravel(), hdi_prob=HDI_PROB)
    return float(low), float(high)


def _chain_stats(values: np.ndarray) -> tuple[float, float]:
    """(R-hat, bulk ESS) of [chain, draw] values; NaN with one chain."""
    import arviz as az

    values = np.asarray(values, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = float(az.rhat(values)) if values.shape[0] > 1 else math.nan
        ess = float(az.ess(values, method="bulk"))
    return rhat, ess


def _row(model, parameter, quantity, scale, values, with_sign: bool) -> dict:
    values = np.asarray(values, float)
    low, high = _hdi(values)
    rhat, ess = _chain_stats(values)
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
    return pd.concat(
        [parameter_table(name, idata, groups) for name, idata in fits.items()], ignore_index=True
    )


# --------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_both(fig, paths: Mapping[str, Path], stem: str) -> None:
    from valueint.records import save_figure

    save_figure(fig, paths[f"{stem}.png"], close=False, bbox_inches="tight")
    save_figure(fig, paths[f"{stem}.pdf"], bbox_inches="tight")


def plot_comparison_panels(comparison: pd.DataFrame):
    """Each model's elpd difference to the best, +- the se of the difference, leaving out
    one trial (left) and one subject (right); labels give stacking weights and the number
    of points with Pareto k > 0.7."""
    import seaborn as sns

    plt = _pyplot()
    units = ("trial", "subject")
    n_models = int((comparison["unit"] == "trial").sum())
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 1.2 + 0.6 * n_models), squeeze=False)
    colour = sns.color_palette("colorblind", 1)[0]
    for ax, unit in zip(axes[0], units, strict=True):
        table = comparison[comparison["unit"] == unit].sort_values("rank")
        y = np.arange(len(table))
        diff = -table["elpd_diff"].to_numpy()
        ax.errorbar(diff, y, xerr=table["dse"], fmt="o", color=colour, capsize=2)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        labels = [
            f"{model}\nw = {weight:.2f}" + (f", {int(bad)} k > 0.7" if bad else "")
            for model, weight, bad in zip(
                table["model"], table["weight"], table["n_pareto_k_bad"], strict=True
            )
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(len(table) - 0.5, -0.5)  # best on top
        best = table["elpd"].iloc[0]
        ax.set_xlabel(f"elpd - elpd of best (best: {best:.1f}); higher is better")
        ax.set_title(f"PSIS-LOO, leave one {unit} out", fontsize=10)
        sns.despine(ax=ax)
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: pd.DataFrame, best: str, runner_up: str | None, groups):
    """Observed share of high-reward choices (points, 95% intervals) over the best model's
    posterior predictive bands (50% and 90%) and its one-step-ahead prediction (dash-dot),
    per age group (rows) and recipient (columns); the runner-up's predictive median as a
    dashed line."""
    import seaborn as sns

    plt = _pyplot()
    contexts = [c for c in CONTEXT_ORDER if c in set(curves["context"])]
    fig, axes = plt.subplots(
        len(groups),
        len(contexts),
        figsize=(3.3 * len(contexts), 2.7 * len(groups)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    colours = sns.color_palette("colorblind", 3)
    low = min(0.3, float(curves["observed_lower"].min()), float(curves["predicted_q05"].min()))
    for i, group in enumerate(groups):
        for j, context in enumerate(contexts):
            ax = axes[i, j]
            cell = (curves["group"] == group) & (curves["context"] == context)
            fit = curves[cell & (curves["model"] == best)].sort_values("trial")
            trial = fit["trial"].to_numpy()
            ax.fill_between(
                trial,
                fit["predicted_q05"],
                fit["predicted_q95"],
                color=colours[0],
                alpha=0.2,
                lw=0,
                label=f"{best}: 90%",
            )
            ax.fill_between(
                trial,
                fit["predicted_q25"],
                fit["predicted_q75"],
                color=colours[0],
                alpha=0.4,
                lw=0,
                label=f"{best}: 50%",
            )
            ax.plot(trial, fit["predicted_q50"], color=colours[0], lw=1.2)
            ax.plot(
                trial,
                fit["one_step_mean"],
                color=colours[2],
                lw=1.0,
                ls="-.",
                label=f"{best}: one step ahead",
            )
            if runner_up is not None:
                other = curves[cell & (curves["model"] == runner_up)].sort_values("trial")
                ax.plot(
                    other["trial"],
                    other["predicted_q50"],
                    color=colours[1],
                    lw=1.2,
                    ls="--",
                    label=f"{runner_up}: median",
                )
            err = np.vstack(
                [fit["observed"] - fit["observed_lower"], fit["observed_upper"] - fit["observed"]]
            )
            ax.errorbar(
                trial,
                fit["observed"],
                yerr=err,
                fmt="o",
                color="black",
                ms=3,
                lw=0.8,
                capsize=0,
                label="observed (95% CI)",
            )
            ax.axhline(0.5, color="grey", lw=0.5, alpha=0.6)  # chance
            ax.set_ylim(low, 1.0)
            ax.set_title(f"{group}, reward for {CONTEXT_NAMES.get(context, context)}", fontsize=9)
            if i == len(groups) - 1:
                ax.set_xlabel("trial in block")
            if j == 0:
                ax.set_ylabel("P(high-reward choice)")
            sns.despine(ax=ax)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_parameters_by_group(name: str, idata, table: pd.DataFrame, groups):
    """One row per parameter: the posterior of each group's population value (natural
    scale), of the difference (compared - reference, natural) and of the unconstrained
    delta, with 94% HDIs and P(difference > 0)."""
    import seaborn as sns

    plt = _pyplot()
    reference, compared = groups
    parameters = json.loads(idata.attrs["parameter_names"])
    fig, axes = plt.subplots(
        len(parameters), 3, figsize=(10.0, 1.9 * len(parameters)), squeeze=False
    )
    colours = sns.color_palette("colorblind", 3)
    posterior = idata.posterior
    for row, parameter in enumerate(parameters):
        by_group = posterior[f"{parameter}_by_group"]
        ax = axes[row, 0]
        for k, group in enumerate(groups):
            values = by_group.sel(group=group).values.ravel()
            ax.hist(
                values,
                bins=50,
                density=True,
                histtype="stepfilled",
                alpha=0.45,
                color=colours[k],
                label=group,
            )
            low, high = _hdi(values)
            ax.plot([low, high], [0, 0], color=colours[k], lw=4, solid_capstyle="butt")
        ax.set_ylabel(parameter, fontsize=10)
        ax.set_yticks([])
        if row == 0:
            ax.set_title("population value by group", fontsize=9)
            ax.legend(fontsize=8, frameon=False)
        ref = by_group.sel(group=reference).values.ravel()
        other = by_group.sel(group=compared).values.ravel()
        delta = posterior[f"delta_{parameter}_group"].sel(group_effect=compared).values.ravel()
        for col, values, quantity, title in (
            (1, other - ref, "difference", f"{compared} - {reference} (natural scale)"),
            (2, delta, "delta", f"delta, {compared} vs {reference} (unconstrained)"),
        ):
            ax = axes[row, col]
            ax.hist(
                values, bins=50, density=True, histtype="stepfilled", alpha=0.5, color=colours[2]
            )
            stats = table[(table["parameter"] == parameter) & (table["quantity"] == quantity)]
            stats = stats.iloc[0]
            ax.plot(
                [stats["hdi_low"], stats["hdi_high"]],
                [0, 0],
                color="black",
                lw=4,
                solid_capstyle="butt",
            )
            ax.axvline(0, color="black", lw=0.8, ls="--")
            ax.annotate(
                f"P(> 0) = {stats['p_gt_0']:.3f}",
                (0.98, 0.9),
                xycoords="axes fraction",
                ha="right",
                fontsize=8,
                bbox={"fc": "white", "ec": "none", "alpha": 0.8},
            )
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=9)
        for ax in axes[row]:
            sns.despine(ax=ax, left=True)
    fig.suptitle(f"{name}: group-level parameters (bars: 94% HDI)", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- outputs


def output_paths(out: str | Path, save_fits: bool = False, models: Sequence[str] = ()) -> dict:
    """Every file the analysis writes, by name (``fits/<model>.nc`` with ``save_fits``)."""
    out = Path(out)
    names = [
        *TABLE_FILES,
        *(f"{s}.{ext}" for s in FIGURES for ext in ("png", "pdf")),
        *RECORD_FILES,
    ]
    paths = {name: out / name for name in names}
    if save_fits:
        paths.update({f"fits/{m}.nc": out / "fits" / f"{m}.nc" for m in models})
    return paths


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    from valueint.records import atomic_write

    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    atomic_write(path, buffer.getvalue())


def _fmt(value, digits: int = 2) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(table: pd.DataFrame, digits: Mapping[str, int] | None = None) -> str:
    """A pipe table of ``table`` (all columns), numbers rounded per column."""
    digits = dict(digits or {})
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = [header, rule]
    for _, row in table.iterrows():
        cells = [_fmt(row[c], digits.get(c, 2)) for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(
    *,
    prepared: PreparedData,
    settings: ProsocialSettings,
    comparison: pd.DataFrame,
    parameters: pd.DataFrame,
    diagnostics: pd.DataFrame,
    best: str,
    messages: Sequence[str],
    wall_time_s: float,
) -> str:
    """The run's results in a few paragraphs and tables; every number comes from them."""
    reference, compared = prepared.groups
    frame = prepared.frame
    per_group = frame.drop_duplicates("subject")["group"].value_counts()
    n_missed = int(frame["choice"].isna().sum())
    by_subject = ranking(comparison, "subject")
    trial_table = comparison[comparison["unit"] == "trial"].sort_values("rank")
    runner = trial_table.iloc[1]
    lines = [
        "# Prosocial learning in young and older adults: model comparison",
        "",
        f"Generated by `{COMMAND}`; every number below comes from this run "
        f"(wall time {wall_time_s / 60:.1f} min).",
        "",
        "## Data",
        "",
        f"- Source: `{prepared.source}`"
        + (f" (sha256 `{prepared.file_sha256[:16]}…`)" if prepared.file_sha256 else ""),
        f"- {frame['subject'].nunique()} subjects ("
        + ", ".join(f"{int(per_group.get(g, 0))} {g}" for g in prepared.groups)
        + f"), {len(frame) - n_missed} observed trials, {n_missed} missed trials masked.",
        f"- Models, each hierarchical with the age group shifting every parameter's "
        f"population mean ({reference} = reference): {', '.join(settings.models)}.",
        f"- NUTS: {settings.chains} chains x ({settings.warmup} warmup + {settings.draws} "
        f"draws), target acceptance {settings.target_accept_prob}, seed {settings.seed}.",
        "",
        "## Model comparison (PSIS-LOO)",
        "",
    ]
    shown = ["rank", "model", "elpd", "se", "elpd_diff", "dse", "weight", "p", "n_pareto_k_bad"]
    digits = {"elpd": 1, "se": 1, "elpd_diff": 1, "dse": 1, "p": 1, "weight": 2}
    for unit in ("trial", "subject"):
        table = comparison[comparison["unit"] == unit].sort_values("rank")
        lines += [f"Leave one {unit} out:", "", markdown_table(table[shown], digits), ""]
    lines += [
        f"**Best model: `{best}`** (leave one trial out); the runner-up `{runner['model']}` "
        f"is {runner['elpd_diff']:.1f} elpd behind (se of the difference "
        f"{runner['dse']:.1f}, i.e. {runner['elpd_diff'] / runner['dse']:.1f} se). "
        + (
            "Leaving out whole subjects gives the same winner."
            if by_subject[0] == best
            else f"Leaving out whole subjects prefers `{by_subject[0]}` instead."
        ),
        "",
    ]
    for unit in ("trial", "subject"):
        table = comparison[comparison["unit"] == unit]
        share = float((table["n_pareto_k_bad"] / table["n_points"]).max())
        if share > UNRELIABLE_K_SHARE:
            lines += [
                f"**Leaving out one {unit} is unreliable here**: up to {share:.0%} of the "
                f"left-out {unit}s have Pareto k > 0.7 (see the table), so its elpd values "
                "are rough; read it as a check on the direction, not on the size.",
                "",
            ]
    if messages:
        lines += ["Warnings of the comparison:", "", *(f"- {m}" for m in messages), ""]
    lines += [
        f"## Group differences in `{best}` ({compared} - {reference})",
        "",
        f"Population values on the natural scale, medians with {HDI_PROB:.0%} HDIs; "
        "P(> 0) is the posterior probability that the difference is positive.",
        "",
    ]
    best_rows = parameters[parameters["model"] == best]
    rows = []
    for parameter in dict.fromkeys(best_rows["parameter"]):
        sub = best_rows[best_rows["parameter"] == parameter].set_index("quantity")
        rows.append(
            {
                "parameter": parameter,
                reference: _interval(sub.loc[reference]),
                compared: _interval(sub.loc[compared]),
                "difference": _interval(sub.loc["difference"]),
                "P(> 0)": sub.loc["difference", "p_gt_0"],
                "delta (unconstrained)": _interval(sub.loc["delta"]),
            }
        )
    lines += [markdown_table(pd.DataFrame(rows), {"P(> 0)": 3}), ""]
    clear = [
        r["parameter"]
        for _, r in best_rows[best_rows["quantity"] == "difference"].iterrows()
        if r["hdi_low"] > 0 or r["hdi_high"] < 0
    ]
    lines += [
        "Differences whose 94% HDI excludes zero: "
        + (", ".join(f"`{p}`" for p in clear) if clear else "none")
        + ".",
        "",
        "## Diagnostics",
        "",
    ]
    diag_cols = [
        "model",
        "max_rhat",
        "min_ess_bulk",
        "min_ess_tail",
        "n_divergent",
        "n_max_tree_depth",
        "sampling_time_s",
        "converged",
    ]
    lines += [
        markdown_table(
            diagnostics[diag_cols],
            {"max_rhat": 3, "min_ess_bulk": 0, "min_ess_tail": 0, "sampling_time_s": 0},
        ),
        "",
    ]
    failed = diagnostics[~diagnostics["converged"]]
    if failed.empty:
        lines.append(
            f"Every model reached max R-hat <= {RHAT_TARGET} with no divergent transition."
        )
    else:
        for _, row in failed.iterrows():
            lines.append(
                f"- **`{row['model']}` did not converge** (max R-hat {row['max_rhat']:.3f}, "
                f"{int(row['n_divergent'])} divergences): its numbers should not be trusted."
            )
    notes = diagnostics[diagnostics["messages"] != ""]
    if not notes.empty:
        lines += ["", "Messages of the sampler diagnostics:", ""]
        for _, row in notes.iterrows():
            for message in row["messages"].split(" | "):
                lines.append(f"- `{row['model']}`: {message}")
    lines += [
        "",
        "## How to read the learning curves",
        "",
        "In `learning_curves.png` the bands are simulated: the model plays every block "
        "afresh, drawing its own choices and their outcomes with the models' reward "
        "probabilities (0.75 for the better symbol, 0.25 for the other), whereas the task's "
        "outcomes followed fixed sequences. The dash-dot line is the model's one-step-ahead "
        "prediction given each participant's real choices and outcomes.",
        "",
        "## Files",
        "",
        "`comparison.csv/.png`, `learning_curves.csv/.png` (observed vs the best model's "
        "posterior predictive), `parameters.csv` (every model), `parameters_by_group.png` "
        "(best model), `diagnostics.csv`, `run.json` (settings, seeds, data hash, versions).",
        "",
    ]
    return "\n".join(lines)


def _interval(row) -> str:
    return f"{row['median']:.3f} [{row['hdi_low']:.3f}, {row['hdi_high']:.3f}]"


# --------------------------------------------------------------------------- the analysis


@dataclasses.dataclass(frozen=True)
class ProsocialResult:
    """Everything the analysis made: the fits (in memory) and the tables it wrote."""

    settings: ProsocialSettings
    fits: dict
    comparison: pd.DataFrame
    learning_curves: pd.DataFrame
    parameters: pd.DataFrame
    diagnostics: pd.DataFrame
    best_model: str
    runner_up: str
    record: dict
    summary: str
    paths: dict
    prepared: PreparedData

    @property
    def converged(self) -> bool:
        """Every model reached R-hat <= 1.01 with no divergence."""
        return bool(self.diagnostics["converged"].all())


def _quiet(_: str) -> None:
    pass


def run_prosocial_analysis(
    data=None,
    out: str | Path = "runs/prosocial_learning",
    settings: ProsocialSettings | None = None,
    overwrite: bool = False,
    save_fits: bool = False,
    *,
    report: Callable[[str], None] | None = None,
    progress: bool = False,
) -> ProsocialResult:
    """Fit, compare and summarise the models of ``settings`` on the prosocial learning data.

    ``data``: a path to the trial file (or its folder), None for the loader's resolution
    (``datasets.resolve_cutler2021``), or a trial frame with ``group`` and ``context``
    columns.  Existing outputs in ``out`` are refused unless ``overwrite`` (checked before
    anything is fitted).  ``report`` receives progress messages (rich markup).
    """
    from valueint.records import check_output_paths, run_record, write_json
    from valueint.trials import inference

    settings = settings or ProsocialSettings.full()
    report = report or _quiet
    paths = output_paths(out, save_fits, settings.models)
    check_output_paths(paths.values(), overwrite)
    start = time.perf_counter()

    prepared = prepare_data(data, settings.subjects_per_group)
    report(f"data: {escape(prepared.source)}")
    if prepared.report is not None:
        report(f"[dim]{escape(str(prepared.report))}[/]")
    fits, fit_messages = fit_models(prepared, settings, report, progress)
    hashes = {idata.attrs["data_sha256"] for idata in fits.values()}

    report("comparing the fits by PSIS-LOO (leave one trial out, leave one subject out)")
    comparison, compare_messages = comparison_table(fits)
    order = ranking(comparison, "trial")
    best, runner_up = order[0], order[1]
    curves = learning_curves_table(prepared.frame, fits, prepared.groups)
    parameters = parameters_table(fits, prepared.groups)
    diagnostics = diagnostics_table(fits)

    for name, table in (
        ("comparison.csv", comparison),
        ("learning_curves.csv", curves),
        ("parameters.csv", parameters),
        ("diagnostics.csv", diagnostics),
    ):
        _write_csv(paths[name], table)
    _save_both(plot_comparison_panels(comparison), paths, "comparison")
    _save_both(
        plot_learning_curves(curves, best, runner_up, prepared.groups), paths, "learning_curves"
    )
    best_params = parameters[parameters["model"] == best]
    _save_both(
        plot_parameters_by_group(best, fits[best], best_params, prepared.groups),
        paths,
        "parameters_by_group",
    )
    if save_fits:
        for name, idata in fits.items():
            inference.save_fit(idata, paths[f"fits/{name}.nc"], overwrite=True)

    wall = time.perf_counter() - start
    summary = summary_markdown(
        prepared=prepared,
        settings=settings,
        comparison=comparison,
        parameters=parameters,
        diagnostics=diagnostics,
        best=best,
        messages=compare_messages,
        wall_time_s=wall,
    )
    frame = prepared.frame
    record = run_record(
        command=COMMAND,
        config=settings.as_dict(),
        seeds=[settings.seed],
        wall_time_s=wall,
        data={
            "source": prepared.source,
            "file_sha256": prepared.file_sha256,
            "data_sha256": sorted(hashes)[0] if len(hashes) == 1 else sorted(hashes),
            "n_subjects": int(frame["subject"].nunique()),
            "subjects_by_group": {
                g: int(n)
                for g, n in frame.drop_duplicates("subject")["group"].value_counts().items()
            },
            "n_observed": int(frame["choice"].notna().sum()),
            "n_missed": int(frame["choice"].isna().sum()),
            "groups": {"reference": prepared.groups[0], "compared": prepared.groups[1]},
        },
        dataset_report=(
            dataclasses.asdict(prepared.report) if prepared.report is not None else None
        ),
        best_model=best,
        runner_up=runner_up,
        best_model_by_subject=ranking(comparison, "subject")[0],
        all_converged=bool(diagnostics["converged"].all()),
        fits={
            name: {
                "seed": int(idata.attrs["seed"]),
                "sampling_time_s": float(idata.attrs["sampling_time_s"]),
                "settings": json.loads(idata.attrs["settings"]),
                "warnings": fit_messages[name],
            }
            for name, idata in fits.items()
        },
        comparison_warnings=compare_messages,
        outputs=sorted(str(p.relative_to(Path(out))) for p in paths.values()),
    )
    write_json(paths["run.json"], record)
    from valueint.records import atomic_write

    atomic_write(paths["summary.md"], summary)
    return ProsocialResult(
        settings=settings,
        fits=fits,
        comparison=comparison,
        learning_curves=curves,
        parameters=parameters,
        diagnostics=diagnostics,
        best_model=best,
        runner_up=runner_up,
        record=record,
        summary=summary,
        paths=paths,
        prepared=prepared,
    )


# --------------------------------------------------------------------------- command


def _settings_from_options(quick: bool, models: str | None, **overrides) -> ProsocialSettings:
    changes = {k: v for k, v in overrides.items() if v is not None}
    if models is not None:
        changes["models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    preset = ProsocialSettings.quick if quick else ProsocialSettings.full
    return preset(**changes)


def _comparison_console_table(comparison: pd.DataFrame, unit: str) -> Table:
    table = Table(title=f"PSIS-LOO, leave one {unit} out (best first)")
    columns = ["model", "elpd", "se", "elpd_diff", "dse", "weight", "n_pareto_k_bad"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = comparison[comparison["unit"] == unit].sort_values("rank")
    for _, row in rows.iterrows():
        table.add_row(*(_fmt(row[c], 2 if c == "weight" else 1) for c in columns))
    return table


def prosocial_learning_command(
    out: Annotated[Path, typer.Option(help="folder for the tables, figures and records")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="the trial file (trials.csv) or its folder; default: $VALUEINT_CUTLER2021, "
            "$VALUEINT_DATA_DIR/prosocial_learning_cutler2021, or the shared data folder "
            "beside the repository"
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="10 subjects per group, 2 short chains: a quick check")
    ] = False,
    models: Annotated[
        str | None, typer.Option(help=f"comma-separated models (default: {','.join(MODELS)})")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default 0)")] = None,
    chains: Annotated[int | None, typer.Option(min=1, help="NUTS chains")] = None,
    draws: Annotated[int | None, typer.Option(min=1, help="draws per chain")] = None,
    warmup: Annotated[int | None, typer.Option(min=1, help="warmup steps per chain")] = None,
    target_accept: Annotated[
        float | None, typer.Option(min=0.5, max=0.999, help="NUTS target acceptance")
    ] = None,
    subjects_per_group: Annotated[
        int | None, typer.Option(min=2, help="keep the first N subjects of each group")
    ] = None,
    save_fits: Annotated[bool, typer.Option(help="also write fits/<model>.nc")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
) -> None:
    """Prosocial learning (Cutler et al. 2021): fit, compare and summarise the models."""
    from valueint.records import check_output_paths

    try:
        settings = _settings_from_options(
            quick,
            models,
            seed=seed,
            chains=chains,
            draws=draws,
            warmup=warmup,
            target_accept_prob=target_accept,
            subjects_per_group=subjects_per_group,
        )
    except ValueError as err:
        _fail(str(err))
    try:
        check_output_paths(output_paths(out, save_fits, settings.models).values(), overwrite)
    except FileExistsError as err:
        _fail(str(err))
    from valueint.trials.datasets import resolve_cutler2021

    try:
        data_file = resolve_cutler2021(data)
    except FileNotFoundError as err:
        _fail(str(err))
    console.print(
        f"[bold]prosocial learning[/] ({'quick' if quick else 'full'} settings): "
        f"{', '.join(settings.models)}"
    )
    from valueint.trials.contract import TrialDataError

    try:
        result = run_prosocial_analysis(
            data_file,
            out,
            settings,
            overwrite=overwrite,
            save_fits=save_fits,
            report=console.print,
            progress=True,
        )
    except (TrialDataError, ValueError) as err:
        _fail(str(err))
    result_console = Console()
    for unit in ("trial", "subject"):
        result_console.print(_comparison_console_table(result.comparison, unit))
    console.print(f"best model (leave one trial out): [bold]{result.best_model}[/]")
    for _, row in result.diagnostics.iterrows():
        if not row["converged"]:
            console.print(
                f"[bold red]warning:[/] {row['model']} did not converge (max R-hat "
                f"{row['max_rhat']:.3f}, {int(row['n_divergent'])} divergences); see "
                "summary.md"
            )
    for message in result.record["comparison_warnings"]:
        console.print(f"[yellow]warning:[/] {escape(message)}")
    console.print(f"wrote {out}/ in {result.record['wall_time_s'] / 60:.1f} min")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``valueint analyze`` app."""
    app.command("prosocial-learning")(prosocial_learning_command)
