"""The engagement check: a participant who trusts at random is set aside, one who follows
the tiles is kept, and the table says why."""

import numpy as np
import pytest

from valueint.infosampling import engagement
from valueint.infosampling import simulation as recovery
from valueint.infosampling.catalogue import get_model

MODEL = "fixed_evidence"


@pytest.fixture(scope="session")
def study():
    design = recovery.synthetic_design(4, seed=3)
    model = get_model(MODEL)
    # sharp trusters with no lapses, ~8 tiles a trial: their trust follows the majority
    params = {p.name: np.full(4, 1.0) for p in model.parameters}
    params |= {
        "stop_tiles": np.full(4, 8.0),
        "stop_sharpness": np.full(4, 5.0),
        "trust_threshold": np.full(4, 0.5),
        "trust_sharpness": np.full(4, 40.0),
        "lapse": np.full(4, 1e-6),
    }
    data = recovery.simulate_study(MODEL, params, design, seed=4)
    # participant 002 answers at random
    rng = np.random.default_rng(5)
    rows = data.trials.subject == "002"
    data.trials.loc[rows, "trust"] = rng.integers(0, 2, rows.sum())
    return data


def test_a_random_truster_is_set_aside_and_the_others_kept(study):
    table = engagement.engagement_table(study)
    assert table.loc["002", "agreement"] < 0.67
    assert (table.drop(index="002").agreement > 0.9).all(), table
    assert engagement.disengaged(table) == ["002"]
    kept, table = engagement.exclude_disengaged(study)
    assert list(table.index[table.excluded]) == ["002"]
    assert "002" not in set(kept.trials.subject) and kept.n_subjects == 3
    everyone, table = engagement.exclude_disengaged(study, min_agreement=None)
    assert everyone.n_subjects == 4 and not table.excluded.any()


def test_agreement_counts_only_trials_with_a_majority(study):
    table = engagement.engagement_table(study)
    trials = study.trials[study.trials.subject == "001"]
    red = trials.tiles - trials.green
    assert table.loc["001", "decisive_trials"] == ((trials.tiles > 0) & (trials.green != red)).sum()
    # a threshold of 0 keeps everyone
    assert engagement.disengaged(table, min_agreement=0.0) == []
