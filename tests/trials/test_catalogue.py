"""The learning-model specs: parity with the NumPy reference, learning, likelihood sanity.

Parity: each model's JAX ``loglik`` (and its simulator, replaying the same uniforms)
against the plain loops of ``valueint.testing.trial_models``, on random designs with missed
trials, padding and several blocks; missed trials hold garbage that must never be
read.  Two deliberately broken references must fail the same check.

Statistical checks use fixed seeds; each threshold states its margin.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference.parameters import constrain, constrain_value, unconstrain, unconstrain_value
from valueint.testing import trial_models as ref
from valueint.trials import learning
from valueint.trials.catalogue import (
    ISR_MODELS,
    RULES,
    check_trial_arrays,
    resolve_options,
    simulate_from_uniforms,
)
from valueint.trials.learning import draw_uniforms
from valueint.trials.specs import TrialArrays, get_spec, registered

TRIAL_MODELS = (
    "rw",
    "rw_recipient",
    "value_recipient",
    "isr",
    "no_internalization",
    "choice_kernel",
    "rw_ck",
    "rw_asym",
    "rw_asym_ck",
    "bayes",
    "bayes_ck",
    "bayes_recipient",
    "rw_anti",
    "rw_anti_ck",
    "rw_wsls",
)
RTOL = 1e-9

# A second design for the ISR models: option 0 carries no features (the caregiver ignores
# it), three features, disapproval on, a non-zero starting value.
ISR_OPTIONS_B = {
    "features": ((0.0, 0.0, 0.0), (1.0, 0.5, -1.0)),
    "caregiver_theta": (0.5, 0.5, 0.5),
    "disapproval": 1.0,
    "praise_bias": -0.5,
    "prior_sd": 2.0,
    "social_reward": 2.0,
    "reward_probs": (0.4, 0.6),
    "q_init": 0.5,
}
PARITY_CASES = [(m, None) for m in TRIAL_MODELS] + [(m, "B") for m in ISR_MODELS]
OPTION_SETS = {None: None, "B": ISR_OPTIONS_B}


def design(n_blocks, n_trials, context=0, present=None, mask=None) -> TrialArrays:
    zeros = np.zeros((n_blocks, n_trials))
    return TrialArrays(
        choice=zeros.astype(np.int32),
        outcome=zeros,
        praise=zeros,
        present=zeros if present is None else np.asarray(present, float),
        context=np.broadcast_to(context, (n_blocks, n_trials)).astype(np.int32),
        mask=np.ones((n_blocks, n_trials), bool) if mask is None else mask,
    )


def random_design(seed, n_blocks=5, n_trials=30) -> TrialArrays:
    """Mixed contexts, the caregiver present early and sometimes late, ~15% missed trials
    and 0-6 padded trials at the end of each block."""
    rng = np.random.default_rng(seed)
    present = (np.arange(n_trials) < n_trials // 2) | (rng.random((n_blocks, n_trials)) < 0.2)
    mask = rng.random((n_blocks, n_trials)) > 0.15
    for b, pad in enumerate(rng.integers(0, 7, n_blocks)):
        mask[b, n_trials - pad :] = False
    return design(n_blocks, n_trials, rng.integers(0, 3, (n_blocks, n_trials)), present, mask)


def with_garbage(data: TrialArrays, seed) -> TrialArrays:
    """Random choice, outcome, praise, context and presence on missed trials."""
    rng = np.random.default_rng(seed)
    shape, missed = data.choice.shape, ~np.asarray(data.mask)

    def fill(x, junk):
        return np.where(missed, junk, np.asarray(x))

    return data.replace(
        choice=fill(data.choice, rng.integers(0, 2, shape)).astype(np.int32),
        outcome=fill(data.outcome, rng.normal(0, 3, shape)),
        praise=fill(data.praise, rng.choice([-1.0, 1.0], shape)),
        context=fill(data.context, rng.integers(0, 3, shape)).astype(np.int32),
        present=fill(data.present, rng.integers(0, 2, shape).astype(float)),
    )


def prior_draw(spec, seed) -> dict:
    """Natural-scale parameters drawn from the spec's default prior."""
    rng = np.random.default_rng(seed)
    z = {p.name: rng.normal(p.prior_loc, p.prior_scale) for p in spec.parameters}
    return {k: float(v) for k, v in constrain(spec, z).items()}


