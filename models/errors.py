"""Errors that name what was wrong and what was expected."""


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong kind or out of range.

    The message always starts with the dotted field name, e.g.
    ``caregiver.presence = 1.5 is outside the allowed range [0, 1]``.
    """


def check_range(field: str, value, low=None, high=None, *, integer: bool = False):
    """Raise ConfigError unless ``low <= value <= high`` (bounds may be None)."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{field} = {value!r} must be {kind}")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{field} = {value!r} must be {kind}")
    if value != value:  # NaN
        raise ConfigError(f"{field} = nan must be {kind}")
    lo = "-inf" if low is None else low
    hi = "inf" if high is None else high
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{field} = {value!r} is outside the allowed range [{lo}, {hi}]")
    return int(value) if integer else float(value)


def check_choice(field: str, value, choices):
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{field} = {value!r} is not one of the allowed values: {allowed}")
    return value
