"""The named data set ``trust_sampling_ma2022`` as tidy step and trial tables.

Ma, Westhoff & van Duijvenvoorde (2022), *Scientific Reports* 12, 7634: 157 participants
aged 10-24, 60 trials each; on a trial the participant opens tiles that show a peer's past
reciprocation, stops when they choose, and decides whether to trust.  The source file
(``trials.mat``, a MATLAB struct of equal-length columns, one row per decision step) stays
outside the repository; ``resolve_trust_sampling`` finds it.

``load_trust_sampling`` checks every row against the task's structure (errors name the
file, the column and the rows) and returns ``TrustSamplingData``: the step table (one row
per decision: open another tile or stop), the trial table (one row per trial) and a
``DatasetReport`` of what it found and did.  The quirks it handles:

- after 25 tiles the stop is forced: the step is kept, marked ``forced``, and is not a
  stopping choice (the trust choice after it is);
- whole-year ``age`` disagrees with ``ageExact`` for a few participants: ``age`` in the
  tables is ``ageExact`` (the covariate), ``age_years`` its floor, and the disagreements
  are reported;
- participant numbers are not contiguous; they are kept as the subject ids;
- tiles are draws with replacement (at 25 tiles the number green varies at every
  reciprocation probability but 0 and 1), which the models assume; the report checks it;
- trials with no tile opened are kept.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.datasets import DatasetReport, NamedDataset, register_dataset, resolve_dataset
from valueint.errors import DataError
from valueint.infosampling.belief import MAX_TILES

ENV = "VALUEINT_TRUST_SAMPLING_MA2022"  # the .mat file, or the folder holding it
DIRNAME = "trust_sampling_ma2022"
FILENAME = "trials.mat"
SOURCE = "Ma, Westhoff & van Duijvenvoorde (2022), Sci. Rep. 12, 7634"
FIELDS = (
    "subjid",
    "gender",
    "ageExact",
    "age",
    "trial",
    "trialstart",
    "recip",
    "rawChoice",
    "choice",
    "green",
    "red",
    "open",
    "closed",
)
RECIPROCATION_LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
OPEN, STOP = 1, -1  # the source's ``choice`` codes
TRUST, DISTRUST = 1, -1  # the source's ``rawChoice`` codes on a stop step


@dataclasses.dataclass(frozen=True)
class TrustSamplingData:
    """The data set: ``steps`` (one row per decision), ``trials`` (one row per trial,
    subject and trial order as in the file), ``subjects`` (one row per participant, index
    the subject ids) and the loader's ``report``."""

    steps: pd.DataFrame
    trials: pd.DataFrame
    subjects: pd.DataFrame
    report: DatasetReport

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    def select_subjects(self, subject_ids) -> TrustSamplingData:
        """The same data for some subjects, in the order given."""
        keep = pd.Index([str(s) for s in subject_ids])
        missing = keep.difference(self.subjects.index)
        if len(missing):
            raise KeyError(f"unknown subject id(s): {', '.join(missing[:5])}")
        order = {s: i for i, s in enumerate(keep)}

        def pick(table):
            rows = table[table.subject.isin(keep)].copy()
            rows["_order"] = rows.subject.map(order)
            sort = ["_order", "trial"] + (["opened"] if "opened" in rows else [])
            return rows.sort_values(sort, kind="stable").drop(columns="_order")

        return TrustSamplingData(
            pick(self.steps).reset_index(drop=True),
            pick(self.trials).reset_index(drop=True),
            self.subjects.loc[keep],
            self.report,
        )


def resolve_trust_sampling(path: str | Path | None = None) -> Path:
    """The source file: ``path`` (file or folder), ``$VALUEINT_TRUST_SAMPLING_MA2022``,
    ``$VALUEINT_DATA_DIR/trust_sampling_ma2022`` or the shared data folder."""
    return resolve_dataset(
        path,
        env=ENV,
        dirname=DIRNAME,
        filename=FILENAME,
        label="Ma et al. (2022) trust-sampling data",
    )