@functools.cache
def jitted(model, option_set=None):
    """(loglik, simulate_from_uniforms) compiled once per model and design constants."""
    spec, options = get_spec(model), OPTION_SETS[option_set]
    loglik = jax.jit(lambda p, d: spec.loglik(p, d, options))
    simulate = jax.jit(lambda p, d, u: simulate_from_uniforms(model, p, d, u, options))
    return loglik, simulate


def simulate(model, params, data, seed, options=None):
    return get_spec(model).simulate(params, data, jax.random.key(seed), options)


# --- parity with the NumPy reference ------------------------------------------------


def parity_data(model, option_set, seed):
    """Parameters, data simulated by the JAX model (then garbage on missed trials) and the
    uniforms that drove it."""
    params = prior_draw(get_spec(model), seed)
    data = random_design(seed)
    uniforms = draw_uniforms(jax.random.key(seed), data.choice.shape)
    sim = jitted(model, option_set)[1](params, data, uniforms)
    return params, data, uniforms, sim


@pytest.mark.parametrize(("model", "option_set"), PARITY_CASES)
def test_loglik_and_simulation_match_reference(model, option_set):
    options = OPTION_SETS[option_set]
    loglik, simulate_jax = jitted(model, option_set)
    for seed in range(3):
        params, data, uniforms, sim = parity_data(model, option_set, seed)
        expected = ref.simulate(model, params, data, uniforms, options)
        for name in ("choice", "outcome", "praise"):
            np.testing.assert_array_equal(np.asarray(getattr(sim, name)), expected[name], name)
        observed = with_garbage(sim, seed)
        got = np.asarray(loglik(params, observed))
        want = ref.loglik(model, params, observed, options)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)
        assert np.all(got[~np.asarray(sim.mask)] == 0.0)
        assert np.all(got[np.asarray(sim.mask)] < 0.0)


def test_isr_simulation_gives_praise_only_when_watched_and_salient():
    _, data, _, sim = parity_data("isr", "B", 0)
    praise, present = np.asarray(sim.praise), np.asarray(data.present)
    assert np.all(praise[present == 0] == 0)
    assert np.all(praise[np.asarray(sim.choice) == 0] == 0)  # option 0 has no features
    watched = (present == 1) & (np.asarray(sim.choice) == 1) & np.asarray(sim.mask)
    assert set(np.unique(praise[watched])) == {-1.0, 0.0, 1.0}  # disapproval on


def loglik_updating_on_missed_trials(model, params, data, options):
    """Broken: a missed trial still updates the learner (its logp is then zeroed)."""
    every = ref.loglik(model, params, data.replace(mask=np.ones_like(data.mask)), options)
    return np.where(np.asarray(data.mask), every, 0.0)


def rw_loglik_update_before_choice(params, data):
    """Broken: the value is updated with the trial's outcome before its choice is scored."""
    d = ref.as_numpy(data)
    out = np.zeros(d["choice"].shape)
    for b in range(out.shape[0]):
        q = [0.0, 0.0]
        for t in range(out.shape[1]):
            if d["mask"][b, t]:
                c = int(d["choice"][b, t])
                q[c] += params["alpha"] * (d["outcome"][b, t] - q[c])
                logit = params["beta"] * (q[1] - q[0])
                out[b, t] = ref.log_sigmoid(logit if c == 1 else -logit)
    return out


@pytest.mark.parametrize(("model", "option_set"), PARITY_CASES)
def test_parity_check_catches_an_update_on_missed_trials(model, option_set):
    options = OPTION_SETS[option_set]
    params, _, _, sim = parity_data(model, option_set, 0)
    observed = with_garbage(sim, 0)
    got = np.asarray(jitted(model, option_set)[0](params, observed))
    broken = loglik_updating_on_missed_trials(model, params, observed, options)
    assert not np.allclose(got, broken, rtol=RTOL, atol=0)


