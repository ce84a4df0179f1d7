"""Validated trial frames as dense [subject, block, trial] arrays, and back.

``to_arrays`` pads every subject's blocks to one rectangle with a mask; ``TrialMeta``
keeps what is needed to read the arrays back, row by row (``gather_rows``, ``to_long``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from valueint.text import label_text
from valueint.trials.contract import TrialDataError, label_codes, missed, validate
from valueint.trials.specs import CONTEXTS, TrialArrays
from valueint.trials.subjects import covariate_kinds, subject_values


@dataclasses.dataclass(frozen=True, eq=False)
class TrialMeta:
    """What the dense arrays need to be read back: ids, labels and where each row went.

    Per subject (in order of first appearance): ``subjects``, ``groups`` (label or None),
    ``group_codes`` (index into ``group_labels``; 0 for all when there is no group column),
    ``ages`` (NaN when unknown) and ``blocks`` (the block labels in array order).
    ``covariates`` holds the subject covariates named to ``to_arrays`` (besides group), one
    row per subject (``subjects.subject_values``); it has no columns when none were named.
    ``contexts[k]`` is the label of context code k.  ``rows`` has the input frame's index
    and subject, block, trial and missed of each row; ``row_position`` is the row's
    [subject, block, trial] cell in the arrays.
    """

    subjects: tuple
    groups: tuple
    group_labels: tuple
    group_codes: np.ndarray
    ages: np.ndarray
    contexts: tuple
    blocks: tuple[tuple[int, ...], ...]
    n_missed: int
    rows: pd.DataFrame
    row_position: np.ndarray  # int [n_rows, 3]
    source: str = ""
    covariates: pd.DataFrame | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(subjects, blocks, trials) of the dense arrays."""
        return (
            len(self.subjects),
            max(map(len, self.blocks)),
            int(self.row_position[:, 2].max()) + 1,
        )

    @property
    def n_observed(self) -> int:
        return len(self.rows) - self.n_missed


