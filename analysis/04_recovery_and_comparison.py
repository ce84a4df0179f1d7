# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Can the models be told apart? Parameter and model recovery on the task design
#
# Before reading anything into parameters fitted to people, or into which model fits
# them best, we check on simulated data that the fitting can find the truth again:
#
# * **Parameter recovery** (`valueint.workflows.recovery.recover`): draw each simulated
#   subject's parameters from a known population, simulate the task, refit the
#   hierarchical model, and compare truth with the posterior mean (Pearson r, RMSE)
#   and how often the central 90% interval covers the truth (90% if calibrated).
# * **Model recovery** (`valueint.workflows.recovery.model_recovery`): simulate data from each
#   model, fit every model to every data set, and count which model PSIS-LOO
#   prefers: a confusion matrix whose diagonal is right.
#
# The models are those fitted to the human prosocial-learning data:
#
# | model | parameters | idea |
# | --- | --- | --- |
# | `rw` | α, β | Rescorla–Wagner values, softmax choice |
# | `rw_recipient` | α_self, α_other, α_none, β | one learning rate per recipient |
# | `value_recipient` | α, β, w_other, w_none | the outcome is worth w to the learner (w_self = 1) |
# | `choice_kernel` | α_c, β_c | perseveration only, no reward learning |
# | `rw_ck` | α, β, α_c, β_c | Rescorla–Wagner plus a choice kernel |
#
# Section 3 does the same for the ISR models, `isr` (α, β, w) and `no_internalization`
# (α, β; w = 0), against `rw`, on a socialization design of their own.
#
# The design is the real task's (`valueint.trials.simulation.make_design`): 3 recipients (self, other,
# no one) × 3 blocks × 16 trials = 144 trials per subject, blocks in a balanced random
# order per subject, reward probabilities 0.75 and 0.25 for the two symbols.
# Fits use short chains to fit the time budget; the package flags every fit whose
# R-hat exceeds 1.01 or whose effective sample size is below 400 (the thresholds of
# `valueint.inference.diagnostics`), and those flags are
# counted below: they say single fits' summaries are noisy, so read the numbers as an
# estimate of how recoverable the models are, not to the second decimal.
# Simulated populations are the package defaults (`valueint.trials.simulation.population_of`: each
# parameter normal on its unconstrained scale, centred on the prior's location, with
# 0.6 of the prior's scale), printed below.
#
# **Modes.** `VALUEINT_NOTEBOOK_MODE=full` (default) runs NUTS (SVI in section 3) with
# settings meant to give a usable answer on 2 CPU cores in roughly a quarter of an hour;
# `small` runs the same code with tiny settings, and fewer models, only to check that it
# works (its numbers mean nothing; its section 2 fits by SVI to save compilation time).  All numbers in the text below are computed from the run.  Outputs go to
# `$VALUEINT_NOTEBOOK_OUT/04_recovery_and_comparison/` (default `analysis/output/`).

# %%

import numpyro

numpyro.set_host_device_count(4)  # before JAX starts: NUTS chains run in parallel

import dataclasses
import time
import warnings

import numpy as np
import pandas as pd
from IPython import get_ipython
from IPython.display import Image, Markdown, display

from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX, FitWarning
from valueint.inference.parameters import constrain_value
from valueint.notebook import notebook_mode, notebook_out, write_tables
from valueint.records import check_output_paths, run_record, write_json
from valueint.trials.simulation import make_design, population_of, simulate_data
from valueint.trials.socialization import SocializationTask
from valueint.trials.specs import get_spec
from valueint.workflows.figures import plot_confusion, plot_recovery
from valueint.workflows.recovery import INTERVAL, model_recovery, recover

MODE = notebook_mode()  # VALUEINT_NOTEBOOK_MODE: full (default) or small
OUT = notebook_out("04_recovery_and_comparison")  # under VALUEINT_NOTEBOOK_OUT
OVERWRITE = True  # re-running the notebook replaces what it wrote before

