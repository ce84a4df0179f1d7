"""Real data sets mapped onto the canonical trial schema (``valueint.trials.schema``).

Data files stay outside the repository; they are found through an explicit path or an
environment variable.  Each adapter maps the source's columns to canonical ones, handles
the source's known quirks and says what it did in a ``DatasetReport``.
"""

from __future__ import annotations

import dataclasses
import logging
import string
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from valueint.datasets import (
    DatasetNotice,
    DatasetReport,
    NamedDataset,
    register_dataset,
    resolve_dataset,
)
from valueint.trials import contract
from valueint.trials.contract import TrialDataError
from valueint.trials.schema import usual_trial_count

logger = logging.getLogger(__name__)

CUTLER2021_ENV = "VALUEINT_CUTLER2021"  # the data file, or the folder holding trials.csv
CUTLER2021_DIRNAME = "prosocial_learning_cutler2021"
CUTLER2021_FILENAME = "trials.csv"

# Codes used by the source's own scripts.
CUTLER2021_RECIPIENTS = {1: "self", 2: "other", 3: "none"}
CUTLER2021_GROUPS = {1: "young", 2: "older"}
CUTLER2021_SOURCE_COLUMNS = ("ID", "agent", "choice", "outcome", "RT", "block", "group", "trialno")
CUTLER2021_TRIALS_PER_BLOCK = 16
CUTLER2021_TRIALS_PER_SUBJECT = 3 * 3 * CUTLER2021_TRIALS_PER_BLOCK  # recipients x blocks x trials
# The task's outcome schedules: per trial 1-16 of a block, 1 where the high-reward symbol
# pays (the low one then does not, and pays where the high one does not).  Read off the
# data: the 170 blocks in which only the high symbol was chosen show exactly these three
# sequences; ``load_cutler2021`` checks every block against them (``schedule_check``).
CUTLER2021_SCHEDULES = (
    "1011101101110111",
    "1110101101111011",
    "1101110110110111",
)


# ----------------------------------------------------------------------------- paths


def resolve_cutler2021(path: str | Path | None = None) -> Path:
    """The Cutler et al. (2021) trial file, found in this order.

    1. ``path`` (the file, or its folder);
    2. the environment variable ``VALUEINT_CUTLER2021`` (file or folder);
    3. ``$VALUEINT_DATA_DIR/prosocial_learning_cutler2021``;
    4. ``../shared/data/prosocial_learning_cutler2021`` beside the repository, if it exists.
    """
    return resolve_dataset(
        path,
        env=CUTLER2021_ENV,
        dirname=CUTLER2021_DIRNAME,
        filename=CUTLER2021_FILENAME,
        label="Cutler et al. (2021) trial data",
    )


# ----------------------------------------------------------------------------- shared IDs


def split_shared_ids(
    df: pd.DataFrame,
    *,
    subject: str = "subject",
    key: Sequence[str] = ("block", "trial"),
    rows_per_subject: int | None = None,
) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """Split IDs that hold k complete sessions (k x the usual rows) into k subjects, in row order.

    The i-th run of ``rows_per_subject`` rows of such an ID (default: the usual row count
    per subject) becomes subject ``f"{id}{letter}"`` with letters a, b, c, ...; each run
    must hold every ``key`` (e.g. block and trial) at most once, so that a real session is
    not cut in two.  The subject column becomes text when anything is split.  Returns the
    new frame (same rows, same order) and a map from each split ID to its new IDs.
    """
    counts = df.groupby(subject, sort=False).size()
    usual = rows_per_subject or usual_trial_count(df.rename(columns={subject: "subject"}))
    if usual is None:
        return df, {}
    shared = counts[(counts > usual) & (counts % usual == 0)]
    if shared.empty:
        return df, {}
    ids = df[subject].astype(str)
    taken = set(ids)
    split: dict[str, tuple[str, ...]] = {}
    for old, n_rows in shared.items():
        n_sessions = n_rows // usual
        new_ids = tuple(f"{old}{letter}" for letter in string.ascii_lowercase[:n_sessions])
        if n_sessions > len(string.ascii_lowercase) or taken & set(new_ids):
            raise TrialDataError(
                f"cannot split subject {old!r} into {n_sessions} sessions: "
                f"the new IDs {', '.join(new_ids)} are taken or too many"
            )
        rows = df.index[df[subject] == old]
        session = np.arange(len(rows)) // usual
        for i in range(n_sessions):
            part = df.loc[rows[session == i], list(key)]
            if part.duplicated().any():
                raise TrialDataError(
                    f"subject {old!r} has {n_rows} rows ({n_sessions} x {usual}), but rows "
                    f"{i * usual + 1}-{(i + 1) * usual} of that subject repeat a "
                    f"({', '.join(key)}) and so are not one complete session; "
                    "give the participants distinct IDs by hand"
                )
        ids.loc[rows] = np.asarray(new_ids)[session]
        split[str(old)] = new_ids
    out = df.copy()
    out[subject] = ids
    return out, split