def to_arrays(
    df: pd.DataFrame,
    contexts: Sequence | None = None,
    *,
    groups: Sequence | None = None,
    covariates=None,
    checked: bool = False,
) -> tuple[TrialArrays, TrialMeta]:
    """Dense [subject, block, trial] arrays for the likelihood, and the meta to read them.

    ``df`` is validated first (without the equal-count check: padding handles unequal
    counts), unless ``checked`` says ``validate`` returned it.  Subjects keep their order of first appearance, blocks are sorted by label
    within each subject, and a block's trials fill positions 0, 1, ... in increasing
    trial-number order; everything is padded to the longest block.  ``mask`` is False on
    missed and padded trials, where choice, outcome and praise are 0.  ``contexts`` gives
    the label of each context code (default self=0, other=1, none=2); ``groups`` the order
    of group codes (default: order of first appearance).  Absent optional columns give
    praise 0, present 0 and context 0.  ``covariates`` names per-subject columns to keep
    in ``meta.covariates`` (names, or {name: "numeric" | "categorical" | levels}; see
    ``subjects.covariate_kinds``); naming ``group`` there only checks that it is present
    (its levels, if given, order the group codes as ``groups`` does).
    """
    if not checked:  # a frame that ``validate`` returned is not checked again
        df = validate(df, check_counts=False)
    source = str(df.attrs.get("source") or "trial data")
    if df.empty:
        raise TrialDataError(f"{source}: no trials to put in arrays (the frame is empty)")
    subjects = tuple(pd.unique(df["subject"]))
    kinds = covariate_kinds(covariates)
    if "group" in kinds and "group" in df:  # a missing group column is reported below
        groups = _group_levels(kinds.pop("group"), groups, df["group"])
    subject_table = subject_values(df, kinds, subjects=subjects, source=source)
    s_idx = pd.Categorical(df["subject"], categories=list(subjects)).codes.astype(np.int64)
    by_subject = df.groupby("subject", sort=False)
    b_idx = by_subject["block"].rank(method="dense").to_numpy(np.int64) - 1
    by_block = df.groupby(["subject", "block"], sort=False)
    t_idx = by_block["trial"].rank(method="first").to_numpy(np.int64) - 1
    blocks = tuple(
        tuple(int(b) for b in np.unique(df["block"].to_numpy()[s_idx == i]))
        for i in range(len(subjects))
    )
    shape = (len(subjects), max(map(len, blocks)), int(t_idx.max()) + 1)
    observed = ~missed(df).to_numpy()
    first_row = np.unique(s_idx, return_index=True)[1]  # each subject's first row

    def dense(values, dtype, fill=0):
        out = np.full(shape, fill, dtype=dtype)
        out[s_idx, b_idx, t_idx] = values
        return out

    def column(name):
        if name not in df:
            return np.zeros(len(df))
        return df[name].fillna(0).to_numpy(np.float64)

    context_labels = tuple(contexts) if contexts is not None else CONTEXTS
    if "context" in df:
        context = label_codes(df["context"], context_labels, "contexts", df, source)
    else:
        context = np.zeros(len(df), dtype=np.int32)
    if "group" in df:
        group_labels = tuple(groups) if groups is not None else tuple(pd.unique(df["group"]))
        group_codes = label_codes(df["group"], group_labels, "groups", df, source)[first_row]
        subject_groups = tuple(df["group"].to_numpy()[first_row])
    else:
        group_labels, subject_groups = (), (None,) * len(subjects)
        group_codes = np.zeros(len(subjects), dtype=np.int32)
    ages = (
        df["age"].to_numpy(np.float64)[first_row] if "age" in df else np.full(len(subjects), np.nan)
    )

    # the other option's outcome (the schedule): NaN where unknown, without the column,
    # and on missed and padded trials
    unchosen = (
        df["outcome_unchosen"].to_numpy(np.float64)
        if "outcome_unchosen" in df
        else np.full(len(df), np.nan)
    )

    import jax.numpy as jnp  # after validation, so that bad data fails before JAX starts

    arrays = TrialArrays(
        choice=jnp.asarray(dense(np.where(observed, column("choice"), 0), np.int32)),
        outcome=jnp.asarray(dense(np.where(observed, column("outcome"), 0.0), np.float64)),
        praise=jnp.asarray(dense(np.where(observed, column("praise"), 0.0), np.float64)),
        present=jnp.asarray(dense(column("caregiver_present"), np.float64)),
        context=jnp.asarray(dense(context, np.int32)),
        mask=jnp.asarray(dense(observed, bool)),
        outcome_unchosen=jnp.asarray(
            dense(np.where(observed, unchosen, np.nan), np.float64, fill=np.nan)
        ),
    )
    rows = df[["subject", "block", "trial"]].assign(missed=~observed)
    meta = TrialMeta(
        subjects=subjects,
        groups=subject_groups,
        group_labels=group_labels,
        group_codes=np.asarray(group_codes, dtype=np.int32),
        ages=ages,
        contexts=context_labels,
        blocks=blocks,
        n_missed=int((~observed).sum()),
        rows=rows,
        row_position=np.stack([s_idx, b_idx, t_idx], axis=1),
        source=str(df.attrs.get("source") or ""),
        covariates=subject_table,
    )
    return arrays, meta


def _group_levels(kind, groups, labels: pd.Series):
    """The group-code order once ``group`` was named as a covariate of kind ``kind``."""
    if kind is None or kind == "categorical":
        return groups
    if kind == "numeric":
        raise ValueError("covariate 'group' holds labels: it cannot be numeric")
    if groups is not None and tuple(map(label_text, groups)) != kind:
        raise ValueError(f"group levels given twice and differently: {tuple(groups)} and {kind}")
    # The levels are text; the codes are looked up by the column's own values (e.g. 1, 2).
    by_text = {label_text(value): value for value in pd.unique(labels)}
    return tuple(by_text.get(level, level) for level in kind)


def gather_rows(values, meta: TrialMeta) -> np.ndarray:
    """Pick each input row's entry out of per-trial arrays: [..., S, B, T] -> [..., n_rows].

    Leading axes (e.g. chain and draw of a pointwise log-likelihood) are kept; entry i
    belongs to row i of ``meta.rows`` (the input frame's row order).
    """
    values = np.asarray(values)
    if values.shape[-3:] != meta.shape:
        raise ValueError(
            f"per-trial values have trailing shape {values.shape[-3:]}; "
            f"expected [subject, block, trial] = {meta.shape}"
        )
    s, b, t = meta.row_position.T
    return values[..., s, b, t]


def to_long(values, meta: TrialMeta, name: str = "value") -> pd.DataFrame:
    """Per-trial [subject, block, trial] values as a long frame aligned with the input rows.

    The frame has the input's index, the subject, block, trial and missed of each row and
    the values under ``name`` (e.g. a pointwise log-likelihood, 0 on missed trials).
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(
            f"to_long needs one value per trial, shape [subject, block, trial]; got shape "
            f"{values.shape} (gather_rows keeps leading axes)"
        )
    return meta.rows.assign(**{name: gather_rows(values, meta)})
