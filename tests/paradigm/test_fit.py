"""Paradigm inference: marginal likelihoods against quadrature over the unconstrained
parameters, parameter recovery and model selection.  Tolerances are stated where used."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.special import gammaln, log_expit, logsumexp

from tests.paradigm.cases import (
    MADE_UP_COUNTS,
    MADE_UP_PARADIGM,
    ZHAO_COUNTS,
    ZHAO_PARADIGM,
)
from valueint.inference.diagnostics import FitWarning
from valueint.paradigm.catalogue import PARADIGM_MODELS, condition_arrays, social_value
from valueint.paradigm.conditions import FEEDBACK_CODES, Condition, Counts, FeedbackEvent, Paradigm
from valueint.paradigm.fit import (
    compare_paradigm,
    fit_paradigm,
    log_joint,
    log_marginal_likelihood,
)

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("paradigm.test_inference")

# --------------------------------------------------------------------------- 2. evidence


def binomial_loglik(logit, n, k):
    """log Binomial(k | n, sigmoid(logit)) summed over the last axis (conditions)."""
    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return np.sum(log_choose + k * log_expit(logit) + (n - k) * log_expit(-logit), axis=-1)


def normal_logpdf(z, scale):
    return stats.norm.logpdf(z, 0.0, scale)


social_values = jax.jit(jax.vmap(social_value, in_axes=(None, 0)))  # over correlations


def reference_logit(model: str, paradigm: Paradigm, z: list[np.ndarray]) -> np.ndarray:
    """Log-odds per condition on a grid of unconstrained parameters (the last axis is the
    condition), written from the models' definitions."""
    present = np.array([c.test_adult_present for c in paradigm.conditions])
    if model == "null_rate":
        return z[0][..., None] + np.zeros_like(present)
    if model == "reinforcement":
        net = np.array(
            [
                sum(FEEDBACK_CODES[e.feedback] * e.count for e in c.events if e.adult_present)
                for c in paradigm.conditions
            ],
            float,
        )
        net = net / np.abs(net).max()
        return z[0][..., None] + z[1][..., None] * net
    # isr / no_internalization: bias + value_weight * weight_c * m_c(correlation)
    correlation_axis = 1.0 / (1.0 + np.exp(-z[2]))
    m = np.asarray(social_values(condition_arrays(paradigm), jnp.asarray(correlation_axis.ravel())))
    m = m.reshape(*correlation_axis.shape, len(present))
    weight = present if model == "no_internalization" else np.ones_like(present)
    return z[0][..., None] + np.exp(z[1])[..., None] * weight * m


def grid_log_evidence(model: str, paradigm: Paradigm, counts: Counts, axes):
    """log of the sum over a product grid of prior x likelihood times the cell volume,
    and the grid's posterior mean and covariance of the unconstrained parameters."""
    spec = PARADIGM_MODELS[model]
    mesh = np.meshgrid(*axes, indexing="ij")
    log_prior = sum(
        normal_logpdf(z, p.prior_scale) for z, p in zip(mesh, spec.parameters, strict=True)
    )
    if model in ("isr", "no_internalization"):
        # m depends on the correlation only: evaluate it once per grid value
        logit = reference_logit(model, paradigm, [mesh[0], mesh[1], axes[2]])
    else:
        logit = reference_logit(model, paradigm, mesh)
    log_post = log_prior + binomial_loglik(logit, counts.n, counts.k)
    volume = np.prod([a[1] - a[0] for a in axes])
    log_ml = float(logsumexp(log_post) + np.log(volume))
    weights = np.exp(log_post - log_post.max()).ravel()
    weights /= weights.sum()
    points = np.stack([z.ravel() for z in mesh], axis=1)
    mean = weights @ points
    cov = (points - mean).T @ ((points - mean) * weights[:, None])
    return log_ml, mean, np.atleast_2d(cov)


def null_log_evidence_quad(counts: Counts) -> float:
    """log p(counts | null) by adaptive 1-D quadrature (scaled by the likelihood's peak)."""
    scale = PARADIGM_MODELS["null_rate"].parameters[0].prior_scale
    pooled = math.log(counts.k.sum() / (counts.n.sum() - counts.k.sum()))

    def log_integrand(z):
        return normal_logpdf(z, scale) + binomial_loglik(
            np.full(len(counts.n), z), counts.n, counts.k
        )

    peak = log_integrand(pooled)
    value, _ = integrate.quad(
        lambda z: math.exp(log_integrand(z) - peak), -np.inf, np.inf, points=None, limit=200
    )
    return float(peak + math.log(value))