# ----------------------------------------------------------------------------- Cutler 2021


def _read_cutler2021_source(file: Path) -> pd.DataFrame:
    raw = pd.read_csv(file, encoding="utf-8-sig")  # the original file starts with a BOM
    absent = [c for c in CUTLER2021_SOURCE_COLUMNS if c not in raw.columns]
    if absent:
        raise TrialDataError(
            f"{file}: not the Cutler et al. (2021) trial file: missing column(s) "
            f"{', '.join(absent)}; expected {', '.join(CUTLER2021_SOURCE_COLUMNS)}",
            source=str(file),
        )
    for column, codes in (("agent", CUTLER2021_RECIPIENTS), ("group", CUTLER2021_GROUPS)):
        bad = ~raw[column].isin(list(codes))
        if bad.any():
            rows = ", ".join(str(i + 1) for i in raw.index[bad][:5])
            found = ", ".join(map(str, raw[column][bad].unique()[:5]))
            raise TrialDataError(
                f"{file}: column '{column}', rows {rows}: expected one of "
                f"{', '.join(map(str, codes))}; found {found}",
                source=str(file),
            )
    return raw


def _presentation_blocks(subject: pd.Series, block_key: pd.Series, trial: pd.Series) -> np.ndarray:
    """Number each subject's blocks 1, 2, ... in order of presentation (row order).

    A new block starts where ``block_key`` (recipient and source block) changes or the
    trial number does not go up.
    """
    frame = pd.DataFrame({"s": subject, "r": block_key, "t": trial})
    previous = frame.groupby("s", sort=False).shift()
    starts = previous["r"].isna() | (frame["r"] != previous["r"]) | (frame["t"] <= previous["t"])
    return starts.groupby(frame["s"], sort=False).cumsum().to_numpy(np.int64)


@dataclasses.dataclass(frozen=True)
class ScheduleCheck:
    """How the blocks' outcomes fit fixed, complementary schedules (``schedule_check``).

    Per block (rows of ``blocks``: subject, block, n_missed, n_low (observed choices of
    the low symbol), n_fitting (schedules its observed outcomes fit) and schedule (its
    number, 1-based, where exactly one fits; 0 otherwise)).  ``holds`` when every block
    fits at least one schedule, so that the low symbol paid exactly where the high one
    did not on every observed trial.
    """

    schedules: tuple[str, ...]
    blocks: pd.DataFrame

    @property
    def holds(self) -> bool:
        return bool((self.blocks["n_fitting"] > 0).all())

    def notes(self) -> list[str]:
        """The check and what was done, in words for the dataset report."""
        b = self.blocks
        complete = b[b["n_missed"] == 0]
        if not self.holds:
            return [
                f"outcomes do not follow the {len(self.schedules)} fixed complementary "
                f"schedules: {int((b['n_fitting'] == 0).sum())} of {len(b)} blocks fit none; "
                "outcome_unchosen is left unknown (NaN), so simulations draw outcomes from "
                "the models' reward probabilities"
            ]
        used = complete["schedule"].value_counts().sort_index()
        only_high = int((complete["n_low"] == 0).sum())
        notes = [
            f"outcomes follow fixed, complementary schedules (checked on every block): each "
            f"of the {len(complete):,} complete blocks pays the high symbol on the trials of "
            f"one of {len(self.schedules)} schedules "
            f"({', '.join(str(s.count('1')) for s in self.schedules)} of "
            f"{CUTLER2021_TRIALS_PER_BLOCK} trials; used by "
            + ", ".join(str(int(used.get(k, 0))) for k in range(1, len(self.schedules) + 1))
            + f" blocks; the {only_high} in which only the high symbol was chosen show them "
            f"directly), and all {int(b['n_low'].sum()):,} observed choices of the low "
            "symbol paid exactly where the schedule's high symbol did not; so "
            "outcome_unchosen = 1 - outcome on observed trials (simulations replay it)"
        ]
        with_missed = b[b["n_missed"] > 0]
        known = with_missed["schedule"] > 0
        notes.append(
            f"missed trials: {int(with_missed.loc[known, 'n_missed'].sum())} of "
            f"{int(with_missed['n_missed'].sum())} lie in blocks whose observed trials fit "
            "exactly one schedule, so their outcomes are recovered (column high_pays, the "
            "high symbol's; schedule gives the block's schedule, 1-"
            f"{len(self.schedules)}); {int(with_missed.loc[~known, 'n_missed'].sum())} in "
            f"{int((~known).sum())} blocks that fit several schedules are left NaN. "
            "outcome_unchosen stays NaN on missed trials (no option was chosen; simulations "
            "keep them missed)"
        )
        return notes


