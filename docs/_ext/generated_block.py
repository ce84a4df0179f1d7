"""What the site's generating directives share: Markdown lines made from the code, parsed
in place of the directive, inside a container a stylesheet or a test can find."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList


def generated_block(directive, produce, *, label, node_id, css_class, errors):
    """The nodes of ``produce()``'s Markdown lines; an error of ``errors`` while making
    them fails the build, prefixed with ``label``."""
    try:
        lines = produce()
    except errors as err:
        raise directive.error(f"{label}: {err}") from None
    container = nodes.container(ids=[node_id], classes=[css_class])
    directive.state.nested_parse(StringList(lines, source=label), 0, container)
    return [container]