def test_parity_check_catches_an_off_by_one_update():
    params, _, _, sim = parity_data("rw", None, 0)
    got = np.asarray(jitted("rw")[0](params, sim))
    np.testing.assert_allclose(got, ref.loglik("rw", params, sim), rtol=RTOL, atol=0)
    assert not np.allclose(got, rw_loglik_update_before_choice(params, sim), rtol=RTOL, atol=0)


# --- replaying the task's outcome schedule ------------------------------------------------


def with_schedule(data: TrialArrays, seed, known_share=0.7) -> TrialArrays:
    """Observed choices and complementary outcomes (the other option pays 1 - outcome) on
    every trial, the schedule known on about ``known_share`` of them (NaN elsewhere)."""
    rng = np.random.default_rng(seed)
    shape = data.choice.shape
    outcome = rng.integers(0, 2, shape).astype(float)
    unchosen = np.where(rng.random(shape) < known_share, 1.0 - outcome, np.nan)
    return data.replace(
        choice=rng.integers(0, 2, shape).astype(np.int32),
        outcome=outcome,
        outcome_unchosen=unchosen,
    )


@pytest.mark.parametrize(("model", "option_set"), [("rw", None), ("isr", "B")])
def test_simulation_replays_the_schedule_where_known_and_draws_elsewhere(model, option_set):
    loglik, simulate_jax = jitted(model, option_set)
    reward_probs = np.asarray(resolve_options(model, OPTION_SETS[option_set])["reward_probs"])
    for seed in range(2):
        params = prior_draw(get_spec(model), seed)
        data = with_schedule(random_design(seed), seed)
        uniforms = draw_uniforms(jax.random.key(seed), data.choice.shape)
        sim = simulate_jax(params, data, uniforms)
        choice, outcome = np.asarray(sim.choice), np.asarray(sim.outcome)
        mask, unchosen = np.asarray(data.mask), np.asarray(data.outcome_unchosen)
        known = mask & ~np.isnan(unchosen)
        same = choice == np.asarray(data.choice)
        # the simulated choice gets what the data say that option gave
        replayed = np.where(same, np.asarray(data.outcome), unchosen)
        np.testing.assert_array_equal(outcome[known], replayed[known])
        other = np.where(same, unchosen, np.asarray(data.outcome))
        np.testing.assert_array_equal(np.asarray(sim.outcome_unchosen)[known], other[known])
        # and where the schedule is unknown it draws, Bernoulli(reward_probs[choice])
        unknown = mask & np.isnan(unchosen)
        drawn = (np.asarray(uniforms["outcome"]) < reward_probs[choice]).astype(float)
        np.testing.assert_array_equal(outcome[unknown], drawn[unknown])
        assert np.isnan(np.asarray(sim.outcome_unchosen)[~known]).all()
        assert known.sum() > 50 and unknown.sum() > 20 and (~same[known]).sum() > 20
        # the likelihood never reads the schedule
        no_schedule = data.replace(outcome_unchosen=np.full(data.choice.shape, np.nan))
        np.testing.assert_array_equal(
            np.asarray(loglik(params, data)), np.asarray(loglik(params, no_schedule))
        )


def test_a_fully_known_schedule_leaves_no_outcome_to_chance():
    """Every trial's outcome known: the outcome uniforms no longer matter at all."""
    _, simulate_jax = jitted("rw")
    params = prior_draw(get_spec("rw"), 5)
    data = with_schedule(random_design(5), 5, known_share=1.0)
    uniforms = draw_uniforms(jax.random.key(5), data.choice.shape)
    other = {**uniforms, "outcome": draw_uniforms(jax.random.key(6), data.choice.shape)["outcome"]}
    first, second = simulate_jax(params, data, uniforms), simulate_jax(params, data, other)
    for name in ("choice", "outcome"):
        np.testing.assert_array_equal(np.asarray(getattr(first, name)), getattr(second, name))


# --- learning -----------------------------------------------------------------------------

# 400 blocks x 16 trials; a choice rate over n Bernoulli trials has sd <= 0.5 / sqrt(n).
N_BLOCKS, N_TRIALS = 400, 16


