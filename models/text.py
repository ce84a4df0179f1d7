"""Small text helpers shared by the parsers of formulas and command-line values."""

from __future__ import annotations


def top_level_split(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside brackets, braces, parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]
