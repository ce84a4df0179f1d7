"""The ``trust_sampling_ma2022`` loader: small files in the source's format, bad inputs,
path resolution, and the real file's counts.

The loader's logic is tested on small ``trials.mat`` files written here with the source's
fields, codes and dtypes, so it is checked even where the real data set is absent; the
real file is found as the loader finds it and its tests skip when it cannot be found.
"""

import math

import numpy as np
import pytest
import scipy.io

import valueint.datasets as shared_datasets
from valueint.errors import DataError
from valueint.infosampling import data

# one worker runs this file: the real file is loaded once
pytestmark = pytest.mark.xdist_group("infosampling.test_data")

# the source's dtypes (as in the real file), so the checks see what they will see there
DTYPES = {
    "subjid": np.uint8,
    "gender": np.uint8,
    "ageExact": np.float64,
    "age": np.uint8,
    "trial": np.uint8,
    "trialstart": np.float64,
    "recip": np.float64,
    "rawChoice": np.int16,
    "choice": np.int16,
    "green": np.uint8,
    "red": np.uint8,
    "open": np.uint8,
    "closed": np.uint8,
}
assert tuple(DTYPES) == data.FIELDS

ALL_TILES = "GRRGGRGRGGGRRGRGGGRRGRGGR"  # 25 tiles: 14 green
assert len(ALL_TILES) == data.MAX_TILES

# subjid: (gender, ageExact, whole-year age, trials as (reciprocation, tiles seen, trust))
# Participant 7's whole-year age disagrees with ageExact, as in the real file.
PLAN = {
    3: (0, 12.5, 12, [(0.4, "GRG", 1), (0.8, ALL_TILES, 1), (0.0, "RR", -1), (1.0, "G", 1)]),
    7: (1, 17.25, 16, [(0.2, "", -1), (0.6, "GGRGR", 1), (0.4, "R", -1), (1.0, "GGGG", 1)]),
    12: (0, 21.99, 21, [(0.0, "RRRRRR", -1), (0.2, "GR", -1), (0.8, "GG", 1), (0.6, "GRGRG", -1)]),
}
SUBJECTS = ["003", "007", "012"]


def trial_rows():
    """The plan as one row per trial: subject, trial, reciprocation, tiles, green, trust."""
    rows = []
    for subjid, (_, _, _, trials) in PLAN.items():
        for number, (recip, tiles, trust) in enumerate(trials, start=1):
            rows.append((f"{subjid:03d}", number, recip, len(tiles), tiles.count("G"), trust))
    return rows


def step_columns() -> dict[str, np.ndarray]:
    """The plan as the source's step table: one row per decision, the counts seen before it."""
    columns = {field: [] for field in data.FIELDS}
    clock = 0.0
    for subjid, (gender, age_exact, age, trials) in PLAN.items():
        for number, (recip, tiles, trust) in enumerate(trials, start=1):
            clock += 7.5
            for opened in range(len(tiles) + 1):
                stop = opened == len(tiles)
                green = tiles[:opened].count("G")
                row = {
                    "subjid": subjid,
                    "gender": gender,
                    "ageExact": age_exact,
                    "age": age,
                    "trial": number,
                    "trialstart": clock,
                    "recip": recip,
                    "rawChoice": trust if stop else 0,
                    "choice": -1 if stop else 1,
                    "green": green,
                    "red": opened - green,
                    "open": opened,
                    "closed": data.MAX_TILES - opened,
                }
                for field, value in row.items():
                    columns[field].append(value)
    return {f: np.asarray(v, dtype=DTYPES[f]) for f, v in columns.items()}


def write(path, columns):
    scipy.io.savemat(path, {"data": columns})
    return path


def row_of(columns, subjid, trial, opened):
    """The 0-based row of a step; messages number it one more."""
    (rows,) = np.nonzero(
        (columns["subjid"] == subjid) & (columns["trial"] == trial) & (columns["open"] == opened)
    )
    assert rows.size == 1
    return int(rows[0])


@pytest.fixture
def columns():
    return step_columns()


@pytest.fixture
def small_file(tmp_path, columns):
    return write(tmp_path / data.FILENAME, columns)


@pytest.fixture
def small(small_file):
    return data.load_trust_sampling(small_file)


# ----------------------------------------------------------------------------- small files


def test_folder_and_file_give_the_same_data(small_file):
    from_folder = data.load_trust_sampling(small_file.parent)
    from_file = data.load_trust_sampling(small_file)
    for name in ("steps", "trials", "subjects"):
        assert getattr(from_folder, name).equals(getattr(from_file, name))
    assert str(small_file) in from_folder.report.source


