# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Prosocial learning across adulthood: which learning model, and what changes with age?
#
# Cutler et al. (2021, *Nature Communications*) asked young and older adults to learn,
# by trial and error, which of two symbols usually pays off. The twist is **who gets the reward**: in each 16-trial block the points go to the
# participant (*self*), to another participant (*other*), or to no one (*no one*, a
# control in which learning earns nothing for anybody). Every participant did 3 blocks
# for each recipient, with a fresh pair of symbols per block, so learning starts anew in
# every block.
#
# This notebook fits a family of reinforcement-learning models to every trial of every
# participant at once, in a hierarchical Bayesian model in which the age group shifts
# the population mean of each parameter. It asks:
#
# 1. which model predicts the choices best (approximate leave-one-out cross-validation);
# 2. whether that model reproduces the learning curves of both age groups and all three
#    recipients;
# 3. which of its parameters differ between young and older adults, and how surely.
#
# Everything below is computed by `valueint.analyze.prosocial.run`, the code behind
# `valueint analyze prosocial-learning`; the command writes the same tables and figures.
#
# **Mode.** `VALUEINT_NOTEBOOK_MODE=full` (the default) fits every model to all 152
# participants with long chains (4 x (1000 warmup + 2000 draws) per model: more than
# half an hour on 2 cores, an hour or more when the cores are shared); `small` fits two
# models to 4 participants per group with short chains, to check that it runs. Numbers
# from the small mode illustrate the pipeline and say little about the science.

# %%
import warnings

import numpyro

numpyro.set_host_device_count(4)  # before JAX starts: the 4 NUTS chains run in parallel

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from IPython.display import Image, display  # noqa: E402

from valueint.analyze.prosocial.curves import observed_curves  # noqa: E402
from valueint.analyze.prosocial.run import run_prosocial_analysis  # noqa: E402
from valueint.analyze.prosocial.settings import (  # noqa: E402
    COMPARED_MODELS,
    CONTEXT_NAMES,
    ProsocialSettings,
)
from valueint.datasets import DatasetNotice  # noqa: E402
from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX  # noqa: E402
from valueint.notebook import notebook_mode, notebook_out  # noqa: E402
from valueint.trials.datasets import resolve_cutler2021  # noqa: E402
from valueint.trials.specs import get_spec  # noqa: E402

MODE = notebook_mode()  # VALUEINT_NOTEBOOK_MODE: full (default) or small
OUT = notebook_out("02_prosocial_learning")  # under VALUEINT_NOTEBOOK_OUT
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 20)

try:
    DATA = resolve_cutler2021()
except FileNotFoundError as err:
    DATA = None
    print(f"Cutler et al. (2021) data missing, nothing to analyse: {err}")

# %% [markdown]
# ## The data
#
# The loader reads the source's trial file, splits the one participant code that two
# people share (ID 201: two complete sessions), keeps missed trials (they are masked in
# the likelihood: no choice, no learning) and numbers each participant's blocks in the
# order they were presented. `choice` is 1 when the high-reward symbol was chosen.

# %%
if DATA is not None:
    from valueint.datasets import dataset_report
    from valueint.trials.datasets import load_cutler2021

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetNotice)  # the report below says the same
        trials = load_cutler2021(DATA)
    print(dataset_report(trials))
    per_cell = trials.groupby(["group", "context"])["choice"].agg(["count", "mean"])
    per_cell.columns = ["observed trials", "share of high-reward choices"]
    display(per_cell.round(3))

# %% [markdown]
# Learning within a block, pooled over participants: the share of high-reward choices at
# each trial of a block, per age group and recipient (rows: trials 1, 2, 4, 8, 12, 16).
# Averaged over a block, young adults chose the better symbol more often than older
# adults for every recipient (table above); the differences between recipients are
# smaller than the difference between the groups.

# %%
if DATA is not None:
    raw_curves = observed_curves(trials)
    raw_curves["recipient"] = raw_curves["context"].map(CONTEXT_NAMES)
    display(
        raw_curves.pivot_table(index="trial", columns=["group", "recipient"], values="observed")
        .round(2)
        .iloc[[0, 1, 3, 7, 11, 15]]
    )

# %% [markdown]
# After an unrewarded choice, how often did people switch to the other symbol on the next
# trial: after the first trial of a block, and after the later ones?

# %%
if DATA is not None:
    steps = trials.sort_values(["subject", "block", "trial"])
    by_block = steps.groupby(["subject", "block"])
    steps = steps.assign(
        previous_choice=by_block["choice"].shift(),
        previous_outcome=by_block["outcome"].shift(),
        previous_trial=by_block["trial"].shift(),
    )
    after_loss = steps[(steps["previous_outcome"] == 0) & steps["choice"].notna()]
    after_loss = after_loss.assign(
        switched=after_loss["choice"] != after_loss["previous_choice"],
        after=np.where(after_loss["previous_trial"] == 1, "trial 1", "trials 2-15"),
    )
    display(
        after_loss.pivot_table(index="group", columns="after", values="switched", aggfunc="mean")
        .round(2)
        .rename_axis(columns="P(switch) after an unrewarded")
    )

