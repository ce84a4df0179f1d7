"""Paradigm choice models: the belief against the exact posterior mean (quadrature on a
2-D grid of theta), and properties of the predictions over random studies."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paradigm.cases import (
    MADE_UP_PARADIGM,
    ZHAO_PARADIGM,
    single_condition,
)
from valueint.isr.feedback import feedback_log_likelihood
from valueint.paradigm.catalogue import (
    PARADIGM_MODELS,
    ConditionArrays,
    condition_arrays,
    condition_beliefs,
    social_value,
)
from valueint.paradigm.conditions import FEEDBACK_CODES, Condition, FeedbackEvent, Paradigm

# --------------------------------------------------------------------------- 1. belief


def grid_posterior_mean(paradigm: Paradigm, correlation: float, half_width=8.0, points=601):
    """E[theta | events] by brute force on a grid of theta: prior N(0, sd^2 R) times
    P(y | theta . about) for every repeat of every event the adult saw."""
    sd = paradigm.prior_sd
    axis = np.linspace(-half_width * sd, half_width * sd, points)
    theta = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    precision = np.linalg.inv(sd**2 * np.array([[1.0, correlation], [correlation, 1.0]]))
    log_density = -0.5 * np.einsum("ij,jk,ik->i", theta, precision, theta)
    for event in paradigm.conditions[0].events:
        if not event.adult_present:
            continue
        u = theta @ np.asarray(event.about)
        y = FEEDBACK_CODES[event.feedback]
        log_density = log_density + event.count * np.asarray(
            feedback_log_likelihood(
                y, u, paradigm.praise_slope, paradigm.praise_bias, paradigm.disapproval
            )
        )
    weights = np.exp(log_density - log_density.max())
    return weights @ theta / weights.sum()


beliefs = jax.jit(condition_beliefs)  # compiled once per design shape


def adf_mean(paradigm: Paradigm, correlation: float) -> np.ndarray:
    return np.asarray(beliefs(condition_arrays(paradigm), correlation).mean[0])


SINGLE_EVENT_CASES = [
    # (about, feedback, correlation, slope, bias, prior_sd, disapproval)
    ((1.0, 0.0), "praise", 0.0, 1.0, 0.0, 1.0, 0.0),
    ((1.0, 0.0), "praise", 0.5, 1.0, 0.0, 1.0, 0.0),
    ((0.0, 1.0), "praise", 0.8, 3.0, -1.0, 1.3, 0.0),
    ((0.7, -1.2), "praise", 0.3, 0.5, 1.5, 2.0, 0.0),
    ((1.0, 0.0), "none", 0.5, 1.0, 0.0, 1.0, 0.0),
    ((0.7, -1.2), "none", 0.8, 3.0, 1.5, 1.3, 0.0),
    ((0.5, 0.5), "none", 0.2, 0.5, -1.0, 2.0, 0.0),
    # with disapproval: y = -1, and silence as the window between praise and disapproval
    ((0.7, -1.2), "disapproval", 0.4, 1.5, -0.5, 1.3, 1.0),
    ((1.0, 0.5), "none", 0.4, 1.5, -1.0, 1.3, 1.0),
]


@pytest.mark.parametrize("case", SINGLE_EVENT_CASES)
def test_one_event_belief_is_the_exact_posterior_mean(case):
    about, feedback, correlation, slope, bias, prior_sd, disapproval = case
    paradigm = single_condition(
        [FeedbackEvent(about, feedback)], slope, bias, prior_sd, disapproval
    )
    exact = grid_posterior_mean(paradigm, correlation)
    # One event: the likelihood depends on theta only through u = theta . about, so the
    # moment-matched update is exact in the mean; the 601^2 grid is exact to ~1e-9 and
    # the probit mixture inside the update to ~1e-6.  Tolerance 1e-3.
    np.testing.assert_allclose(adf_mean(paradigm, correlation), exact, atol=1e-3)


def random_sequence(seed):
    rng = np.random.default_rng(seed)
    events = [
        FeedbackEvent(tuple(rng.normal(0.0, 1.0, 2).round(2)), str(rng.choice(["praise", "none"])))
        for _ in range(rng.integers(3, 6))
    ]
    return single_condition(events, slope=1.0, bias=float(rng.uniform(-1, 1))), rng.uniform(0, 0.9)


@pytest.mark.parametrize("seed", range(5))
def test_event_sequence_belief_is_close_to_the_exact_posterior_mean(seed):
    paradigm, correlation = random_sequence(seed)
    exact = grid_posterior_mean(paradigm, correlation)
    # Over several events the Gaussian belief is an approximation; measured errors over
    # these seeds were <= 0.02.  Tolerance 0.05, while the belief itself moves further
    # than that from the prior mean 0 (so a belief that ignored the events would fail).
    assert np.abs(exact).max() > 0.15
    np.testing.assert_allclose(adf_mean(paradigm, correlation), exact, atol=0.05)


# --------------------------------------------------------------------------- 3. properties

# Designs of random paradigms are padded to one shape (events the adult did not see,
# features nothing is about, conditions that are sliced off) so that one compiled
# function serves every example; test_padding_changes_nothing checks that it is neutral.
PAD_CONDITIONS, PAD_EVENTS, PAD_FEATURES = 6, 12, 3


def padded(design: ConditionArrays) -> ConditionArrays:
    c, e, k = design.about.shape
    grow = {"c": PAD_CONDITIONS - c, "e": PAD_EVENTS - e, "k": PAD_FEATURES - k}
    return ConditionArrays(
        about=jnp.pad(design.about, ((0, grow["c"]), (0, grow["e"]), (0, grow["k"]))),
        feedback=jnp.pad(design.feedback, ((0, grow["c"]), (0, grow["e"]))),
        observed=jnp.pad(design.observed, ((0, grow["c"]), (0, grow["e"]))),
        test_present=jnp.pad(design.test_present, (0, grow["c"])),
        choice_features=jnp.pad(design.choice_features, (0, grow["k"])),
        net_praise=jnp.pad(design.net_praise, (0, grow["c"])),
        praise_slope=design.praise_slope,
        praise_bias=design.praise_bias,
        disapproval=design.disapproval,
        prior_sd=design.prior_sd,
    )


@jax.jit
def _evaluate_padded(params, design):
    logit = {name: model.logit(params, design) for name, model in PARADIGM_MODELS.items()}
    return logit, social_value(design, params["correlation"])


def evaluate(paradigm: Paradigm, params: dict):
    """Log-odds of every model and the social value m_c, per condition of ``paradigm``."""
    logit, value = _evaluate_padded(params, padded(condition_arrays(paradigm)))
    size = len(paradigm.conditions)
    return {name: np.asarray(v)[:size] for name, v in logit.items()}, np.asarray(value)[:size]


finite_coord = st.floats(-2.0, 2.0, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def random_paradigms(draw, test_present=None, without_choice_features=False):
    n_features = draw(st.integers(1, 3))
    vector = st.tuples(*[finite_coord] * n_features)
    event = st.builds(
        FeedbackEvent,
        about=vector,
        feedback=st.sampled_from(sorted(FEEDBACK_CODES)),
        count=st.integers(0, 3),
        adult_present=st.booleans(),
    )
    conditions = tuple(
        Condition(
            f"c{i}",
            tuple(draw(st.lists(event, max_size=4))),
            draw(st.floats(0.0, 1.0)) if test_present is None else test_present,
        )
        for i in range(draw(st.integers(1, 4)))
    )
    disapproval = draw(st.sampled_from([0.0, 1.0]))
    # with disapproval, silence needs a negative praise bias (a window around u = 0)
    bias = draw(st.floats(-2.0, -0.2) if disapproval else st.floats(-2.0, 2.0))
    return Paradigm(
        name="random",
        features=tuple(f"f{j}" for j in range(n_features)),
        conditions=conditions,
        choice_features=(0.0,) * n_features if without_choice_features else draw(vector),
        praise_slope=draw(st.floats(0.2, 3.0)),
        praise_bias=bias,
        disapproval=disapproval,
        prior_sd=draw(st.floats(0.3, 2.0)),
    )


random_params = st.fixed_dictionaries(
    {
        "bias": st.floats(-3.0, 3.0),
        "value_weight": st.floats(0.0, 4.0),
        "correlation": st.floats(0.0, 0.95),
        "habit_weight": st.floats(-3.0, 3.0),
    }
)
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None)
SOME_PARAMS = {"bias": 0.2, "value_weight": 1.3, "correlation": 0.4, "habit_weight": -0.7}


def test_padding_changes_nothing():
    for paradigm in (MADE_UP_PARADIGM, ZHAO_PARADIGM):
        design = condition_arrays(paradigm)
        logit, value = evaluate(paradigm, SOME_PARAMS)
        np.testing.assert_allclose(value, social_value(design, 0.4), rtol=1e-12, atol=1e-14)
        for name, model in PARADIGM_MODELS.items():
            expected = model.logit(SOME_PARAMS, design)
            np.testing.assert_allclose(logit[name], expected, rtol=1e-12, atol=1e-14)


@PROPERTY_SETTINGS
@given(random_paradigms(test_present=1.0), random_params)
def test_isr_and_no_internalization_agree_when_the_adult_watches_every_test(paradigm, params):
    logit, _ = evaluate(paradigm, params)
    np.testing.assert_allclose(logit["isr"], logit["no_internalization"], rtol=0, atol=1e-12)


@PROPERTY_SETTINGS
@given(random_paradigms(), random_params)
def test_nothing_observed_means_no_social_value_and_probabilities_are_proper(paradigm, params):
    logit, value = evaluate(paradigm, params)
    assert np.all(np.isfinite(value))
    for c, condition in enumerate(paradigm.conditions):
        if not any(e.adult_present and e.count > 0 for e in condition.events):
            assert value[c] == 0.0
    for name in PARADIGM_MODELS:
        p = 1.0 / (1.0 + np.exp(-logit[name]))
        assert np.all(np.isfinite(p)) and np.all((p > 0) & (p < 1)), name


@PROPERTY_SETTINGS
@given(random_paradigms(without_choice_features=True), random_params)
def test_a_choice_without_social_features_has_one_rate_except_under_reinforcement(paradigm, params):
    logit, _ = evaluate(paradigm, params)
    for name in ("null_rate", "no_internalization", "isr"):
        np.testing.assert_allclose(logit[name], params["bias"], rtol=0, atol=1e-12)


@PROPERTY_SETTINGS
@given(
    st.lists(finite_coord, min_size=1, max_size=3).filter(lambda v: max(map(abs, v)) >= 0.1),
    st.floats(0.2, 3.0),
    st.floats(-2.0, 2.0),
    st.floats(0.3, 2.0),
    st.floats(0.0, 0.95),
)
def test_more_praise_never_lowers_the_value_and_disapproval_makes_it_negative(
    about, slope, bias, prior_sd, correlation
):
    about = tuple(about)
    conditions = [Condition(f"praise{n}", (FeedbackEvent(about, "praise", n),)) for n in range(5)]
    conditions.append(Condition("disapproval", (FeedbackEvent(about, "disapproval", 1),)))
    paradigm = Paradigm(
        name="monotone",
        features=tuple(f"f{j}" for j in range(len(about))),
        conditions=tuple(conditions),
        choice_features=about,
        praise_slope=slope,
        praise_bias=bias,
        prior_sd=prior_sd,
    )
    _, value = evaluate(paradigm, {**SOME_PARAMS, "correlation": correlation})
    assert value[0] == 0.0
    assert np.all(np.diff(value[:5]) > 0)  # strictly: each praise raises the belief
    assert value[5] < 0
