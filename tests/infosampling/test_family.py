"""The information-sampling family behind the protocol: participants, strata over age,
simulation on the real design, and a fit that keeps its own log-likelihood."""

import numpy as np
import pytest

from valueint.inference.family import FAMILIES
from valueint.infosampling.family import spread_subjects
from valueint.infosampling.simulation import synthetic_design

SAMPLING = FAMILIES.get("infosampling")


def test_participants_are_selected_and_spread_over_the_ages():
    design = synthetic_design(12, seed=1)
    assert SAMPLING.accepts(design) and not SAMPLING.accepts("x")
    ids = SAMPLING.subject_ids(design)
    assert len(ids) == 12
    assert SAMPLING.select_subjects(design, ids[:3]).n_subjects == 3
    spread = spread_subjects(design, 4)
    ages = spread.subjects.age.to_numpy()
    assert spread.n_subjects == 4 and ages.min() == design.subjects.age.min()
    assert SAMPLING.task_design("uncertainty", size=4, data=design).n_subjects == 4


def test_strata_are_age_bands():
    design = synthetic_design(40)
    strata = SAMPLING.strata(design, 2)
    assert len(np.unique(strata)) == 5
    assert np.all(np.diff(strata[np.argsort(design.subjects.age.to_numpy())]) >= 0)


def test_a_study_is_simulated_on_the_design_and_drawn_from_the_prior():
    design = synthetic_design(6, seed=2)
    truth, study = SAMPLING.prior_draw("fixed_evidence", design, seed=4)
    assert set(truth) == {"population", "subjects"}
    assert len(study.trials) == 6 * 60 and study.trials.tiles.between(0, 25).all()
    fewer = study.select_subjects(SAMPLING.subject_ids(study)[:3])
    assert SAMPLING.data_hash(study) != SAMPLING.data_hash(fewer)


def test_a_fit_keeps_its_log_likelihood():
    with pytest.raises(ValueError, match="keeps its log-likelihood"):
        SAMPLING.log_likelihood(None)