def test_step_table(small, columns):
    steps = small.steps
    assert len(steps) == len(columns["open"]) == sum(t[3] + 1 for t in trial_rows())
    assert list(steps.columns) == [
        "subject",
        "age",
        "trial",
        "reciprocation",
        "opened",
        "green",
        "decision",
        "forced",
        "trust",
    ]
    np.testing.assert_array_equal(steps.opened, columns["open"])
    np.testing.assert_array_equal(steps.green, columns["green"])
    np.testing.assert_array_equal(steps.age, columns["ageExact"])
    np.testing.assert_array_equal(steps.reciprocation, columns["recip"])
    stop = columns["choice"] == -1
    assert list(steps.decision[stop].unique()) == ["stop"]
    assert list(steps.decision[~stop].unique()) == ["open"]
    assert steps.trust[~stop].isna().all()
    np.testing.assert_array_equal(
        steps.trust[stop], (columns["rawChoice"][stop] == 1).astype(float)
    )
    # the one forced step is the stop after all 25 tiles of subject 3's trial 2
    assert list(np.flatnonzero(steps.forced)) == [row_of(columns, 3, 2, data.MAX_TILES)]
    assert list(steps.subject.unique()) == SUBJECTS


def test_trial_table(small):
    trials = small.trials
    assert list(trials.columns) == [
        "subject",
        "age",
        "trial",
        "reciprocation",
        "tiles",
        "green",
        "red",
        "forced_stop",
        "trust",
        "trial_start_s",
    ]
    expected = trial_rows()
    assert len(trials) == len(expected) == 12
    assert list(trials.subject) == [r[0] for r in expected]
    assert list(trials.trial) == [r[1] for r in expected]
    np.testing.assert_allclose(trials.reciprocation, [r[2] for r in expected])
    assert list(trials.tiles) == [r[3] for r in expected]
    assert list(trials.green) == [r[4] for r in expected]
    assert list(trials.red) == [r[3] - r[4] for r in expected]
    assert list(trials.trust) == [int(r[5] == 1) for r in expected]  # 1 trust, 0 distrust
    assert trials.trust.dtype == np.int64
    assert list(trials.forced_stop) == [r[3] == data.MAX_TILES for r in expected]
    assert trials.forced_stop.sum() == 1
    assert (trials.tiles == 0).sum() == 1
    np.testing.assert_allclose(trials.trial_start_s, 7.5 * np.arange(1, 13))
    np.testing.assert_allclose(trials.age, np.repeat([12.5, 17.25, 21.99], 4))


def test_subjects_table(small):
    subjects = small.subjects
    assert small.n_subjects == 3
    assert list(subjects.index) == SUBJECTS and subjects.index.name == "subject"
    np.testing.assert_allclose(subjects.age, [12.5, 17.25, 21.99])  # ageExact
    assert list(subjects.age_years) == [12, 17, 21]  # its floor, not the source's 'age'
    assert list(subjects.source_age) == [12, 16, 21]
    assert list(subjects.gender) == [0, 1, 0]
    assert list(subjects.n_trials) == [4, 4, 4]


def test_report(small, small_file, columns):
    report = small.report
    assert report.name == data.DIRNAME
    assert report.n_rows == len(columns["open"]) and report.n_subjects == 3
    assert report.n_missed == 0 and report.split_ids == ()
    assert dict(report.group_counts) == {"12": 1, "17": 1, "21": 1}
    notes = "\n".join(report.notes)
    assert (
        f"{len(columns['open'])} decision steps, 12 trials, 3 participants aged 12.50-21.99"
        in notes
    )
    assert "1 trials (8%) opened all 25 tiles: their stop was forced" in notes
    assert "1 trials stopped before any tile was opened (kept)" in notes
    assert (
        "disagrees with it for participant(s) 007 (age 16, ageExact 17.25): ageExact is used"
        in notes
    )
    assert "001" not in notes and "012 (age" not in notes and "003 (age" not in notes
    assert "participant numbers run from 3 to 12" in notes
    # one 25-tile trial, at one level: the replacement check cannot confirm it here
    assert "may be drawn without replacement" in notes
    assert data.SOURCE in str(report) and str(small_file) in str(report)


def test_report_when_ages_agree(tmp_path, columns):
    columns["age"][columns["subjid"] == 7] = 17
    notes = "\n".join(data.load_trust_sampling(write(tmp_path / "t.mat", columns)).report.notes)
    assert "the whole-year 'age' agrees with it everywhere" in notes


