"""Compare the figure tables of two runs of ``valueint reproduce`` (NAME.csv in each folder).

    python paper/check_figure_tables.py NEW_DIR [REFERENCE_DIR]   # reference: paper/figures

Numeric columns must agree to ``--rtol`` (relative, default 1e-6; NaN equals NaN) and all
other columns exactly.  Prints the largest relative difference per table and exits 1 on
any mismatch, so it can gate a refactor that must not change results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def compare_tables(new: pd.DataFrame, ref: pd.DataFrame, rtol: float) -> tuple[float, list[str]]:
    """(largest relative difference, problems) between two tables."""
    problems = []
    if list(new.columns) != list(ref.columns):
        return np.inf, [f"columns differ: {list(new.columns)} vs {list(ref.columns)}"]
    if len(new) != len(ref):
        return np.inf, [f"{len(new)} rows vs {len(ref)}"]
    worst = 0.0
    for column in ref.columns:
        a, b = new[column], ref[column]
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            a, b = a.to_numpy(float), b.to_numpy(float)
            both_nan = np.isnan(a) & np.isnan(b)
            scale = np.maximum(np.abs(b), np.finfo(float).tiny)
            rel = np.where(both_nan, 0.0, np.abs(a - b) / scale)
            rel = np.where(a == b, 0.0, rel)  # equal infinities
            worst = max(worst, float(np.nanmax(rel, initial=0.0)))
            bad = ~(rel <= rtol)
            if bad.any():
                row = int(np.argmax(bad))
                problems.append(
                    f"{column}: {int(bad.sum())} value(s) differ by more than {rtol:g} "
                    f"relative (first at row {row}: {a[row]!r} vs {b[row]!r})"
                )
        elif not a.astype(str).equals(b.astype(str)):
            problems.append(f"{column}: text values differ")
    return worst, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument(
        "reference", type=Path, nargs="?", default=Path(__file__).parent / "figures"
    )
    parser.add_argument("--rtol", type=float, default=1e-6)
    args = parser.parse_args(argv)
    names = sorted(p.name for p in args.reference.glob("*.csv"))
    if not names:
        print(f"no *.csv in {args.reference}", file=sys.stderr)
        return 2
    failed = False
    for name in names:
        path = args.new / name
        if not path.exists():
            print(f"{name}: missing from {args.new}")
            failed = True
            continue
        worst, problems = compare_tables(
            pd.read_csv(path), pd.read_csv(args.reference / name), args.rtol
        )
        print(f"{name}: largest relative difference {worst:.3g}" + (" FAIL" if problems else ""))
        for problem in problems:
            print(f"  {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
