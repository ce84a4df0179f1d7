"""The one record of a sampler's settings: validated when made, changed by name, read
back from a record."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from valueint.inference.settings import (
    SamplerSettings,
    resolve_settings,
    split_settings,
)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"method": "hmc"}, "method must be one of nuts, svi; got 'hmc'"),
        ({"chains": 0}, "chains must be an integer of at least 1; got 0"),
        ({"warmup": -1}, "warmup must be an integer of at least 0"),
        ({"draws": 2.5}, "draws must be an integer of at least 1; got 2.5"),
        ({"target_accept_prob": 1.0}, "target_accept_prob must lie in (0, 1)"),
        ({"max_tree_depth": 16}, "max_tree_depth must be at most 15"),
        ({"parameterization": "sideways"}, "parameterization must be one of whitened, auto"),
        ({"pilot_warmup": 3}, "pilot_warmup must be an integer of at least 4"),
        ({"precision": "float16"}, "precision must be one of auto, float32, float64"),
        ({"svi_learning_rate": 0.0}, "svi_learning_rate must be positive"),
        ({"chains": True}, "chains must be an integer"),
    ],
)
def test_a_bad_setting_is_named(changes, says):
    with pytest.raises(ValueError) as caught:
        SamplerSettings(**changes)
    assert says in str(caught.value)


def test_changes_are_by_name_and_an_unknown_name_is_refused():
    settings = SamplerSettings().replace(chains=2, draws=50)
    assert (settings.chains, settings.draws, settings.warmup) == (2, 50, 1000)
    with pytest.raises(TypeError, match="unknown sampler setting\\(s\\) chain; the settings are"):
        settings.replace(chain=2)
    assert SamplerSettings(method="svi", chains=4).chains_run == 1


@given(
    st.integers(1, 8),
    st.integers(0, 3000),
    st.integers(1, 3000),
    st.floats(0.5, 0.99),
    st.sampled_from(("whitened", "auto", "centered", "noncentered")),
)
def test_a_record_reads_back_as_the_same_settings(chains, warmup, draws, target, how):
    settings = SamplerSettings(
        chains=chains,
        warmup=warmup,
        draws=draws,
        target_accept_prob=target,
        parameterization=how,
    )
    assert SamplerSettings.from_dict(settings.as_dict()) == settings
    # a fit's whole record may be given: keys that are no settings are passed over
    assert SamplerSettings.from_dict({**settings.as_dict(), "seed": 3}) == settings


def test_keyword_arguments_split_into_settings_and_the_rest():
    sampler, rest = split_settings({"chains": 2, "formulas": {"alpha": "1"}, "seed": 1})
    assert sampler == {"chains": 2} and rest == {"formulas": {"alpha": "1"}, "seed": 1}
    defaults = SamplerSettings(target_accept_prob=0.95)
    assert resolve_settings(None, defaults) is defaults
    assert resolve_settings({"draws": 10}, defaults).target_accept_prob == 0.95
    assert resolve_settings(defaults, SamplerSettings(), chains=1).chains == 1
