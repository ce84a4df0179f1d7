"""Parameter transforms: each maps the real line onto its bounds and back, and a
parameter whose bounds do not fit its transform is refused by name."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference.parameters import (
    Parameter,
    check_parameter,
    constrain,
    constrain_value,
    unconstrain,
    unconstrain_value,
)

RATE = Parameter("alpha", 0.0, 1.0, "logit")
SCALE = Parameter("beta", 0.5, math.inf, "log")
SHIFT = Parameter("bias", -math.inf, math.inf, "identity")


@settings(deadline=None)  # the first examples compile the transforms
@given(st.floats(-20, 20), st.sampled_from((RATE, SCALE, SHIFT)))
def test_constrain_lands_in_the_bounds_and_unconstrain_inverts_it(z, parameter):
    x = float(constrain_value(parameter, z))
    assert parameter.lower <= x <= parameter.upper
    if parameter.lower < x < parameter.upper:  # not rounded onto a bound
        assert float(unconstrain_value(parameter, x)) == pytest.approx(z, rel=1e-6, abs=1e-6)


def test_values_on_or_past_the_bounds_map_to_infinities_or_nan():
    assert float(unconstrain_value(RATE, 0.0)) == -math.inf
    assert float(unconstrain_value(RATE, 1.0)) == math.inf
    assert math.isnan(float(unconstrain_value(SCALE, 0.0)))


class Model:
    name = "toy"
    parameters = (RATE, SCALE)
    parameter_names = ("alpha", "beta")


def test_a_models_parameters_are_named_exactly():
    natural = constrain(Model, {"alpha": np.zeros(3), "beta": np.zeros(3)})
    np.testing.assert_allclose(natural["alpha"], 0.5)
    np.testing.assert_allclose(natural["beta"], 1.5)
    np.testing.assert_allclose(unconstrain(Model, natural)["beta"], 0.0, atol=1e-12)
    with pytest.raises(KeyError, match="missing beta; unknown gamma"):
        constrain(Model, {"alpha": 0.0, "gamma": 1.0})


@pytest.mark.parametrize(
    ("parameter", "says"),
    [
        (Parameter("a", 0.0, math.inf, "logit"), "needs finite bounds"),
        (Parameter("a", 0.0, 1.0, "log"), "upper = inf"),
        (Parameter("a", 0.0, 1.0, "identity"), "must be unbounded"),
        (Parameter("a", 0.0, 1.0, "probit"), "expected one of logit, log, identity"),
    ],
)
def test_bounds_that_do_not_fit_the_transform_are_refused(parameter, says):
    with pytest.raises(ValueError, match=says):
        check_parameter(parameter)
