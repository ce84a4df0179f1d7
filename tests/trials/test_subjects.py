"""Subject covariates of a trial table: named columns, one value per subject, and each
fault named by column, subject and rows."""

import numpy as np
import pandas as pd
import pytest

from tests.trials.test_contract import make_trials
from valueint.trials.arrays import to_arrays
from valueint.trials.contract import TrialDataError


def with_site(df: pd.DataFrame) -> pd.DataFrame:
    """A text column outside the schema, constant per subject (p1, p3: "B"; p2: "A")."""
    return df.assign(site=np.where(df["subject"] == "p2", "A", "B"))


def test_named_subject_covariates_land_in_meta_one_row_per_subject():
    df = with_site(make_trials())
    df = pd.concat([df[df["subject"] == "p2"], df[df["subject"] != "p2"]])  # p2 first
    _, meta = to_arrays(df, covariates=("age", "site"))
    table = meta.covariates
    assert list(table.index) == list(meta.subjects)
    assert table["age"].dtype == np.float64
    assert dict(zip(table.index, table["age"], strict=True)) == {"p1": 20, "p2": 21, "p3": 22}
    first_site = df.drop_duplicates("subject")["site"].tolist()  # in order of appearance
    assert list(table["site"].cat.categories) == list(dict.fromkeys(first_site))
    # kinds and levels may be given: a number read as a label, levels in the order named
    _, meta = to_arrays(df, covariates={"age": "categorical", "site": ("A", "B")})
    assert list(meta.covariates["age"].cat.categories) == ["21", "20", "22"]  # p2 first
    assert list(meta.covariates["site"].cat.categories) == ["A", "B"]
    # group is taken as before; naming it with levels orders its codes
    _, meta = to_arrays(df, covariates={"group": ("older", "young")})
    assert meta.covariates.columns.empty and meta.group_labels == ("older", "young")
    assert to_arrays(df)[1].covariates.columns.empty


@pytest.mark.parametrize(
    ("change", "covariates", "expected"),
    [
        (
            lambda d: d.assign(site=np.where(d.index == 5, "C", d.site)),
            ("site",),
            ["column 'site'", "one site per subject", "subject 'p1' has 'B', 'C'"],
        ),
        (
            lambda d: d.assign(site=d.site.where(d.index != 9)),
            ("site",),
            [
                "column 'site', index 9",
                "a value of site for every subject",
                "subject 'p2' empty in 1 of 8 rows",
            ],
        ),
        (
            lambda d: d.assign(age=np.where(d.subject == "p3", np.nan, d.age)),
            ("age",),
            ["column 'age'", "subject 'p3' empty in 8 of 8 rows"],
        ),
        (
            lambda d: d,
            ("height", "site"),
            ["missing column(s) 'height' named as subject covariates"],
        ),
        (lambda d: d, {"site": "numeric"}, ["column 'site'", "expected a number; found 'B', 'A'"]),
        (
            lambda d: d,
            {"site": ("A",)},
            ["expected one of the levels 'A' given for site; found 'B'"],
        ),
    ],
)
def test_subject_covariate_faults_name_column_subject_and_rows(change, covariates, expected):
    with pytest.raises(TrialDataError) as info:
        to_arrays(change(with_site(make_trials())), covariates=covariates)
    for text in expected:
        assert text in str(info.value)


@pytest.mark.parametrize(
    ("covariates", "message"),
    [
        (("choice",), "'choice' is a per-trial column, not a subject covariate"),
        ({"site": "ordinal"}, "kind 'ordinal' is not one of"),
        ({"site": ("A", "A")}, "levels must be distinct"),
        ({"group": "numeric"}, "'group' holds labels"),
    ],
)
def test_bad_covariate_requests(covariates, message):
    with pytest.raises(ValueError, match=message):
        to_arrays(with_site(make_trials()), covariates=covariates)
