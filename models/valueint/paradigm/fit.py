"""Fitting and comparing paradigm-level models (``valueint.paradigm.catalogue``) on count tables.

``fit_paradigm`` samples a model's parameters with NUTS (float64; chains in parallel
where JAX has a CPU device per chain) and returns an ``xarray.DataTree``:

- ``posterior``: the natural-scale parameters and ``p`` (dim ``condition``), the
  predicted probability of the counted option;
- ``log_likelihood``: ``choice``, one Bernoulli term per child (dim ``obs``, with
  coordinate ``condition``), so that PSIS-LOO leaves out one child at a time;
- ``posterior_predictive``: ``k``, replicate counts of the same n per condition;
- ``observed_data`` (``k``, ``n``) and ``sample_stats``;
- ``attrs``: the log marginal likelihood of the count table with its Monte Carlo
  standard error and Pareto k, besides the usual record (model, data hash, seed,
  settings, package versions).

The marginal likelihood p(counts | model) is estimated by importance sampling on the
unconstrained scale, where every prior is Normal: the proposal is a multivariate
Student-t (4 degrees of freedom) matched to the NUTS draws' mean and covariance.  With
at most a handful of parameters this is accurate to a few hundredths on the log scale
(``tests/paradigm/test_inference.py`` checks it against quadrature); the Pareto k of the
importance weights says when it is not (k > 0.7), and the Bayes factor is then
reported as not computable rather than given a number.
"""

from __future__ import annotations

import functools
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import xarray as xr
from arviz_stats.base import array_stats
from scipy import stats

from valueint.inference.chains import ChainProgram, run_chains
from valueint.inference.comparison import compare
from valueint.inference.diagnostics import FitWarning, diagnostics, posterior_summary
from valueint.inference.fit_files import run_attrs
from valueint.inference.predictive import jeffreys_interval
from valueint.inference.psis import PARETO_K_BAD
from valueint.inference.rounds import until_for
from valueint.inference.settings import SamplerSettings, resolve_settings
from valueint.paradigm.catalogue import (
    ConditionArrays,
    ParadigmModel,
    condition_arrays,
    get_paradigm_model,
)
from valueint.paradigm.conditions import Counts, Paradigm
from valueint.records import pyplot

EVIDENCE_SAMPLES = 40_000
EVIDENCE_DF = 4.0


# the paradigm models' sampler defaults: a handful of parameters, sampled long and
# carefully (the marginal likelihood is estimated from the draws)
DEFAULT_SETTINGS = SamplerSettings(draws=2000, warmup=1000, target_accept_prob=0.95)


def _prior(model: ParadigmModel):
    loc = jnp.asarray([p.prior_loc for p in model.parameters], dtype=jnp.float64)
    scale = jnp.asarray([p.prior_scale for p in model.parameters], dtype=jnp.float64)
    return loc, scale


def numpyro_model(model: ParadigmModel, design: ConditionArrays, n, k=None):
    """Unconstrained z ~ Normal(prior); k ~ Binomial(n, sigmoid(logit(constrain(z))))."""
    loc, scale = _prior(model)
    z = numpyro.sample("z", dist.Normal(loc, scale).to_event(1))
    params = model.constrain(z)
    for name, value in params.items():
        numpyro.deterministic(name, value)
    logit = model.logit(params, design)
    numpyro.deterministic("p", jax.nn.sigmoid(logit))
    numpyro.sample("k", dist.Binomial(total_count=n, logits=logit).to_event(1), obs=k)


def log_joint(model: ParadigmModel, design: ConditionArrays, n, k):
    """log p(z) + log p(counts | z) for z [..., n_parameters] on the unconstrained scale."""
    return functools.partial(_log_joint, model, design, n, k)


@functools.partial(jax.jit, static_argnums=(0,))
def _log_joint(model, design, n, k, z):
    # one compiled program per model and shape, whatever the counts
    loc, scale = _prior(model)

    def one(z):
        prior = jnp.sum(jax.scipy.stats.norm.logpdf(z, loc, scale))
        return prior + jnp.sum(model.loglik(model.constrain(z), design, n, k))

    return jax.vmap(one)(z)


