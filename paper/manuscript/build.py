"""Build the manuscript from the committed run records.

    python paper/manuscript/build.py [--paper DIR] [--format pdf,html] [--allow-stale]

reads every record the paper cites (``provenance.Records``: a missing one fails, naming
it; so does one older than the package that made it), writes every cited number with the
record it came from to ``DIR/manuscript/build/values.json``, and compiles
``DIR/manuscript/paper.typ``, which reads that file and the figures, to
``DIR/manuscript/build/paper.pdf`` and ``paper.html``.  The typst source names numbers
by key only; their text is formatted here (``builder/``: one module per concern and per
study), so that the source holds none.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# the parts, and the names callers and tests use from here
import provenance  # noqa: E402, F401  (the module, for callers and tests)
from builder.calibration import calibration  # noqa: E402
from builder.criteria import converged, criteria, fit_shortfall  # noqa: E402, F401
from builder.formatting import (  # noqa: E402, F401
    count,
    estimate,
    flag,
    interval,
    number,
    percent,
    probability,
    significant,
    words,
)
from builder.limitations import limitations, provenance_note  # noqa: E402
from builder.prosocial import prosocial  # noqa: E402
from builder.simulations import simulations  # noqa: E402
from builder.trust import trust  # noqa: E402
from builder.values import Values  # noqa: E402
from builder.zhao import design, praise_cheating  # noqa: E402
from provenance import RecordError, Records  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def collect(paper_dir: Path, allow_stale: bool = False) -> dict:
    """Read every cited record under ``paper_dir`` and return the values file's content."""
    records = Records(paper_dir)
    v = Values(records)
    crit = criteria(v)
    simulations(v)
    praise_cheating(v, crit)
    design(v)
    prosocial(v, crit)
    trust(v, crit)
    calibration(v, crit)
    limitations(v, crit)
    states = records.check(allow_stale=allow_stale)
    provenance_note(v, states)
    return v.as_json(states)


def compile_paper(paper_dir: Path, formats=("pdf", "html")) -> list[Path]:
    import typst

    source = paper_dir / "manuscript" / "paper.typ"
    out = paper_dir / "manuscript" / "build"
    written = []
    for fmt in formats:
        target = out / f"paper.{fmt}"
        # system fonts ignored: typst's own fonts make the same PDF on every machine
        _, warnings = typst.compile_with_warnings(
            source, output=target, root=paper_dir, format=fmt, ignore_system_fonts=True
        )
        for warning in warnings:
            # typst marks its html export experimental, and layout (grid, align) has no html
            expected = ("html export is under active development", "during HTML export")
            if not any(text in warning.message for text in expected):
                print(f"typst warning: {warning.message}", file=sys.stderr)
        written.append(target)
    return written


def build(paper_dir: Path, formats=("pdf", "html"), allow_stale: bool = False) -> list[Path]:
    paper_dir = Path(paper_dir).resolve()
    content = collect(paper_dir, allow_stale=allow_stale)
    out = paper_dir / "manuscript" / "build"
    out.mkdir(parents=True, exist_ok=True)
    values = out / "values.json"
    values.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    return [values, *compile_paper(paper_dir, formats)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--paper", type=Path, default=REPO / "paper", help="the paper folder (default: paper/)"
    )
    parser.add_argument("--format", default="pdf,html", help="comma-separated: pdf, html")
    parser.add_argument(
        "--allow-stale",
        action="store_true",
        help="build a draft that lists stale records instead of failing",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        written = build(args.paper, tuple(args.format.split(",")), args.allow_stale)
    except RecordError as error:
        print(f"paper: {error}", file=sys.stderr)
        return 1
    except RuntimeError as error:  # typst.TypstError: the source asks for what is not there
        print(f"paper: typst: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"built in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
