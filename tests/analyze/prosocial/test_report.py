"""Pieces of ``summary.md``: table cells, the convergence and coverage criteria."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from valueint.analyze.prosocial.report import (
    convergence_criterion,
    coverage_criterion,
    coverage_section,
    format_cell,
    markdown_table,
    simulated_outcomes_text,
)
from valueint.inference.diagnostics import ESS_MIN, RHAT_MAX


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


def test_coverage_criterion_and_the_panels_below_it():
    text = coverage_criterion(16)
    assert "at least 85%" in text and "90% posterior predictive band" in text
    assert "that is 14 or more" in text and "in 21% of panels" in text  # P(Bin(16, 0.9) < 14)
    coverage = pd.DataFrame(
        {
            "model": ["rw", "rw", "choice_kernel", "choice_kernel"],
            "group": ["young", "older", "young", "older"],
            "context": ["self", "none", "self", "none"],
            "n_points": 16,
            "n_inside": [16, 12, 15, 14],
        }
    )
    coverage["coverage"] = coverage["n_inside"] / coverage["n_points"]
    coverage["meets_criterion"] = coverage["coverage"] >= 0.85
    lines = coverage_section(coverage, best="rw")
    assert "| rw | older | none | 12/16 | 75% | no |" in "\n".join(lines).splitlines()
    assert "- `rw` (best): below 85% in older, reward for no one (75%)." in lines
    assert "- `choice_kernel`: every panel meets the criterion." in lines


def test_the_summary_says_where_simulated_outcomes_come_from():
    mask = np.array([[True, True, True, False]])
    outcome = np.array([[1.0, 0.0, 1.0, 0.0]])

    def text(unchosen):
        arrays = SimpleNamespace(mask=mask, outcome_unchosen=np.asarray([unchosen]))
        return simulated_outcomes_text(SimpleNamespace(fit_data=SimpleNamespace(arrays=arrays)))

    nan = math.nan
    assert "on all 3 observed trials" in text(1 - outcome[0])
    assert "on 2 of 3 observed trials); elsewhere they are drawn" in text([0, 1, nan, nan])
    assert text([nan] * 4).startswith("the data hold no outcome schedule")
    assert "(0.75 for the better symbol, 0.25 for the other)" in text([nan] * 4)
