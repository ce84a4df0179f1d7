"""The sampling models' decision tables: parity with the NumPy reference
(``valueint.testing.infosampling``), batching, the registry, and behaviour on simulated
trials.

Behavioural checks simulate 2,000 trials per condition with fixed seeds (the JAX
simulator, compiled once per model at one shape); each threshold states its margin.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from valueint.inference.parameters import constrain_value
from valueint.infosampling import arrays, belief, catalogue
from valueint.testing import infosampling as ref

N = belief.MAX_TILES + 1
REACHABLE = np.tril(np.ones((N, N), bool))
MODEL_NAMES = ("fixed_evidence", "sample_cost", "uncertainty", "confidence", "sd_and_distance")
TABLE_NAMES = ("log_stop", "log_continue", "log_trust", "log_distrust")
TRIALS = 2000  # per condition
SIMULATOR_SEED = 0
CONDITIONS = 4  # every behavioural simulation runs 4 conditions, so each model compiles once

BASE = {
    "prior_green": 1.0,
    "prior_red": 1.0,
    "trust_threshold": 0.5,
    "trust_sharpness": 10.0,
    "lapse": 0.02,
}
STOP = {
    "fixed_evidence": {"stop_tiles": 8.0, "stop_sharpness": 5.0},
    "sample_cost": {"cost": 0.02, "stop_sharpness": 3.0},
    "uncertainty": {"sd_threshold": 0.12, "stop_sharpness": 5.0},
    "confidence": {"confidence": 3.0, "stop_sharpness": 5.0},
    "sd_and_distance": {"sd_threshold": 0.12, "stop_sharpness": 5.0, "distance_weight": 2.0},
}


def draw_params(model_name: str, rng) -> dict:
    """Natural-scale parameters drawn from the model's default priors."""
    return {
        p.name: float(constrain_value(p, rng.normal(p.prior_loc, p.prior_scale)))
        for p in catalogue.get_model(model_name).parameters
    }


def reference_tables(model_name: str, params: dict) -> dict:
    out = {name: np.full((N, N), np.nan) for name in TABLE_NAMES}
    for n in range(N):
        for g in range(n + 1):
            out["log_stop"][n, g] = ref.log_stop(model_name, params, n, g)
            out["log_continue"][n, g] = ref.log_continue(model_name, params, n, g)
            out["log_trust"][n, g] = np.log(ref.trust_probability(params, n, g))
            out["log_distrust"][n, g] = np.log(ref.distrust_probability(params, n, g))
    return out


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_decision_tables_match_the_reference_on_every_reachable_state(model_name):
    rng = np.random.default_rng(list(MODEL_NAMES).index(model_name) + 11)
    # 3 draws, and the behavioural tests' sets (the draws of sample_cost all have costs > 0.05)
    chosen = [{**BASE, **STOP[model_name]}, {**BASE, **STOP[model_name], "stop_sharpness": 0.7}]
    if model_name == "sample_cost":
        chosen.append(
            {**BASE, **STOP[model_name], "cost": 0.002, "prior_green": 0.7, "prior_red": 1.3}
        )
    for params in [draw_params(model_name, rng) for _ in range(3)] + chosen:
        got = catalogue.decision_tables(model_name, params)
        expected = reference_tables(model_name, params)
        for name in TABLE_NAMES:
            table = np.asarray(getattr(got, name))
            assert table.shape == (N, N)
            np.testing.assert_allclose(
                table[REACHABLE],
                expected[name][REACHABLE],
                rtol=1e-9,
                atol=1e-300,
                err_msg=f"{model_name} {name} {params}",
            )
        # the decisions of each state are proper distributions
        stop, cont = np.exp(np.asarray(got.log_stop)), np.exp(np.asarray(got.log_continue))
        np.testing.assert_allclose((stop + cont)[:-1], 1.0, rtol=1e-12)
        assert np.all(np.asarray(got.log_stop)[-1] == 0.0)
        trust, distrust = np.exp(np.asarray(got.log_trust)), np.exp(np.asarray(got.log_distrust))
        np.testing.assert_allclose(trust + distrust, 1.0, rtol=1e-12)


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_batched_parameters_equal_one_call_per_element(model_name):
    rng = np.random.default_rng(5)
    sets = [draw_params(model_name, rng) for _ in range(3)]
    batched = catalogue.decision_tables(
        model_name, {k: jnp.asarray([s[k] for s in sets]) for k in sets[0]}
    )
    for i, params in enumerate(sets):
        single = catalogue.decision_tables(model_name, params)
        for name in TABLE_NAMES:
            np.testing.assert_allclose(
                getattr(batched, name)[i], getattr(single, name), rtol=1e-12, err_msg=name
            )