def log_marginal_likelihood(
    model: ParadigmModel,
    design: ConditionArrays,
    counts: Counts,
    posterior_z: np.ndarray,
    samples: int = EVIDENCE_SAMPLES,
    seed: int = 0,
) -> dict:
    """log p(counts | model) by importance sampling from a t fitted to ``posterior_z`` [S, D].

    Returns ``{"log_ml", "se", "pareto_k", "ess"}``; ``se`` is the delta-method Monte
    Carlo standard error of the log estimate.
    """
    posterior_z = np.asarray(posterior_z, dtype=np.float64)
    mean = posterior_z.mean(axis=0)
    dim = posterior_z.shape[1]
    cov = np.atleast_2d(np.cov(posterior_z, rowvar=False)) + 1e-9 * np.eye(dim)
    proposal = stats.multivariate_t(loc=mean, shape=cov, df=EVIDENCE_DF, seed=seed)
    draws = np.asarray(proposal.rvs(size=samples)).reshape(samples, dim)
    log_q = proposal.logpdf(draws).reshape(samples)
    log_p = np.asarray(
        log_joint(model, design, jnp.asarray(counts.n, float), jnp.asarray(counts.k, float))(
            jnp.asarray(draws)
        )
    )
    log_w = log_p - log_q
    finite = np.isfinite(log_w)
    log_w = np.where(finite, log_w, -np.inf)
    top = log_w.max()
    w = np.exp(log_w - top)
    mean_w = w.mean()
    log_ml = float(top + np.log(mean_w))
    se = float(np.sqrt(w.var() / samples) / mean_w)
    ess = float(w.sum() ** 2 / np.sum(w**2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # psislw smooths the ratios exp(-input): its k is that of the weights p/q
        _, k_hat = array_stats.psislw(-log_w, r_eff=1.0)
    return {"log_ml": log_ml, "se": se, "pareto_k": float(k_hat), "ess": ess}


def fit_paradigm(
    paradigm: Paradigm,
    counts: Counts,
    model: str | ParadigmModel,
    settings: SamplerSettings | None = None,
    *,
    seed: int = 0,
    evidence_samples: int = EVIDENCE_SAMPLES,
    progress: bool = False,
    **sampler,
) -> xr.DataTree:
    """NUTS fit of ``model`` to ``counts``; see the module docstring for what it holds.
    ``settings`` (or keyword changes to ``DEFAULT_SETTINGS``) are the sampler's."""
    numpyro.enable_x64()
    settings = resolve_settings(settings, DEFAULT_SETTINGS, **sampler)
    check_settings(settings)
    model = get_paradigm_model(model)
    if tuple(counts.conditions) != paradigm.condition_names:
        raise ValueError(
            f"count table conditions {list(counts.conditions)} do not match the paradigm's "
            f"{list(paradigm.condition_names)}"
        )
    chains, draws, warmup = settings.chains, settings.draws, settings.warmup
    design = condition_arrays(paradigm)
    n = jnp.asarray(counts.n, jnp.float64)
    k = jnp.asarray(counts.k, jnp.float64)
    key_fit, key_predict = jax.random.split(jax.random.key(seed))
    # one compiled chain program per model, settings and shape (``valueint.inference.chains``):
    # fits of other counts (simulation-based calibration, study design) reuse it
    program = ChainProgram(
        numpyro_model=numpyro_model,
        spec=model,
        parameterization="as_written",
        warmup=int(warmup),
        draws=int(draws),
        target_accept_prob=float(settings.target_accept_prob),
        max_tree_depth=int(settings.max_tree_depth),
        dense=False,
        sites=("z", "p", *model.parameter_names),
        start="median",
    )
    start = time.perf_counter()
    ran = run_chains(
        program,
        key_fit,
        chains=chains,
        model_args=(model, design, n, k),
        progress=progress,
        until=until_for(settings, functools.partial(posterior_dataset, model, paradigm)),
    )
    sampling_s = time.perf_counter() - start
    method = ran.method
    grouped = {name: value[:, warmup:] for name, value in ran.samples.items()}
    fields = {name: value[:, warmup:] for name, value in ran.fields.items()}

    z = grouped["z"].reshape(-1, len(model.parameters))
    evidence = log_marginal_likelihood(model, design, counts, z, evidence_samples, seed)
    idata = _fit_tree(model, paradigm, counts, grouped, fields, key_predict)
    record = {"evidence_samples": evidence_samples, "chain_method": method}
    if ran.rounds is not None:
        record.update(ran.rounds.record())
    timing = {"seed": seed, "data_sha256": counts.sha256(), "sampling_time_s": sampling_s}
    idata.attrs.update(run_attrs("paradigm", model, settings, record, **timing))
    idata.attrs.update(
        {
            "paradigm": paradigm.name,
            "log_marginal_likelihood": evidence["log_ml"],
            "log_marginal_likelihood_se": evidence["se"],
            "evidence_pareto_k": evidence["pareto_k"],
            "evidence_ess": evidence["ess"],
        }
    )
    for message in fit_messages(idata):
        warnings.warn(message, FitWarning, stacklevel=2)
    return idata


def check_settings(settings: SamplerSettings) -> None:
    """Refuse what a paradigm fit cannot do: it samples a handful of parameters by NUTS
    from the prior medians, with no population, warm start or pilot."""
    if settings.method != "nuts":
        raise ValueError(f"paradigm models are fitted by NUTS; got method={settings.method!r}")


def posterior_dataset(model, paradigm, grouped) -> xr.Dataset:
    """The fit's posterior group from samples {site: [chain, draw, ...]}."""
    n_chains, n_draws = grouped["p"].shape[:2]
    conditions = np.asarray(paradigm.condition_names)
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "condition": conditions}
    posterior = {name: (("chain", "draw"), grouped[name]) for name in model.parameter_names}
    posterior["p"] = (("chain", "draw", "condition"), grouped["p"])
    return xr.Dataset(posterior, coords=coords)


def _fit_tree(model, paradigm, counts, grouped, fields, key) -> xr.DataTree:
    n_chains, n_draws = grouped["z"].shape[:2]
    conditions = np.asarray(paradigm.condition_names)
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "condition": conditions}
    posterior = posterior_dataset(model, paradigm, grouped)

    log_likelihood = child_log_likelihood(grouped["p"], counts, coords["chain"], coords["draw"])
    replicate = np.asarray(
        jax.random.binomial(key, jnp.asarray(counts.n, float), jnp.asarray(grouped["p"]))
    )
    posterior_predictive = xr.Dataset(
        {"k": (("chain", "draw", "condition"), replicate)}, coords=coords
    )
    observed = xr.Dataset(
        {
            "k": (("condition",), np.asarray(counts.k)),
            "n": (("condition",), np.asarray(counts.n)),
        },
        coords={"condition": conditions},
    )
    sample_stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.asarray(fields["diverging"], dtype=bool)),
            "n_steps": (("chain", "draw"), np.asarray(fields["num_steps"])),
            "acceptance_rate": (("chain", "draw"), np.asarray(fields["accept_prob"])),
        },
        coords={"chain": coords["chain"], "draw": coords["draw"]},
    )
    return xr.DataTree.from_dict(
        {
            "posterior": posterior,
            "log_likelihood": log_likelihood,
            "posterior_predictive": posterior_predictive,
            "observed_data": observed,
            "sample_stats": sample_stats,
        }
    )