# the delta-rule family of the prosocial analysis, less rw_asym_ck (added to it later:
# with it the full mode would take about twice the times analysis/README.md states;
# ``valueint recover rw_asym_ck`` checks it alone)
COMPARED = ("rw", "rw_recipient", "value_recipient", "choice_kernel", "rw_ck")
N_TRIALS = 144  # 3 recipients x 3 blocks x 16 trials
SETTINGS = {
    "full": {
        "parameters": {"size": 40, "seeds": (0,), "chains": 2, "warmup": 500, "draws": 500},
        "models": {"size": 20, "seeds": (0, 1), "chains": 2, "warmup": 250, "draws": 250},
    },
    # small: section 2 by SVI (its code does not depend on the method; NUTS is checked in
    # section 1), which leaves time for section 3's compilation
    "small": {
        "parameters": {"size": 5, "seeds": (0,), "chains": 1, "warmup": 20, "draws": 20},
        "models": {"size": 5, "seeds": (0,), "method": "svi", "svi_steps": 20, "draws": 20},
    },
}[MODE]
# small mode fits few models: each new model costs ~15 s of compilation
PARAMETER_MODELS = COMPARED if MODE == "full" else ("rw",)
MODEL_RECOVERY_MODELS = COMPARED if MODE == "full" else ("rw", "choice_kernel")
PREDICTIVE_DRAWS = 20  # posterior predictive draws stored per fit (not used here)

# Section 3, the ISR models on a socialization design.  Fitted by SVI (mean-field, one
# chain of guide draws): NUTS on the ISR likelihood costs about a minute per fit on 2
# cores, and model recovery needs 9 fits per seed.
ISR_MODELS = ("isr", "no_internalization", "rw") if MODE == "full" else ("isr", "rw")
ISR_DESIGN = {
    "full": SocializationTask(
        n_blocks=4, n_trials=32, watched=0.5, reward_probs=(0.1, 0.9), caregiver_theta=(1.0, -1.0)
    ),
    "small": SocializationTask(
        n_blocks=2, n_trials=8, watched=0.5, reward_probs=(0.1, 0.9), caregiver_theta=(1.0, -1.0)
    ),
}[MODE]
ISR_SETTINGS = {
    # 300 Adam steps at 0.03 reach the loss of 1000 at 0.01 within 0.5%; 64 guide draws
    "full": {"size": 40, "seeds": (0, 1), "svi_steps": 300, "draws": 64},
    "small": {"size": 5, "seeds": (0,), "svi_steps": 20, "draws": 10},
}[MODE]
ISR_SVI_LEARNING_RATE = 0.03
# learning rates spread over (0, 1) as in the models' prior, logit-normal(0, 1.5);
# beta and w from the default population (printed below)
ISR_POPULATION = {"alpha": (0.0, 1.5)}


IN_NOTEBOOK = get_ipython() is not None  # None when run as a plain script


def say(text: str) -> None:
    """Prose computed from the run: Markdown in a notebook, plain text elsewhere."""
    if IN_NOTEBOOK:
        display(Markdown(text))
    else:
        print(text)


WARNING_KINDS = {  # words in a FitWarning's message -> what it flags
    "divergent": "divergent transitions",
    "R-hat": f"R-hat above {RHAT_MAX}",
    "bulk effective": f"bulk ESS below {ESS_MIN}",
    "tail effective": f"tail ESS below {ESS_MIN}",
    "one chain": "a single chain",
}


def warning_counts(messages: list[str]) -> dict[str, int]:
    """How many diagnostic warnings of each kind."""
    counts = dict.fromkeys([*WARNING_KINDS.values(), "other"], 0)
    for message in messages:
        kind = next((v for k, v in WARNING_KINDS.items() if k in message), "other")
        counts[kind] += 1
    return {k: n for k, n in counts.items() if n}


print(f"mode {MODE}; outputs in {OUT}")
for part, values in SETTINGS.items():
    print(f"  {part} recovery: {values}")
