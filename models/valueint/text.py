"""Small text helpers shared by the parsers of formulas and command-line values, and by
the messages that quote a user's values back."""

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


def value_text(value) -> str:
    """A value as a user wrote it: 3 rather than 3.0, 'x' for text, NaN for missing."""
    import numpy as np
    import pandas as pd

    if isinstance(value, str):
        return repr(value)
    if pd.isna(value):
        return "NaN"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def label_text(value) -> str:
    """A level as text: "young" stays, 3.0 reads "3" (as the user wrote it)."""
    return value if isinstance(value, str) else value_text(value)
