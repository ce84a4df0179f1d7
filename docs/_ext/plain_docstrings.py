"""Read valueint's docstrings as the plain text they are written in.

The docstrings are written to be read in a terminal: ``|x|`` for an absolute value or a
determinant, an indented block after a colon for a listing of files, ````name````s for
a plural.  reStructuredText gives each of those another meaning (a substitution, a
definition list, an unclosed literal); these rewrites keep the text as written.
"""

from __future__ import annotations

import re

# a literal run straight into a letter: ``ModelSpec``s
LITERAL_THEN_LETTER = re.compile(r"(?<![`\w])(``[^`\s](?:[^`]*[^`\s])?``)(?=[A-Za-z])")
TABLE_LINE = re.compile(r"^\s*[|+]")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def plain_lines(lines: list[str]) -> list[str]:
    out = []
    for number, line in enumerate(lines):
        if not TABLE_LINE.match(line):
            line = line.replace("|", r"\|")
        line = LITERAL_THEN_LETTER.sub(r"\1\\ ", line)
        following = lines[number + 1 : number + 3]
        if (
            line.rstrip().endswith(":")
            and not line.rstrip().endswith("::")
            and len(following) == 2
            and not following[0].strip()
            and following[1].strip()
            and _indent(following[1]) > _indent(line)
            and not following[1].lstrip().startswith(("* ", "- ", ">>>", ".. "))
        ):
            line = line.rstrip() + ":"  # the indented block that follows is shown as written
        out.append(line)
    return out


def process_docstring(app, what, name, obj, options, lines):
    lines[:] = plain_lines(lines)


def setup(app):
    app.connect("autodoc-process-docstring", process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
