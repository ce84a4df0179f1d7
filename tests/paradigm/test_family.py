"""The paradigm family behind the protocol: counts simulated and drawn from the prior,
one Bernoulli term per child, and no subjects to hold out."""

import numpy as np
import pytest

from tests.paradigm.cases import ZHAO_COUNTS, ZHAO_PARADIGM
from valueint.inference.family import FAMILIES
from valueint.paradigm.conditions import ParadigmData

PARADIGM = FAMILIES.get("paradigm")


def test_counts_are_simulated_per_condition_from_the_seed():
    design = PARADIGM.task_design("isr", size=50, paradigm=ZHAO_PARADIGM)
    params = {"bias": -0.4, "value_weight": 2.0, "correlation": 0.3}
    data = PARADIGM.simulate("isr", design, params, seed=1)
    assert isinstance(data, ParadigmData) and list(data.counts.n) == [50, 50, 50]
    assert all(0 <= k <= 50 for k in data.counts.k)
    again = PARADIGM.simulate("isr", design, params, seed=1)
    np.testing.assert_array_equal(data.counts.k, again.counts.k)


def test_the_prior_draw_and_the_loglik_of_every_child():
    design = PARADIGM.task_design("null_rate", size=10, paradigm=ZHAO_PARADIGM)
    truth, data = PARADIGM.prior_draw("null_rate", design, seed=3)
    assert set(truth) == {"bias", "p"} and data.counts.n.sum() == 30
    terms = PARADIGM.loglik("null_rate", data, {"bias": np.array([0.0, 1.0])})
    assert terms.shape == (2, 30)
    np.testing.assert_allclose(terms[0], np.log(0.5))


def test_a_paradigm_has_no_subjects_to_hold_out():
    data = ParadigmData(ZHAO_PARADIGM, ZHAO_COUNTS)
    assert PARADIGM.accepts(data) and PARADIGM.accepts((ZHAO_PARADIGM, ZHAO_COUNTS))
    assert PARADIGM.varying("isr") == ()
    with pytest.raises(ValueError, match="no subjects to hold out"):
        PARADIGM.subject_ids(data)
    with pytest.raises(ValueError, match="read with its paradigm"):
        PARADIGM.load("counts.csv")
