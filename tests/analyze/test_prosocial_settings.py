"""The settings of the prosocial-learning analysis refuse what cannot be fitted with an
ordinary ValueError (the command turns it into an error exit)."""

import pytest

from valueint.analyze.prosocial.settings import COMPARED_MODELS, ProsocialSettings


def test_presets():
    assert ProsocialSettings.full().models == COMPARED_MODELS
    quick = ProsocialSettings.quick(seed=3)
    assert (quick.chains, quick.subjects_per_group, quick.seed) == (2, 10, 3)
    assert quick.as_dict()["models"] == list(COMPARED_MODELS)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"models": ("rw", "nope")}, "'nope'"),
        ({"models": ("rw",)}, "at least two distinct models"),
        ({"chains": 0}, "chains must be a positive integer"),
        ({"target_accept_prob": 1.0}, "target_accept_prob must lie in (0, 1)"),
        ({"subjects_per_group": 1}, "subjects_per_group must be at least 2"),
    ],
)
def test_bad_settings_raise_value_error(changes, says):
    with pytest.raises(ValueError) as caught:
        ProsocialSettings(**changes)
    assert says in str(caught.value)