def schedule_check(df: pd.DataFrame, schedules: Sequence[str] = CUTLER2021_SCHEDULES):
    """Fit each block's observed outcomes to fixed schedules of complementary outcomes.

    On an observed trial the high symbol's outcome is the outcome if it was chosen and
    1 - outcome if the low one was (complementary outcomes); a block fits a schedule when
    those agree with it on every observed trial.  Returns the ``ScheduleCheck`` and, per
    row of ``df``, the high symbol's outcome where the block's schedule is known (from
    the one schedule it fits; NaN otherwise) and the block's schedule number (0 unknown).
    """
    table = np.array([[int(c) for c in s] for s in schedules], dtype=np.float64)
    position = df["trial"].to_numpy(np.int64) - 1
    choice, outcome = df["choice"].to_numpy(np.float64), df["outcome"].to_numpy(np.float64)
    observed = ~np.isnan(choice)
    high_pays = np.where(choice == 1, outcome, 1 - outcome)
    # fits[i, k]: row i agrees with schedule k (missed rows agree with every schedule)
    fits = ~observed[:, None] | (table[:, position].T == high_pays[:, None])
    keys = [df["subject"], df["block"]]
    per_block = pd.DataFrame(fits).groupby(keys, sort=False).transform("all").to_numpy()
    n_fitting = per_block.sum(axis=1)
    schedule = np.where(n_fitting == 1, per_block.argmax(axis=1) + 1, 0)
    rows = pd.DataFrame(
        {
            "n_missed": ~observed,
            "n_low": choice == 0,
            "n_fitting": n_fitting,
            "schedule": schedule,
        }
    )
    blocks = rows.groupby(keys, sort=False).agg(
        n_missed=("n_missed", "sum"),
        n_low=("n_low", "sum"),
        n_fitting=("n_fitting", "first"),
        schedule=("schedule", "first"),
    )
    recovered = np.where(schedule > 0, table[np.maximum(schedule - 1, 0), position], np.nan)
    check = ScheduleCheck(tuple(schedules), blocks.reset_index(names=["subject", "block"]))
    return check, recovered, schedule


