"""Covariate formulas -> design matrices (trials.covariates) and the subject table of FitData.

Shapes, names and coding are read off small tables whose right answer is known by hand;
standardization, spline and polynomial bases for new values and the JSON round trip are
compared with the fitting matrices; a property test checks that the matrices do not
depend on the units of a numeric covariate.
"""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valueint.inference.covariates import (
    CovariateFormulas,
    DesignMatrices,
    build_design,
    coefficient_label,
    formula_variables,
)
from valueint.trials.contract import TrialDataError
from valueint.trials.fit_data import FitData, NumericCovariate, as_fit_data
from valueint.trials.specs import get_spec

PARAMETERS = ("alpha", "beta", "gamma")
AGES = np.array([19.0, 23, 27, 34, 41, 48, 55, 63, 70, 78])


def subjects(ages=AGES) -> pd.DataFrame:
    """Ten subjects: age in years, group young/older (reference young), site as text."""
    n = len(ages)
    return pd.DataFrame(
        {
            "age": np.asarray(ages, dtype=float),
            "group": pd.Categorical(
                ["young"] * (n // 2) + ["older"] * (n - n // 2), categories=["young", "older"]
            ),
            "site": ["B", "A"] * (n // 2) + ["B"] * (n % 2),
        },
        index=pd.Index([f"s{i}" for i in range(n)], name="subject"),
    )


FORMULAS = CovariateFormulas(
    ["alpha ~ 1 + age + I(age**2)", "beta ~ 1 + group + bs(age, df=3)"], default="1"
)


def trials(n_subjects=4, n_trials=3) -> pd.DataFrame:
    """A valid trial frame with group, age and a text column site, constant per subject."""
    rows = []
    for s in range(n_subjects):
        for t in range(1, n_trials + 1):
            rows.append(
                {
                    "subject": f"p{s + 1}",
                    "block": 1,
                    "trial": t,
                    "choice": float((s + t) % 2),
                    "outcome": float(t % 2),
                    "group": "young" if s % 2 == 0 else "older",
                    "age": 20.0 + 7 * s,
                    "site": "A" if s < 2 else "B",
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- formulas


def test_formulas_from_strings_and_from_a_mapping_are_the_same():
    from_dict = CovariateFormulas(
        {"alpha": "1 + age + I(age**2)", "beta": " 1 + group + bs(age, df=3) "}, default="1"
    )
    assert from_dict == FORMULAS
    assert FORMULAS.parameters == ("alpha", "beta")
    assert FORMULAS.rhs("gamma") == "1"
    assert CovariateFormulas("alpha ~ 1 + age").rhs("alpha") == "1 + age"
    assert CovariateFormulas.from_dict(FORMULAS.to_dict()) == FORMULAS


def test_formula_variables_see_inside_transforms():
    rhs = "1 + bs(age, df=3) + poly(weight, degree=2) + np.log(height) + C(site) + age:group"
    assert set(formula_variables(rhs)) == {"age", "weight", "height", "site", "group"}
    assert formula_variables("1") == ()


@pytest.mark.parametrize(
    ("formulas", "message"),
    [
        ({"alpha": "0 + age"}, "drops the intercept"),
        ({"alpha": "age - 1"}, "drops the intercept"),
        (["alpha 1 + age"], "needs a parameter"),
        (["alpha ~ 1 + age", "alpha ~ 1"], "'alpha' given twice"),
        ({"alpha": "1 +"}, r"cannot parse '1 \+'"),
        ({"alpha": "y ~ age"}, "right-hand side only"),
        ({"alpha": "  "}, "is empty"),
        ({"2x": "1"}, "not a parameter name"),
    ],
)
def test_bad_formulas_are_refused_with_the_reason(formulas, message):
    with pytest.raises(ValueError, match=message):
        CovariateFormulas(formulas)


def test_unknown_parameter_and_unknown_column_name_the_valid_ones():
    with pytest.raises(ValueError) as info:
        build_design({"alhpa": "1 + age"}, subjects(), PARAMETERS)
    assert "'alhpa'" in str(info.value) and "alpha, beta, gamma" in str(info.value)
    with pytest.raises(ValueError) as info:
        build_design({"beta": "1 + agee"}, subjects(), PARAMETERS)
    text = str(info.value)
    assert "'beta'" in text and "'agee'" in text and "age, group, site" in text
    with pytest.raises(ValueError, match="default formula for 'alpha'.*'sex'"):
        build_design(CovariateFormulas(default="1 + sex"), subjects(), PARAMETERS)


# ----------------------------------------------------------------------------- matrices


def test_shapes_columns_and_labels_in_parameter_order():
    design = build_design(FORMULAS, subjects(), PARAMETERS)
    assert design.parameters == PARAMETERS
    assert design.subject_ids == tuple(f"s{i}" for i in range(10))
    assert design.n_columns == {"alpha": 3, "beta": 5, "gamma": 1}
    assert design.columns["alpha"] == ("Intercept", "age", "I(age ** 2)")
    assert design.labels("alpha") == ("intercept", "age", "age^2")
    assert design.labels("beta") == (
        "intercept",
        "group[older]",
        "bs(age)[1]",
        "bs(age)[2]",
        "bs(age)[3]",
    )
    for p in PARAMETERS:
        matrix = design.matrix(p)
        assert matrix.dtype == np.float64 and matrix.shape == (10, design.n_columns[p])
        np.testing.assert_array_equal(matrix[:, 0], 1.0)
    # treatment coding, reference level first: the column is 1 exactly for "older"
    older = (subjects()["group"] == "older").to_numpy(float)
    np.testing.assert_array_equal(design.matrix("beta")[:, 1], older)
    assert design.levels == {"group": ("young", "older")}
    assert not design.intercept_only
    with pytest.raises(ValueError, match="no design for parameter 'delta'"):
        design.matrix("delta")


def test_numeric_covariates_are_z_scored_over_subjects():
    design = build_design(FORMULAS, subjects(), PARAMETERS)
    z = (AGES - AGES.mean()) / AGES.std()
    assert design.standardization["age"].mean == pytest.approx(AGES.mean(), rel=1e-12)
    assert design.standardization["age"].sd == pytest.approx(AGES.std(), rel=1e-12)
    np.testing.assert_allclose(design.matrix("alpha")[:, 1], z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(design.matrix("alpha")[:, 2], z**2, rtol=0, atol=1e-12)
    assert set(design.standardization) == {"age"}  # only the covariates the formulas use


def test_intercept_only_by_default_and_a_default_for_every_unnamed_parameter():
    design = build_design(CovariateFormulas(), subjects(), PARAMETERS)
    assert design.intercept_only and design.standardization == {} and design.levels == {}
    for p in PARAMETERS:
        np.testing.assert_array_equal(design.matrix(p), np.ones((10, 1)))
    grid = design.matrix_for("alpha", pd.DataFrame(index=range(4)))
    np.testing.assert_array_equal(grid, np.ones((4, 1)))
    shifted = build_design(
        CovariateFormulas({"alpha": "1 + age"}, default="1 + group"), subjects(), PARAMETERS
    )
    assert shifted.labels("alpha") == ("intercept", "age")
    assert shifted.labels("beta") == shifted.labels("gamma") == ("intercept", "group[older]")


def test_text_columns_take_their_first_level_as_reference_and_c_names_it():
    design = build_design(
        {"alpha": "1 + site", "beta": "1 + C(group)"}, subjects(), ("alpha", "beta")
    )
    assert design.levels["site"] == ("B", "A")  # first appearance
    assert design.labels("alpha") == ("intercept", "site[A]")
    assert design.labels("beta") == ("intercept", "group[older]")


@pytest.mark.parametrize(
    ("table", "formula", "message"),
    [
        (subjects().assign(age=30.0), "1 + age", "same value \\(30\\) for every subject"),
        (subjects().assign(age=np.r_[np.nan, AGES[1:]]), "1 + age", "missing for.*'s0'"),
        (subjects().assign(group="young"), "1 + group", "single level"),
        (subjects(), "1 + bs(age, df=12)", "13 columns .* of rank 10 over 10 subjects"),
        (subjects(), "1 + nothere(age)", "formula for 'alpha'.*nothere"),
    ],
)
def test_designs_that_cannot_be_estimated_are_refused(table, formula, message):
    with pytest.raises(ValueError, match=message):
        build_design({"alpha": formula}, table, ("alpha",))


# ----------------------------------------------------------------------------- new values


def test_spline_and_polynomial_bases_for_new_values_match_the_fitting_rows():
    formulas = {"alpha": "1 + bs(age, df=4)", "beta": "1 + poly(age, degree=3) + group"}
    design = build_design(formulas, subjects(), ("alpha", "beta"))
    rows = [7, 0, 3, 3]  # any order, repeats allowed: the basis is fixed by the fitting data
    new = subjects().iloc[rows].reset_index(drop=True)
    for p in ("alpha", "beta"):
        np.testing.assert_allclose(
            design.matrix_for(p, new), design.matrix(p)[rows], rtol=0, atol=1e-12
        )
    # a grid on age alone (alpha reads nothing else), its ends the youngest and oldest
    grid = design.matrix_for("alpha", {"age": np.linspace(AGES.min(), AGES.max(), 7)})
    assert grid.shape == (7, 5) and np.isfinite(grid).all()
    np.testing.assert_allclose(grid[[0, -1]], design.matrix("alpha")[[0, -1]], atol=1e-12)


def test_new_values_outside_what_the_fit_saw_are_refused():
    design = build_design(FORMULAS, subjects(), PARAMETERS)
    with pytest.raises(ValueError, match="lacks column\\(s\\) 'group'"):
        design.matrix_for("beta", {"age": [30.0]})
    with pytest.raises(ValueError, match="'middle'; its levels are 'young', 'older'"):
        design.matrix_for("beta", {"age": [30.0], "group": ["middle"]})
    with pytest.raises(ValueError, match="runs 19 to 78"):
        design.matrix_for("beta", {"age": [90.0], "group": ["older"]})
    with pytest.raises(ValueError, match="finite numbers"):
        design.matrix_for("alpha", {"age": [np.nan]})
    extended = build_design(
        {"alpha": "1 + bs(age, df=3, extrapolation='extend')"}, subjects(), ["alpha"]
    )
    assert np.isfinite(extended.matrix_for("alpha", {"age": [90.0]})).all()


# ----------------------------------------------------------------------------- JSON


def test_json_round_trip_keeps_matrices_columns_and_transforms():
    design = build_design(FORMULAS, subjects(), PARAMETERS)
    text = design.to_json()
    assert json.loads(text)["standardization"]["age"]["mean"] == pytest.approx(AGES.mean())
    again = DesignMatrices.from_json(text)
    assert again.parameters == design.parameters and again.subject_ids == design.subject_ids
    assert again.formulas == design.formulas and dict(again.levels) == dict(design.levels)
    assert again.standardization == design.standardization
    for p in PARAMETERS:
        assert again.columns[p] == design.columns[p]
        np.testing.assert_array_equal(again.matrix(p), design.matrix(p))
    grid = {"age": [20.0, 50.0, 77.0], "group": ["older", "young", "older"]}
    np.testing.assert_array_equal(again.matrix_for("beta", grid), design.matrix_for("beta", grid))
    record = json.loads(text)
    record["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        DesignMatrices.from_json(json.dumps(record))


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(0.01, 100.0),
    shift=st.floats(-1000.0, 1000.0),
    ages=st.lists(st.floats(0.0, 100.0), min_size=6, max_size=12, unique=True).filter(
        lambda a: np.ptp(a) > 1.0
    ),
)
def test_matrices_do_not_depend_on_the_units_of_age(scale, shift, ages):
    """Years or months, from birth or from 18: any increasing affine change of age gives
    the same standardized matrices (up to float round-off), and the recorded mean and sd
    carry the units."""
    formulas = {"alpha": "1 + age + I(age**2)", "beta": "1 + bs(age, df=3)"}
    years = build_design(formulas, subjects(ages), ("alpha", "beta"))
    other = build_design(formulas, subjects(np.asarray(ages) * scale + shift), ("alpha", "beta"))
    for p in ("alpha", "beta"):
        np.testing.assert_allclose(other.matrix(p), years.matrix(p), rtol=0, atol=1e-7)
    assert other.standardization["age"].sd == pytest.approx(
        years.standardization["age"].sd * scale, rel=1e-9
    )


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("Intercept", "intercept"),
        ("age", "age"),
        ("I(age ** 2)", "age^2"),
        ("bs(age, df=3)[1]", "bs(age)[1]"),
        ("poly(age, degree=2)[2]", "poly(age)[2]"),
        ("group[T.older]", "group[older]"),
        ("C(group)[T.older]", "group[older]"),
        ("C(site, contr.treatment('A'))[T.B]", "site[B]"),
        ("age:group[T.older]", "age:group[older]"),
        ("center(age)", "center(age)"),
    ],
)
def test_coefficient_labels(column, label):
    assert coefficient_label(column) == label


# ----------------------------------------------------------------------------- FitData


def test_fit_data_takes_named_covariates_into_its_subject_table():
    fit_data = as_fit_data(trials(), "rw", covariates=("age", "site"))
    table = fit_data.subject_table()
    assert list(table.index) == list(fit_data.subject_ids) == ["p1", "p2", "p3", "p4"]
    assert list(table.columns) == ["group", "site", "age"]  # categorical, then numeric
    assert list(table["group"].cat.categories) == ["young", "older"]  # reference first
    assert list(table["site"].cat.categories) == ["A", "B"]
    assert table["age"].dtype == np.float64 and list(table["age"]) == [20.0, 27.0, 34.0, 41.0]
    # without names only group is taken, as before
    assert as_fit_data(trials(), "rw").covariate_names == ("group",)
    ordered = as_fit_data(trials(), "rw", covariates={"group": ("older", "young")})
    assert list(ordered.covariate("group").labels) == ["older", "young"]
    assert list(ordered.covariate("group").codes) == [1, 0, 1, 0]
    design = build_design({"alpha": "1 + age + site"}, fit_data, get_spec("rw"))
    assert design.parameters == get_spec("rw").parameter_names
    assert design.labels("alpha") == ("intercept", "age", "site[B]")


def test_fit_data_covariate_errors_name_column_and_subject():
    varying = trials()
    varying.loc[4, "site"] = "C"
    with pytest.raises(TrialDataError) as info:
        as_fit_data(varying, "rw", covariates=("site",))
    assert "column 'site'" in str(info.value) and "subject 'p2' has 'A', 'C'" in str(info.value)
    with pytest.raises(TrialDataError, match="'height' named as subject covariates"):
        as_fit_data(trials(), "rw", covariates=("height",))
    fit_data = as_fit_data(trials(), "rw", covariates=("age",))
    with pytest.raises(ValueError, match="'age' is numeric; group covariates are categorical"):
        fit_data.covariate("age")
    with pytest.raises(ValueError, match="'site'.*not in the data \\(available: group, age\\)"):
        as_fit_data(fit_data, "rw", covariates=("site",))
    assert as_fit_data(fit_data, "rw", covariates=("age",)) is fit_data


def test_subject_selection_keeps_numeric_covariates_and_checks_them():
    fit_data = as_fit_data(trials(), "rw", covariates=("age",))
    first = fit_data.select_subjects(slice(0, 2))
    assert first.subject_ids == ("p1", "p2") and first.arrays.choice.shape[0] == 2
    assert list(first.subject_table()["age"]) == [20.0, 27.0]
    with pytest.raises(ValueError, match="numeric covariate 'age': expected 4 finite"):
        FitData(
            fit_data.arrays,
            fit_data.subject_ids,
            (),
            numeric_covariates=(NumericCovariate("age", np.array([1.0, np.nan, 2.0, 3.0])),),
        )