print(f"  ISR models {ISR_MODELS} on {ISR_DESIGN}: {ISR_SETTINGS}, SVI")
if MODE == "small":
    print(
        f"  parameter recovery of {PARAMETER_MODELS}, model recovery among "
        f"{MODEL_RECOVERY_MODELS} and {ISR_MODELS} only (a check that the code runs)"
    )

# %% [markdown]
# ## The design and the simulated populations

# %%
design = make_design(1, N_TRIALS, seed=0)
blocks = np.asarray(design.context)[0, :, 0]
contexts = ("self", "other", "none")
print(
    f"one subject: {len(blocks)} blocks of {np.asarray(design.choice).shape[-1]} trials; "
    f"recipients in order: {[contexts[c] for c in blocks]}"
)


def population_rows(model: str, population=None) -> list[dict]:
    """The simulated population of each parameter, on both scales."""
    spec = get_spec(model)
    rows = []
    for parameter in spec.parameters:
        mean, sd = population_of(spec, population)[parameter.name]
        # the population's 5%, 50% and 95% points on the natural scale (transforms are monotone)
        z = np.array([mean - 1.645 * sd, mean, mean + 1.645 * sd])
        low, mid, high = np.asarray(constrain_value(parameter, z), dtype=float)
        rows.append(
            {
                "model": model,
                "parameter": parameter.name,
                "unconstrained_mean": mean,
                "unconstrained_sd": sd,
                "median": mid,
                "q05": low,
                "q95": high,
            }
        )
    return rows


populations = pd.DataFrame([row for model in COMPARED for row in population_rows(model)])
with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 160):
    display(populations)

# %% [markdown]
# ## 1. Parameter recovery
#
# For each model: simulate the population above, refit the same model
# hierarchically with NUTS, and compare.  A parameter is well recovered when r is
# high, RMSE is small compared with the population's spread, and coverage is near
# 90%.  Fit diagnostics (R-hat, effective sample size, divergences) that fail are
# counted, not hidden.


# %%
def recover_model(model: str) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        result = recover(
            model,
            task={"trials": N_TRIALS},
            predictive_draws=PREDICTIVE_DRAWS,
            **SETTINGS["parameters"],
        )
    problems = sorted({str(w.message) for w in caught if issubclass(w.category, FitWarning)})
    return result, problems


start, start_cpu = time.perf_counter(), time.process_time()
recovered, fit_problems = {}, {}
for model in PARAMETER_MODELS:
    recovered[model], fit_problems[model] = recover_model(model)
    print(
        f"{model}: fitted in {recovered[model].fit_seconds:.0f} s; "
        f"{len(fit_problems[model])} diagnostic warning(s)"
    )
parameter_seconds = time.perf_counter() - start
parameter_cpu_seconds = time.process_time() - start_cpu

summary = pd.concat(
    {m: r.summary.assign(coverage_pooled=r.coverage) for m, r in recovered.items()}, names=["model"]
).reset_index()
with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
    display(summary)
for model, problems in fit_problems.items():
    for message in problems:
        print(f"  {model}: {message}")


# %%
def plottable(result):
    """``plot_recovery`` draws bars from the posterior mean to the interval's ends; a skewed
    posterior's mean can fall outside its 90% interval, which matplotlib refuses.  Such
    bars are widened to reach the mean, for the figure only (the tables are unchanged)."""
    est = result.estimates
    widened = est.assign(
        lower=np.minimum(est["lower"], est["mean"]), upper=np.maximum(est["upper"], est["mean"])
    )
    return dataclasses.replace(result, estimates=widened)


outside = {
    m: int(
        (
            (r.estimates["mean"] < r.estimates["lower"])
            | (r.estimates["mean"] > r.estimates["upper"])
        ).sum()
    )
    for m, r in recovered.items()
}
print("posterior means outside their own 90% interval:", outside)
figures = {}
for model, result in recovered.items():
    path = OUT / f"parameter_recovery_{model}.png"
    check_output_paths([path], OVERWRITE)
    figures[model] = plot_recovery(plottable(result), path, overwrite=OVERWRITE)
    display(Image(filename=str(figures[model])))


