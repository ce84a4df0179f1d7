"""The Cutler et al. (2021) adapter: path resolution, quirks, and the real file's counts.

Tests on the real data use the file when it can be found (same resolution as the
adapter) and skip otherwise; the adapter's logic is also tested on small files written
here in the source's format, so it is checked even without the real data.
"""

import numpy as np
import pandas as pd
import pytest

import valueint.datasets as shared_datasets
from valueint.trials import datasets
from valueint.trials.arrays import to_arrays
from valueint.trials.contract import TrialDataError, validate

# one worker runs this file: its module fixtures are fitted once
pytestmark = pytest.mark.xdist_group("trials.test_datasets")

SOURCE_COLUMNS = list(datasets.CUTLER2021_SOURCE_COLUMNS)


def session_rows(
    source_id: int, rng: np.random.Generator, missed: int = 0, scheduled: bool = False
) -> list[dict]:
    """One participant's 144 trials in the source's format, blocks in a random order.

    Outcomes are Bernoulli(0.75 / 0.25) draws, or with ``scheduled`` the task's: each
    block follows one of the schedules, the low symbol paying where the high one does not.
    """
    order = [(agent, block) for agent in (1, 2, 3) for block in (1, 2, 3)]
    order = [order[i] for i in rng.permutation(len(order))]
    rows = []
    for agent, block in order:
        schedule = datasets.CUTLER2021_SCHEDULES[rng.integers(3)]
        for trial in range(1, 17):
            choice = int(rng.integers(2))
            high_pays = int(schedule[trial - 1])
            drawn = int(rng.random() < (0.75 if choice else 0.25))
            rows.append(
                {
                    "ID": source_id,
                    "agent": agent,
                    "choice": choice,
                    "outcome": (high_pays if choice else 1 - high_pays) if scheduled else drawn,
                    "RT": float(rng.uniform(300, 2500)),
                    "block": block,
                    "group": 1 if source_id < 200 else 2,
                    "trialno": trial,
                }
            )
    for i in rng.choice(len(rows), size=missed, replace=False):
        rows[i].update(choice=np.nan, outcome=np.nan, RT=np.nan)
    return rows


def write_source(path, ids=(101, 102, 201, 202), shared=(201,), seed=0, scheduled=False):
    """A small file in the source's format; each ID in ``shared`` holds two sessions."""
    rng = np.random.default_rng(seed)
    rows = []
    for source_id in ids:
        for _ in range(2 if source_id in shared else 1):
            rows += session_rows(source_id, rng, missed=2, scheduled=scheduled)
    pd.DataFrame(rows, columns=SOURCE_COLUMNS).to_csv(path, index=False)
    return path


@pytest.fixture
def small_source(tmp_path):
    return write_source(tmp_path / "trials.csv")


# ----------------------------------------------------------------------------- paths