# %% [markdown]
# ## The models
#
# All models choose between the two symbols with a softmax (logistic) rule on a
# difference of values; they differ in what those values are.
#
# | model | what is learned | parameters |
# |---|---|---|
# | `rw` | Rescorla-Wagner values of the two symbols from the rewards | learning rate α, inverse temperature β |
# | `rw_recipient` | as `rw`, with one learning rate per recipient | α_self, α_other, α_none, β |
# | `value_recipient` | as `rw`, but a reward is worth w_other (w_none) when it goes to another (no one); self = 1 | α, β, w_other, w_none |
# | `choice_kernel` | no reward learning: a tendency to repeat recent choices (perseveration) | α_c, β_c |
# | `rw_ck` | `rw` plus the choice kernel | α, β, α_c, β_c |
# | `rw_asym_ck` | `rw_ck`, learning at α_pos from an outcome above the chosen value and at α_neg from one below it | α_pos, α_neg, β, α_c, β_c |
#
# `choice_kernel` is the baseline every learning model must beat: it can fit a
# participant's habits but not their learning. The switch table above is a test for all
# of them: early in a block the two values are still equal, so one unrewarded choice can
# turn a learner around, while later the learned difference absorbs it. Fitted on
# request (`--models`): `rw_asym`, the asymmetric learner without the kernel, and
# `bayes` and `bayes_ck`, whose learning rate falls with experience, 1/(κ + n) at an
# option's n-th payoff.
#
# **Hierarchy and the age effect.** For each parameter p, on its unconstrained scale
# (logit for rates, log for β), participant s has
# θ_p[s] = μ_p + δ_p · [s is older] + σ_p · z_p[s], with z_p[s] ~ Normal(0, 1).
# μ_p is the population mean of young adults (the reference), δ_p the shift for older
# adults, σ_p the spread of individuals around their group. We report each group's
# population value on the natural scale (`<p>_by_group`), their difference (older −
# young), and δ_p itself, with 94% highest-density intervals (HDI).

# %%
if DATA is not None:
    rows = [
        {
            "model": name,
            "parameter": p.name,
            "range": f"({p.lower:g}, {p.upper:g})",
            "prior (unconstrained)": f"Normal({p.prior_loc:.2f}, {p.prior_scale:g})",
            "meaning": p.description,
        }
        for name in COMPARED_MODELS
        for p in get_spec(name).parameters
    ]
    display(pd.DataFrame(rows).set_index(["model", "parameter"]))

# %% [markdown]
# ## Fitting
#
# NUTS (numpyro), with long warmup and a high target acceptance in the full mode so that
# the sampler adapts to the funnel-shaped hierarchical posteriors.

# %%
if DATA is not None:
    if MODE == "full":
        SETTINGS = ProsocialSettings.full()
    else:
        SETTINGS = ProsocialSettings.quick(
            {"chains": 2, "draws": 60, "warmup": 60},
            models=("rw", "value_recipient"),
            subjects_per_group=4,
            predictive_draws=20,
        )
    print(SETTINGS)
    result = run_prosocial_analysis(DATA, OUT, SETTINGS, overwrite=True, report=print)
    print(f"outputs in {OUT}")

# %% [markdown]
# ## Diagnostics first
#
# A model's numbers mean something only if its chains agree (R-hat ≤ 1.01), the sampler
# never diverged, and the bulk and tail effective sample sizes are at least 400 (the
# thresholds of `valueint.inference.diagnostics`, the one criterion for every fit). A model
# that fails is kept in the tables below, marked, and not interpreted.

# %%
if DATA is not None:
    display(result.diagnostics.drop(columns=["messages"]).set_index("model").round(3))
    for _, row in result.diagnostics.iterrows():
        verdict = "converged" if row["converged"] else "NOT converged: do not interpret"
        print(f"{row['model']}: {verdict}")
        for message in filter(None, row["messages"].split(" | ")):
            print(f"    {message}")

# %% [markdown]
# ## Which model predicts best?
#
# PSIS-LOO estimates the expected log predictive density (elpd) of a left-out point.
# Leaving out one **trial** asks how well a model predicts the next choice of a known
# participant; leaving out one **subject** asks how well it predicts a new person's whole
# sequence. `elpd_diff` is the distance to the best model and `dse` its standard error;
# a difference of a few `dse` is a clear preference. Points with Pareto k > 0.7 make the
# estimate unreliable and are counted.

# %%
if DATA is not None:
    columns = ["rank", "elpd", "se", "elpd_diff", "dse", "weight", "p", "n_pareto_k_bad"]
    for unit in ("trial", "subject"):
        table = result.comparison[result.comparison["unit"] == unit].set_index("model")
        print(f"leave one {unit} out")
        display(table[columns].round(2))
    display(Image(filename=str(OUT / "comparison.png")))