def load_cutler2021(
    path: str | Path | None = None, *, split_shared: bool = True, validate: bool = True
) -> pd.DataFrame:
    """Trial-by-trial choices of Cutler et al. (2021), prosocial learning in young and older adults.

    Canonical columns: ``subject`` (text: the source ID, with a/b for the shared ID),
    ``block`` (1-9 per subject in order of presentation), ``trial`` (1-16), ``choice``
    (1 = the high-reward symbol; NaN = missed), ``outcome`` (1 rewarded, 0 not; NaN =
    missed), ``outcome_unchosen`` (the outcome the other symbol would have given: 1 -
    outcome; NaN = missed), ``context`` (the block's recipient: "self", "other" or
    "none"), ``group`` ("young" or "older"); extra columns ``source_id``, ``source_block``
    (1-3 within the recipient), ``rt`` (reaction time in ms), ``schedule`` (the block's
    outcome schedule, 1-3 in ``CUTLER2021_SCHEDULES``; 0 where its observed trials fit
    several) and ``high_pays`` (the high symbol's outcome on every trial of a block with a
    known schedule, missed trials included; NaN otherwise).  Row order is the file's.

    The task paid by fixed schedules: on every trial exactly one symbol pays, and each
    block follows one of three schedules in which the high symbol pays on 12 of 16
    trials.  The loader checks this on the data (``schedule_check``) before it writes
    ``outcome_unchosen``, ``schedule`` and ``high_pays``; where the check fails they are
    left out and the report says so.

    Quirks handled: ID 201 holds two participants' complete sessions (288 rows); with
    ``split_shared`` they become subjects "201a" (its first 144 rows) and "201b" (the
    next 144), giving the 152 participants of the source's analysis.  Missed trials are
    kept (masked later).  The report (``dataset_report(df)``) lists what was done.  With
    ``validate`` the frame is checked against the trial schema (an unsplit ID 201 fails the
    equal-count check); ``validate=False`` returns it unchecked.
    """
    file = resolve_cutler2021(path)
    raw = _read_cutler2021_source(file)
    notes = [f"{len(raw):,} rows, {raw['ID'].nunique()} distinct IDs in the source file"]

    ids = raw["ID"].astype(str).rename("subject")
    split: dict[str, tuple[str, ...]] = {}
    if split_shared:
        keyed = raw.assign(subject=ids)
        keyed, split = split_shared_ids(
            keyed,
            key=("agent", "block", "trialno"),
            rows_per_subject=CUTLER2021_TRIALS_PER_SUBJECT,
        )
        ids = keyed["subject"]
    for old, new in split.items():
        n = CUTLER2021_TRIALS_PER_SUBJECT
        notes.append(
            f"ID {old} has {n * len(new)} rows: {len(new)} complete sessions of {n} trials "
            f"share the code; split in row order into subjects {', '.join(new)} "
            f"({n} rows each), as the source's analysis counts them"
        )

    df = pd.DataFrame(
        {
            "subject": ids,
            "block": _presentation_blocks(ids, raw["agent"] * 10 + raw["block"], raw["trialno"]),
            "trial": raw["trialno"].astype(np.int64),
            "choice": raw["choice"].astype(np.float64),
            "outcome": raw["outcome"].astype(np.float64),
            "context": raw["agent"].map(CUTLER2021_RECIPIENTS).astype(str),
            "group": raw["group"].map(CUTLER2021_GROUPS).astype(str),
            "source_id": raw["ID"].astype(np.int64),
            "source_block": raw["block"].astype(np.int64),
            "rt": raw["RT"].astype(np.float64),
        },
        index=raw.index,
    )
    n_missed = int(df["choice"].isna().sum())
    notes.append(
        f"{n_missed} missed trials (no choice, outcome or RT) are kept and masked in the likelihood"
    )
    n_blocks = df.groupby("subject", sort=False)["block"].max()
    notes.append(
        "blocks are numbered per subject in order of presentation "
        f"(1-{n_blocks.max()}); recipient in 'context', the source's block number (1-3 "
        "within the recipient) in 'source_block'"
    )
    check, high_pays, schedule = schedule_check(df)
    notes += check.notes()
    if check.holds:
        df["outcome_unchosen"] = 1.0 - df["outcome"]  # NaN stays NaN on missed trials
        df["high_pays"] = high_pays
        df["schedule"] = schedule
    by_id_rule = np.where(df["source_id"] < 200, "young", "older")
    if (by_id_rule != df["group"].to_numpy()).any():
        notes.append("warning: the group column disagrees with the ID rule (below 200 = young)")
    groups = df.groupby("subject", sort=False)["group"].first().value_counts()
    group_counts = tuple((g, int(groups.get(g, 0))) for g in CUTLER2021_GROUPS.values())
    notes.append(
        f"{df['subject'].nunique()} subjects: " + ", ".join(f"{n} {g}" for g, n in group_counts)
    )

    df.attrs["source"] = str(file)
    if validate:
        df = contract.validate(df, ("context", "outcome", "group"), source=file)
    report = DatasetReport(
        name="Cutler et al. (2021) prosocial learning",
        source=str(file),
        n_rows=len(df),
        n_subjects=int(df["subject"].nunique()),
        n_missed=n_missed,
        group_counts=group_counts,
        split_ids=tuple(split.items()),
        notes=tuple(notes),
    )
    df.attrs.update(source=str(file), n_missed=n_missed, report=report)
    for note in notes:
        logger.info("cutler2021: %s", note)
    if split:
        warnings.warn(
            DatasetNotice(f"{file}: " + "; ".join(n for n in notes if n.startswith("ID "))),
            stacklevel=2,
        )
    return df


register_dataset(
    NamedDataset(
        "cutler2021",
        "trials",
        load_cutler2021,
        "prosocial learning in young and older adults (Cutler et al. 2021)",
        # Q of both symbols at a block's start: 0.5, the mean payoff of a symbol (12 of 16
        # trials pay the better one, 4 the worse).  With 0 a first unrewarded choice
        # teaches a delta rule nothing (the chosen value stays at 0, the other's), yet
        # participants switch after it.
        model_options={"q_init": 0.5},
    )
)