def chance_band(n):
    """4 standard errors of a fair coin's rate over n choices."""
    return 4 * 0.5 / math.sqrt(n)


def test_rw_learns_the_better_option():
    # alpha 0.3, beta 8 on P(reward) 0.25 / 0.75: measured 0.86-0.90 over seeds 0-3
    sim = simulate("rw", {"alpha": 0.3, "beta": 8.0}, design(N_BLOCKS, N_TRIALS), 0)
    late = np.asarray(sim.choice)[:, N_TRIALS // 2 :]
    assert late.mean() > 0.7
    assert late.mean() > np.asarray(sim.choice)[:, :4].mean() + 0.2  # it improves


def test_rw_without_inverse_temperature_is_at_chance():
    sim = simulate("rw", {"alpha": 0.3, "beta": 0.0}, design(N_BLOCKS, N_TRIALS), 1)
    choice = np.asarray(sim.choice)
    assert abs(choice.mean() - 0.5) < chance_band(choice.size)


def test_rw_recipient_learns_for_self_but_not_for_no_one():
    contexts = np.repeat(np.arange(3), N_BLOCKS // 2)[:, None]
    params = {"alpha_self": 0.5, "alpha_other": 0.3, "alpha_none": 0.0, "beta": 8.0}
    sim = simulate("rw_recipient", params, design(len(contexts), N_TRIALS, contexts), 2)
    late = np.asarray(sim.choice)[:, N_TRIALS // 2 :]
    self_rate, none_rate = late[contexts[:, 0] == 0].mean(), late[contexts[:, 0] == 2].mean()
    assert self_rate > 0.75
    assert abs(none_rate - 0.5) < chance_band(late[contexts[:, 0] == 2].size)


def test_value_recipient_learns_in_proportion_to_value():
    # w = 1 for the other: as for oneself; w = 0 for no one: no learning at all
    contexts = np.repeat(np.arange(3), N_BLOCKS // 2)[:, None]
    params = {"alpha": 0.3, "beta": 8.0, "w_other": 1.0, "w_none": 0.0}
    sim = simulate("value_recipient", params, design(len(contexts), N_TRIALS, contexts), 3)
    late = np.asarray(sim.choice)[:, N_TRIALS // 2 :]
    rates = [late[contexts[:, 0] == k].mean() for k in range(3)]
    n = late[contexts[:, 0] == 0].size
    assert rates[0] > 0.75 and rates[1] > 0.75
    assert abs(rates[0] - rates[1]) < 2 * chance_band(n)  # difference of two rates
    assert abs(rates[2] - 0.5) < chance_band(n)


def test_internalized_praise_keeps_guiding_choice_when_no_one_watches():
    # The caregiver praises option 1; extrinsic reward favours option 0 (0.6 vs 0.4).
    # Watched for 20 trials, then alone for 20.  Measured over seeds 0-2, rate of option 1:
    # watched 0.92-0.93 for both; alone, last 10 trials: isr (w = 1) 0.95-0.97,
    # no_internalization 0.40-0.41 (reverting towards the extrinsic preference, P -> 0.27).
    n_blocks, n_trials = 200, 40
    present = np.broadcast_to(np.arange(n_trials) < 20, (n_blocks, n_trials))
    data = design(n_blocks, n_trials, present=present)
    options = {"reward_probs": (0.6, 0.4), "caregiver_theta": (-1.0, 2.0)}
    isr = simulate("isr", {"alpha": 0.3, "beta": 5.0, "w": 1.0}, data, 4, options)
    no_isr = simulate("no_internalization", {"alpha": 0.3, "beta": 5.0}, data, 4, options)
    for sim in (isr, no_isr):
        assert np.asarray(sim.choice)[:, 10:20].mean() > 0.85
    isr_alone = np.asarray(isr.choice)[:, 30:].mean()
    no_isr_alone = np.asarray(no_isr.choice)[:, 30:].mean()
    assert isr_alone > 0.85
    assert no_isr_alone < 0.5
    assert isr_alone - no_isr_alone > 0.3


def test_choice_kernel_repeats_choices():
    rates = {}
    for beta_c in (5.0, 0.0):
        sim = simulate("choice_kernel", {"alpha_c": 0.5, "beta_c": beta_c}, design(200, 16), 5)
        choice = np.asarray(sim.choice)
        rates[beta_c] = (choice[:, 1:] == choice[:, :-1]).mean()
    assert rates[5.0] > 0.9  # measured 0.98
    assert abs(rates[0.0] - 0.5) < chance_band(200 * 15)


# --- likelihood sanity ---------------------------------------------------------------------


def test_rw_likelihood_peaks_at_the_true_parameters():
    """Coarse grid, 6400 simulated choices: the argmax lies within 0.1 of the true alpha
    and within a factor 1.5 of the true beta (on seeds 0-5 it hit the grid point of the
    truth exactly)."""
    truth = {"alpha": 0.3, "beta": 5.0}
    sim = simulate("rw", truth, design(N_BLOCKS, N_TRIALS), 6)
    alphas = np.linspace(0.05, 0.95, 19)
    betas = np.exp(np.linspace(0.0, np.log(25.0), 15))
    grid_a, grid_b = np.meshgrid(alphas, betas, indexing="ij")
    spec = get_spec("rw")
    total = jax.jit(jax.vmap(lambda a, b: spec.loglik({"alpha": a, "beta": b}, sim).sum()))
    surface = np.asarray(total(grid_a.ravel(), grid_b.ravel())).reshape(grid_a.shape)
    i, j = np.unravel_index(np.argmax(surface), surface.shape)
    assert abs(alphas[i] - truth["alpha"]) <= 0.1
    assert abs(np.log(betas[j] / truth["beta"])) <= np.log(1.5)


@pytest.mark.parametrize("model", TRIAL_MODELS)
def test_gradients_are_finite(model):
    spec = get_spec(model)
    _, _, _, sim = parity_data(model, None, 1)
    observed = with_garbage(sim, 1)

    @jax.jit
    def total(z):
        return spec.loglik(constrain(spec, z), observed).sum()

    for scale in (0.0, 1.0, 6.0):
        rng = np.random.default_rng(int(scale))
        z = {p.name: jnp.asarray(p.prior_loc + scale * rng.normal()) for p in spec.parameters}
        grad = jax.grad(total)(z)
        assert all(np.isfinite(float(g)) for g in grad.values()), (scale, grad)


MAX_PARAMETERS = max(len(get_spec(m).parameters) for m in TRIAL_MODELS)


@functools.cache
def unconstrained_loglik(model):
    spec = get_spec(model)
    return jax.jit(lambda z, data: spec.loglik(constrain(spec, z), data))


@functools.cache
def property_data(model):
    return with_garbage(parity_data(model, None, 2)[3], 2)


@settings(max_examples=40, deadline=None)
@given(
    model=st.sampled_from(TRIAL_MODELS),
    z=st.lists(st.floats(-5.0, 5.0), min_size=MAX_PARAMETERS, max_size=MAX_PARAMETERS),
)
def test_trial_probabilities_are_valid_for_any_parameters(model, z):
    """For any unconstrained parameters in [-5, 5] (past the priors' bulk): every observed
    choice has a finite log-probability <= 0 (p in (0, 1]) and missed trials score 0."""
    spec = get_spec(model)
    data = property_data(model)
    values = {p.name: jnp.asarray(v) for p, v in zip(spec.parameters, z, strict=False)}
    ll = np.asarray(unconstrained_loglik(model)(values, data))
    mask = np.asarray(data.mask)
    assert np.all(np.isfinite(ll)) and np.all(ll <= 0.0)
    assert np.all(ll[~mask] == 0.0)


@pytest.mark.parametrize("model", ["rw_recipient", "bayes_ck", "isr"])
def test_loglik_vmaps_over_subjects_and_jits_with_options_as_arguments(model):
    """The inference pattern: one call for many subjects, design constants traced."""
    spec = get_spec(model)
    subjects = [parity_data(model, None, seed) for seed in range(3)]
    params = {k: jnp.asarray([s[0][k] for s in subjects]) for k in spec.parameter_names}
    data = jax.tree.map(
        lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *[s[3] for s in subjects]
    )
    options = {"reward_probs": (0.3, 0.7), "q_init": 0.2}
    batched = jax.jit(jax.vmap(spec.loglik, in_axes=(0, 0, None)))(params, data, options)
    for i, (p, _, _, sim) in enumerate(subjects):
        want = ref.loglik(model, p, sim, options)
        np.testing.assert_allclose(np.asarray(batched[i]), want, rtol=RTOL, atol=0)


@pytest.mark.parametrize("model", ["value_recipient", "isr"])
def test_float32_data_stays_float32(model):
    params, _, _, sim = parity_data(model, None, 0)
    single = sim.replace(
        outcome=np.asarray(sim.outcome, np.float32),
        praise=np.asarray(sim.praise, np.float32),
        present=np.asarray(sim.present, np.float32),
    )
    ll = get_spec(model).loglik({k: np.float32(v) for k, v in params.items()}, single)
    assert ll.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(ll), ref.loglik(model, params, sim), rtol=1e-4, atol=1e-5)


# --- transforms ---------------------------------------------------------------------------

ALL_PARAMETERS = [(m, p) for m in TRIAL_MODELS for p in get_spec(m).parameters]


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(ALL_PARAMETERS) - 1), z=st.floats(-12.0, 12.0))
def test_constrain_then_unconstrain_is_the_identity(index, z):
    _, parameter = ALL_PARAMETERS[index]
    x = float(constrain_value(parameter, z))
    assert parameter.lower < x < parameter.upper
    np.testing.assert_allclose(float(unconstrain_value(parameter, x)), z, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(ALL_PARAMETERS) - 1), u=st.floats(1e-4, 1.0 - 1e-4))
def test_unconstrain_then_constrain_is_the_identity(index, u):
    """Natural values spread over the range: u in (0, 1) mapped into the bounds."""
    _, parameter = ALL_PARAMETERS[index]
    lower, upper = parameter.lower, parameter.upper
    if math.isfinite(lower) and math.isfinite(upper):
        x = lower + u * (upper - lower)
    elif math.isfinite(lower):
        x = lower + u / (1.0 - u)
    else:
        x = math.log(u / (1.0 - u)) * 5.0
    back = float(constrain_value(parameter, unconstrain_value(parameter, x)))
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-12)


