"""Trials as arrays: the count tables, both log-likelihoods (against each other and against
the NumPy reference's step-by-step ``trial_loglik``) and their gradients.

Paths are simulated once per model (module-scoped fixtures, fixed seeds): 3 participants
with parameters from the priors, 60 trials each, plus trials forced to the 25-tile stop.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from valueint.inference.parameters import constrain_value
from valueint.infosampling import arrays, belief, catalogue
from valueint.testing import infosampling as ref

MAX = belief.MAX_TILES
MODEL_NAMES = ("fixed_evidence", "sample_cost", "uncertainty", "confidence", "sd_and_distance")
SUBJECTS = 3
TRIALS_EACH = 60


def draw_z(model_name: str, rng) -> dict:
    """Unconstrained parameters [SUBJECTS] from the model's default priors."""
    return {
        p.name: jnp.asarray(rng.normal(p.prior_loc, p.prior_scale, SUBJECTS))
        for p in catalogue.get_model(model_name).parameters
    }


def constrain(model_name: str, z: dict) -> dict:
    return {
        p.name: constrain_value(p, z[p.name]) for p in catalogue.get_model(model_name).parameters
    }


def with_forced_stops(model_name, params, paths):
    """``paths`` plus 5 trials of participant 0 made to open every tile (their stop forced)."""
    forced = {k: v[:1] for k, v in params.items()}
    if model_name == "fixed_evidence":
        forced.update(stop_tiles=jnp.asarray([1e3]), stop_sharpness=jnp.asarray([50.0]))
        extra = arrays.simulate_paths(
            model_name, forced, jnp.zeros(5, jnp.int32), jnp.full(5, 0.5), jax.random.PRNGKey(9)
        )
        assert np.all(np.asarray(extra.tiles) == MAX)
    else:  # build them by hand: 25 random tiles
        colours = np.random.default_rng(9).random((5, MAX)) < 0.5
        greens = np.concatenate([np.zeros((5, 1), int), np.cumsum(colours, 1)], 1)
        extra = arrays.TrialPaths(
            jnp.zeros(5, jnp.int32),
            jnp.full(5, MAX, jnp.int32),
            jnp.asarray(greens, jnp.int32),
            jnp.asarray([1, 0, 1, 1, 0], jnp.int32),
        )
    return arrays.TrialPaths(
        *(
            jnp.concatenate([a, b])
            for a, b in zip(
                (paths.subject, paths.tiles, paths.greens, paths.trust),
                (extra.subject, extra.tiles, extra.greens, extra.trust),
                strict=True,
            )
        )
    )


@pytest.fixture(scope="session", params=MODEL_NAMES)
def study(request):
    """(model name, z, natural params, paths, tables) for one model."""
    model_name = request.param
    rng = np.random.default_rng(MODEL_NAMES.index(model_name) + 21)
    z = draw_z(model_name, rng)
    params = constrain(model_name, z)
    subject = jnp.repeat(jnp.arange(SUBJECTS), TRIALS_EACH)
    reciprocation = jnp.asarray(rng.uniform(0.0, 1.0, subject.size))
    paths = arrays.simulate_paths(model_name, params, subject, reciprocation, jax.random.PRNGKey(4))
    paths = with_forced_stops(model_name, params, paths)
    tables = catalogue.decision_tables(model_name, params)
    return model_name, z, params, paths, tables


def test_count_and_trial_logliks_give_the_same_total(study):
    _, _, _, paths, tables = study
    counts = arrays.count_tables(paths, SUBJECTS)
    by_count = arrays.count_loglik(tables, counts)
    by_trial = arrays.trial_loglik(tables, paths)
    assert by_count.shape == (SUBJECTS,) and by_trial.shape == paths.tiles.shape
    assert np.all(np.isfinite(by_trial))
    np.testing.assert_allclose(by_count.sum(), by_trial.sum(), rtol=1e-10)
    per_subject = np.bincount(np.asarray(paths.subject), np.asarray(by_trial), SUBJECTS)
    np.testing.assert_allclose(by_count, per_subject, rtol=1e-10)


