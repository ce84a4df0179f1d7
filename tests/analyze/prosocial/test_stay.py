"""Staying after a loss or a win: the observed shares are counted from the design, the
prediction is the fit's own one-step probability, and a model that knew every choice
would cover every point."""

import numpy as np
import pytest

from valueint.analyze.prosocial.stay import previous_trials, stay_coverage, stay_table

pytestmark = pytest.mark.xdist_group("small_fits")


def direct_counts(fit):
    """(after, group, context, trial) -> (n, n_stay), by loops over the design."""
    design = fit.constant_data
    choice, outcome = design["choice"].values, design["outcome"].values
    mask = design["mask"].values
    groups = np.asarray(design["group_level"].values)[design["group_code"].values]
    counts = {}
    obs = fit.log_likelihood["choice"]
    context_of = {
        (s, b, t): c
        for s, b, t, c in zip(
            obs["subject"].values,
            obs["block"].values,
            obs["trial"].values,
            obs["context"].values,
            strict=True,
        )
    }
    subjects = list(design["subject"].values)
    for s, subject in enumerate(subjects):
        for b in range(choice.shape[1]):
            for t in range(1, choice.shape[2]):
                if not (mask[s, b, t] and mask[s, b, t - 1]):
                    continue
                after = "win" if outcome[s, b, t - 1] > 0 else "loss"
                key = (after, groups[s], context_of[(subject, b, t)], t + 1)
                n, k = counts.get(key, (0, 0))
                counts[key] = (n + 1, k + int(choice[s, b, t] == choice[s, b, t - 1]))
    return counts


def test_observed_stays_are_the_designs_counts(small_fit):
    table = stay_table({"rw": small_fit}, ("young", "older"))
    expected = direct_counts(small_fit)
    got = {(r.after, r.group, r.context, r.trial): (r.n, r.n_stay) for r in table.itertuples()}
    assert got == expected
    # a missed trial starts nothing: the trials after the masked run are left out
    trials = previous_trials(small_fit)
    assert len(trials) == sum(n for n, _ in expected.values())


def test_predictions_are_probabilities_with_bands_around_their_mean(small_fit):
    table = stay_table({"rw": small_fit}, ("young", "older"), seed=1)
    assert table["predicted_mean"].between(0, 1).all()
    assert (table["predicted_q05"] <= table["predicted_q95"]).all()
    # the band of a share of n Bernoulli draws holds its mean, up to one trial's step
    slack = 1.0 / table["n"]
    assert (table["predicted_q05"] <= table["predicted_mean"] + slack).all()
    assert (table["predicted_mean"] - slack <= table["predicted_q95"]).all()


def test_a_model_that_knew_every_choice_covers_every_point(small_fit):
    knowing = small_fit.copy()
    loglik = knowing.log_likelihood["choice"]
    knowing["log_likelihood"]["choice"] = loglik * 0.0  # p(observed choice) = 1
    table = stay_table({"oracle": knowing}, ("young", "older"))
    np.testing.assert_allclose(table["predicted_mean"], table["observed"])
    assert stay_coverage(table)["meets_criterion"].all()