def test_select_subjects_in_the_order_given(small):
    picked = small.select_subjects(["012", "003"])
    assert list(picked.subjects.index) == ["012", "003"] and picked.n_subjects == 2
    assert list(picked.trials.subject) == ["012"] * 4 + ["003"] * 4
    assert list(picked.trials.trial) == [1, 2, 3, 4] * 2
    assert list(picked.trials.index) == list(range(8))
    assert list(picked.steps.subject.unique()) == ["012", "003"]
    assert len(picked.steps) == (small.steps.subject.isin(["012", "003"])).sum()
    for _, trial in picked.steps.groupby(["subject", "trial"], sort=False):
        assert list(trial.opened) == list(range(len(trial)))
    assert list(picked.steps.index) == list(range(len(picked.steps)))
    assert picked.report is small.report
    for subject in ("012", "003"):
        for name in ("trials", "steps"):
            mine, full = getattr(picked, name), getattr(small, name)
            assert (
                mine[mine.subject == subject]
                .reset_index(drop=True)
                .equals(full[full.subject == subject].reset_index(drop=True))
            )


def test_select_subjects_unknown_id(small):
    with pytest.raises(KeyError, match="unknown subject id.*999"):
        small.select_subjects(["003", "999"])
    with pytest.raises(KeyError, match="unknown subject id"):
        small.select_subjects(["3"])  # ids are the source's numbers as 3 digits


# ----------------------------------------------------------------------------- bad input


def set_trial(columns, subjid, trial, field, value):
    columns[field][(columns["subjid"] == subjid) & (columns["trial"] == trial)] = value


def mutate_choice_two(c):
    r = row_of(c, 3, 1, 1)
    c["choice"][r] = 2
    return "choice", [r]


def mutate_raw_choice_on_sampling(c):
    r = row_of(c, 7, 2, 3)
    c["rawChoice"][r] = 1
    return "rawChoice", [r]


def mutate_raw_choice_zero_on_stop(c):
    r = row_of(c, 12, 1, 6)
    c["rawChoice"][r] = 0
    return "rawChoice", [r]


def mutate_green_plus_red(c):
    r = row_of(c, 12, 4, 2)
    c["red"][r] += 1
    return "open", [r]


def mutate_closed(c):
    r = row_of(c, 3, 3, 1)
    c["closed"][r] = 25
    return "closed", [r]


def mutate_sampling_at_all_tiles(c):
    r = row_of(c, 3, 2, data.MAX_TILES)
    c["choice"][r], c["rawChoice"][r] = 1, 0
    return "choice", [r]


def mutate_recip(c):
    set_trial(c, 7, 4, "recip", 0.5)
    (rows,) = np.nonzero((c["subjid"] == 7) & (c["trial"] == 4))
    return "recip", list(rows)


def mutate_recip_within_trial(c):
    r = row_of(c, 7, 2, 2)
    c["recip"][r] = 0.8
    (rows,) = np.nonzero((c["subjid"] == 7) & (c["trial"] == 2))
    return "recip", list(rows)


def mutate_open_skips(c):
    # trial 3/1 seen as 0, 1, 3, 4: consistent counts, but a tile number skipped
    for opened in (3, 2):
        r = row_of(c, 3, 1, opened)
        c["open"][r] += 1
        c["green"][r] += 1
        c["closed"][r] -= 1
    return "open", [row_of(c, 3, 1, 3), row_of(c, 3, 1, 4)]


def mutate_no_stop_at_end(c):
    r = row_of(c, 7, 2, 5)  # the stop of a trial in the middle of the file
    c["choice"][r], c["rawChoice"][r] = 1, 0
    return "choice", [r]


def mutate_no_stop_at_file_end(c):
    r = len(c["open"]) - 1
    c["choice"][r], c["rawChoice"][r] = 1, 0
    return "choice", [r]


def mutate_stop_before_the_end(c):
    r = row_of(c, 12, 1, 3)
    c["choice"][r], c["rawChoice"][r] = -1, 1
    return "choice", [r]


def mutate_age_exact_varies(c):
    r = row_of(c, 12, 3, 1)
    c["ageExact"][r] = 22.5
    return "ageExact", list(np.flatnonzero(c["subjid"] == 12))


def mutate_trial_repeated(c):
    r = row_of(c, 12, 4, 0)
    set_trial(c, 12, 4, "trial", 2)  # trial 2 again, after trial 3
    return "trial", [r]