# %%
def parameter_report(summary: pd.DataFrame) -> str:
    good = summary[summary["pearson_r"] >= 0.8]
    weak = summary[summary["pearson_r"] < 0.5].sort_values("pearson_r")
    worst = summary.sort_values("pearson_r").iloc[0]
    cover = summary["coverage"]
    n = int(summary["n"].iloc[0])
    text = [
        f"**Parameter recovery ({MODE} mode, {n} simulated subjects per parameter, "
        f"{N_TRIALS} trials each).** {len(good)} of {len(summary)} parameters are recovered "
        f"with r ≥ 0.8; the weakest is `{worst.model}.{worst.parameter}` (r = {worst.pearson_r:.2f}, "
        f"RMSE {worst.rmse:.2f}).  Interval coverage ranges from {cover.min():.0%} to "
        f"{cover.max():.0%} across parameters (nominal {INTERVAL:.0%}).",
    ]
    if len(weak):
        listed = ", ".join(
            f"`{r.model}.{r.parameter}` (r = {r.pearson_r:.2f})" for r in weak.itertuples()
        )
        text.append(
            f"Poorly recovered (r < 0.5): {listed}; estimates of these from human data "
            "say little about individuals."
        )
    n_problems = sum(len(p) for p in fit_problems.values())
    text.append(
        f"Fit diagnostics: {n_problems} warning(s) over {len(PARAMETER_MODELS)} fits"
        + (" (listed above)." if n_problems else ".")
    )
    if MODE == "small":
        text.append("*Small mode: tiny fits that only check the code; these numbers mean nothing.*")
    return "  \n".join(text)


say(parameter_report(summary))

# %% [markdown]
# ## 2. Model recovery
#
# Each model generates one data set per seed; every model is fitted to it and the one
# with the highest expected log predictive density (PSIS-LOO, leave one trial out)
# wins.  Rows: the generating model; columns: the model selected.  Nested models
# (`rw` inside `rw_recipient`, `value_recipient` and `rw_ck`) are the hard cases: a
# richer model can fit data from a simpler one about as well, and LOO then prefers
# either by a margin within its standard error.

# %%
start, start_cpu = time.perf_counter(), time.process_time()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", FitWarning)
    confusion_result = model_recovery(
        MODEL_RECOVERY_MODELS,
        task={"trials": N_TRIALS},
        predictive_draws=PREDICTIVE_DRAWS,
        **SETTINGS["models"],
    )
model_seconds = time.perf_counter() - start
model_cpu_seconds = time.process_time() - start_cpu
model_warnings = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
model_problems = sorted(set(model_warnings))
confusion = confusion_result.confusion
display(confusion)
path = OUT / "model_recovery_confusion.png"
check_output_paths([path], OVERWRITE)
display(Image(filename=str(plot_confusion(confusion_result, path, overwrite=OVERWRITE))))

# %% [markdown]
# Per simulated data set: the winner, and how far the generating model's elpd falls
# behind the winner's (0 when the generating model wins), next to the standard error
# of the winner's elpd: a gap well inside it means LOO could not tell the two apart.

# %%
runs = confusion_result.runs
rows = []
for (seed, generating), group in runs.groupby(["seed", "generating"], sort=False):
    group = group.set_index("fitted")
    winner = group["rank"].idxmin()
    rows.append(
        {
            "seed": seed,
            "generating": generating,
            "selected": winner,
            "elpd_gap_of_generating": float(
                group.loc[winner, "elpd"] - group.loc[generating, "elpd"]
            ),
            "se_of_winner": float(group.loc[winner, "se"]),
            "weight_of_generating": float(group.loc[generating, "weight"]),
        }
    )
selections = pd.DataFrame(rows)
with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 160):
    display(selections)