def normal_draws(mean, cov, seed, size=4000):
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=size)


def estimate(model, paradigm, counts, draws, samples=20_000, seed=0):
    return log_marginal_likelihood(
        PARADIGM_MODELS[model], condition_arrays(paradigm), counts, draws, samples, seed
    )


# Grid axes on the unconstrained scale: bias, then value_weight (log) or habit_weight,
# then correlation (logit).  Each covers the prior to beyond 5 prior sd; the Riemann
# sum of a smooth integrand at these spacings is exact to far below 0.01 (for isr the
# log evidence changed by < 1e-6 from a grid twice as fine in every direction).
GRID_AXES = {
    "reinforcement": [np.linspace(-7.5, 7.5, 601), np.linspace(-6.0, 6.0, 481)],
    "isr": [np.linspace(-5.0, 5.0, 81), np.linspace(-6.0, 5.0, 61), np.linspace(-9, 9, 46)],
}
DATA = {"zhao": (ZHAO_PARADIGM, ZHAO_COUNTS), "made_up": (MADE_UP_PARADIGM, MADE_UP_COUNTS)}


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("model", ["null_rate", "reinforcement", "isr"])
def test_log_marginal_likelihood_matches_quadrature(model, data):
    paradigm, counts = DATA[data]
    axes = GRID_AXES.get(model, [np.linspace(-7.5, 7.5, 601)])
    grid_ml, mean, cov = grid_log_evidence(model, paradigm, counts, axes)
    reference = null_log_evidence_quad(counts) if model == "null_rate" else grid_ml
    if model == "null_rate":
        assert grid_ml == pytest.approx(reference, abs=1e-6)  # the two references agree
    # draws with the posterior's mean and covariance, as NUTS would give them
    result = estimate(model, paradigm, counts, normal_draws(mean, cov, seed=1))
    # Tolerance 0.03 on the log scale (the estimate's Monte Carlo se is < 0.01 here).
    assert result["pareto_k"] <= 0.7
    assert result["se"] < 0.01
    assert result["log_ml"] == pytest.approx(reference, abs=0.03)


def test_no_internalization_evidence_equals_null_when_the_adult_is_always_absent():
    assert all(c.test_adult_present == 0 for c in ZHAO_PARADIGM.conditions)
    _, mean, cov = grid_log_evidence(
        "null_rate", ZHAO_PARADIGM, ZHAO_COUNTS, [np.linspace(-6, 6, 601)]
    )
    null = estimate("null_rate", ZHAO_PARADIGM, ZHAO_COUNTS, normal_draws(mean, cov, seed=2))
    # value_weight and correlation leave the likelihood alone: their posterior is the prior
    spec = PARADIGM_MODELS["no_internalization"]
    prior_var = [p.prior_scale**2 for p in spec.parameters[1:]]
    full_cov = np.diag([cov[0, 0], *prior_var])
    draws = normal_draws(np.r_[mean, 0.0, 0.0], full_cov, seed=3)
    no_int = estimate("no_internalization", ZHAO_PARADIGM, ZHAO_COUNTS, draws, seed=4)
    # Equal within 4 Monte Carlo standard errors of the difference.
    assert abs(no_int["log_ml"] - null["log_ml"]) < 4 * math.hypot(no_int["se"], null["se"])
    assert no_int["se"] < 0.02


# --------------------------------------------------------------------------- 4. recovery

# Praise on the counted feature (once and three times), on the other feature (reaching
# the choice through the correlation), withheld praise, and no events with the adult
# present or absent at the test.
RECOVERY_PARADIGM = Paradigm(
    name="recovery",
    features=("a", "b"),
    conditions=(
        Condition("none_alone", (), 0.0),
        Condition("praise_a", (FeedbackEvent((1.0, 0.0), "praise", 1),), 0.0),
        Condition("praise_a_x3", (FeedbackEvent((1.0, 0.0), "praise", 3),), 1.0),
        Condition("praise_b", (FeedbackEvent((0.0, 1.0), "praise", 2),), 0.0),
        Condition("withheld_a", (FeedbackEvent((1.0, 0.0), "none", 2),), 0.5),
    ),
    choice_features=(1.0, 0.0),
)
TRUTH = {"bias": -0.3, "value_weight": 1.5, "correlation": 0.6}
N_PER_CONDITION = 1000  # large, so that a wrong model stands out; LOO keeps one term per child
FIT = dict(chains=2, draws=500, warmup=300, evidence_samples=10_000, seed=0)


