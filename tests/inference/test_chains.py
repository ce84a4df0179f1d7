"""The compiled chain and SVI programs: one compile per model and data shape, and the
data really are arguments (no fit sees another's data)."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from valueint.inference.chains import ChainProgram, run_chains
from valueint.inference.sampling import SviProgram, run_svi_program
from valueint.trials.population import device_arrays, hierarchical_model
from valueint.trials.simulation import RecipientBlocks, synthetic_data
from valueint.trials.specs import get_spec

SPEC = get_spec("rw")
N_SUBJECTS, N_TRIALS = 6, 48


def _model_args(seed: int, alpha_mean: float):
    """rw data whose subjects share a learning rate far from the other seed's."""
    logit = float(np.log(alpha_mean / (1 - alpha_mean)))
    population = {"alpha": (logit, 0.1), "beta": (np.log(5.0), 0.1)}
    data, _ = synthetic_data(
        "rw", N_SUBJECTS, RecipientBlocks(N_TRIALS), seed=seed, population=population
    )
    design = tuple(jnp.ones((N_SUBJECTS, 1)) for _ in SPEC.parameters)  # intercepts only
    options = {"reward_probs": (0.25, 0.75), "q_init": 0.0}
    return (SPEC, options, device_arrays(data.arrays), design)


def _program(**changes):
    settings = dict(
        numpyro_model=hierarchical_model,
        spec=SPEC,
        parameterization="as_written",
        warmup=60,
        draws=60,
        target_accept_prob=0.8,
        max_tree_depth=6,
        dense=False,
        sites=("alpha", "mu_alpha"),
        start="median",
    )
    return ChainProgram(**{**settings, **changes})


@pytest.fixture
def backend_compiles():
    """Counts XLA backend compiles while the test runs."""
    counts = collections.Counter()

    def listener(name, duration, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            counts["compiles"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    yield counts
    jax.monitoring.unregister_event_duration_listener(listener)


def test_a_second_data_set_of_the_same_shape_compiles_nothing(backend_compiles):
    """Two data sets of one shape through one program: the second compiles nothing, and
    each fit follows its own data (a learning rate of 0.1 against 0.8)."""
    program = _program()
    key = jax.random.key(0)
    slow_args, fast_args = _model_args(1, 0.1), _model_args(2, 0.8)
    slow, _, method, _ = run_chains(program, key, chains=2, model_args=slow_args)
    assert method == "parallel"
    before = backend_compiles["compiles"]
    fast, fields, _, _ = run_chains(program, key, chains=2, model_args=fast_args)
    assert backend_compiles["compiles"] == before
    assert slow["alpha"].shape == (2, 120, N_SUBJECTS)
    assert set(fields) >= {"diverging", "num_steps", "accept_prob"}
    # the draws' population mean learning rate follows each data set's
    late = slice(60, None)
    assert np.median(slow["mu_alpha"][:, late]) < np.median(fast["mu_alpha"][:, late])
    again, _, _, _ = run_chains(program, key, chains=2, model_args=slow_args)
    np.testing.assert_array_equal(again["alpha"], slow["alpha"])  # nothing carried over


def test_progress_and_chain_method_do_not_change_the_draws():
    """A progress bar is a host callback: the same program, the same draws.  Chains run
    one after another compute what parallel ones do, chain by chain."""
    program = _program(warmup=20, draws=10)
    key = jax.random.key(3)
    args = _model_args(4, 0.4)
    quiet, _, _, _ = run_chains(program, key, chains=2, model_args=args)
    shown, _, _, _ = run_chains(program, key, chains=2, model_args=args, progress=True)
    np.testing.assert_array_equal(quiet["alpha"], shown["alpha"])
    with pytest.warns(UserWarning, match="one after another"):
        sequential, _, method, _ = run_chains(program, key, chains=3, model_args=args)
    assert method == "sequential"
    np.testing.assert_allclose(sequential["alpha"][:2], quiet["alpha"], rtol=1e-9)


def test_more_draws_continue_each_chain_exactly_where_it_stopped():
    """Rounds of more draws run from the adapted state, nothing adapted again: warmup and
    20 draws, then 20 more, are the draws of one run of warmup and 40, bit for bit."""
    from valueint.inference.diagnostics import Diagnostics
    from valueint.inference.rounds import Budget, Until

    verdicts = iter([False, True])

    def judge(samples, fields):
        converged = next(verdicts)
        return Diagnostics("nuts", 1.0, 500.0 if converged else 5.0, 500.0, 0, 1, (), 2)

    args = _model_args(5, 0.4)
    key = jax.random.key(4)
    rounds = run_chains(
        _program(warmup=20, draws=20),
        key,
        chains=2,
        model_args=args,
        until=Until(judge, Budget(iterations=1000)),
    )
    once = run_chains(_program(warmup=20, draws=40), key, chains=2, model_args=args)
    assert [r.kind for r in rounds.rounds.rounds] == ["first", "more draws"]
    np.testing.assert_array_equal(rounds.samples["alpha"], once.samples["alpha"])
    np.testing.assert_array_equal(rounds.fields["num_steps"], once.fields["num_steps"])


def test_program_settings_are_checked():
    with pytest.raises(ValueError, match="parameterization must be one of"):
        _program(parameterization="sideways")
    with pytest.raises(ValueError, match="start must be"):
        _program(start="anywhere")
    with pytest.raises(ValueError, match="program's spec"):
        run_chains(
            _program(),
            jax.random.key(0),
            chains=1,
            model_args=(get_spec("choice_kernel"), *_model_args(1, 0.5)[1:]),
        )


def test_svi_program_is_shared_by_fits_of_one_shape(backend_compiles):
    """The SVI steps, the guide's median and its draws compile once for both data sets,
    and each fit's median follows its own data."""
    program = SviProgram(
        numpyro_model=hierarchical_model,
        spec=SPEC,
        centeredness="learned",
        guide="normal",
        steps=200,
        learning_rate=0.03,
        draws=8,
        sites=("alpha",),
    )
    key = jax.random.key(1)
    slow_args, fast_args = _model_args(1, 0.1), _model_args(2, 0.8)
    slow = run_svi_program(program, key, slow_args)
    before = backend_compiles["compiles"]
    fast = run_svi_program(program, key, fast_args)
    assert backend_compiles["compiles"] == before
    params, losses, median, draws = fast
    assert losses.shape == (200,) and np.isfinite(losses).all()
    assert draws["alpha"].shape == (8, N_SUBJECTS)
    assert params["subject_theta_centered"].shape == (N_SUBJECTS, 2)
    assert slow[2]["population_coef_alpha"][0] < median["population_coef_alpha"][0]
