"""Studies shared by the paradigm tests: the shipped Zhao et al. (2017) study and a
made-up one with withheld praise and an adult present at some tests."""

import numpy as np

from valueint.analyze.paradigm import shipped_dataset_dir
from valueint.paradigm.conditions import (
    Condition,
    Counts,
    FeedbackEvent,
    Paradigm,
    load_counts,
    load_paradigm,
)

ZHAO = shipped_dataset_dir()
ZHAO_PARADIGM = load_paradigm(ZHAO / "paradigm.toml")
ZHAO_COUNTS = load_counts(ZHAO / "counts.csv", ZHAO_PARADIGM)

# A second, made-up study: praise and withheld praise on two features, the adult
# present at some tests.
MADE_UP_PARADIGM = Paradigm(
    name="made_up",
    features=("effort", "ability"),
    conditions=(
        Condition("effort", (FeedbackEvent((1.0, 0.0), "praise", 3),), 0.0),
        Condition("ability", (FeedbackEvent((0.0, 1.0), "praise", 2),), 0.5),
        Condition("withheld", (FeedbackEvent((1.0, 0.0), "none", 2),), 1.0),
        Condition("watched", (), 1.0),
    ),
    choice_features=(1.0, 0.5),
    praise_slope=1.5,
    praise_bias=-0.5,
    prior_sd=1.2,
)
MADE_UP_COUNTS = Counts(
    ("effort", "ability", "withheld", "watched"),
    np.array([40, 50, 60, 30]),
    np.array([29, 31, 21, 13]),
)


def single_condition(events, slope=1.0, bias=0.0, prior_sd=1.0, disapproval=0.0) -> Paradigm:
    return Paradigm(
        name="one",
        features=("a", "b"),
        conditions=(Condition("c", tuple(events)),),
        choice_features=(1.0, 0.0),
        praise_slope=slope,
        praise_bias=bias,
        disapproval=disapproval,
        prior_sd=prior_sd,
    )


ZHAO_CSV = "condition,n_children,n_peeked\nability,100,60\nperformance,100,41\nnone,100,40\n"
