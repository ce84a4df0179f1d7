"""Pieces of ``summary.md``: table cells and the convergence criterion."""

import math

import numpy as np
import pandas as pd

from valueint.analyze.prosocial_report import convergence_criterion, format_cell, markdown_table
from valueint.trials.diagnostics import ESS_MIN, RHAT_MAX


def test_the_criterion_names_the_one_set_of_thresholds():
    text = convergence_criterion()
    assert f"at most {RHAT_MAX}" in text and f"at least {ESS_MIN}" in text


def test_cells_and_table():
    assert format_cell(np.bool_(True)) == "yes" and format_cell(False) == "no"
    assert format_cell(np.int64(7)) == "7"
    assert format_cell(math.nan) == "–" and format_cell(1.23456, 3) == "1.235"
    table = pd.DataFrame({"model": ["rw"], "elpd": [-10.04], "converged": [True]})
    assert markdown_table(table, {"elpd": 1}).splitlines() == [
        "| model | elpd | converged |",
        "|---|---|---|",
        "| rw | -10.0 | yes |",
    ]
