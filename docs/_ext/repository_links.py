"""Links from a page to files of the repository outside docs/ (the README, paper/README.md)
become download links, so that they resolve in the built site as on GitHub.

A Markdown link ``[text](../paper/README.md)`` whose target is a file outside the docs
folder is rewritten, as the page is read, to ``{download}`text <../paper/README.md>```:
Sphinx copies the file into the site and links to the copy.  Links inside docs/ are
left alone (MyST checks them), as are links with a scheme or an anchor only.
"""

from __future__ import annotations

import re
from pathlib import Path

MARKDOWN_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s#:]+)\)")


def rewrite(text: str, page: Path, srcdir: Path) -> str:
    def replace(match: re.Match) -> str:
        label, target = match.groups()
        path = (page.parent / target).resolve()
        if srcdir in path.parents or not path.is_file():
            return match.group(0)
        return f"{{download}}`{label.replace('`', '')} <{target}>`"

    return MARKDOWN_LINK.sub(replace, text)


def on_source_read(app, docname, source):
    page = Path(app.env.doc2path(docname))
    if page.suffix == ".md":
        source[0] = rewrite(source[0], page, Path(app.srcdir).resolve())


def setup(app):
    app.connect("source-read", on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