def test_transforms_map_dicts_and_vmap():
    spec = get_spec("value_recipient")
    z = {name: jnp.linspace(-3.0, 3.0, 7) for name in spec.parameter_names}
    natural = jax.vmap(lambda zz: constrain(spec, zz))(z)
    assert -1.0 < float(natural["w_other"].min()) and float(natural["w_other"].max()) < 2.0
    back = jax.jit(lambda x: unconstrain(spec, x))(natural)
    for name in spec.parameter_names:
        np.testing.assert_allclose(np.asarray(back[name]), np.asarray(z[name]), rtol=1e-12)


def test_transforms_name_missing_and_unknown_parameters():
    spec = get_spec("rw")
    with pytest.raises(KeyError, match="missing beta.*unknown gamma"):
        constrain(spec, {"alpha": 0.0, "gamma": 1.0})


# --- specs and errors ----------------------------------------------------------------------


def test_every_model_is_registered_with_sound_parameters():
    assert set(TRIAL_MODELS) <= set(registered())
    for model in TRIAL_MODELS:
        spec = get_spec(model)
        for p in spec.parameters:
            x = float(constrain_value(p, p.prior_loc))  # the prior median lies inside
            assert p.lower < x < p.upper and p.prior_scale > 0 and p.description
        assert {"subject", "block", "trial", "choice"} <= set(spec.columns)
    assert get_spec("no_internalization").parameter_names == ("alpha", "beta")
    assert get_spec("isr").parameter_names == ("alpha", "beta", "w")


