"""Which participants did the task: a model-free check of engagement, applied before any
fit and reported with the participants it sets aside.

A participant engaged with the trust decision trusts a peer when most of the tiles they
opened were green and not when most were red, give or take a few slips.  ``agreement``
is the share of their trials (with at least one tile, and not an even split of green
and red) on which the trust choice follows the majority of the tiles; a participant who
answers at random scores about 1/2.  Those below ``MIN_AGREEMENT`` are set aside: no
model of belief formation describes choices unrelated to the evidence, and in a
hierarchical fit such a participant is explained by an extreme prior (hundreds of
pseudo-tiles at the trust threshold) whose long ridge the sampler cannot cross.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_AGREEMENT = 2 / 3


def engagement_table(data) -> pd.DataFrame:
    """Per participant: trials scored, the agreement of trust with the tiles' majority,
    mean tiles opened and the share of trials stopped at 0 or 1 tile."""
    trials = data.trials
    red = trials.tiles - trials.green
    decisive = (trials.tiles > 0) & (trials.green != red)
    follows = (trials.trust == 1) == (trials.green > red)
    frame = pd.DataFrame(
        {
            "subject": trials.subject.astype(str),
            "decisive": decisive,
            "follows": follows & decisive,
            "tiles": trials.tiles,
            "at_most_one_tile": trials.tiles <= 1,
        }
    )
    grouped = frame.groupby("subject", sort=False)
    table = pd.DataFrame(
        {
            "decisive_trials": grouped.decisive.sum(),
            "agreement": grouped.follows.sum() / grouped.decisive.sum().replace(0, np.nan),
            "mean_tiles": grouped.tiles.mean(),
            "share_at_most_one_tile": grouped.at_most_one_tile.mean(),
        }
    )
    table["age"] = data.subjects.age.reindex(table.index).to_numpy()
    return table


def disengaged(table: pd.DataFrame, min_agreement: float = MIN_AGREEMENT) -> list[str]:
    """Participants whose trust choices follow the tiles on fewer than ``min_agreement``
    of their decisive trials (or who have none)."""
    low = table.agreement.isna() | (table.agreement < min_agreement)
    return list(table.index[low])


def exclude_disengaged(data, min_agreement: float | None = MIN_AGREEMENT):
    """(the data without disengaged participants, every participant's engagement row with
    a column ``excluded``); ``min_agreement`` None (or 0) keeps everyone."""
    table = engagement_table(data)
    dropped = set(disengaged(table, min_agreement)) if min_agreement else set()
    table["excluded"] = table.index.isin(dropped)
    if not dropped:
        return data, table
    return data.select_subjects([s for s in data.subjects.index if s not in dropped]), table
