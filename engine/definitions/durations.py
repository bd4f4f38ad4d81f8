"""Durations as merchants write them in YAML ("30d", "12h", "90s")."""

from __future__ import annotations

import re

from engine.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w)$"


def parse_duration(text: str) -> int:
    """Seconds in a duration string; the schema has already checked the shape."""
    match = re.fullmatch(r"([0-9]+)([smhdw])", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 12h, 30d, 2w)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def show_duration(seconds: int) -> str:
    """The largest unit up to days that divides it exactly, as merchants write them ("7d", "36h")."""
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if unit == "w":
            continue
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration_setting(name: str, value: str, *, never: bool = False) -> int | None:
    """Seconds from a setting's value (`15m`, `30d`); `never` (when allowed) is None. A bad or zero value names its
    variable."""
    text = value.strip()
    if never and text.lower() == "never":
        return None
    try:
        seconds = parse_duration(text)
    except ValueError:
        hint = "12h, 30d, 2w, or never" if never else "15m, 1h, 1d"
        raise ConfigError(f"{name}={text!r} is not a duration: use e.g. {hint}") from None
    if seconds <= 0:
        raise ConfigError(f"{name}={text!r}: must be longer than 0" + (" (or never)" if never else ""))
    return seconds
