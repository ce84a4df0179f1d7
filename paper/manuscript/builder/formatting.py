"""Every number's text is made here: the manuscript's source names numbers by key only."""

from __future__ import annotations

import math

MINUS = "\u2212"


def number(x: float, digits: int = 2, signed: bool = False) -> str:
    if round(x, digits) == 0:
        x, signed = 0.0, False  # neither "-0.00" nor "+0"
    text = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    return text.replace("-", MINUS)


def interval(low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    return f"[{number(low, digits, signed)}, {number(high, digits, signed)}]"


def estimate(x: float, low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    return f"{number(x, digits, signed)} {interval(low, high, digits, signed)}"


def probability(p: float, digits: int = 3) -> str:
    """A posterior probability; one estimated as 0 or 1 is bounded by the draws' resolution."""
    floor = 10.0**-digits
    if p < floor:
        return f"< {number(floor, digits)}"
    if p > 1 - floor:
        return f"> {number(1 - floor, digits)}"
    return number(p, digits)


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def count(n: float) -> str:
    return f"{int(round(n)):,}"


def significant(x: float, digits: int = 3, signed: bool = False) -> str:
    """``digits`` significant figures, in fixed notation."""
    if x == 0 or not math.isfinite(x):
        return number(x, 0, signed)
    decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    return number(x, decimals, signed)


def words(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def flag(x) -> bool:
    return str(x).strip().lower() in {"true", "1", "yes"}