def test_registry_knows_the_three_models_and_names_them_on_a_miss():
    assert set(MODEL_NAMES) <= set(catalogue.registered())
    assert catalogue.get_model("sample_cost") is catalogue.SAMPLE_COST
    assert catalogue.get_model(catalogue.UNCERTAINTY) is catalogue.UNCERTAINTY
    with pytest.raises(KeyError) as error:
        catalogue.get_model("nope")
    for name in MODEL_NAMES:
        assert name in str(error.value)
    for name in MODEL_NAMES:
        model = catalogue.get_model(name)
        assert model.parameter_names[:2] == ("prior_green", "prior_red")
        assert model.parameter_names[-3:] == ("trust_threshold", "trust_sharpness", "lapse")
        # the stopping rule's own parameter and the prior vary between participants
        assert model.varying == ("prior_green", "prior_red", model.stopping_parameter)


# ----------------------------------------------------------------------------- behaviour


@functools.cache
def compiled_simulator(model_name: str):
    subject = jnp.repeat(jnp.arange(CONDITIONS), TRIALS)

    @jax.jit
    def simulate(params, reciprocation, key):
        paths = arrays.simulate_paths(
            model_name, params, subject, jnp.repeat(reciprocation, TRIALS), key
        )
        return paths.tiles.reshape(CONDITIONS, TRIALS), paths.trust.reshape(CONDITIONS, TRIALS)

    return simulate


def simulate(model_name: str, conditions, seed: int = 0):
    """(tiles [4, TRIALS], trust [4, TRIALS]) for 4 conditions, each (parameter changes,
    reciprocation)."""
    assert len(conditions) == CONDITIONS
    sets = [{**BASE, **STOP[model_name], **change} for change, _ in conditions]
    params = {k: jnp.asarray([s[k] for s in sets], jnp.float64) for k in sets[0]}
    reciprocation = jnp.asarray([r for _, r in conditions], jnp.float64)
    tiles, trust = compiled_simulator(model_name)(params, reciprocation, jax.random.PRNGKey(seed))
    return np.asarray(tiles), np.asarray(trust)


def test_trust_rises_with_reciprocation():
    # a sharp truster after ~8 tiles: the trust rates are ~0.1 and ~0.9, far past 0.5 apart
    sharp = {"trust_sharpness": 20.0}
    _, trust = simulate("fixed_evidence", [(sharp, 0.2), (sharp, 0.8), ({}, 0.2), ({}, 0.8)])
    rate = trust.mean(1)
    assert rate[1] - rate[0] > 0.5
    assert rate[3] > rate[2]


def test_optimal_stopping_samples_most_near_the_trust_threshold():
    # the value of a tile is largest where the belief is near the threshold: with the
    # threshold at 0.7 a peer reciprocating 0.7 is sampled far longer than one at 0.3
    # (~10 against ~4 tiles), and the other way round with the threshold at 0.3
    cheap = {"cost": 0.005}
    high, low = {**cheap, "trust_threshold": 0.7}, {**cheap, "trust_threshold": 0.3}
    tiles, _ = simulate("sample_cost", [(high, 0.3), (high, 0.7), (low, 0.3), (low, 0.7)])
    mean = tiles.mean(1)
    assert mean[1] - mean[0] >= 2.0 and mean[2] - mean[3] >= 2.0, mean


def test_a_cheaper_tile_is_opened_more():
    # cost 0.02 opens ~2.4 tiles near reciprocation 1/2, cost 0.002 ~11: far past 3 more
    cheap = {"cost": 0.002}
    tiles, _ = simulate("sample_cost", [({}, 0.4), (cheap, 0.4), ({}, 0.6), (cheap, 0.6)])
    mean = tiles.mean(1)
    assert mean[1] - mean[0] >= 3.0 and mean[3] - mean[2] >= 3.0


def test_fixed_evidence_stops_near_its_tile_count():
    # P(stop) is 1/2 at 8 tiles and e^-5 a tile earlier: the mean is ~8.5 (se ~0.02)
    tiles, _ = simulate("fixed_evidence", [({}, 0.1), ({}, 0.4), ({}, 0.6), ({}, 0.9)])
    assert np.all(np.abs(tiles.mean(1) - 8.0) <= 1.5)


