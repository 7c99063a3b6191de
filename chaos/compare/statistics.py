"""The statistics of a comparison: order-statistic intervals for a median from a handful of
runs, with no resampling (so no seed) and their true coverage stated."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

NEVER = math.inf
CONFIDENCE = 0.95
MIN_RUNS_FOR_INTERVAL = 3
TOO_FEW = "too few runs for an interval"


def median_interval(n: int) -> tuple[int, float] | None:
    """Rank k of the order-statistic interval [x(k), x(n-k+1)] for a median of n, and its coverage.

    The narrowest such interval whose coverage reaches 95 %; below 6 values none
    does, so min-max (k = 1) with its lower coverage; below 3 values, none.
    """
    if n < MIN_RUNS_FOR_INTERVAL:
        return None

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = max((k for k in range(1, (n + 1) // 2 + 1) if coverage(k) >= CONFIDENCE), default=1)
    return k, coverage(k)


@dataclass(frozen=True)
class Distribution:
    """One measure across a series' runs, in seconds, sorted; NEVER ranks last."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def never(self) -> int:
        return self.values.count(NEVER)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        return self.values[-(-95 * self.n // 100) - 1]

    @property
    def interval(self) -> tuple[float, float, float] | None:
        """(low, high, coverage) of the median's interval, or None with too few runs."""
        found = median_interval(self.n)
        if found is None:
            return None
        k, coverage = found
        return self.values[k - 1], self.values[self.n - k], coverage

    def interval_text(self) -> str:
        if self.interval is None:
            return TOO_FEW
        low, high, coverage = self.interval
        return f"{secs(low)} - {secs(high)} ({round(coverage * 100, 2):g} % coverage)"

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "n": self.n,
            "never": self.never,
            "values": [_json_seconds(v) for v in self.values],
            "median": _json_seconds(self.median),
            "p95": _json_seconds(self.p95),
            "min": _json_seconds(self.values[0]),
            "max": _json_seconds(self.values[-1]),
            "median_interval": None
            if interval is None
            else {
                "low": _json_seconds(interval[0]),
                "high": _json_seconds(interval[1]),
                "coverage": interval[2],
            },
            "interval_note": self.interval_note,
        }

    @property
    def interval_note(self) -> str:
        if self.interval is None:
            return TOO_FEW
        if self.interval[2] < CONFIDENCE:
            return "min-max of fewer than 6 runs: its coverage is below 95 %"
        return "order-statistic interval: coverage at least 95 %"


def _json_seconds(value: float) -> float | str:
    return "never" if value == NEVER else value


def secs(value: float) -> str:
    return "never" if value == NEVER else f"{value:.2f} s"