def test_no_internalization_is_isr_with_zero_weight():
    _, _, _, sim = parity_data("isr", None, 3)
    params = {"alpha": 0.4, "beta": 3.0}
    np.testing.assert_array_equal(
        np.asarray(get_spec("no_internalization").loglik(params, sim)),
        np.asarray(get_spec("isr").loglik({**params, "w": 0.0}, sim)),
    )


def test_value_weight_scales_the_value_like_the_inverse_temperature():
    """With q_init = 0, Q in a context is w times a plain RW learner's: on other-only trials
    value_recipient(beta, w_other) is rw(beta * w_other); self trials anchor the scale."""
    _, _, _, sim = parity_data("rw", None, 4)
    other = sim.replace(context=np.ones_like(sim.context))
    vr = {"alpha": 0.3, "beta": 4.0, "w_other": 0.5, "w_none": 1.5}
    np.testing.assert_allclose(
        np.asarray(get_spec("value_recipient").loglik(vr, other)),
        np.asarray(get_spec("rw").loglik({"alpha": 0.3, "beta": 2.0}, other)),
        rtol=1e-12,
    )


def test_bad_input_is_named():
    spec, data = get_spec("rw"), design(2, 5)
    with pytest.raises(KeyError, match="model 'rw': parameters missing beta"):
        spec.loglik({"alpha": 0.3}, data)
    with pytest.raises(ValueError, match="has no option 'features'"):
        spec.loglik({"alpha": 0.3, "beta": 1.0}, data, {"features": ((1.0,), (0.0,))})
    with pytest.raises(ValueError, match="'reward_probs' .* must lie in"):
        resolve_options("rw", {"reward_probs": (0.2, 1.5)})
    with pytest.raises(ValueError, match="'caregiver_theta' has shape"):
        resolve_options("isr", {"caregiver_theta": (1.0, 2.0, 3.0)})
    with pytest.raises(ValueError, match=r"\[block, trial\]"):
        spec.loglik({"alpha": 0.3, "beta": 1.0}, data.replace(choice=np.zeros(10, np.int32)))


