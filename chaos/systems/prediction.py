"""What a system's own settings predict for a fault: a band for detection and unavailability,
and the protocol mechanism behind it in plain words.

Each system's package implements `System.mechanism` with its product's
rules (Raft's randomised election timeout, Zab's syncLimit, SWIM's
suspicion timeout, phi accrual, the Redis Cluster node timeout); runs,
reports and comparisons put the band beside what was measured and flag a
measurement outside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Faults after which the target is silent to its peers: what every failure detector times out on.
SILENCING = frozenset({"kill", "stop", "restart", "pause", "isolate", "majority-minority"})
# Faults that end the process: the kernel closes its sockets, so peers see them drop at once.
PROCESS_DEATH = frozenset({"kill", "stop", "restart"})
# The suite samples each node's view every 100 ms: a detection is seen up to this late.
SAMPLING_S = 0.1


@dataclass(frozen=True)
class FaultShape:
    """What about a run's faults decides which timeout a system waits out."""

    on_leader: bool  # some fault is aimed at the leader
    silences: bool  # every fault leaves its target silent to its peers
    kills: bool  # every fault ends the process, so its sockets close at once

    @classmethod
    def of(cls, faults: Iterable[tuple[str, object]]) -> FaultShape:
        """From (kind, target) pairs."""
        pairs = list(faults)
        kinds = {kind for kind, _ in pairs}
        return cls(
            on_leader=any(target == "leader" for _, target in pairs),
            silences=bool(kinds) and kinds <= SILENCING,
            kills=bool(kinds) and kinds <= PROCESS_DEATH,
        )


@dataclass(frozen=True)
class Band:
    """Seconds from the fault's request within which the settings put a figure."""

    low_s: float
    high_s: float

    def holds(self, measured: float | None, sampling_s: float = SAMPLING_S) -> bool:
        """Whether a measurement lies in the band, allowing for the view's sampling."""
        return measured is not None and self.low_s - sampling_s <= measured <= self.high_s + (
            sampling_s
        )

    def text(self) -> str:
        return f"{self.low_s:.2f}-{self.high_s:.2f} s"


@dataclass(frozen=True)
class Mechanism:
    """How a system notices a fault, what stops meanwhile and how a node rejoins, each a clause
    naming the values the run had, and the bands those values predict."""

    detects: str
    serves: str
    rejoins: str
    detail: str = ""
    detect: Band | None = None
    unavailable: Band | None = None

    def clause(self, figure: str) -> str:
        """The clause that governs a figure of docs/metrics.md."""
        if figure == "time_to_detect_s":
            return self.detects
        if figure == "recovery_after_heal_s":
            return self.rejoins
        return self.serves

    def band(self, figure: str) -> Band | None:
        return {"time_to_detect_s": self.detect, "unavailability_s": self.unavailable}.get(figure)
