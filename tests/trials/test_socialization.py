"""The socialization design, and recovery of the ISR models on it.

Statistical tests with fixed seeds; tolerances are stated at each test.  Fits are
hierarchical, by mean-field SVI (``method="svi"``): NUTS on the ISR likelihood takes
about a minute per fit on 2 cores.  The nine fits of the model recovery are shared by both
recovery tests (about 3 min on 2 cores with a cold compile cache, most of it compilation).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from valueint.trials.simulation import simulate_data
from valueint.trials.socialization import SocializationTask
from valueint.trials.specs import get_spec
from valueint.workflows.recovery import model_recovery

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("trials.test_socialization")

# 4 blocks of 32 trials (16 watched, then 16 unwatched): 128 trials per subject.  The
# caregiver approves of option 0, which pays 0.1; option 1 pays 0.9.
DESIGN = SocializationTask(
    n_blocks=4, n_trials=32, watched=0.5, reward_probs=(0.1, 0.9), caregiver_theta=(1.0, -1.0)
)
ISR_AND_RW = ("isr", "no_internalization", "rw")
N_SUBJECTS = 40
# Learning rates spread over (0, 1) as in the models' prior (logit-normal(0, 1.5)); beta
# and w from the package's default population (log-normal(log 4, 0.6), log-normal(0, 0.6)).
POPULATION = {"alpha": (0.0, 1.5)}
# Short SVI runs (300 Adam steps at 0.03 reach the loss of 1000 at 0.01 within 0.5%); 64
# guide draws, one lax.map batch of the pointwise log-likelihood, for PSIS-LOO.
FIT = {
    "method": "svi",
    "svi_steps": 300,
    "svi_learning_rate": 0.03,
    "draws": 64,
    "predictive_draws": 4,
}
SEED = 0


def test_design_has_its_watched_and_unwatched_shares():
    arrays = DESIGN.arrays(3, seed=0)
    present = np.asarray(arrays.present)
    assert present.shape == (3, 4, 32)
    assert DESIGN.n_watched == 16 and DESIGN.trials_per_subject == 128
    assert present[:, :, :16].all() and not present[:, :, 16:].any()  # watched, then alone
    assert present.mean() == pytest.approx(0.5)
    assert np.asarray(arrays.mask).all() and not np.asarray(arrays.context).any()
    # a caregiver there on 60% of the first third's trials: 20% watched in all
    sparse = SocializationTask(n_blocks=50, n_trials=30, watched=1 / 3, presence=0.6)
    present = np.asarray(sparse.arrays(40, seed=1).present)
    assert not present[:, :, 10:].any()
    assert present.mean() == pytest.approx(0.2, abs=0.01)  # 24,000 trials: sd 0.003
    with pytest.raises(ValueError, match="both a watched and an unwatched phase"):
        SocializationTask(n_trials=24, watched=1.0)
    with pytest.raises(ValueError, match="caregiver_theta"):
        SocializationTask(caregiver_theta=(1.0, 0.0, -1.0))


def test_options_and_praise_follow_the_caregiver():
    """rw gets reward probabilities only; the ISR models the caregiver too.  rw's data get
    the caregiver's praise afterwards, on watched trials only: option 0 is praised with
    probability sigmoid(2 - 1) = 0.73, option 1 with sigmoid(-2 - 1) = 0.05."""
    assert DESIGN.options("rw") == {"reward_probs": (0.1, 0.9)}
    assert DESIGN.options("isr")["caregiver_theta"] == (1.0, -1.0)
    spec = get_spec("rw")
    params = {"alpha": np.full(400, 0.3), "beta": np.full(400, 4.0)}
    simulated = simulate_data(
        spec, params, DESIGN.arrays(400), seed=2, options=DESIGN.options("rw")
    )
    praised = DESIGN.feedback("rw", simulated, seed=3)
    choice, praise = np.asarray(praised.choice), np.asarray(praised.praise)
    watched = np.asarray(praised.present) > 0
    assert not praise[~watched].any()
    # 38,400 trials; each rate is measured on thousands of them (sd < 0.01)
    assert praise[watched & (choice == 0)].mean() == pytest.approx(0.731, abs=0.03)
    assert praise[watched & (choice == 1)].mean() == pytest.approx(0.047, abs=0.02)
    np.testing.assert_array_equal(praised.choice, simulated.choice)
    isr = DESIGN.feedback("isr", simulated, seed=3)
    assert isr is simulated  # the ISR models drew their own praise


@pytest.fixture(scope="session")
def recovery():
    """Model recovery among isr, no_internalization and rw on DESIGN (9 fits), which also
    scores each generating model's parameters from its fit to its own data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SVI: one chain, flagged by the diagnostics
        return model_recovery(
            ISR_AND_RW,
            N_SUBJECTS,
            seeds=(SEED,),
            task={"task": DESIGN},
            populations={model: POPULATION for model in ISR_AND_RW},
            family="trials",  # "isr" names a paradigm model too
            **FIT,
        )


@pytest.mark.slow
def test_parameter_recovery_isr(recovery):
    """40 subjects x 128 trials: Pearson r of truth vs posterior mean at least 0.8 for w
    and for alpha.  At this seed r = 0.87 for w and 0.90 for alpha (0.94 for beta); over
    seeds 0-3 of this design, population and fit, r ranged 0.87-0.93 for w and 0.86-0.90
    for alpha."""
    summary = recovery.parameters["isr"].summary
    assert summary.loc["w", "pearson_r"] >= 0.8, summary
    assert summary.loc["alpha", "pearson_r"] >= 0.8, summary
    assert len(recovery.parameters["isr"].estimates) == 3 * N_SUBJECTS


@pytest.mark.slow
def test_model_recovery_isr_no_internalization_rw(recovery):
    """Data from each of isr, no_internalization and rw on DESIGN are best fitted (PSIS-LOO,
    leave one trial out) by their own model.  The closest call is no_internalization's data,
    which isr (no_internalization plus w) fits almost as well: it trailed by 7.5 elpd at
    this seed (7.5 to 25 over seeds 0-3, every seed correct); the bar is that it trails at
    all.  isr's own data beat no_internalization by about 400 elpd, rw's data the ISR
    models by about 300."""
    confusion = recovery.confusion
    assert list(confusion.index) == list(ISR_AND_RW) == list(confusion.columns)
    assert (np.diag(confusion.to_numpy()) == 1).all(), confusion
    elpd = recovery.runs.set_index(["generating", "fitted"])["elpd"]
    for generating in ISR_AND_RW:
        others = [elpd[(generating, fitted)] for fitted in ISR_AND_RW if fitted != generating]
        assert elpd[(generating, generating)] > max(others), recovery.runs
