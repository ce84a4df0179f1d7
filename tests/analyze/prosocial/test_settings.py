"""The settings of the prosocial-learning analysis refuse what cannot be fitted with an
ordinary ValueError (the command turns it into an error exit)."""

import pytest

from valueint.analyze.prosocial.settings import COMPARED_MODELS, ProsocialSettings


def test_presets():
    full = ProsocialSettings.full()
    assert full.models == COMPARED_MODELS and full.sampler.parameterization == "auto"
    quick = ProsocialSettings.quick(seed=3)
    assert (quick.sampler.chains, quick.subjects_per_group, quick.seed) == (2, 10, 3)
    assert quick.as_dict()["models"] == list(COMPARED_MODELS)
    assert ProsocialSettings.quick({"draws": 40}).sampler.draws == 40


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"models": ("rw", "nope")}, "'nope'"),
        ({"models": ("rw",)}, "at least two distinct models"),
        ({"subjects_per_group": 1}, "subjects_per_group must be at least 2"),
    ],
)
def test_bad_settings_raise_value_error(changes, says):
    with pytest.raises(ValueError) as caught:
        ProsocialSettings(**changes)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"chains": 0}, "chains must be an integer of at least 1"),
        ({"target_accept_prob": 1.0}, "target_accept_prob must lie in (0, 1)"),
        ({"chain": 2}, "unknown sampler setting(s) chain"),
    ],
)
def test_bad_sampler_settings_are_named(changes, says):
    with pytest.raises((ValueError, TypeError)) as caught:
        ProsocialSettings.full(changes)
    assert says in str(caught.value)


def test_the_start_value_is_the_data_sets_declared_one():
    """One default per data set: the analysis starts Q where ``valueint fit cutler2021``
    does, the value the data set declares."""
    from valueint.datasets import NAMED_DATASETS

    declared = NAMED_DATASETS.get("cutler2021").model_options["q_init"]
    assert ProsocialSettings().q_init == ProsocialSettings.full().q_init == declared == 0.5


def test_the_full_analysis_samples_until_converged_within_a_stated_budget():
    sampler = ProsocialSettings.full().sampler
    assert sampler.until_converged and sampler.budget.seconds == 600.0
    assert not ProsocialSettings.quick().sampler.until_converged  # a pipeline check