def test_check_trial_arrays_names_the_first_bad_trial():
    data = design(2, 5)
    check_trial_arrays(data)
    choice = np.zeros((2, 5), np.int32)
    choice[0, 3] = 2
    bad = data.replace(choice=choice)
    with pytest.raises(ValueError, match=r"choice = 2 at block 0, trial 3.*expected 0 or 1"):
        check_trial_arrays(bad, "rw")
    missed = bad.replace(mask=np.asarray(bad.choice) != 2)
    check_trial_arrays(missed)  # missed trials may hold anything


@pytest.mark.parametrize(
    "model",
    [
        "rw",
        "rw_recipient",
        "value_recipient",
        "rw_ck",
        "rw_asym",
        "rw_asym_ck",
        "bayes",
        "bayes_ck",
        "bayes_recipient",
        "rw_anti",
        "rw_anti_ck",
    ],
)
def test_delta_rule_loop_equals_the_generic_scan(model):
    """Delta-rule models score trials in a leaner loop; it must give the generic scan's
    numbers, missed trials (with garbage data) included."""
    rule, options = RULES[model], resolve_options(model, None)
    assert rule.delta_rule is not None
    for seed in range(3):
        params, _, _, sim = parity_data(model, None, seed)
        block_data = learning.as_design(with_garbage(sim, seed), jnp.float64)
        params = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        fast = jax.vmap(lambda b, p=params: learning.block_loglik(rule, p, options, b))(block_data)
        slow = jax.vmap(lambda b, p=params: learning.block_loglik_scan(rule, p, options, b))(
            block_data
        )
        np.testing.assert_allclose(np.asarray(fast), np.asarray(slow), rtol=1e-12, atol=0)


@pytest.mark.parametrize("model", ["rw", "value_recipient", "rw_asym_ck", "bayes_ck", "rw_anti_ck"])
def test_delta_rule_loop_gradient_equals_the_generic_scans(model):
    """Reverse mode through the faster loop, taken through each model's own rates and
    targets, equals reverse mode through the generic scan, on data with missed trials
    holding garbage."""
    rule, options = RULES[model], resolve_options(model, {"q_init": 0.5})
    params, _, _, sim = parity_data(model, None, 5)
    block_data = learning.as_design(with_garbage(sim, 5), jnp.float64)
    weights = jnp.asarray(np.random.default_rng(5).normal(size=block_data.choice.shape))

    def total(loop):
        def f(p):
            return jnp.sum(weights * jax.vmap(lambda b: loop(rule, p, options, b))(block_data))

        return f

    params = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
    fast = jax.grad(total(learning.block_loglik))(params)
    slow = jax.grad(total(learning.block_loglik_scan))(params)
    for name in params:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, err_msg=name)