def mutate_green_falls(c):
    # green 1, 0, 2 over three steps: the counts add up, but opened tiles changed colour
    r = row_of(c, 7, 2, 2)
    c["green"][r], c["red"][r] = 0, 2
    return "green", [r, r + 1]


def mutate_negative_green(c):
    c["green"] = c["green"].astype(np.int16)
    c["red"] = c["red"].astype(np.int16)
    r = row_of(c, 7, 1, 0)
    c["green"][r], c["red"][r] = -1, 1
    return "green", [r]


def mutate_fractional_count(c):
    c["green"] = c["green"].astype(float)
    c["red"] = c["red"].astype(float)
    r = row_of(c, 3, 1, 1)
    c["green"][r], c["red"][r] = 0.5, 0.5
    return "green", [r]


def mutate_missing_value(c):
    r = row_of(c, 3, 4, 0)
    c["trialstart"][r] = np.nan
    return "trialstart", [r]


MUTATIONS = [
    mutate_choice_two,
    mutate_raw_choice_on_sampling,
    mutate_raw_choice_zero_on_stop,
    mutate_green_plus_red,
    mutate_closed,
    mutate_sampling_at_all_tiles,
    mutate_recip,
    mutate_recip_within_trial,
    mutate_open_skips,
    mutate_no_stop_at_end,
    mutate_no_stop_at_file_end,
    mutate_stop_before_the_end,
    mutate_age_exact_varies,
    mutate_trial_repeated,
    mutate_green_falls,
    mutate_negative_green,
    mutate_fractional_count,
    mutate_missing_value,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.removeprefix("mutate_"))
