"""Durations as users write them: 500ms, 5s, 2m, or a number of seconds.

The one reading of a duration, shared by the experiment files and the fault
specifications, so that a value valid in one is valid in the other.
"""

from __future__ import annotations

import math
import re

DURATION_EXAMPLES = "like 500ms, 5s or 2m"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?")


def parse_duration(value: object) -> float:
    """Seconds from "500ms", "5s", "1.5s", "2m", "1h" or a plain number of seconds.

    Raises ValueError for anything else: negative or infinite numbers, and
    booleans (YAML's `true` is not one second).
    """
    if isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
        return float(match[1]) * _UNITS[match[2] or "s"]
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond any float: as good as infinite
            seconds = math.inf
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raise ValueError(f"expected a duration {DURATION_EXAMPLES}, got {value!r}")