def model_report() -> str:
    wrong = selections[selections["selected"] != selections["generating"]]
    n = len(selections)
    text = [
        f"**Model recovery ({MODE} mode, {SETTINGS['models']['size']} subjects per data "
        f"set, {len(SETTINGS['models']['seeds'])} data set(s) per model).** LOO selected the "
        f"generating model for {n - len(wrong)} of {n} data sets "
        f"(accuracy {confusion_result.accuracy:.0%})."
    ]
    for r in wrong.itertuples():
        text.append(
            f"Data from `{r.generating}` (seed {r.seed}) went to `{r.selected}`, "
            f"by {r.elpd_gap_of_generating:.1f} elpd (winner's se {r.se_of_winner:.1f})."
        )
    kinds = ", ".join(f"{n} × {kind}" for kind, n in warning_counts(model_warnings).items())
    text.append(
        f"Fit diagnostics: {len(model_warnings)} warning(s) over {len(runs)} fits"
        + (f" ({kinds})." if kinds else ".")
    )
    if MODE == "small":
        text.append("*Small mode: tiny fits that only check the code; these numbers mean nothing.*")
    return "  \n".join(text)


say(model_report())

# %% [markdown]
# ## 3. The ISR models on a socialization design
#
# `isr` learns Rescorla–Wagner values Q from rewards and, from the caregiver's praise, a
# Gaussian belief about the caregiver's values; it chooses by
# U = Q + (P + (1 − P)·w)·R, where R is the praise it expects for each option and P is 1
# when the caregiver is there and 0 when not.  `no_internalization` is `isr` with w = 0,
# and `rw` ignores praise.  The prosocial-learning task has no caregiver, so these models
# need a design of their own: `valueint.trials.socialization.SocializationTask`.
#
# * Each block is a socialization episode with two new options.  In its first half the
#   caregiver watches and praises (the *watched phase*), in its second half the caregiver
#   is gone (*unwatched*).  While watched the weight on R is 1 whatever w is, so w shows
#   only on unwatched trials, and only once the watched phase has taught the belief.
# * The caregiver and the rewards disagree: the caregiver approves of option 0, which
#   pays 0.1, and disapproves of option 1, which pays 0.9.  Alone, a learner with w = 0
#   drifts to the option that pays, one with large w keeps to the approved one, and the
#   share in between measures w.  Had the caregiver approved of the option that pays, w
#   would trade off against β and α.  (Equal pay for both options would show w as well,
#   but leave α, the speed at which the pay difference is learned, unidentified.)
#
# `rw`'s simulated learners get the caregiver's praise too (it is drawn for their choices
# after the fact, which is the same since they never read it), so every data set comes
# from the same socialization.  Parameter recovery is read off each generating model's fit
# to its own data within the model recovery (`ModelRecoveryResult.parameters`).

# %%
print(
    f"design: {ISR_DESIGN.n_blocks} blocks x {ISR_DESIGN.n_trials} trials per subject, "
    f"{ISR_DESIGN.n_watched} watched then {ISR_DESIGN.n_trials - ISR_DESIGN.n_watched} "
    f"unwatched per block; reward probabilities {ISR_DESIGN.reward_probs}, caregiver's "
    f"weights {ISR_DESIGN.caregiver_theta}"
)
# Why the design identifies w: the share of choices the caregiver approves of, watched
# and unwatched, for learners that differ only in w (alpha 0.3, beta 4; 200 each).
n_show = 200
shown = []
for w in (0.0, 0.5, 1.0, 2.0):
    params = {"alpha": np.full(n_show, 0.3), "beta": np.full(n_show, 4.0), "w": np.full(n_show, w)}
    simulated = simulate_data(
        get_spec("isr"), params, ISR_DESIGN.arrays(n_show, seed=0), 1, ISR_DESIGN.options("isr")
    )
    approved = np.asarray(simulated.choice) == 0
    watched = np.asarray(simulated.present) > 0
    shown.append(
        {
            "w": w,
            "approved_watched": approved[watched].mean(),
            "approved_unwatched": approved[~watched].mean(),
        }
    )
