"""The trials of the prosocial-learning analysis: loaded (or checked), cut to the
subjects asked for, and turned into the arrays the models see."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from valueint.analyze.prosocial.settings import CONTEXT_ORDER, GROUP_ORDER


@dataclasses.dataclass(frozen=True)
class PreparedData:
    """The trials analysed (after any subsetting) and the arrays the models see."""

    frame: pd.DataFrame
    fit_data: Any  # valueint.trials.fit_data.FitData
    groups: tuple[str, str]  # (reference, compared)
    source: str
    file_sha256: str | None
    report: Any  # datasets.DatasetReport, or None for a frame given directly


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def group_levels(frame: pd.DataFrame) -> tuple[str, str]:
    """The two age groups, reference first: (young, older) when those are the labels,
    else in order of first appearance."""
    if "group" not in frame:
        raise ValueError("the trials have no 'group' column; the analysis compares two groups")
    levels = tuple(str(g) for g in pd.unique(frame["group"]))
    if len(levels) != 2:
        raise ValueError(
            f"column 'group' must hold exactly two groups to compare; found {len(levels)}: "
            f"{', '.join(levels)}"
        )
    return GROUP_ORDER if set(levels) == set(GROUP_ORDER) else levels


def select_subjects(frame: pd.DataFrame, per_group: int | None) -> pd.DataFrame:
    """The first ``per_group`` subjects of each group, in order of appearance (all if None)."""
    if per_group is None:
        return frame
    first = frame.drop_duplicates("subject")[["subject", "group"]]
    kept = first.groupby("group", sort=False).head(per_group)["subject"]
    subset = frame[frame["subject"].isin(set(kept))]
    subset.attrs = dict(frame.attrs)
    return subset


def load_trials_frame(data) -> tuple[pd.DataFrame, str, str | None, Any]:
    """(trial frame, source, file sha256, dataset report) from a path, None or a frame."""
    import valueint.datasets as shared_datasets
    from valueint.trials import contract as trials
    from valueint.trials import datasets

    if isinstance(data, pd.DataFrame):
        frame = trials.validate(data, ("context", "outcome", "group"))
        return frame, str(data.attrs.get("source") or "a trial frame given in memory"), None, None
    file = datasets.resolve_cutler2021(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", shared_datasets.DatasetNotice)  # the report says it
        frame = datasets.load_cutler2021(file)
    return frame, str(file), file_sha256(file), shared_datasets.dataset_report(frame)


def prepare_data(data, subjects_per_group: int | None = None) -> PreparedData:
    """Load (or check) the trials, keep the subjects asked for, build the model arrays."""
    from valueint.trials.arrays import to_arrays
    from valueint.trials.fit_data import as_fit_data

    frame, source, sha, report = load_trials_frame(data)
    groups = group_levels(frame)
    frame = select_subjects(frame, subjects_per_group)
    unknown = sorted(set(frame["context"]) - set(CONTEXT_ORDER))
    if unknown:
        raise ValueError(
            f"{source}: column 'context' holds {', '.join(map(repr, unknown))}; "
            f"expected the recipients {', '.join(CONTEXT_ORDER)}"
        )
    # context codes follow CONTEXT_ORDER (0 self, 1 other, 2 none), as the models expect
    fit_data = as_fit_data(to_arrays(frame, CONTEXT_ORDER, groups=groups))
    return PreparedData(frame, fit_data, groups, source, sha, report)
