"""The trial-data contract: schema checks with clear messages, loaders, dense arrays.

Each kind of bad input has a test that reads the message; property tests check that
random valid frames pass and land in the arrays where they should, and that random
corruptions are always caught with the right column named.
"""

import dataclasses

import jax
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valueint.trials.arrays import gather_rows, to_arrays, to_long
from valueint.trials.contract import TrialDataError, load_trials, missed, validate
from valueint.trials.schema import CORE_COLUMNS, required_columns
from valueint.trials.specs import CONTEXTS, ModelSpec


def make_trials(n_subjects=3, n_blocks=2, n_trials=4, seed=0) -> pd.DataFrame:
    """A valid tidy frame with every canonical column, blocks in order, no missed trials."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for b in range(1, n_blocks + 1):
            for t in range(1, n_trials + 1):
                present = float(t % 2)
                rows.append(
                    {
                        "subject": f"p{s + 1}",
                        "block": b,
                        "trial": t,
                        "choice": float(rng.integers(2)),
                        "outcome": float(rng.integers(2)),
                        "praise": float(rng.integers(-1, 2)) if present else 0.0,
                        "context": CONTEXTS[b % 3],
                        "caregiver_present": present,
                        "group": "young" if s % 2 == 0 else "older",
                        "age": 20.0 + s,
                    }
                )
    return pd.DataFrame(rows)


def write_csv(df: pd.DataFrame, tmp_path, name="trials.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def load_error(df, tmp_path, columns=None, **kwargs) -> TrialDataError:
    path = write_csv(df, tmp_path)
    with pytest.raises(TrialDataError) as info:
        load_trials(path, columns, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def columns_named(error: TrialDataError) -> set[str]:
    return {p.column for p in error.problems}


def fake_spec(name, columns):
    # A spec's columns are all validation looks at; these callables are never called.
    def never(*args):
        raise AssertionError("not used in validation")

    return ModelSpec(name, "", (), columns, never, never)


# ----------------------------------------------------------------------------- valid data


def test_valid_frame_passes_with_canonical_dtypes():
    df = make_trials().assign(rt=np.linspace(300, 900, 24))
    df["block"] = df["block"].astype(float)  # e.g. read from a file with blanks elsewhere
    out = validate(df, ("outcome", "praise", "context", "caregiver_present"))
    assert out["block"].dtype == np.int64 and out["trial"].dtype == np.int64
    assert out["choice"].dtype == np.float64
    assert list(out.columns) == list(df.columns)  # extra columns are kept
    assert out.index.equals(df.index)


def test_required_columns_per_model():
    rw = ("subject", "block", "trial", "choice", "outcome")
    assert required_columns(rw) == rw
    assert required_columns(None) == CORE_COLUMNS
    assert required_columns(fake_spec("rw_recipient", (*rw, "context")))[-1] == "context"
    isr = required_columns((*rw, "praise", "caregiver_present"))
    assert isr == (*rw, "praise", "caregiver_present")
    with pytest.raises(ValueError, match=r"unknown trial column\(s\) 'present'"):
        required_columns((*rw, "present"))


def test_missed_trials_are_kept_and_counted(tmp_path):
    df = make_trials()
    df.loc[[2, 9], ["choice", "outcome", "praise"]] = np.nan
    out = load_trials(write_csv(df, tmp_path))
    assert len(out) == len(df)
    assert out.attrs["n_missed"] == 2
    assert missed(out).sum() == 2


# ----------------------------------------------------------------------------- bad data


def test_missing_columns_name_the_model(tmp_path):
    df = make_trials().drop(columns=["context", "praise"])
    spec = fake_spec("isr", CORE_COLUMNS + ("outcome", "praise", "context"))
    error = load_error(df, tmp_path, spec)
    message = str(error)
    assert "missing column(s) 'praise', 'context' needed by model 'isr'" in message
    assert "the data has columns: subject, block, trial, choice, outcome" in message


def test_missing_core_columns_are_needed_by_every_model():
    df = make_trials().drop(columns=["trial", "choice"])
    error = pytest.raises(TrialDataError, validate, df).value
    # Only the missing columns: no uniqueness test on the key columns that are left.
    assert [p.check for p in error.problems] == ["column_in_dataframe"]
    assert "missing column(s) 'trial', 'choice' needed by every model" in str(error)


def test_non_binary_choices_name_file_rows(tmp_path):
    df = make_trials()
    df.loc[3, "choice"] = 2.0
    df.loc[10, "choice"] = 0.5
    error = load_error(df, tmp_path)
    assert "column 'choice', rows 4, 11: expected 0 or 1 (NaN marks a missed trial)" in str(error)
    assert "found 2, 0.5" in str(error)
    # Row 4 is the 4th line after the header, as a user sees it in the file.
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    assert lines[4].split(",")[3] == "2.0"


def test_unreadable_numbers_are_reported_once(tmp_path):
    df = make_trials().astype({"choice": object})
    df.loc[5, "choice"] = "left"
    error = load_error(df, tmp_path)
    (problem,) = error.problems
    assert (problem.column, problem.check, problem.rows) == ("choice", "number", (5,))
    assert "column 'choice', row 6: expected a number; found 'left'" in str(error)


@pytest.mark.parametrize("column", ["subject", "block", "trial", "context"])
def test_nan_in_a_required_column(tmp_path, column):
    df = make_trials()
    df[column] = df[column].astype(object)
    df.loc[7, column] = np.nan
    error = load_error(df, tmp_path, ("outcome", "context"))
    assert column in columns_named(error)
    assert f"column '{column}', row 8: expected a value in every row; NaN is allowed only" in str(
        error
    )


def test_outcome_nan_while_choice_present(tmp_path):
    df = make_trials()
    df.loc[5, "outcome"] = np.nan
    error = load_error(df, tmp_path)
    assert "column 'outcome', row 6: expected an outcome on every trial with a choice" in str(error)
    assert "found choice" in str(error) and "with outcome NaN" in str(error)


def test_outcome_given_on_a_missed_trial(tmp_path):
    df = make_trials()
    df.loc[5, ["choice", "praise"]] = np.nan
    error = load_error(df, tmp_path)
    assert "column 'choice', row 6: expected a choice wherever an outcome is given" in str(error)


def test_unsorted_trials(tmp_path):
    df = make_trials()
    df.loc[[1, 2], "trial"] = [3, 2]  # subject p1, block 1: trials 1, 3, 2, 4
    error = load_error(df, tmp_path)
    assert "column 'trial', row 3: expected trial numbers that increase" in str(error)
    assert "subject 'p1', block 1: trial 2 after trial 3" in str(error)


def test_interleaved_blocks_are_in_order():
    df = make_trials(n_subjects=1, n_blocks=2, n_trials=3)
    interleaved = df.iloc[[0, 3, 1, 4, 2, 5]].reset_index(drop=True)
    validate(interleaved)


def test_duplicate_trial_rows(tmp_path):
    df = make_trials()
    df = pd.concat([df, df.iloc[[9]]], ignore_index=True)
    error = load_error(df, tmp_path, check_counts=False)
    assert "column 'subject, block, trial', rows 10, 25: expected one row per" in str(error)
    assert "subject 'p2', block 1, trial 2 appears 2 times" in str(error)


def test_subject_whose_count_differs_names_it_and_says_how_to_fix(tmp_path):
    df = make_trials(n_subjects=4)
    second_session = df[df["subject"] == "p2"].assign(block=lambda d: d["block"] + 2)
    df = pd.concat([df, second_session], ignore_index=True)
    error = load_error(df, tmp_path)
    message = str(error)
    assert "expected 8 rows per subject, the usual count (3 of 4 subjects)" in message
    assert "found subject 'p2' has 16 rows" in message
    assert "split_shared_ids" in message and "check_counts=False" in message
    load_trials(tmp_path / "trials.csv", check_counts=False)


def test_messages_list_at_most_five_rows():
    df = make_trials()
    df.loc[:7, "choice"] = 3.0
    error = pytest.raises(TrialDataError, validate, df).value
    # Built in memory, not read from a file: rows are named by index label.
    assert "trial data: 1 problem(s)" in str(error)
    assert "column 'choice', index 0, 1, 2, 3, 4 and 3 more: expected 0 or 1" in str(error)
    assert error.problems[0].rows == tuple(range(8))


@pytest.mark.parametrize(
    ("change", "column", "expected"),
    [
        ({"praise": 2.0}, "praise", "expected 1 (praise), 0 (none) or -1 (disapproval)"),
        ({"praise": np.nan}, "praise", "expected a praise value on every trial with a choice"),
        ({"caregiver_present": 0.0}, "praise", "expected praise 0 or NaN when caregiver_present"),
        ({"caregiver_present": 0.5}, "caregiver_present", "expected 0 or 1"),
        ({"group": "older"}, "group", "expected one group label per subject"),
        ({"age": -3.0}, "age", "expected an age of 0 or more"),
    ],
)
def test_optional_columns_are_checked_when_present(change, column, expected):
    df = make_trials()
    row = 4  # subject p1, block 2, trial 1: caregiver present, praise 1
    df.loc[row, "praise"] = 1.0
    for name, value in change.items():
        df.loc[row, name] = value
    error = pytest.raises(TrialDataError, validate, df).value
    assert columns_named(error) >= {column}
    assert expected in str(error)


# ----------------------------------------------------------------------------- loaders


def test_load_csv_with_rename_and_parquet_alike(tmp_path):
    df = make_trials().rename(columns={"subject": "ID", "trial": "trialno"})
    csv = write_csv(df, tmp_path)
    parquet = tmp_path / "trials.parquet"
    df.to_parquet(parquet)
    rename = {"ID": "subject", "trialno": "trial"}
    from_csv = load_trials(csv, ("outcome", "context"), rename=rename)
    from_parquet = load_trials(parquet, ("outcome", "context"), rename=rename)
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)
    assert from_csv.attrs["source"] == str(csv)


def test_load_tolerates_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + make_trials().to_csv(index=False).encode())
    assert "subject" in load_trials(path).columns


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="trial data file not found: .*absent.csv"):
        load_trials(tmp_path / "absent.csv")
    with pytest.raises(TrialDataError, match=r"'\.xlsx' file; expected one of: \.csv, \.parquet"):
        load_trials(tmp_path / "trials.xlsx")
    path = write_csv(make_trials(), tmp_path)
    with pytest.raises(TrialDataError, match="cannot rename column\\(s\\) 'ID': not in the data"):
        load_trials(path, rename={"ID": "subject"})
    with pytest.raises(TrialDataError, match="second column named 'subject'"):
        load_trials(path, rename={"group": "subject"})


# ----------------------------------------------------------------------------- arrays


def test_to_arrays_on_a_small_design():
    df = make_trials(n_subjects=2, n_blocks=2, n_trials=3).drop(
        index=[9, 10]
    )  # p2 block 2: 1 trial
    df.loc[1, ["choice", "outcome", "praise"]] = np.nan  # p1 block 1 trial 2 missed
    df.loc[df["subject"] == "p1", "block"] += 10  # labels 11, 12: positions 0, 1
    arrays, meta = to_arrays(df)

    assert arrays.choice.shape == (2, 2, 3) and meta.shape == (2, 2, 3)
    expected_mask = np.array([[[1, 0, 1], [1, 1, 1]], [[1, 1, 1], [1, 0, 0]]], dtype=bool)
    np.testing.assert_array_equal(arrays.mask, expected_mask)
    assert meta.n_missed == 1 and meta.n_observed == len(df) - 1
    assert meta.subjects == ("p1", "p2") and meta.blocks == ((11, 12), (1, 2))
    assert meta.group_labels == ("young", "older") and list(meta.group_codes) == [0, 1]
    np.testing.assert_array_equal(meta.ages, [20.0, 21.0])
    assert meta.contexts == ("self", "other", "none")
    # block 1 has context "other" (code 1), block 2 "none" (code 2); padding stays 0
    np.testing.assert_array_equal(arrays.context[1], [[1, 1, 1], [2, 0, 0]])
    assert arrays.choice.dtype == np.int32 and arrays.outcome.dtype == np.float64
    assert float(arrays.outcome[0, 0, 1]) == 0.0 and int(arrays.choice[0, 0, 1]) == 0
    np.testing.assert_array_equal(arrays.present[0, 0], df["caregiver_present"].iloc[:3])


def test_to_arrays_defaults_for_absent_columns_and_custom_contexts():
    df = make_trials(n_subjects=1).drop(columns=["praise", "caregiver_present", "group", "age"])
    arrays, meta = to_arrays(df.drop(columns="context"))
    assert not np.any(arrays.praise) and not np.any(arrays.present) and not np.any(arrays.context)
    assert meta.groups == (None,) and meta.group_labels == () and np.isnan(meta.ages[0])

    labelled = df.assign(context=df["context"].map({"other": "friend", "none": "charity"}))
    with pytest.raises(TrialDataError, match="column 'context', index 0.*'friend'"):
        to_arrays(labelled)
    arrays, meta = to_arrays(labelled, contexts=("charity", "friend"))
    assert meta.contexts == ("charity", "friend")
    np.testing.assert_array_equal(arrays.context[0, :, 0], [1, 0])
    with pytest.raises(TrialDataError, match="no trials to put in arrays"):
        to_arrays(df.iloc[:0])


def test_to_long_and_gather_rows_invert_to_arrays():
    df = make_trials().sample(frac=1.0, random_state=1).sort_values(["subject", "block", "trial"])
    df.index = df.index * 10  # any index survives the round trip
    arrays, meta = to_arrays(df)
    long = to_long(arrays.outcome, meta, name="outcome")
    assert long.index.equals(df.index)
    np.testing.assert_array_equal(long["outcome"], df["outcome"])
    stacked = np.stack([np.asarray(arrays.outcome), 2 * np.asarray(arrays.outcome)])
    np.testing.assert_array_equal(gather_rows(stacked, meta)[1], 2 * df["outcome"])
    with pytest.raises(ValueError, match="expected \\[subject, block, trial\\] = \\(3, 2, 4\\)"):
        gather_rows(np.zeros((3, 2, 5)), meta)
    with pytest.raises(ValueError, match="gather_rows keeps leading axes"):
        to_long(stacked, meta)


def test_meta_is_frozen():
    _, meta = to_arrays(make_trials(n_subjects=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.n_missed = 3


# ----------------------------------------------------------------------------- properties


@st.composite
def tidy_frames(draw):
    """Valid frames: equal designs per subject, gaps in trial numbers, interleaved blocks."""
    n_subjects = draw(st.integers(1, 4))
    block_labels = draw(st.lists(st.integers(0, 50), min_size=1, max_size=3, unique=True))
    lengths = [draw(st.integers(1, 5)) for _ in block_labels]
    if draw(st.booleans()):
        ids = draw(
            st.lists(st.integers(1, 999), min_size=n_subjects, max_size=n_subjects, unique=True)
        )
    else:
        ids = [f"s{i}" for i in draw(st.permutations(range(n_subjects)))]
    rnd = draw(st.randoms(use_true_random=False))
    rows = []
    for subject in ids:
        group = rnd.choice(["young", "older"])
        age = rnd.uniform(18, 80)
        queues = []
        for block, n in zip(block_labels, lengths, strict=True):
            trial_numbers = np.cumsum([1] + [rnd.randint(1, 2) for _ in range(n - 1)])
            context = rnd.choice(CONTEXTS)
            queue = []
            for t in trial_numbers:
                is_missed = rnd.random() < 0.2
                present = float(rnd.random() < 0.5)
                queue.append(
                    {
                        "subject": subject,
                        "block": block,
                        "trial": int(t),
                        "choice": np.nan if is_missed else float(rnd.randint(0, 1)),
                        "outcome": np.nan if is_missed else rnd.choice([0.0, 1.0, 2.5]),
                        "praise": float(rnd.choice([-1, 0, 1])) if present else 0.0,
                        "context": context,
                        "caregiver_present": present,
                        "group": group,
                        "age": age,
                    }
                )
            queues.append(queue)
        while any(queues):  # interleave the blocks, keeping trial order within each
            rows.append(rnd.choice([q for q in queues if q]).pop(0))
    return pd.DataFrame(rows)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(tidy_frames())
def test_valid_frames_round_trip_through_arrays(df):
    validate(df, ("outcome", "praise", "context", "caregiver_present", "group", "age"))
    jax_arrays, meta = to_arrays(df)
    arrays = jax.tree.map(np.asarray, jax_arrays)  # plain NumPy for fast element access

    observed = df["choice"].notna().to_numpy()
    assert int(np.sum(arrays.mask)) == observed.sum()
    # Where each row should land, computed the obvious way.
    subjects = list(dict.fromkeys(df["subject"]))
    for position, (i, row) in zip(meta.row_position, enumerate(df.itertuples()), strict=True):
        s = subjects.index(row.subject)
        blocks = sorted(set(df.loc[df["subject"] == row.subject, "block"]))
        b = blocks.index(row.block)
        same_block = df[(df["subject"] == row.subject) & (df["block"] == row.block)]
        t = sorted(same_block["trial"]).index(row.trial)
        assert tuple(position) == (s, b, t)
        assert bool(arrays.mask[s, b, t]) == observed[i]
        assert arrays.context[s, b, t] == CONTEXTS.index(row.context)
        assert arrays.present[s, b, t] == row.caregiver_present
        if observed[i]:
            assert arrays.choice[s, b, t] == row.choice
            assert arrays.outcome[s, b, t] == row.outcome
            assert arrays.praise[s, b, t] == row.praise
    assert list(meta.subjects) == subjects
    long = to_long(arrays.outcome, meta)
    np.testing.assert_array_equal(long["value"][observed], df["outcome"][observed])


def assert_caught(df, column, row=None):
    with pytest.raises(TrialDataError) as info:
        validate(df)
    named = {p.column: p for p in info.value.problems}
    assert column in named, str(info.value)
    if row is not None:
        assert row in named[column].rows
    return info.value


@PROPERTY
@given(tidy_frames(), st.data())
def test_non_binary_choice_is_caught(df, data):
    row = data.draw(st.sampled_from(list(df.index)))
    df.loc[row, ["choice", "outcome"]] = [2.0, 1.0]
    assert_caught(df, "choice", row)


NAN_TARGETS = ["subject", "block", "trial", "context", "choice", "outcome", "praise"]


@PROPERTY
@given(tidy_frames(), st.sampled_from(NAN_TARGETS), st.data())
def test_inserted_nan_is_caught_in_its_column(df, column, data):
    # choice/outcome/praise are NaN by design on missed trials (and praise without a
    # caregiver); a NaN there is an error only on a trial with a choice and feedback.
    candidates = df.index
    if column in ("choice", "outcome", "praise"):
        candidates = df.index[df["choice"].notna() & (df["caregiver_present"] == 1)]
    if len(candidates) == 0:
        return
    row = data.draw(st.sampled_from(list(candidates)))
    df[column] = df[column].astype(object)
    df.loc[row, column] = np.nan
    assert_caught(df, column, row)


@PROPERTY
@given(tidy_frames(), st.data())
def test_swapped_trial_rows_are_caught(df, data):
    sizes = df.groupby(["subject", "block"]).size()
    blocks = list(sizes.index[sizes >= 2])
    if not blocks:
        return
    subject, block = data.draw(st.sampled_from(blocks))
    rows = list(df.index[(df["subject"] == subject) & (df["block"] == block)])
    first, second = sorted(
        data.draw(st.lists(st.sampled_from(rows), min_size=2, max_size=2, unique=True))
    )
    order = list(df.index)
    order[first], order[second] = order[second], order[first]
    assert_caught(df.loc[order], "trial")


@PROPERTY
@given(tidy_frames(), st.data())
def test_duplicated_block_is_caught(df, data):
    subject, block = data.draw(
        st.sampled_from(sorted(set(zip(df["subject"], df["block"], strict=True)), key=str))
    )
    copy = df[(df["subject"] == subject) & (df["block"] == block)]
    error = assert_caught(pd.concat([df, copy], ignore_index=True), "subject, block, trial")
    assert f"subject {subject!r}" in str(error)


# ----------------------------------------------------------------------------- what a new user hits


def _write(path, rows, sep=","):
    path.write_text("\n".join(sep.join(map(str, r)) for r in rows) + "\n")
    return path


ROWS = [("subject", "block", "trial", "choice", "outcome")] + [
    (f"s{s}", 1, t, t % 2, (t + s) % 2) for s in range(2) for t in range(1, 9)
]


def test_a_semicolon_or_tab_separated_file_is_read_as_such(tmp_path):
    comma = load_trials(_write(tmp_path / "a.csv", ROWS))
    for sep in (";", "\t"):
        other = load_trials(_write(tmp_path / "b.csv", ROWS, sep))
        pd.testing.assert_frame_equal(other, comma, check_like=True)
    # a spreadsheet's semicolon file writes decimals with a comma
    decimal = [ROWS[0]] + [(*r[:4], "0,5") for r in ROWS[1:]]
    read = load_trials(_write(tmp_path / "c.csv", decimal, ";"))
    assert (read["outcome"] == 0.5).all()


def test_an_empty_or_header_only_file_is_named(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TrialDataError, match="empty.csv: the file is empty; expected a header"):
        load_trials(tmp_path / "empty.csv")
    with pytest.raises(TrialDataError, match="has a header \\(subject, block, .*\\) but no rows"):
        load_trials(_write(tmp_path / "header.csv", ROWS[:1]))


def test_a_duplicated_row_is_one_fault_not_also_a_count(tmp_path):
    rows = [*ROWS[:3], ROWS[2], *ROWS[3:]]
    with pytest.raises(TrialDataError) as info:
        load_trials(_write(tmp_path / "dup.csv", rows))
    assert [p.check for p in info.value.problems] == ["multiple_fields_uniqueness"]
    assert "check_counts" not in str(info.value)


@pytest.mark.parametrize(("column", "value"), [(0, ""), (1, "x"), (2, "x"), (3, "x"), (4, "x")])
def test_one_bad_cell_is_one_problem(tmp_path, column, value):
    rows = [list(r) for r in ROWS]
    rows[3][column] = value
    with pytest.raises(TrialDataError) as info:
        load_trials(_write(tmp_path / "bad.csv", rows))
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].rows == (2,), str(info.value)
    assert problems[0].column == ROWS[0][column]