def simulated_counts(model: str, params: dict, seed: int) -> Counts:
    design = condition_arrays(RECOVERY_PARADIGM)
    n = np.full(len(RECOVERY_PARADIGM.conditions), N_PER_CONDITION)
    k = PARADIGM_MODELS[model].simulate(params, design, n, jax.random.key(seed))
    return Counts(RECOVERY_PARADIGM.condition_names, n, np.asarray(k).astype(int))


@pytest.fixture(scope="session")
def isr_data_fits():
    counts = simulated_counts("isr", TRUTH, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return {
            name: fit_paradigm(RECOVERY_PARADIGM, counts, name, **FIT)
            for name in ("isr", "null_rate")
        }


def test_isr_parameters_are_recovered(isr_data_fits):
    posterior = isr_data_fits["isr"].posterior
    # correlation too: praise on b reaches the choice (about a) only through it
    for name in ("bias", "value_weight", "correlation"):
        draws = posterior[name].values.ravel()
        # statistical: the truth within 3 posterior sd of the posterior mean (fixed seeds)
        assert abs(draws.mean() - TRUTH[name]) < 3 * draws.std(), name


def test_isr_data_select_isr_over_null(isr_data_fits):
    table = compare_paradigm(isr_data_fits)
    assert table.index[0] == "isr"
    assert table.loc["null_rate", "elpd_diff"] > 2 * table.loc["null_rate", "dse"]
    log10_bf = (
        isr_data_fits["isr"].attrs["log_marginal_likelihood"]
        - isr_data_fits["null_rate"].attrs["log_marginal_likelihood"]
    ) / math.log(10)
    assert log10_bf > 2
    assert table.loc["isr", "log10_bf"] == 0 and table.loc["null_rate", "log10_bf"] < -2
    assert table["posterior_probability"].sum() == pytest.approx(1.0)


def laplace_draws(model: str, counts: Counts, seed: int, size: int = 4000, step=1e-3):
    """Draws from a Normal at the posterior mode (Nelder-Mead) with the inverse of the
    negative Hessian (central differences) as covariance."""
    spec = PARADIGM_MODELS[model]
    n, k = jnp.asarray(counts.n, float), jnp.asarray(counts.k, float)
    joint = log_joint(spec, condition_arrays(RECOVERY_PARADIGM), n, k)

    def log_density(z):
        return float(joint(jnp.asarray(z, float)[None])[0])

    dim = len(spec.parameters)
    options = {"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000}
    mode = optimize.minimize(
        lambda z: -log_density(z), np.zeros(dim), method="Nelder-Mead", options=options
    ).x
    shifts = np.eye(dim) * step
    hessian = np.empty((dim, dim))
    for i in range(dim):
        for j in range(dim):
            hessian[i, j] = (
                log_density(mode + shifts[i] + shifts[j])
                - log_density(mode + shifts[i] - shifts[j])
                - log_density(mode - shifts[i] + shifts[j])
                + log_density(mode - shifts[i] - shifts[j])
            ) / (4 * step**2)
    return normal_draws(mode, np.linalg.inv(-hessian), seed, size)


def test_null_data_favour_null_over_isr():
    counts = simulated_counts("null_rate", {"bias": TRUTH["bias"]}, seed=12)
    design = condition_arrays(RECOVERY_PARADIGM)
    evidence = {
        name: log_marginal_likelihood(
            PARADIGM_MODELS[name], design, counts, laplace_draws(name, counts, seed=5), 20_000, 6
        )
        for name in ("null_rate", "isr")
    }
    assert evidence["null_rate"]["log_ml"] == pytest.approx(
        null_log_evidence_quad(counts), abs=0.03
    )
    # Occam: the extra parameters of isr buy nothing on these data (measured log10 BF 2.0)
    log10_bf = (evidence["null_rate"]["log_ml"] - evidence["isr"]["log_ml"]) / math.log(10)
    assert log10_bf > 0, evidence
