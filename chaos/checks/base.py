"""What a check is: a name, the workloads it applies to, history in and a result out, and the
SLOs it judges from that result.

As in Jepsen's `checker/compose`, a run is judged by every check the
experiment names, and the verdicts compose: a failed SLO fails the run, an
undecided one (the linearizability search ran out of time; detection where
the system's own view shows nothing) makes it `unknown`, which ranks between
held and failed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Protocol

from chaos.checks.recovery import Rules
from chaos.history import History

Outcome = Literal["held", "unknown", "failed"]
RANK: dict[Outcome, int] = {"held": 0, "unknown": 1, "failed": 2}


@dataclass(frozen=True)
class Verdict:
    """One SLO: what was expected, what was measured, whether it held, and why not."""

    slo: str
    expected: Any
    measured: Any
    outcome: Outcome
    detail: str = ""

    @property
    def held(self) -> bool:
        return self.outcome == "held"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "held": self.held}

    def line(self) -> str:
        mark = {"held": "held", "unknown": "UNKNOWN", "failed": "FAILED"}[self.outcome]
        text = f"{self.slo}: {mark}: measured {show(self.measured)}, expected {show(self.expected)}"
        return f"{text} ({self.detail})" if self.detail else text


def show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}s" if value < 1000 else f"{value:g}"
    return "never" if value is None else str(value)


def worst(verdicts: list[Verdict]) -> Outcome:
    """The composed outcome: failed if any failed, else unknown if any is, else held."""
    return max((v.outcome for v in verdicts), key=RANK.__getitem__, default="held")


class Check(Protocol):
    """One check: pure, from the history alone, and the judge of its own SLOs."""

    name: ClassVar[str]
    workloads: ClassVar[frozenset[str]]  # the workload kinds it applies to
    slos: ClassVar[tuple[str, ...]]  # the experiment's `expect` fields it judges

    def measure(self, history: History, rules: Rules) -> Any:
        """The check's result (a frozen dataclass, which metrics.json holds)."""

    def judge(self, result: Any, expect: dict[str, Any]) -> list[Verdict]:
        """A verdict for each of its SLOs the experiment sets; unset ones are not judged."""
