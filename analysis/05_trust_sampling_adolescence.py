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
# # 05 · How beliefs about other people form from sparse evidence, ages 10-24
#
# Ma, Westhoff & van Duijvenvoorde (2022) gave 157 participants aged 10 to 24 sixty
# trials each: a peer's past decisions hide under 25 tiles; the participant opens tiles
# one at a time (green: the peer reciprocated; red: they did not), stops when they
# choose, and decides whether to trust the peer.  This is value internalization in
# miniature: a prior over another person's latent disposition, updated from sparse
# social evidence, and a decision made on the posterior.
#
# valueint models every decision of a trial (`valueint.infosampling`): a Beta belief
# about the peer's reciprocation with a per-participant prior mean and strength, a trust
# rule (a threshold on the belief, below 1/2 a bias toward trust; a sharpness; lapses) and
# one of three stopping rules:
#
# | model | stops when |
# | --- | --- |
# | `fixed_evidence` | about a fixed number of tiles has been opened |
# | `sample_cost` | the next tile's value of information, for the participant's own trust threshold, no longer pays its cost (optimal stopping) |
# | `uncertainty` | the posterior sd has fallen to a threshold |
#
# Every parameter's population mean is a smooth curve in age (a B-spline), so the
# question "how do the prior and its uncertainty change across adolescence?" is read
# off the posterior of those curves.
#
# **Modes.** `VALUEINT_NOTEBOOK_MODE=full` (default) runs the analysis that
# `valueint analyze trust-sampling` runs (all participants, the full settings and
# K-fold); `small` runs the same code on a few participants with tiny chains only to
# check that it works: its numbers mean nothing.  The data are read from
# `$VALUEINT_TRUST_SAMPLING_MA2022` (or the shared data folder); outputs go to
# `$VALUEINT_NOTEBOOK_OUT/05_trust_sampling/`.

# %%
import os

from valueint.devices import use_cpu_devices

use_cpu_devices(max(4, os.cpu_count() or 1))  # one CPU device per chain, before JAX starts

import pandas as pd  # noqa: E402
from IPython.display import Image, display  # noqa: E402

from valueint.analyze.trust_sampling.run import run_trust_sampling_analysis  # noqa: E402
from valueint.analyze.trust_sampling.settings import TrustSamplingSettings  # noqa: E402
from valueint.infosampling.checks import observed_points  # noqa: E402
from valueint.infosampling.data import load_trust_sampling, resolve_trust_sampling  # noqa: E402
from valueint.notebook import notebook_mode, notebook_out  # noqa: E402

MODE = notebook_mode()  # VALUEINT_NOTEBOOK_MODE: full (default) or small
OUT = notebook_out("05_trust_sampling")
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 20)

try:
    DATA_FILE = resolve_trust_sampling()
except FileNotFoundError as err:
    DATA_FILE = None
    print(f"trust_sampling_ma2022 data missing, nothing to analyse: {err}")

# %% [markdown]
# ## The data
#
# The loader checks every step against the task's structure and reports what it
# handled: after 25 tiles the stop is forced (it is not scored as a choice), the
# whole-year age disagrees with the exact age for two participants (the exact age is
# used), and tiles are drawn with replacement (so the belief is Beta-Bernoulli).
# Before fitting, the analysis sets aside participants whose trust choices follow the
# majority of the tiles they saw on fewer than 2/3 of trials
# (`valueint.infosampling.engagement`); they are listed in `engagement.csv`.

# %%
if DATA_FILE is not None:
    data = load_trust_sampling(DATA_FILE)
    print(data.report)
    print(
        observed_points(data)
        .pivot(index="age_band", columns="reciprocation", values="tiles")
        .round(1)
    )
    print(
        observed_points(data)
        .pivot(index="age_band", columns="reciprocation", values="trust")
        .round(2)
    )

# %% [markdown]
# ## Fit, compare, check
#
# One call runs the analysis: the hierarchical fits (NUTS, participants' parameters in
# whitened coordinates), PSIS-LOO by trial and K-fold by participant, the age curves and
# the predictive checks.  Finished fits and K-fold folds are reused on a rerun.

# %%
SMALL_SAMPLER = {"chains": 1, "warmup": 10, "draws": 10, "pilot_warmup": 10, "pilot_draws": 10}
SMALL = {"models": ("uncertainty",), "subjects": 6, "kfold": 0, "predictive_draws": 5}
if DATA_FILE is not None:
    settings = (
        # small: one model on 6 participants, a few draws: it checks that the code runs
        TrustSamplingSettings.quick(SMALL_SAMPLER, **SMALL)
        if MODE == "small"
        else TrustSamplingSettings()
    )
    result = run_trust_sampling_analysis(DATA_FILE, OUT, settings, overwrite=True, report=print)
    print(result["diagnostics.csv"].drop(columns="messages").to_string(index=False))
    print(result["comparison.csv"].round(1).to_string(index=False))

# %% [markdown]
# ## What the age curves say
#
# The typical participant's parameters at the youngest and oldest ages, and the change
# with its 90% interval, for the best model.

# %%
if DATA_FILE is not None:
    best = result["best"]
    contrasts = result["age_contrasts.csv"]
    print(contrasts[contrasts.model == best].round(3).to_string(index=False))
    display(Image(filename=str(OUT / "age_curves.png")))

# %% [markdown]
# ## Do the predictions cover the data?
#
# Observed tiles per trial and trust rate, by age band and reciprocation, against the
# best model's 90% predictive bands.

# %%
if DATA_FILE is not None:
    print(result["coverage.csv"].round(3).to_string(index=False))
    display(Image(filename=str(OUT / "predictive.png")))
    print(f"Mode: {MODE}; outputs in {OUT}")