@pytest.fixture
def no_data_env(monkeypatch, tmp_path):
    monkeypatch.delenv(datasets.CUTLER2021_ENV, raising=False)
    monkeypatch.delenv(shared_datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(
        shared_datasets, "REPO_ROOT", tmp_path / "repo"
    )  # no shared folder beside it


def test_missing_data_gives_a_clear_error(no_data_env, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        datasets.resolve_cutler2021()
    message = str(info.value)
    assert "Set VALUEINT_CUTLER2021 to the file trials.csv or its folder" in message
    assert "VALUEINT_DATA_DIR" in message
    with pytest.raises(FileNotFoundError, match=r"not found at .*nowhere \(the path given\)"):
        datasets.load_cutler2021(tmp_path / "nowhere")
    monkeypatch.setenv(datasets.CUTLER2021_ENV, str(tmp_path / "absent.csv"))
    with pytest.raises(FileNotFoundError, match=r"absent\.csv \(\$VALUEINT_CUTLER2021\)"):
        datasets.resolve_cutler2021()


def test_path_resolution_order(no_data_env, tmp_path, monkeypatch):
    sibling = tmp_path / "shared" / "data" / datasets.CUTLER2021_DIRNAME
    sibling.mkdir(parents=True)
    beside_repository = write_source(sibling / "trials.csv")
    assert datasets.resolve_cutler2021() == beside_repository

    data_dir = tmp_path / "data"
    (data_dir / datasets.CUTLER2021_DIRNAME).mkdir(parents=True)
    in_data_dir = write_source(data_dir / datasets.CUTLER2021_DIRNAME / "trials.csv")
    monkeypatch.setenv(shared_datasets.DATA_DIR_ENV, str(data_dir))
    assert datasets.resolve_cutler2021() == in_data_dir

    elsewhere = write_source(tmp_path / "elsewhere.csv")
    monkeypatch.setenv(datasets.CUTLER2021_ENV, str(elsewhere))
    assert datasets.resolve_cutler2021() == elsewhere
    monkeypatch.setenv(datasets.CUTLER2021_ENV, str(sibling))  # a folder works too
    assert datasets.resolve_cutler2021() == sibling / "trials.csv"
    assert datasets.resolve_cutler2021(in_data_dir) == in_data_dir  # explicit path first


# ----------------------------------------------------------------------------- adapter


def test_adapter_on_a_small_source_file(small_source):
    raw = pd.read_csv(small_source)
    with pytest.warns(shared_datasets.DatasetNotice, match="ID 201 has 288 rows"):
        df = datasets.load_cutler2021(small_source)
    report = shared_datasets.dataset_report(df)
    assert report.split_ids == (("201", ("201a", "201b")),)
    assert report.n_subjects == 5 and report.n_missed == 10 and report.n_rows == len(raw)
    assert dict(report.group_counts) == {"young": 2, "older": 3}
    assert list(pd.unique(df["subject"])) == ["101", "102", "201a", "201b", "202"]
    assert df.index.equals(raw.index)  # same rows, same order

    # 201a is the first session of ID 201 in row order, 201b the second.
    rows_201 = raw.index[raw["ID"] == 201]
    assert list(df.index[df["subject"] == "201a"]) == list(rows_201[:144])
    assert list(df.index[df["subject"] == "201b"]) == list(rows_201[144:])

    # Blocks are numbered 1-9 in order of presentation and carry one recipient each.
    for _, rows in df.groupby("subject"):
        assert list(rows["block"]) == list(np.repeat(np.arange(1, 10), 16))
        per_block = rows.groupby("block")[["context", "source_block"]].nunique()
        assert (per_block == 1).all().all()
    mapped = raw["agent"].map({1: "self", 2: "other", 3: "none"})
    assert (df["context"] == mapped).all() and (df["source_block"] == raw["block"]).all()
    np.testing.assert_array_equal(df["rt"], raw["RT"])
    assert df["choice"].isna().sum() == 10 and (df["choice"].isna() == df["outcome"].isna()).all()


def test_drawn_outcomes_fail_the_schedule_check(small_source):
    """Outcomes drawn independently per trial fit no fixed schedule: nothing is derived."""
    with pytest.warns(shared_datasets.DatasetNotice):
        df = datasets.load_cutler2021(small_source)
    assert not {"outcome_unchosen", "high_pays", "schedule"} & set(df.columns)
    notes = shared_datasets.dataset_report(df).notes
    assert any("do not follow the 3 fixed complementary schedules" in n for n in notes)
    arrays, _ = to_arrays(df)
    assert np.isnan(arrays.outcome_unchosen).all()


def test_scheduled_outcomes_give_the_unchosen_outcome_and_missed_trials_schedule(tmp_path):
    path = write_source(tmp_path / "trials.csv", scheduled=True)
    raw = pd.read_csv(path)
    # one block keeps only trials 1 and 8, where all three schedules pay the high symbol:
    # its schedule cannot be told, so its missed trials stay unknown
    ambiguous = raw.index[(raw["ID"] == 101) & (raw["agent"] == 1) & (raw["block"] == 1)]
    blank = ambiguous[~raw.loc[ambiguous, "trialno"].isin([1, 8])]
    raw.loc[blank, ["choice", "outcome", "RT"]] = np.nan
    raw.to_csv(path, index=False)
    with pytest.warns(shared_datasets.DatasetNotice):
        df = datasets.load_cutler2021(path)
    observed = df["choice"].notna()
    np.testing.assert_array_equal(df.loc[observed, "outcome_unchosen"], 1 - df["outcome"][observed])
    assert df.loc[~observed, "outcome_unchosen"].isna().all()
    # the high symbol's outcome, recovered on every trial of a block with a known schedule
    schedule = np.asarray([[int(c) for c in s] for s in datasets.CUTLER2021_SCHEDULES])
    known = df["schedule"] > 0
    expected = schedule[df.loc[known, "schedule"] - 1, df.loc[known, "trial"] - 1]
    np.testing.assert_array_equal(df.loc[known, "high_pays"], expected)
    assert set(df.loc[blank, "schedule"]) == {0} and df.loc[blank, "high_pays"].isna().all()
    n_missed = int((~observed).sum())
    assert (~known & ~observed).sum() == len(blank) and n_missed == len(blank) + 10
    notes = "\n".join(shared_datasets.dataset_report(df).notes)
    assert "outcomes follow fixed, complementary schedules" in notes
    assert f"missed trials: 10 of {n_missed} lie in blocks" in notes
    assert f"{len(blank)} in 1 blocks that fit several schedules are left NaN" in notes
    arrays, _ = to_arrays(df)
    mask = np.asarray(arrays.mask)
    unchosen = np.asarray(arrays.outcome_unchosen)
    np.testing.assert_array_equal(unchosen[mask], 1 - np.asarray(arrays.outcome)[mask])
    assert np.isnan(unchosen[~mask]).all()


def test_unsplit_shared_id_fails_validation_with_a_fix(small_source):
    df = datasets.load_cutler2021(small_source, split_shared=False, validate=False)
    assert "201" in set(df["subject"]) and shared_datasets.dataset_report(df).split_ids == ()
    with pytest.raises(TrialDataError) as info:
        validate(df)
    message = str(info.value)
    assert "expected 144 rows per subject, the usual count (3 of 4 subjects)" in message
    assert "found subject '201' has 288 rows" in message
    assert "split_shared_ids" in message
    with pytest.raises(TrialDataError, match="subject '201' has 288 rows"):
        datasets.load_cutler2021(small_source, split_shared=False)


def test_split_refuses_sessions_that_are_not_in_row_order():
    rng = np.random.default_rng(1)
    first, second = session_rows(201, rng), session_rows(201, rng)
    alternating = [row for pair in zip(first, second, strict=True) for row in pair]
    df = pd.DataFrame(session_rows(101, rng) + alternating).rename(columns={"ID": "subject"})
    with pytest.raises(TrialDataError, match=r"rows 1-144 of that subject repeat a \(agent"):
        datasets.split_shared_ids(df, key=("agent", "block", "trialno"))


def test_split_shared_ids_on_canonical_frames():
    df = pd.DataFrame(
        {"subject": [7] * 4 + [8] * 2, "block": 1, "trial": [1, 2, 1, 2, 1, 2], "choice": 1}
    )
    out, split = datasets.split_shared_ids(df)
    assert split == {"7": ("7a", "7b")}
    assert list(out["subject"]) == ["7a", "7a", "7b", "7b", "8", "8"]
    validate(out)
    unchanged, none = datasets.split_shared_ids(df.iloc[:2])
    assert none == {} and unchanged.equals(df.iloc[:2])


def test_adapter_rejects_another_file(tmp_path):
    path = tmp_path / "trials.csv"
    pd.DataFrame({"subject": [1], "trial": [1]}).to_csv(path, index=False)
    with pytest.raises(TrialDataError, match="not the Cutler et al. \\(2021\\) trial file"):
        datasets.load_cutler2021(path)
    write_source(path)
    raw = pd.read_csv(path)
    raw.loc[3, "agent"] = 4
    raw.to_csv(path, index=False)
    with pytest.raises(TrialDataError, match="column 'agent', rows 4: expected one of 1, 2, 3"):
        datasets.load_cutler2021(path)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def cutler():
    try:
        path = datasets.resolve_cutler2021()
    except FileNotFoundError as err:
        pytest.skip(f"the real data set is not available here: {err}")
    with pytest.warns(shared_datasets.DatasetNotice, match="ID 201"):
        df = datasets.load_cutler2021(path)
    return path, df


def test_real_data_counts(cutler):
    path, df = cutler
    # The file has 21,888 data rows (152 x 144) below its header line.
    assert len(df) == len(path.read_text().splitlines()) - 1 == 21_888
    assert df["subject"].nunique() == 152
    assert (df.groupby("subject").size() == 144).all()
    assert df["choice"].isna().sum() == 257 == shared_datasets.dataset_report(df).n_missed
    groups = df.groupby("subject")["group"].first().value_counts()
    assert groups.to_dict() == {"older": 77, "young": 75}  # ID 201's two sessions are older
    per_context = df.groupby(["subject", "context"]).size()
    assert (per_context == 48).all() and len(per_context) == 152 * 3
    blocks = df.groupby(["subject", "block"]).agg(
        n=("trial", "size"), contexts=("context", "nunique"), first=("trial", "first")
    )
    assert (blocks["n"] == 16).all() and (blocks["contexts"] == 1).all()
    assert (blocks["first"] == 1).all() and len(blocks) == 152 * 9


def test_real_data_shared_id_is_split_in_row_order(cutler):
    path, df = cutler
    report = shared_datasets.dataset_report(df)
    assert report.split_ids == (("201", ("201a", "201b")),)
    assert "201" not in set(df["subject"])
    rows_201 = df.index[df["source_id"] == 201]
    assert len(rows_201) == 288
    assert list(df.loc[rows_201[:144], "subject"].unique()) == ["201a"]
    assert list(df.loc[rows_201[144:], "subject"].unique()) == ["201b"]

    unsplit = datasets.load_cutler2021(path, split_shared=False, validate=False)
    with pytest.raises(TrialDataError, match="found subject '201' has 288 rows"):
        validate(unsplit)


def test_real_data_follow_three_complementary_schedules(cutler):
    _, df = cutler
    report = "\n".join(shared_datasets.dataset_report(df).notes)
    assert "each of the 1,199 complete blocks pays the high symbol" in report
    assert "the 170 in which only the high symbol was chosen show them directly" in report
    assert "missed trials: 229 of 257 lie in blocks" in report
    assert "28 in 2 blocks that fit several schedules are left NaN" in report
    observed = df["choice"].notna()
    assert (df.loc[observed, "outcome_unchosen"] == 1 - df.loc[observed, "outcome"]).all()
    # the high symbol's outcome on observed trials, from the choice and its outcome
    high = np.where(df["choice"] == 1, df["outcome"], 1 - df["outcome"])
    known = df["schedule"] > 0
    assert (df.loc[observed & known, "high_pays"] == high[observed & known]).all()
    per_block = df.groupby(["subject", "block"])
    assert (per_block["schedule"].nunique() == 1).all()
    assert (per_block["high_pays"].sum()[per_block["schedule"].first() > 0] == 12).all()


def test_real_data_arrays(cutler):
    _, df = cutler
    arrays, meta = to_arrays(df)
    assert arrays.choice.shape == (152, 9, 16)
    assert int(arrays.mask.sum()) == 21_888 - 257 and meta.n_missed == 257
    assert meta.group_labels == ("young", "older")
    assert np.bincount(meta.group_codes).tolist() == [75, 77]
    context = np.asarray(arrays.context)
    for code in range(3):  # every subject: 48 trials (3 blocks) for each recipient
        assert ((context == code).sum(axis=(1, 2)) == 48).all()