w_shares = pd.DataFrame(shown)
with pd.option_context("display.float_format", "{:.2f}".format):
    display(w_shares)
low, high = w_shares.iloc[0], w_shares.iloc[-1]
watched_range = w_shares["approved_watched"].agg(["min", "max"])
say(
    f"Watched, w plays no part: learners chose the approved option on "
    f"{watched_range['min']:.0%} to {watched_range['max']:.0%} of trials whatever w.  Unwatched, "
    f"on {low.approved_unwatched:.0%} at w = {low.w:g} and {high.approved_unwatched:.0%} at "
    f"w = {high.w:g}: the unwatched phase measures w."
)

# %%
isr_populations = {
    model: {k: v for k, v in ISR_POPULATION.items() if k in get_spec(model).parameter_names}
    for model in ISR_MODELS
}
with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 160):
    display(
        pd.DataFrame([row for m in ISR_MODELS for row in population_rows(m, isr_populations[m])])
    )
start, start_cpu = time.perf_counter(), time.process_time()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", FitWarning)
    isr_result = model_recovery(
        ISR_MODELS,
        family="trials",
        task={"task": ISR_DESIGN},
        method="svi",
        populations=isr_populations,
        svi_learning_rate=ISR_SVI_LEARNING_RATE,
        predictive_draws=PREDICTIVE_DRAWS,
        **ISR_SETTINGS,
    )
isr_seconds = time.perf_counter() - start
isr_cpu_seconds = time.process_time() - start_cpu
isr_warnings = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
isr_summary = pd.concat(
    {m: r.summary for m, r in isr_result.parameters.items()}, names=["model"]
).reset_index()
with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
    display(isr_summary)
isr_recovered = isr_result.parameters["isr"]
path = OUT / "isr_parameter_recovery.png"
check_output_paths([path], OVERWRITE)
display(Image(filename=str(plot_recovery(plottable(isr_recovered), path, overwrite=OVERWRITE))))
display(isr_result.confusion)
path = OUT / "isr_model_recovery_confusion.png"
check_output_paths([path], OVERWRITE)
display(Image(filename=str(plot_confusion(isr_result, path, overwrite=OVERWRITE))))


# %%
def isr_report() -> str:
    r = isr_recovered.summary["pearson_r"]
    runs = isr_result.runs.set_index(["seed", "generating", "fitted"])["elpd"]
    n_sets = len(isr_result.runs[["seed", "generating"]].drop_duplicates())
    correct = int(np.trace(isr_result.confusion.to_numpy()))
    text = [
        f"**The ISR models on the socialization design ({MODE} mode, "
        f"{ISR_SETTINGS['size']} subjects x {ISR_DESIGN.trials_per_subject} trials per "
        f"data set, {len(ISR_SETTINGS['seeds'])} data set(s) per model, SVI).** `isr`'s own fits "
        f"recover w with r = {r['w']:.2f}, α with r = {r['alpha']:.2f} and β with "
        f"r = {r['beta']:.2f} ({isr_recovered.summary['n'].iloc[0]} subjects); their "
        f"{INTERVAL:.0%} intervals cover the truth {isr_recovered.coverage:.0%} of the time "
        "(mean-field SVI tends to make them too narrow).",
        f"LOO selected the generating model for {correct} of {n_sets} data sets "
        f"(accuracy {isr_result.accuracy:.0%}).",
    ]
    if {"isr", "no_internalization"} <= set(ISR_MODELS):
        gaps = [
            runs[(seed, generating, generating)] - runs[(seed, generating, other)]
            for seed in ISR_SETTINGS["seeds"]
            for generating, other in (("isr", "no_internalization"), ("no_internalization", "isr"))
        ]
        text.append(
            f"Between the two ISR models the generating one led by {min(gaps):.1f} to "
            f"{max(gaps):.1f} elpd."
        )
    kinds = ", ".join(f"{n} × {kind}" for kind, n in warning_counts(isr_warnings).items())
    text.append(
        f"Fit diagnostics: {len(isr_warnings)} warning(s) over {len(isr_result.runs)} fits"
        + (f" ({kinds})." if kinds else ".")
    )
    if MODE == "small":
        text.append("*Small mode: tiny fits that only check the code; these numbers mean nothing.*")
    return "  \n".join(text)


