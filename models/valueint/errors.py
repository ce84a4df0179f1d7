"""Errors that name what was wrong and what was expected."""

import math
import tomllib
from pathlib import Path

INT32_MAX = 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38  # larger magnitudes become inf in a float32 array


class DataError(ValueError):
    """Data that cannot be used as they are: the message names the file, the column or row
    and what was expected.  Each family's own (``TrialDataError``, ``ParadigmError``) is
    one, so a caller can catch bad data of any family at once.  ``source`` names the file
    (or "trial data" for a frame given directly)."""

    def __init__(self, message: str, source: str = ""):
        super().__init__(message)
        self.source = source


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong kind or out of range.

    The message always starts with the dotted field name, e.g.
    ``caregiver.presence = 1.5 is outside the allowed range [0, 1]``.
    """


def read_toml(path, what: str, error: type[Exception]) -> dict:
    """The TOML file at ``path`` (a ``what``: config, study, paradigm) as a dict.  A missing
    file raises FileNotFoundError; one that is not TOML, or cannot be read, ``error``; each
    names the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} file at {path}")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror})") from None


def check_range(field: str, value, low=None, high=None, *, integer: bool = False):
    """Raise ConfigError unless ``value`` is a finite number with ``low <= value <= high``.

    A missing bound means unbounded for floats and the int32 range for integers
    (every integer ends up in an int32 array).
    """
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{field} = {value!r} must be {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{field} = {value!r} must be a finite number")
    if integer:
        if value != int(value):
            raise ConfigError(f"{field} = {value!r} must be {kind}")
        low = -INT32_MAX - 1 if low is None else low
        high = INT32_MAX if high is None else high
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ConfigError(f"{field} = {value!r} is outside the allowed range [{lo}, {hi}]")
    if abs(value) > FLOAT32_MAX:
        raise ConfigError(f"{field} = {value!r} must be a finite number (|x| <= {FLOAT32_MAX:.4g})")
    return int(value) if integer else float(value)


def check_vector(field: str, value, length: int, expected: str) -> list[float]:
    """A list of ``length`` finite numbers; ``expected`` says what each one is."""
    if not isinstance(value, list | tuple) or len(value) != length:
        got = len(value) if isinstance(value, list | tuple) else type(value).__name__
        raise ConfigError(f"{field} has {got} values; expected {length}{expected}")
    return [check_range(f"{field}[{i}]", v) for i, v in enumerate(value)]


def check_choice(field: str, value, choices):
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{field} = {value!r} is not one of the allowed values: {allowed}")
    return value


def check_type(field: str, value, kind: type, expected: str):
    """Raise ConfigError unless ``value`` is a ``kind`` (``expected`` says so in words)."""
    if not isinstance(value, kind):
        raise ConfigError(f"{field} = {value!r} must be {expected}")
    return value
