"""The trial family behind the protocol: designs, simulation and the prior draw, the
quantities SBC ranks, subjects and strata for K-fold."""

import numpy as np
import pandas as pd

from valueint.inference.family import FAMILIES
from valueint.trials.fit_data import Covariate, FitData
from valueint.trials.simulation import simulated_ids

TRIALS = FAMILIES.get("trials")


def test_a_task_design_is_the_task_the_model_is_identified_on():
    blocks = TRIALS.task_design("rw", size=3, trials=32, seed=1)
    assert np.shape(blocks.data.arrays.choice) == (3, 2, 16) and blocks.options("rw") is None
    social = TRIALS.task_design("isr", size=2, trials=32)
    assert "caregiver_theta" in social.options("isr")  # the socialization task's
    custom = TRIALS.task_design("rw", size=2, socialization={"n_blocks": 1, "n_trials": 8})
    assert np.shape(custom.data.arrays.choice) == (2, 1, 8)
    assert custom.data.subject_ids == simulated_ids(2)


def test_simulation_follows_the_seed_and_adds_the_tasks_feedback():
    design = TRIALS.task_design("rw", size=4, socialization={"n_blocks": 2, "n_trials": 8})
    params = {"alpha": np.full(4, 0.3), "beta": np.full(4, 4.0)}
    first = TRIALS.simulate("rw", design, params, seed=5)
    again = TRIALS.simulate("rw", design, params, seed=5)
    np.testing.assert_array_equal(first.arrays.choice, again.arrays.choice)
    watched = np.asarray(first.arrays.present) > 0
    assert np.asarray(first.arrays.praise)[watched].any()  # the caregiver praised
    assert not np.asarray(first.arrays.praise)[~watched].any()


def test_the_prior_draw_gives_the_truth_and_its_data():
    design = TRIALS.task_design("rw", size=3, trials=16)
    truth, data = TRIALS.prior_draw("rw", design, seed=2)
    assert {"mu_alpha", "sigma_beta", "alpha", "subject_theta"} <= set(truth)
    assert truth["alpha"].shape == (3,) and isinstance(data, FitData)
    _, again = TRIALS.prior_draw("rw", design, seed=2)
    np.testing.assert_array_equal(data.arrays.choice, again.arrays.choice)


def test_subjects_strata_and_selection():
    design = TRIALS.task_design("rw", size=4, trials=16)
    data = FitData(
        design.data.arrays,
        design.data.subject_ids,
        (Covariate("group", np.array([0, 1, 1, 0]), ("a", "b")),),
    )
    assert TRIALS.subject_ids(data) == simulated_ids(4)
    np.testing.assert_array_equal(TRIALS.strata(data, 2), [0, 1, 1, 0])
    picked = TRIALS.select_subjects(data, ["sim002", "sim000"])
    assert picked.subject_ids == ("sim002", "sim000")
    table = pd.DataFrame({"subject": ["x", "x", "y"], "choice": [0, 1, 1]})
    table.attrs["report"] = "kept"
    rows = TRIALS.select_subjects(table, ["y"])
    assert list(rows["subject"]) == ["y"] and rows.attrs["report"] == "kept"
    assert TRIALS.accepts(table) and TRIALS.accepts(data) and not TRIALS.accepts("x")