def child_log_likelihood(p, counts: Counts, chain, draw) -> xr.Dataset:
    """The ``log_likelihood`` group: one Bernoulli term per child (dim ``obs``, coordinate
    ``condition``) for p [chain, draw, condition]: in each condition k children who chose
    the counted option, then n - k who did not, so that PSIS-LOO leaves out one child."""
    conditions = np.asarray(counts.conditions)
    child_condition = np.repeat(np.arange(len(conditions)), counts.n)
    chose = np.concatenate(
        [np.r_[np.ones(k), np.zeros(n - k)] for n, k in zip(counts.n, counts.k, strict=True)]
    )
    p = np.asarray(p, float)[..., child_condition]
    loglik = np.where(chose == 1, np.log(p), np.log1p(-p))
    obs_coords = {"obs": np.arange(len(chose)), "condition": ("obs", conditions[child_condition])}
    return xr.Dataset(
        {"choice": (("chain", "draw", "obs"), loglik)},
        coords={"chain": chain, "draw": draw, **obs_coords},
    )


def bernoulli_loglik(p, n, k) -> np.ndarray:
    """sum over conditions of k log p + (n - k) log(1 - p), for p [..., condition]: the
    sum of ``child_log_likelihood``'s terms."""
    p = np.asarray(p, float)
    return np.sum(k * np.log(p) + (n - k) * np.log1p(-p), axis=-1)


def fit_messages(fit: xr.DataTree) -> list[str]:
    """Plain-language problems with a fit: the sampler's (``valueint.inference.diagnostics``)
    and the reliability of its marginal-likelihood estimate, each naming the model."""
    model = fit.attrs.get("model", "?")
    messages = [f"{model}: {message}" for message in diagnostics(fit).messages]
    k_hat = float(fit.attrs.get("evidence_pareto_k", math.nan))
    if not k_hat <= PARETO_K_BAD:
        messages.append(
            f"{model}: the marginal-likelihood estimate is unreliable (importance-sampling "
            f"Pareto k = {k_hat:.2f} > {PARETO_K_BAD}); its Bayes factors are left out"
        )
    return messages


# --------------------------------------------------------------------------- comparison