def test_trial_loglik_matches_the_reference_trial_by_trial(study):
    model_name, _, params, paths, tables = study
    got = np.asarray(arrays.trial_loglik(tables, paths))
    greens, tiles = np.asarray(paths.greens), np.asarray(paths.tiles)
    picks = list(range(0, SUBJECTS * TRIALS_EACH, 4)) + list(range(len(tiles) - 5, len(tiles)))
    assert len(picks) >= 50
    for t in picks:
        s = int(paths.subject[t])
        own = {k: float(v[s]) for k, v in params.items()}
        colours = np.diff(greens[t, : tiles[t] + 1])
        expected = ref.trial_loglik(model_name, own, colours, int(tiles[t]), int(paths.trust[t]))
        np.testing.assert_allclose(got[t], expected, rtol=1e-9, err_msg=f"trial {t}")


def test_count_tables_add_up(study):
    _, _, _, paths, _ = study
    counts = arrays.count_tables(paths, SUBJECTS)
    tiles, subject = np.asarray(paths.tiles), np.asarray(paths.subject)
    for s in range(SUBJECTS):
        own = subject == s
        assert float(counts.continues[s].sum()) == tiles[own].sum()
        assert float(counts.stops[s].sum()) == np.sum(tiles[own] < MAX)
        assert float(counts.trusts[s].sum() + counts.distrusts[s].sum()) == own.sum()
        assert float(counts.trusts[s].sum()) == np.asarray(paths.trust)[own].sum()
    # every count lies on a reachable state, and nothing continues from 25 tiles
    reachable = np.tril(np.ones((MAX + 1, MAX + 1), bool))
    for table in (counts.continues, counts.stops, counts.trusts, counts.distrusts):
        assert np.all(np.asarray(table)[:, ~reachable] == 0)
    assert np.all(np.asarray(counts.continues)[:, MAX] == 0)
    assert np.all(np.asarray(counts.stops)[:, MAX] == 0)


def test_a_trial_of_25_tiles_counts_no_stop():
    greens = np.concatenate([[0], np.cumsum(np.arange(MAX) % 3 == 0)])
    paths = arrays.TrialPaths(
        jnp.asarray([0]), jnp.asarray([MAX]), jnp.asarray(greens[None]), jnp.asarray([1])
    )
    counts = arrays.count_tables(paths, 1)
    assert float(counts.stops.sum()) == 0.0
    assert float(counts.continues.sum()) == MAX
    assert float(counts.trusts[0, MAX, greens[-1]]) == 1.0
    params = {
        "stop_tiles": 6.0,
        "stop_sharpness": 1.0,
        "prior_green": 1.2,
        "prior_red": 1.8,
        "trust_sharpness": 8.0,
        "trust_threshold": 0.45,
        "lapse": 0.1,
    }
    tables = catalogue.decision_tables(
        "fixed_evidence", {k: jnp.asarray([v]) for k, v in params.items()}
    )
    expected = ref.trial_loglik("fixed_evidence", params, np.diff(greens), MAX, 1)
    np.testing.assert_allclose(arrays.trial_loglik(tables, paths)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(arrays.count_loglik(tables, counts)[0], expected, rtol=1e-12)


def test_gradients_with_respect_to_unconstrained_parameters_are_finite(study):
    model_name, z, _, paths, _ = study
    counts = arrays.count_tables(paths, SUBJECTS)

    def loglik(z):
        return arrays.count_loglik(
            catalogue.decision_tables(model_name, constrain(model_name, z)), counts
        ).sum()

    value, grad = jax.value_and_grad(loglik)(z)
    assert np.isfinite(value)
    for name, g in grad.items():
        assert g.shape == (SUBJECTS,) and np.all(np.isfinite(np.asarray(g))), name
    # the gradient is not trivially zero
    assert any(np.any(np.asarray(g) != 0) for g in grad.values())
