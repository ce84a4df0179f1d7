"""Study descriptions and count tables: bad input is named by file, column, row or key;
the shipped Zhao et al. (2017) counts."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paradigm.cases import (
    ZHAO,
    ZHAO_COUNTS,
    ZHAO_CSV,
    ZHAO_PARADIGM,
)
from valueint.paradigm.conditions import (
    ParadigmError,
    counts_from_frame,
    load_counts,
    load_paradigm,
)

# --------------------------------------------------------------------------- 5. validation

BAD_TABLES = {
    # name: (csv text, words the message must contain besides the file name)
    "missing column": (ZHAO_CSV.replace("n_peeked", "peeked"), ["n_peeked", "missing column"]),
    "unknown condition": (ZHAO_CSV + "praise,10,2\n", ["'condition'", "row 5", "praise"]),
    "missing condition": (ZHAO_CSV.replace("performance,100,41\n", ""), ["performance"]),
    "k above n": (ZHAO_CSV.replace("100,41", "100,141"), ["'n_peeked'", "row 3", "exceed"]),
    "fractional n": (ZHAO_CSV.replace("100,41", "100.5,41"), ["'n_children'", "row 3", "100.5"]),
    "negative k": (ZHAO_CSV.replace("100,41", "100,-1"), ["'n_peeked'", "row 3", "-1"]),
    "duplicated condition": (ZHAO_CSV + "none,100,40\n", ["'condition'", "row 5", "uniqueness"]),
}


@pytest.mark.parametrize("case", BAD_TABLES)
def test_bad_count_tables_are_named_by_file_column_and_row(case, tmp_path):
    text, words = BAD_TABLES[case]
    path = tmp_path / "counts.csv"
    path.write_text(text)
    with pytest.raises(ParadigmError) as err:
        load_counts(path, ZHAO_PARADIGM)
    message = str(err.value)
    for word in [str(path), *words]:
        assert word in message, (word, message)


BAD_PARADIGMS = {
    # name: (change to the shipped paradigm.toml, words the message must contain)
    "unknown feature": (
        ("about = { ability = 1.0 }", "about = { smartness = 1.0 }"),
        ["'ability'", "smartness", "feedback #1"],
    ),
    "bad feedback kind": (
        (
            'feedback = "praise", count = 1 }]\n\n[[conditions]]\nname = "performance"',
            'feedback = "applause", count = 1 }]\n\n[[conditions]]\nname = "performance"',
        ),
        ["'ability'", "'feedback'", "applause"],
    ),
    "test presence above 1": (
        ("test_adult_present = 0.0\nfeedback = []", "test_adult_present = 1.5\nfeedback = []"),
        ["'none'", "'test_adult_present'", "1.5"],
    ),
    "test presence below 0": (
        (
            "test_adult_present = 0.0\nfeedback = [{ about = { ability",
            "test_adult_present = -0.2\nfeedback = [{ about = { ability",
        ),
        ["'ability'", "'test_adult_present'", "-0.2"],
    ),
    "disapproval that is not a flag": (
        ("bias = 0.0\nprior_sd", "bias = -1.0\ndisapproval = 0.5\nprior_sd"),
        ["[feedback_model]", "'disapproval'", "true or false"],
    ),
    "disapproval with a positive praise bias": (
        ("bias = 0.0\nprior_sd", "bias = 0.5\ndisapproval = true\nprior_sd"),
        ["[feedback_model]", "bias = 0.5", "<= 0"],
    ),
}


def paradigm_file(tmp_path, text):
    path = tmp_path / "paradigm.toml"
    path.write_text(text)
    return path


def test_silence_is_refused_when_the_adult_always_answers(tmp_path):
    text = (ZHAO / "paradigm.toml").read_text()
    text = text.replace("bias = 0.0\nprior_sd", "bias = 0.0\ndisapproval = true\nprior_sd")
    load_paradigm(paradigm_file(tmp_path, text))  # praise only: fine
    silent = text.replace('feedback = "praise", count = 1 }]', 'feedback = "none", count = 1 }]', 1)
    with pytest.raises(ParadigmError, match=r"condition 'ability'.*'none' while present"):
        load_paradigm(paradigm_file(tmp_path, silent))


@pytest.mark.parametrize("case", BAD_PARADIGMS)
def test_bad_paradigm_files_name_the_key_and_condition(case, tmp_path):
    (old, new), words = BAD_PARADIGMS[case]
    text = (ZHAO / "paradigm.toml").read_text()
    assert text.count(old) == 1
    path = paradigm_file(tmp_path, text.replace(old, new))
    with pytest.raises(ParadigmError) as err:
        load_paradigm(path)
    message = str(err.value)
    for word in [str(path), *words]:
        assert word in message, (word, message)


def test_paradigm_without_conditions_or_not_toml_is_refused(tmp_path):
    text = (ZHAO / "paradigm.toml").read_text()
    without = text[: text.index("[[conditions]]")]
    with pytest.raises(
        ParadigmError, match=r"paradigm\.toml: needs at least one \[\[conditions\]\]"
    ):
        load_paradigm(paradigm_file(tmp_path, without))
    with pytest.raises(ParadigmError, match=r"paradigm\.toml: not valid TOML"):
        load_paradigm(paradigm_file(tmp_path, "features = [ability\n"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 20), st.integers(-5, 20)), min_size=3, max_size=3))
def test_count_tables_are_accepted_exactly_when_counts_are_possible(rows):
    frame = pd.DataFrame(
        {
            "condition": list(ZHAO_PARADIGM.condition_names),
            "n_children": [n for n, _ in rows],
            "n_peeked": [k for _, k in rows],
        }
    )
    possible = all(n > 0 and 0 <= k <= n for n, k in rows)
    try:
        counts = counts_from_frame(frame, ZHAO_PARADIGM)
    except ParadigmError:
        assert not possible
    else:
        assert possible
        assert counts.n.tolist() == [n for n, _ in rows]
        assert counts.k.tolist() == [k for _, k in rows]


# --------------------------------------------------------------------------- 6. shipped data


def test_shipped_zhao_counts():
    frame = pd.read_csv(ZHAO / "counts.csv")
    table = frame.set_index("condition")[["n_children", "n_peeked"]]
    assert table.to_dict("index") == {
        "ability": {"n_children": 100, "n_peeked": 60},
        "performance": {"n_children": 100, "n_peeked": 41},
        "none": {"n_children": 100, "n_peeked": 40},
    }
    assert ZHAO_COUNTS.conditions == ("ability", "performance", "none")
    assert ZHAO_COUNTS.k.tolist() == [60, 41, 40] and ZHAO_COUNTS.n.tolist() == [100] * 3
    assert "10.1177/0956797617721529" in (ZHAO / "README.md").read_text()