def test_uncertainty_stops_earlier_after_evidence_of_one_colour():
    # all-red or all-green tiles shrink the sd faster: ~4.5 tiles against ~6.4 (se ~0.05)
    tiles, _ = simulate("uncertainty", [({}, 0.0), ({}, 1.0), ({}, 0.4), ({}, 0.6)])
    mean = tiles.mean(1)
    assert max(mean[0], mean[1]) + 1.0 < min(mean[2], mean[3])


def test_confidence_samples_longest_where_the_peer_is_near_the_trust_threshold():
    # with the threshold at 0.7, a peer at 0.7 keeps the belief near it (~18 tiles
    # expected, ref.expected_summary) while one at 0.2 is told apart in ~4.6; at the
    # threshold 1/2, ~18 against ~9.4 (margins of 5 tiles; each mean's se ~0.15)
    near = {"trust_threshold": 0.7}
    tiles, _ = simulate("confidence", [(near, 0.2), (near, 0.7), ({}, 0.2), ({}, 0.5)])
    mean = tiles.mean(1)
    assert mean[1] - mean[0] >= 5.0 and mean[3] - mean[2] >= 5.0, mean


def test_a_bias_toward_trust_raises_the_trust_rate():
    # ~0.36 at threshold 1/2, ~0.6 at 0.3 and ~0.15 at 0.7 (se ~0.01): a margin of 0.15 is
    # >10 se
    tiles, trust = simulate(
        "uncertainty",
        [({}, 0.4), ({"trust_threshold": 0.3}, 0.4), ({"trust_threshold": 0.7}, 0.4), ({}, 0.6)],
    )
    rate = trust.mean(1)
    assert rate[1] - rate[0] > 0.15 and rate[0] - rate[2] > 0.15
    np.testing.assert_allclose(tiles.mean(1)[:3], tiles.mean(1)[0], atol=0.3)  # stops unchanged


def test_a_lapse_of_one_half_trusts_a_quarter_of_cheats():
    # with lapse 1/2 a random choice trusts half the time: 0.25 + 0.5 * sigmoid(~-10) (se 0.01)
    lapse = {"lapse": 0.5, "trust_sharpness": 30.0}
    none = {"lapse": 1e-9, "trust_sharpness": 30.0}
    _, trust = simulate("uncertainty", [(lapse, 0.0), (lapse, 1.0), (none, 0.0), (none, 1.0)])
    rate = trust.mean(1)
    assert abs(rate[0] - 0.25) < 0.05 and abs(rate[1] - 0.75) < 0.05
    assert rate[2] < 0.02 and rate[3] > 0.98  # sigmoid(~-10) without lapses


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_the_jax_simulator_matches_the_reference_simulator(model_name):
    """Mean tiles and trust rate within 3 standard errors of the reference simulator's, and
    each within 4 of the exact expectation (``ref.expected_summary``)."""
    reciprocation = (0.3, 0.6, 0.9, 0.5)
    tiles, trust = simulate(model_name, [({}, r) for r in reciprocation], seed=SIMULATOR_SEED)
    rng = np.random.default_rng(1)
    params = {**BASE, **STOP[model_name]}
    for c in (0, 1, 2):  # three conditions keep the NumPy loop short
        trials = [
            ref.simulate_trial(model_name, params, reciprocation[c], rng) for _ in range(TRIALS)
        ]
        assert all(len(greens) == n for n, greens, _ in trials)
        ref_tiles = np.array([t[0] for t in trials], float)
        ref_trust = np.array([t[2] for t in trials], float)
        exact = ref.expected_summary(model_name, params, reciprocation[c])
        pairs = (("tiles", tiles[c], ref_tiles, exact[0]), ("trust", trust[c], ref_trust, exact[1]))
        for name, a, b, mean in pairs:
            a = a.astype(float)
            where = (model_name, reciprocation[c], name, a.mean(), b.mean(), mean)
            se_a, se_b = a.std(ddof=1) / np.sqrt(a.size), b.std(ddof=1) / np.sqrt(b.size)
            assert abs(a.mean() - b.mean()) < 3 * np.hypot(se_a, se_b) + 1e-12, where
            assert abs(a.mean() - mean) < 4 * se_a + 1e-12, where
            assert abs(b.mean() - mean) < 4 * se_b + 1e-12, where