def read_source(file: str | Path) -> pd.DataFrame:
    """The file's ``data`` struct as a frame of its columns (no checks but their presence)."""
    import scipy.io

    file = Path(file)
    try:
        mat = scipy.io.loadmat(file, squeeze_me=True, struct_as_record=False)
    except Exception as err:  # scipy raises several kinds for a file that is not MATLAB 5
        raise DataError(f"{file}: not a readable MATLAB file ({err})", source=str(file)) from None
    if "data" not in mat:
        raise DataError(
            f"{file}: expected a struct named 'data'; found {sorted(k for k in mat if not k.startswith('__'))}",
            source=str(file),
        )
    struct = mat["data"]
    missing = [f for f in FIELDS if f not in getattr(struct, "_fieldnames", ())]
    if missing:
        raise DataError(
            f"{file}: struct 'data' lacks the field(s) {', '.join(map(repr, missing))}",
            source=str(file),
        )
    columns = {f: np.asarray(getattr(struct, f)).ravel() for f in FIELDS}
    lengths = {f: len(v) for f, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise DataError(
            f"{file}: the fields of 'data' differ in length: {lengths}", source=str(file)
        )
    return pd.DataFrame(columns)


def _fail(file, column: str, rows, expected: str, found) -> None:
    rows = np.flatnonzero(np.asarray(rows))
    if rows.size:
        shown = ", ".join(str(r + 1) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
        values = ", ".join(map(str, pd.unique(np.asarray(found)[rows])[:5]))
        raise DataError(
            f"{file}: field '{column}', row(s) {shown} ({rows.size} in all): expected "
            f"{expected}; found {values}",
            source=str(file),
        )


def check_source(frame: pd.DataFrame, file="trials.mat") -> None:
    """Every row against the task's structure; a DataError names field and rows."""
    for column in FIELDS:
        values = pd.to_numeric(frame[column], errors="coerce")
        _fail(file, column, ~np.isfinite(values.to_numpy(float)), "a number", frame[column])
    for column in ("subjid", "gender", "age", "trial", "green", "red", "open", "closed"):
        values = frame[column].to_numpy(float)
        _fail(file, column, values != np.round(values), "a whole number", frame[column])
    _fail(
        file,
        "choice",
        ~frame.choice.isin([OPEN, STOP]),
        "1 (open a tile) or -1 (stop)",
        frame.choice,
    )
    stop = frame.choice == STOP
    _fail(
        file,
        "rawChoice",
        stop & ~frame.rawChoice.isin([TRUST, DISTRUST]),
        "1 or -1 on a stop step",
        frame.rawChoice,
    )
    _fail(
        file, "rawChoice", ~stop & (frame.rawChoice != 0), "0 on a sampling step", frame.rawChoice
    )
    _fail(file, "green", frame.green < 0, "a count (0 or more)", frame.green)
    _fail(file, "red", frame.red < 0, "a count (0 or more)", frame.red)
    _fail(file, "open", (frame.green + frame.red) != frame.open, "green + red", frame.open)
    _fail(file, "open", (frame.open < 0) | (frame.open > MAX_TILES), f"0..{MAX_TILES}", frame.open)
    _fail(
        file, "closed", frame.closed != MAX_TILES - frame.open, f"{MAX_TILES} - open", frame.closed
    )
    _fail(
        file,
        "choice",
        (frame.open == MAX_TILES) & ~stop,
        f"-1 once all {MAX_TILES} tiles are open",
        frame.choice,
    )
    levels = np.isclose(frame.recip.to_numpy(float)[:, None], RECIPROCATION_LEVELS).any(axis=1)
    _fail(file, "recip", ~levels, "one of 0, 0.2, 0.4, 0.6, 0.8, 1", frame.recip)
    _fail(
        file,
        "ageExact",
        (frame.ageExact < 5) | (frame.ageExact > 100),
        "an age in years",
        frame.ageExact,
    )
    key = frame.subjid.astype(np.int64) * 1000 + frame.trial.astype(np.int64)
    new_trial = np.r_[True, key.to_numpy()[1:] != key.to_numpy()[:-1]]
    # within a trial the steps open one tile each, from none; the stop is the last step
    expected_open = np.arange(len(frame)) - np.maximum.accumulate(
        np.where(new_trial, np.arange(len(frame)), 0)
    )
    _fail(
        file,
        "open",
        frame.open.to_numpy() != expected_open,
        "0 on a trial's first step, one more on each next",
        frame.open,
    )
    # so each next step adds one tile, green or red: green stays or grows by one
    green_step = np.diff(frame.green.to_numpy(np.int64), prepend=0)
    _fail(
        file,
        "green",
        ~new_trial & ~np.isin(green_step, (0, 1)),
        "the previous step's green or one more (one tile opened)",
        frame.green,
    )
    last = np.r_[new_trial[1:], True]
    _fail(file, "choice", last != stop.to_numpy(), "-1 on a trial's last step only", frame.choice)
    _fail(
        file,
        "trial",
        pd.Series(key).duplicated().to_numpy() & new_trial,
        "each (subjid, trial) once, its steps together",
        frame.trial,
    )
    for column, by in (
        ("recip", key),
        ("ageExact", frame.subjid),
        ("gender", frame.subjid),
        ("age", frame.subjid),
    ):
        varies = frame.groupby(by)[column].transform("nunique") > 1
        _fail(
            file,
            column,
            varies,
            f"one value per {'trial' if by is key else 'participant'}",
            frame[column],
        )


def load_trust_sampling(path: str | Path | None = None) -> TrustSamplingData:
    """The checked data set (see the module's docstring for what is handled)."""
    file = resolve_trust_sampling(path)
    source = read_source(file)
    check_source(source, file)
    subject = source.subjid.astype(np.int64).map(lambda s: f"{s:03d}")
    stop = source.choice.to_numpy() == STOP
    steps = pd.DataFrame(
        {
            "subject": subject,
            "age": source.ageExact.astype(float),
            "trial": source.trial.astype(np.int64),
            "reciprocation": source.recip.astype(float).round(1),
            "opened": source.open.astype(np.int64),
            "green": source.green.astype(np.int64),
            "decision": np.where(stop, "stop", "open"),
            "forced": stop & (source.open.to_numpy() == MAX_TILES),
            "trust": np.where(stop, (source.rawChoice.to_numpy() == TRUST).astype(float), np.nan),
        }
    )
    trials = (
        steps[stop]
        .drop(columns=["decision"])
        .rename(columns={"opened": "tiles", "forced": "forced_stop"})
    )
    trials["trust"] = trials.trust.astype(np.int64)
    trials["red"] = trials.tiles - trials.green
    trials["trial_start_s"] = source.trialstart.to_numpy(float)[stop]
    trials = trials[
        [
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
    ].reset_index(drop=True)
    per_subject = source.groupby(subject, sort=False)
    subjects = pd.DataFrame(
        {
            "age": per_subject.ageExact.first().astype(float),
            "age_years": np.floor(per_subject.ageExact.first()).astype(np.int64),
            "source_age": per_subject.age.first().astype(np.int64),
            "gender": per_subject.gender.first().astype(np.int64),
            "n_trials": trials.groupby("subject", sort=False).size(),
        }
    )
    subjects.index.name = "subject"
    report = _report(file, steps, trials, subjects)
    return TrustSamplingData(steps.reset_index(drop=True), trials, subjects, report)


def _report(file, steps, trials, subjects) -> DatasetReport:
    mismatch = subjects[subjects.age_years != subjects.source_age]
    notes = [
        f"{len(steps):,} decision steps, {len(trials):,} trials, {len(subjects)} participants "
        f"aged {subjects.age.min():.2f}-{subjects.age.max():.2f}",
        f"{int(trials.forced_stop.sum()):,} trials ({trials.forced_stop.mean():.0%}) opened all "
        f"{MAX_TILES} tiles: their stop was forced and is not scored as a choice (the trust "
        "choice is)",
        f"{int((trials.tiles == 0).sum())} trials stopped before any tile was opened (kept)",
        "age is ageExact (years, two decimals), the covariate; "
        + (
            "the whole-year 'age' disagrees with it for participant(s) "
            + ", ".join(
                f"{s} (age {int(r.source_age)}, ageExact {r.age:.2f})"
                for s, r in mismatch.iterrows()
            )
            + ": ageExact is used"
            if len(mismatch)
            else "the whole-year 'age' agrees with it everywhere"
        ),
        "participant numbers run from "
        f"{int(subjects.index.astype(int).min())} to {int(subjects.index.astype(int).max())} with "
        f"gaps ({len(subjects)} distinct): kept as the subject ids",
    ]
    full = trials[trials.tiles == MAX_TILES]
    mixed = full[(full.reciprocation > 0) & (full.reciprocation < 1)]
    varies = mixed.groupby("reciprocation").green.nunique()
    if len(varies) and (varies > 1).all():
        notes.append(
            f"tiles are draws with replacement: at {MAX_TILES} tiles the number green varies "
            "at every reciprocation level but 0 and 1 (so the belief is Beta-Bernoulli)"
        )
    else:
        notes.append(
            "at 25 tiles the green counts do not vary: tiles may be drawn without replacement"
        )
    return DatasetReport(
        name=DIRNAME,
        source=f"{SOURCE}; {file}",
        n_rows=len(steps),
        n_subjects=len(subjects),
        n_missed=0,
        group_counts=tuple(
            (str(a), int(n)) for a, n in subjects.age_years.value_counts().sort_index().items()
        ),
        split_ids=(),
        notes=tuple(notes),
    )


def write_source(data: TrustSamplingData, path: str | Path) -> Path:
    """Write ``data`` (e.g. a simulated study, ``valueint.infosampling.recovery``) as a
    file in the source's format, which ``load_trust_sampling`` reads back."""
    import scipy.io

    from valueint.records import atomic_path

    steps = data.steps
    subjects = data.subjects.reindex(steps.subject.astype(str))
    stop = (steps.decision == "stop").to_numpy()
    trust = np.nan_to_num(steps.trust.to_numpy(float))
    columns = {
        "subjid": steps.subject.astype(int).to_numpy(np.float64),
        "gender": subjects.gender.to_numpy(np.float64),
        "ageExact": subjects.age.to_numpy(np.float64),
        "age": subjects.source_age.to_numpy(np.float64),
        "trial": steps.trial.to_numpy(np.float64),
        "trialstart": np.zeros(len(steps)),
        "recip": steps.reciprocation.to_numpy(np.float64),
        "rawChoice": np.where(stop, np.where(trust == 1, TRUST, DISTRUST), 0).astype(np.float64),
        "choice": np.where(stop, STOP, OPEN).astype(np.float64),
        "green": steps.green.to_numpy(np.float64),
        "red": (steps.opened - steps.green).to_numpy(np.float64),
        "open": steps.opened.to_numpy(np.float64),
        "closed": (MAX_TILES - steps.opened).to_numpy(np.float64),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            scipy.io.savemat(handle, {"data": columns})
    return path


register_dataset(
    NamedDataset(
        "trust_sampling_ma2022",
        "infosampling",
        load_trust_sampling,
        "sampling evidence about a peer's trustworthiness, ages 10-24 (Ma et al. 2022)",
    )
)
