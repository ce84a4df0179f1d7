"""The delta-rule loop's hand-written gradient against JAX's own reverse mode and against
finite differences, for every kind of loop (asymmetric rates, choice kernel)."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from valueint.trials.delta_rule_loop import _forward, delta_rule_logp

KINDS = list(itertools.product((False, True), repeat=2))  # (asymmetric, choice_kernel)
N_TRIALS = 16


def block_inputs(seed, n_trials=N_TRIALS):
    """Differentiable inputs (beta, beta_c, q_init, target, rate, kernel_rate, rate_neg)
    and the choices of one block: rewards off 0/1 so that errors of both signs occur,
    missed trials (rates 0) and a value start inside the rewards' range."""
    rng = np.random.default_rng(seed)
    observed = rng.random(n_trials) > 0.15
    chose_1 = rng.integers(0, 2, n_trials).astype(float)
    differentiable = (
        np.exp(rng.normal(1.0, 0.5)),  # beta
        rng.normal(0.5, 1.0),  # beta_c
        rng.uniform(0.2, 0.8),  # q_init
        rng.integers(0, 2, n_trials) * 1.4 - 0.2,  # target
        rng.uniform(0.05, 0.95, n_trials) * observed,  # rate
        rng.uniform(0.05, 0.95, n_trials) * observed,  # kernel_rate
        rng.uniform(0.05, 0.95, n_trials) * observed,  # rate_neg
    )
    return tuple(jnp.asarray(x, jnp.float64) for x in differentiable), jnp.asarray(chose_1)


def loss(logp_fn, kind, chose_1, weights):
    def f(beta, beta_c, q_init, target, rate, kernel_rate, rate_neg):
        logp = logp_fn(kind, beta, beta_c, q_init, chose_1, target, rate, kernel_rate, rate_neg)
        return jnp.sum(weights * logp)  # a cotangent that differs trial by trial

    return f


def autodiff_logp(*args):
    return _forward(*args)[0]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(KINDS))
def test_hand_written_gradient_equals_reverse_mode(seed, kind):
    inputs, chose_1 = block_inputs(seed)
    weights = jnp.asarray(np.random.default_rng(seed + 1).normal(size=N_TRIALS))
    argnums = tuple(range(len(inputs)))
    ours = jax.grad(loss(delta_rule_logp, kind, chose_1, weights), argnums)(*inputs)
    theirs = jax.grad(loss(autodiff_logp, kind, chose_1, weights), argnums)(*inputs)
    for name, a, b in zip(
        ("beta", "beta_c", "q_init", "target", "rate", "kernel_rate", "rate_neg"),
        ours,
        theirs,
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_matches_finite_differences(kind):
    inputs, chose_1 = block_inputs(7)
    weights = jnp.linspace(0.5, 1.5, N_TRIALS)
    check_grads(loss(delta_rule_logp, kind, chose_1, weights), inputs, order=1, modes=("rev",))


def test_values_are_the_forward_loop_and_vmap_over_blocks():
    """The primal is the plain loop; batched over blocks it gives each block's gradient."""
    blocks = [block_inputs(seed) for seed in range(4)]
    stacked = [jnp.stack(x) for x in zip(*(b[0] for b in blocks), strict=True)]
    choices = jnp.stack([b[1] for b in blocks])
    kind = (True, True)
    batched = jax.vmap(lambda *a: delta_rule_logp(kind, *a[:3], a[7], *a[3:7]))(*stacked, choices)
    for i, (inputs, chose_1) in enumerate(blocks):
        beta, beta_c, q_init, *rest = inputs
        one = autodiff_logp(kind, beta, beta_c, q_init, chose_1, *rest)
        np.testing.assert_allclose(batched[i], one, rtol=1e-12)
