"""Where named data sets are found, and what a loader reports about the one it read.

Data files stay outside the repository.  Every named data set (the trial data of Cutler
et al. 2021, the step data of Ma et al. 2022) is found by ``resolve_dataset``: an explicit
path, an environment variable of its own, ``$VALUEINT_DATA_DIR/<folder>``, or the shared
data folder beside the repository.  Each loader handles its source's quirks and says what
it did in a ``DatasetReport``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from valueint.registry import Registry

DATA_DIR_ENV = "VALUEINT_DATA_DIR"  # a folder of data sets, one subfolder each
# the source checkout: the package lives at models/valueint/ below it
REPO_ROOT = Path(__file__).resolve().parents[2]
# data shipped with the source checkout (not part of a wheel), e.g. the Zhao et al. study
SHIPPED_DATA = REPO_ROOT / "data"


class DatasetNotice(UserWarning):
    """A data set was changed on loading (e.g. a shared ID split in two); see its report."""


@dataclasses.dataclass(frozen=True)
class DatasetReport:
    """What an adapter found and did: counts, the IDs it split, and notes in plain words."""

    name: str
    source: str
    n_rows: int
    n_subjects: int
    n_missed: int
    group_counts: tuple[tuple[str, int], ...]
    split_ids: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join([f"{self.name} ({self.source})", *(f"  - {n}" for n in self.notes)])


def dataset_report(df) -> DatasetReport:
    """The report an adapter attached to the frame it returned."""
    report = df.attrs.get("report")
    if not isinstance(report, DatasetReport):
        raise ValueError("this frame carries no dataset report (it was not made by an adapter)")
    return report


def resolve_dataset(
    path: str | Path | None, *, env: str, dirname: str, filename: str, label: str
) -> Path:
    """A named data set's file, found in this order: ``path`` (the file, or its folder);
    the environment variable ``env`` (file or folder); ``$VALUEINT_DATA_DIR/<dirname>``;
    ``../shared/data/<dirname>`` beside the repository.  Not found: a FileNotFoundError
    that says where it looked and how to point at the file."""
    if path is not None:
        where, how = Path(path), "the path given"
    elif os.environ.get(env):
        where, how = Path(os.environ[env]), f"${env}"
    elif os.environ.get(DATA_DIR_ENV):
        where, how = Path(os.environ[DATA_DIR_ENV]) / dirname, f"${DATA_DIR_ENV}/{dirname}"
    else:
        where = REPO_ROOT.parent / "shared" / "data" / dirname
        how = "the shared data folder beside the repository"
    file = where / filename if where.is_dir() else where
    if file.is_file():
        return file
    raise FileNotFoundError(
        f"{label} not found at {file} ({how}). Set {env} to the file {filename} or its "
        f"folder, or {DATA_DIR_ENV} to a folder holding {dirname}/, or pass the path explicitly."
    )


@dataclasses.dataclass(frozen=True)
class NamedDataset:
    """A real data set found by name: its family, its loader (``loader(path)``, the path
    None for the default places of ``resolve_dataset``), a one-line description, and the
    model options that every fit of it starts from (``model_options``: declared once
    here, and used by every path that fits it: ``valueint fit``, ``valueint.fit`` on the
    loaded data, the analyses; an option given explicitly wins)."""

    name: str
    family: str
    loader: object
    description: str
    model_options: dict = dataclasses.field(default_factory=dict)


MODEL_OPTIONS_ATTR = "model_options"  # where loaded data carry their data set's options


def data_model_options(data) -> dict:
    """The model options that ``data`` (a frame loaded by name) carries from its data set."""
    attrs = getattr(data, "attrs", None)
    return dict(attrs.get(MODEL_OPTIONS_ATTR) or {}) if isinstance(attrs, dict) else {}


# the shipped data sets register themselves when their family's loader module is imported
NAMED_DATASETS: Registry[NamedDataset] = Registry(
    "named data set", defined_in=("valueint.trials.datasets", "valueint.infosampling.data")
)


def register_dataset(dataset: NamedDataset) -> NamedDataset:
    return NAMED_DATASETS.register(dataset.name, dataset)