def test_bad_rows_name_field_and_rows(mutate, columns, tmp_path):
    field, rows = mutate(columns)
    path = write(tmp_path / data.FILENAME, columns)
    with pytest.raises(DataError) as info:
        data.load_trust_sampling(path)
    message = str(info.value)
    shown = ", ".join(str(r + 1) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    assert f"field '{field}', row(s) {shown} ({len(rows)} in all)" in message, message
    assert message.startswith(str(path)) and info.value.source == str(path)


def test_missing_field(columns, tmp_path):
    del columns["green"]
    path = write(tmp_path / data.FILENAME, columns)
    with pytest.raises(DataError, match=r"struct 'data' lacks the field\(s\) 'green'"):
        data.load_trust_sampling(path)


def test_fields_of_different_lengths(columns, tmp_path):
    columns["closed"] = columns["closed"][:-1]
    path = write(tmp_path / data.FILENAME, columns)
    with pytest.raises(DataError, match="differ in length.*'closed': 67"):
        data.load_trust_sampling(path)


def test_no_data_struct(columns, tmp_path):
    path = tmp_path / data.FILENAME
    scipy.io.savemat(path, {"steps": columns})
    with pytest.raises(DataError, match=r"expected a struct named 'data'; found \['steps'\]"):
        data.load_trust_sampling(path)


def test_not_a_matlab_file(tmp_path):
    path = tmp_path / data.FILENAME
    path.write_text("subjid,trial\n1,1\n")
    with pytest.raises(DataError, match="not a readable MATLAB file") as info:
        data.load_trust_sampling(path)
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- paths


@pytest.fixture
def no_data_env(monkeypatch, tmp_path):
    monkeypatch.delenv(data.ENV, raising=False)
    monkeypatch.delenv(shared_datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(
        shared_datasets, "REPO_ROOT", tmp_path / "repo"
    )  # no shared folder beside it


def test_explicit_path_beats_the_environment(no_data_env, tmp_path, monkeypatch, columns):
    given = write(tmp_path / "given.mat", columns)
    (tmp_path / "env").mkdir()
    write(tmp_path / "env" / data.FILENAME, columns)
    monkeypatch.setenv(data.ENV, str(tmp_path / "env"))
    assert data.resolve_trust_sampling(given) == given
    assert data.resolve_trust_sampling(tmp_path / "env") == tmp_path / "env" / data.FILENAME


def test_environment_variable_as_file_or_folder(no_data_env, tmp_path, monkeypatch, columns):
    (tmp_path / "folder").mkdir()
    in_folder = write(tmp_path / "folder" / data.FILENAME, columns)
    elsewhere = write(tmp_path / "elsewhere.mat", columns)
    monkeypatch.setenv(data.ENV, str(elsewhere))
    assert data.resolve_trust_sampling() == elsewhere
    monkeypatch.setenv(data.ENV, str(tmp_path / "folder"))
    assert data.resolve_trust_sampling() == in_folder
    assert data.load_trust_sampling().n_subjects == 3


def test_data_dir_and_the_shared_folder(no_data_env, tmp_path, monkeypatch, columns):
    beside = tmp_path / "shared" / "data" / data.DIRNAME
    beside.mkdir(parents=True)
    beside_repository = write(beside / data.FILENAME, columns)
    assert data.resolve_trust_sampling() == beside_repository
    data_dir = tmp_path / "data"
    (data_dir / data.DIRNAME).mkdir(parents=True)
    in_data_dir = write(data_dir / data.DIRNAME / data.FILENAME, columns)
    monkeypatch.setenv(shared_datasets.DATA_DIR_ENV, str(data_dir))
    assert data.resolve_trust_sampling() == in_data_dir
    monkeypatch.setenv(data.ENV, str(beside_repository))  # the data set's own variable first
    assert data.resolve_trust_sampling() == beside_repository


def test_missing_file_names_the_environment_variable(no_data_env, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        data.resolve_trust_sampling()
    message = str(info.value)
    assert "Set VALUEINT_TRUST_SAMPLING_MA2022 to the file trials.mat or its folder" in message
    assert "VALUEINT_DATA_DIR" in message and "trust_sampling_ma2022" in message
    monkeypatch.setenv(data.ENV, str(tmp_path / "absent.mat"))
    with pytest.raises(
        FileNotFoundError, match=r"absent\.mat \(\$VALUEINT_TRUST_SAMPLING_MA2022\)"
    ):
        data.load_trust_sampling()
    with pytest.raises(FileNotFoundError, match=r"nowhere.* \(the path given\)"):
        data.load_trust_sampling(tmp_path / "nowhere")


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def real():
    try:
        path = data.resolve_trust_sampling()
    except FileNotFoundError as err:
        pytest.skip(f"the real data set is not available here: {err}")
    return data.load_trust_sampling(path)


def test_real_data_counts(real):
    assert len(real.steps) == 162_145 and real.report.n_rows == 162_145
    assert len(real.trials) == 9_420
    assert real.n_subjects == 157 and real.report.n_subjects == 157
    assert (real.subjects.n_trials == 60).all()
    assert (
        real.trials.groupby("subject").trial.apply(lambda t: sorted(t) == list(range(1, 61))).all()
    )
    assert int(real.trials.forced_stop.sum()) == 2_828 == int(real.steps.forced.sum())
    assert (real.trials.tiles[real.trials.forced_stop] == data.MAX_TILES).all()
    assert int((real.trials.tiles == 0).sum()) == 142
    assert int(real.trials.trust.sum()) == 4_319
    assert set(np.round(real.trials.reciprocation, 1)) == set(data.RECIPROCATION_LEVELS)


def test_real_data_ages(real):
    ages = real.subjects.age
    assert ages.between(10, 25).all() and real.trials.age.between(10, 25).all()
    assert (real.subjects.age_years == np.floor(ages)).all()
    assert real.subjects.age_years.between(10, 24).all()
    assert sum(n for _, n in real.report.group_counts) == 157


def test_real_data_report(real):
    notes = "\n".join(real.report.notes)
    mismatch = real.subjects.index[real.subjects.age_years != real.subjects.source_age]
    assert list(mismatch) == ["141", "142"]
    assert "disagrees with it for participant(s) 141 (age 14, ageExact" in notes
    assert "142 (age 16, ageExact" in notes
    assert "tiles are draws with replacement" in notes
    assert "2,828 trials" in notes and "142 trials stopped before any tile" in notes
    assert "162,145 decision steps, 9,420 trials, 157 participants" in notes


def test_real_data_steps_and_trials_agree(real):
    steps, trials = real.steps, real.trials
    per_trial = steps.groupby(["subject", "trial"], sort=False).size().to_numpy()
    np.testing.assert_array_equal(per_trial, trials.tiles.to_numpy() + 1)
    stops = steps[steps.decision == "stop"]
    np.testing.assert_array_equal(stops.opened.to_numpy(), trials.tiles.to_numpy())
    np.testing.assert_array_equal(stops.green.to_numpy(), trials.green.to_numpy())
    np.testing.assert_array_equal(stops.subject.to_numpy(), trials.subject.to_numpy())
    np.testing.assert_array_equal(stops.trust.to_numpy(), trials.trust.to_numpy())
    assert (trials.red == trials.tiles - trials.green).all() and (trials.red >= 0).all()
    assert math.isclose(trials.trust.mean(), 4_319 / 9_420)
