"""SLO verdicts: each expectation of an experiment against what the checks measured.

A measurement that never happened (an outage that never ended, a fault
never detected) fails its SLO: absence of evidence is not recovery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chaos.checks.recovery import RecoveryReport

# SLO name -> the per-fault figure it judges, in seconds (see chaos.checks.recovery)
_PER_FAULT = {
    "max_unavailability": "unavailability_s",
    "max_blackout": "blackout_s",
    "max_time_to_detect": "time_to_detect_s",
    "max_time_to_recover": "throughput_recovered_s",
    "recovery_after_heal": "recovery_after_heal_s",
}


@dataclass(frozen=True)
class Verdict:
    """One SLO: what was expected, what was measured, whether it held, and why not."""

    slo: str
    expected: Any
    measured: Any
    held: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        mark = "held" if self.held else "FAILED"
        text = (
            f"{self.slo}: {mark}: measured {_show(self.measured)}, expected {_show(self.expected)}"
        )
        return f"{text} ({self.detail})" if self.detail else text


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}s" if value < 1000 else f"{value:g}"
    return "never" if value is None else str(value)


def per_fault_seconds(recovery: RecoveryReport) -> dict[str, list[float | None]]:
    """Each judged figure per fault, in seconds, None where it never happened."""
    return {
        figure: [getattr(fault, figure) for fault in recovery.faults]
        for figure in _PER_FAULT.values()
    }


def _unobservable(recovery: RecoveryReport) -> str:
    """Why a detection SLO cannot hold: the system's own view shows none for these faults."""
    notes = {f.detection.note for f in recovery.faults if not f.detection.observable}
    return "; ".join(sorted(n for n in notes if n))


def evaluate(
    expect: dict[str, Any], metrics: dict[str, Any], recovery: RecoveryReport
) -> list[Verdict]:
    """A verdict for every SLO the experiment sets; unset SLOs are measured, not judged."""
    verdicts = []
    seconds = per_fault_seconds(recovery)
    for slo, limit in expect.items():
        if limit is None:
            continue
        if slo in _PER_FAULT:
            measured = seconds[_PER_FAULT[slo]]
            worst = None if not measured or None in measured else max(measured)  # type: ignore[type-var]
            if not measured:
                verdicts.append(Verdict(slo, limit, None, False, "no fault was injected"))
            else:
                held = worst is not None and worst <= limit
                detail = "" if held or worst is not None else "it never happened during the run"
                if slo == "max_time_to_detect" and worst is None and _unobservable(recovery):
                    detail = f"not observable: {_unobservable(recovery)}"
                verdicts.append(Verdict(slo, limit, worst, held, detail))
        elif slo == "lost_writes":
            lost = metrics["lost_writes"]["lost_count"]
            verdicts.append(Verdict(slo, limit, lost, lost <= limit))
        elif slo == "stale_reads":
            stale = metrics["stale_reads"]["stale_count"]
            verdicts.append(Verdict(slo, limit, stale, stale <= limit))
        elif slo == "linearizable":
            verdict = metrics["linearizability"]["verdict"]
            held = (verdict == "linearizable") == limit and verdict != "unknown"
            detail = "the checker ran out of time" if verdict == "unknown" else ""
            verdicts.append(Verdict(slo, limit, verdict, held, detail))
        elif slo == "min_success_rate":
            rate = metrics["success_rate"]
            verdicts.append(Verdict(slo, limit, rate, rate is not None and rate >= limit))
        else:
            raise ValueError(f"no check for SLO {slo!r}")
    return verdicts