def compare_paradigm(fits: Mapping[str, xr.DataTree]) -> pd.DataFrame:
    """PSIS-LOO (one child left out) with stacking weights, plus marginal likelihoods.

    Added columns: ``log_ml`` and ``log_ml_se``, ``log10_bf`` (Bayes factor of the model
    against the model with the highest marginal likelihood, log10; 0 for that model),
    ``posterior_probability`` (equal prior odds over the compared models) and
    ``evidence_pareto_k``.  Models whose evidence estimate is unreliable get NaN there.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = compare(fits, ic="loo", by="trial")
    table["unit"] = "child"
    log_ml = pd.Series(
        {name: float(f.attrs["log_marginal_likelihood"]) for name, f in fits.items()}
    )
    se = pd.Series({name: float(f.attrs["log_marginal_likelihood_se"]) for name, f in fits.items()})
    k_hat = pd.Series({name: float(f.attrs["evidence_pareto_k"]) for name, f in fits.items()})
    reliable = k_hat <= PARETO_K_BAD
    log_ml = log_ml.where(reliable)
    table["log_ml"] = log_ml
    table["log_ml_se"] = se.where(reliable)
    table["evidence_pareto_k"] = k_hat
    best = log_ml.max()
    table["log10_bf"] = (log_ml - best) / math.log(10)
    weights = np.exp(log_ml - best)
    table["posterior_probability"] = weights / weights.sum()
    return table


def predictive_table(fits: Mapping[str, xr.DataTree], level: float = 0.95) -> pd.DataFrame:
    """Per model and condition: observed proportion (Jeffreys interval), predicted p and
    the replicate proportion of a new sample of the same n (central ``level`` intervals)."""
    tail = (1 - level) / 2
    rows = []
    for name, idata in fits.items():
        observed = idata.observed_data
        n = observed["n"].values
        k = observed["k"].values
        low, high = jeffreys_interval(k, n, level)
        p = idata.posterior["p"].stack(sample=("chain", "draw")).transpose("condition", "sample")
        rep = idata.posterior_predictive["k"].stack(sample=("chain", "draw"))
        rep = rep.transpose("condition", "sample").values / n[:, None]
        for c, condition in enumerate(observed["condition"].values):
            rows.append(
                {
                    "model": name,
                    "condition": str(condition),
                    "n": int(n[c]),
                    "k": int(k[c]),
                    "observed": k[c] / n[c],
                    "observed_lower": float(low[c]),
                    "observed_upper": float(high[c]),
                    "p_mean": float(p.values[c].mean()),
                    "p_lower": float(np.quantile(p.values[c], tail)),
                    "p_upper": float(np.quantile(p.values[c], 1 - tail)),
                    "replicate_lower": float(np.quantile(rep[c], tail)),
                    "replicate_upper": float(np.quantile(rep[c], 1 - tail)),
                    "observed_in_replicate_interval": bool(
                        np.quantile(rep[c], tail) <= k[c] / n[c] <= np.quantile(rep[c], 1 - tail)
                    ),
                }
            )
    return pd.DataFrame(rows)


def parameter_table(fits: Mapping[str, xr.DataTree]) -> pd.DataFrame:
    """Posterior mean, sd, 94% HDI, R-hat and ESS of every parameter, one row per model x parameter."""
    rows = []
    for name, idata in fits.items():
        names = json.loads(idata.attrs["parameter_names"])
        summary = posterior_summary(idata, names)
        for parameter, row in summary.iterrows():
            rows.append({"model": name, "parameter": parameter, **row.to_dict()})
    return pd.DataFrame(rows)


def plot_proportions(
    table: pd.DataFrame,
    path,
    title: str = "",
    models: Sequence[str] | None = None,
    counted_option: str = "the counted option",
):
    """Observed proportions (black, Jeffreys 95%) and each model's predictions per condition:
    the band of a replicate sample (thin) and of p (thick), best model first."""
    plt = pyplot()
    import seaborn as sns

    from valueint.records import save_figure

    models = list(models or dict.fromkeys(table["model"]))
    conditions = list(dict.fromkeys(table["condition"]))
    colours = sns.color_palette("colorblind", len(models))
    fig, ax = plt.subplots(figsize=(1.2 + 1.9 * len(conditions), 3.6))
    width = 0.7
    step = width / (len(models) + 1)
    x = np.arange(len(conditions))
    first = table[table["model"] == models[0]].set_index("condition").loc[conditions]
    ax.errorbar(
        x - width / 2 + step / 2,
        first["observed"],
        yerr=[
            first["observed"] - first["observed_lower"],
            first["observed_upper"] - first["observed"],
        ],
        fmt="o",
        color="black",
        capsize=3,
        label="observed (95% Jeffreys)",
    )
    for i, (model, colour) in enumerate(zip(models, colours, strict=True)):
        rows = table[table["model"] == model].set_index("condition").loc[conditions]
        xi = x - width / 2 + step * (i + 1.5)
        ax.vlines(xi, rows["replicate_lower"], rows["replicate_upper"], color=colour, lw=1)
        ax.vlines(xi, rows["p_lower"], rows["p_upper"], color=colour, lw=4, label=model)
        ax.plot(xi, rows["p_mean"], "_", color="white", ms=6)
    ax.set_xticks(x, conditions)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"proportion who chose {counted_option}")
    ax.set_xlabel(
        "thick: 95% interval of p; thin: 95% of a replicate sample of the same n", fontsize=8
    )
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper right", ncol=2)
    sns.despine(fig)
    fig.tight_layout()
    return save_figure(fig, path)