say(isr_report())

# %% [markdown]
# ## Saved
#
# Per-subject estimates, the recovery summary, the confusion matrix, every LOO
# comparison and a run record (settings, seeds, package versions, wall time).

# %%
tables = {
    "parameter_estimates.csv": pd.concat(
        {m: r.estimates for m, r in recovered.items()}, names=["model"]
    ).reset_index(level=0),
    "parameter_summary.csv": summary,
    "model_confusion.csv": confusion.reset_index(),
    "model_runs.csv": runs,
    "model_selections.csv": selections,
    "isr_w_shares.csv": w_shares,
    "isr_parameter_estimates.csv": pd.concat(
        {m: r.estimates for m, r in isr_result.parameters.items()}, names=["model"]
    ).reset_index(level=0),
    "isr_parameter_summary.csv": isr_summary,
    "isr_model_confusion.csv": isr_result.confusion.reset_index(),
    "isr_model_runs.csv": isr_result.runs,
}
check_output_paths([OUT / "run.json"], OVERWRITE)
write_tables(OUT, tables, OVERWRITE)
record = run_record(
    command="analysis/04_recovery_and_comparison.py",
    config={
        "mode": MODE,
        "parameter_recovery_models": list(PARAMETER_MODELS),
        "model_recovery_models": list(MODEL_RECOVERY_MODELS),
        "n_trials": N_TRIALS,
        "method": {
            "parameter_recovery": SETTINGS["parameters"].get("method", "nuts"),
            "model_recovery": SETTINGS["models"].get("method", "nuts"),
        },
        "predictive_draws": PREDICTIVE_DRAWS,
        "isr_models": list(ISR_MODELS),
        "isr_design": dataclasses.asdict(ISR_DESIGN),
        "isr_recovery": {
            "method": "svi",
            "svi_learning_rate": ISR_SVI_LEARNING_RATE,
            "population": {k: list(v) for k, v in ISR_POPULATION.items()},
            **{k: list(v) if isinstance(v, tuple) else v for k, v in ISR_SETTINGS.items()},
        },
        **{
            f"{part}_recovery": {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()}
            for part, s in SETTINGS.items()
        },
    },
    seeds=sorted(
        set(SETTINGS["parameters"]["seeds"])
        | set(SETTINGS["models"]["seeds"])
        | set(ISR_SETTINGS["seeds"])
    ),
    wall_time_s=parameter_seconds + model_seconds + isr_seconds,
    parameter_recovery_s=parameter_seconds,
    model_recovery_s=model_seconds,
    isr_recovery_s=isr_seconds,
    cpu_time_s=parameter_cpu_seconds + model_cpu_seconds + isr_cpu_seconds,
    model_recovery_accuracy=confusion_result.accuracy,
    isr_model_recovery_accuracy=isr_result.accuracy,
    isr_pearson_r={k: float(v) for k, v in isr_recovered.summary["pearson_r"].items()},
    fit_warnings={
        **fit_problems,
        "model_recovery": model_problems,
        "isr_recovery": sorted(set(isr_warnings)),
    },
    outputs=sorted({p.name for p in OUT.iterdir() if not p.name.startswith(".")} | {"run.json"}),
)
write_json(OUT / "run.json", record)
print(
    f"parameter recovery {parameter_seconds:.0f} s ({parameter_cpu_seconds:.0f} s CPU), "
    f"model recovery {model_seconds:.0f} s ({model_cpu_seconds:.0f} s CPU), "
    f"ISR models {isr_seconds:.0f} s ({isr_cpu_seconds:.0f} s CPU); wrote {OUT}"
)