def test_bayes_values_are_posterior_means_and_learn_fast_then_slowly():
    """Always choosing option 1 and always rewarded: after n outcomes its value is
    (kappa q_init + n) / (kappa + n), so each outcome moves it less than the one before,
    while a Rescorla-Wagner learner's steps shrink only geometrically by (1 - alpha)."""
    kappa, beta, q_init, n_trials = 0.5, 3.0, 0.5, 10
    data = design(1, n_trials).replace(
        choice=np.ones((1, n_trials), np.int32), outcome=np.ones((1, n_trials))
    )
    ll = np.asarray(
        get_spec("bayes").loglik({"kappa": kappa, "beta": beta}, data, {"q_init": q_init})
    )[0]
    p_choice = np.exp(ll)
    value_gap = np.log(p_choice / (1 - p_choice)) / beta  # Q_1 - Q_0 before each trial
    n_seen = np.arange(n_trials)
    expected = (kappa * q_init + n_seen) / (kappa + n_seen) - q_init
    np.testing.assert_allclose(value_gap, expected, rtol=1e-10)
    steps = np.diff(value_gap)
    assert steps[0] == pytest.approx((1 - q_init) / (kappa + 1))  # 1/3 of the way at first
    assert np.all(np.diff(steps) < 0) and steps[-1] < 0.01


@pytest.mark.parametrize(("asymmetric", "symmetric"), [("rw_asym", "rw"), ("rw_asym_ck", "rw_ck")])
def test_asymmetric_learning_rates_nest_the_symmetric_model(asymmetric, symmetric):
    """With alpha_pos = alpha_neg = alpha the asymmetric model is its symmetric one, on
    data with missed trials and outcomes that are not 0/1 (garbage on missed trials)."""
    for seed in range(3):
        params, _, _, sim = parity_data(symmetric, None, seed)
        data = with_garbage(sim.replace(outcome=np.asarray(sim.outcome) * 1.7 - 0.3), seed)
        others = {k: v for k, v in params.items() if k != "alpha"}
        nested = {**others, "alpha_pos": params["alpha"], "alpha_neg": params["alpha"]}
        options = {"q_init": 0.4}
        np.testing.assert_allclose(
            np.asarray(get_spec(asymmetric).loglik(nested, data, options)),
            np.asarray(get_spec(symmetric).loglik(params, data, options)),
            rtol=1e-12,
        )


def test_asymmetric_values_move_by_the_rate_of_the_error_sign():
    """Always choosing option 1, rewarded on every other trial from q_init 0.5: a loss
    moves its value down by alpha_neg of the gap, a win up by alpha_pos of it."""
    alpha_pos, alpha_neg, beta, n_trials = 0.2, 0.7, 3.0, 8
    outcome = (np.arange(n_trials) % 2).astype(float)[None]  # 0, 1, 0, 1, ...
    data = design(1, n_trials).replace(choice=np.ones((1, n_trials), np.int32), outcome=outcome)
    params = {"alpha_pos": alpha_pos, "alpha_neg": alpha_neg, "beta": beta}
    ll = np.asarray(get_spec("rw_asym").loglik(params, data, {"q_init": 0.5}))[0]
    p_choice = np.exp(ll)
    value_gap = np.log(p_choice / (1 - p_choice)) / beta  # Q_1 - Q_0 before each trial
    q, expected = 0.5, []
    for r in outcome[0]:
        expected.append(q - 0.5)
        q += (alpha_neg if r < q else alpha_pos) * (r - q)
    np.testing.assert_allclose(value_gap, expected, rtol=1e-10, atol=1e-12)
    assert value_gap[1] == pytest.approx(-0.5 * alpha_neg)  # the first loss, at alpha_neg