# %% [markdown]
# ## Does the winner reproduce the learning curves?
#
# Points: the observed share of high-reward choices with 95% intervals. Bands: the share
# in data simulated from the best model's posterior (50% and 90%): the model plays each
# block from scratch, drawing its own choices and outcomes. Dash-dot line: the model's
# one-step-ahead prediction given each participant's real history. Dashed line: the
# runner-up's simulated median.
#
# One property of the task matters here: the rewards followed fixed sequences (on some
# trials the better symbol always paid, on a few the worse one usually did), while the
# simulation draws rewards at random with probabilities 0.75 and 0.25. The simulated
# bands are therefore smooth, and the jagged, trial-specific ups and downs of the data
# (e.g. the jump at trial 2) are matched by the one-step-ahead line rather than the bands.

# %%
if DATA is not None:
    display(Image(filename=str(OUT / "learning_curves.png")))
    best_curves = result.learning_curves[result.learning_curves["model"] == result.best_model]
    inside = (best_curves["observed"] >= best_curves["predicted_q05"]) & (
        best_curves["observed"] <= best_curves["predicted_q95"]
    )
    print(
        f"{result.best_model}: observed share inside the 90% predictive band in "
        f"{inside.sum()} of {len(best_curves)} cells (group x recipient x trial)"
    )
    by_cell = best_curves.assign(inside=inside).groupby(["group", "context"])["inside"].mean()
    display(by_cell.round(2).unstack())

# %% [markdown]
# ## Parameters by age group
#
# For the best model: each group's population value, the difference older − young on
# the natural scale, and δ on the unconstrained scale, with 94% HDIs and the posterior
# probability that the difference is positive.

# %%
if DATA is not None:
    display(Image(filename=str(OUT / "parameters_by_group.png")))
    differences = result.parameters[result.parameters["quantity"] == "difference"]
    shown = ["model", "parameter", "median", "hdi_low", "hdi_high", "p_gt_0"]
    print("older - young, every model (natural scale):")
    display(differences[shown].set_index(["model", "parameter"]).round(3))

# %% [markdown]
# ## Reading the results
#
# The paragraph below is generated from this run's numbers. It reports a model that did
# not converge as such, and interprets group differences only for the best model, and
# only where its 94% HDI excludes zero.

# %%
if DATA is not None:
    trial_rank = result.comparison[result.comparison["unit"] == "trial"].sort_values("rank")
    runner = trial_rank.iloc[1]
    subject_best = result.record["best_model_by_subject"]
    failed = result.diagnostics.loc[~result.diagnostics["converged"], "model"].tolist()
    lines = [
        f"Mode: {MODE} ({result.prepared.frame['subject'].nunique()} participants).",
        f"Best model by leave-one-trial-out: {result.best_model}; runner-up "
        f"{runner['model']}, {runner['elpd_diff']:.1f} elpd behind "
        f"({runner['elpd_diff'] / runner['dse']:.1f} standard errors).",
        "Leaving out whole participants "
        + ("agrees." if subject_best == result.best_model else f"prefers {subject_best}."),
    ]
    for unit in ("trial", "subject"):
        table = result.comparison[result.comparison["unit"] == unit]
        share = (table["n_pareto_k_bad"] / table["n_points"]).max()
        if share > 0.1:
            lines.append(
                f"Leave-one-{unit}-out is unreliable: up to {share:.0%} of the {unit}s have "
                "Pareto k > 0.7; trust its direction, not its size."
            )
    coverage = inside.mean()
    lines.append(
        f"The simulated learning curves of {result.best_model} hold the observed share in "
        f"{coverage:.0%} of the cells"
        + (
            "; they miss the data in many cells, so the model does not reproduce the "
            "learning curves in full (see above)."
            if coverage < 0.8
            else "."
        )
    )
    if failed:
        lines.append(
            f"Did not converge (R-hat > {RHAT_MAX}, bulk or tail ESS < {ESS_MIN}, or "
            "divergences), not to be interpreted: " + ", ".join(failed) + "."
        )
    else:
        lines.append(
            f"Every model converged (R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_MIN}, "
            "no divergent transitions)."
        )
    best = result.parameters[
        (result.parameters["model"] == result.best_model)
        & (result.parameters["quantity"] == "difference")
    ]
    for _, row in best.iterrows():
        clear = row["hdi_low"] > 0 or row["hdi_high"] < 0
        direction = "higher" if row["median"] > 0 else "lower"
        lines.append(
            f"{row['parameter']}: older - young = {row['median']:.3f} "
            f"[{row['hdi_low']:.3f}, {row['hdi_high']:.3f}], P(> 0) = {row['p_gt_0']:.3f}: "
            + (
                f"older adults' value is credibly {direction}."
                if clear
                else "no credible difference at this precision."
            )
        )
    print("\n".join(lines))

# %% [markdown]
# **What this analysis can and cannot say.** The group effect is a shift of population
# means; it does not say that every older adult differs from every young one, and
# individual spread (σ) is shared by both groups. A credible difference in the softmax
# inverse temperature β and none in the learning rate would mean that older adults
# learn the values as well but use them less consistently (or explore more); the two are
# partly traded off in short blocks, which is why their joint posterior, not only the
# marginals, deserves a look before a strong claim. The recipient-specific models test
# whether learning *for others* differs from learning for oneself; if they do not beat
# `rw`, the data do not need recipient-specific learning to explain choices, which is not
# the same as showing that recipients have no effect.
