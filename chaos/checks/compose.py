"""The checks the suite has, by name, and how a run's verdicts compose from them.

An experiment names its checks (`checks:`) or gets every one that applies to
its workload. Each check measures from the history alone and judges only its
own SLOs; `judge` composes their verdicts (see chaos.checks.base).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from chaos.checks.base import Outcome, Verdict
from chaos.checks.linearizability import LinearizabilityResult, check_linearizability
from chaos.checks.recovery import RecoveryReport, Rules, recovery_metrics
from chaos.checks.safety import LostWritesResult, StaleReadsResult, lost_writes, stale_reads
from chaos.checks.staleness import StalenessCheck
from chaos.checks.visibility import VisibilityCheck
from chaos.history import History, pair_operations, served

ALL_WORKLOADS = frozenset({"register", "unique-writes", "membership"})
DATA_WORKLOADS = frozenset({"register", "unique-writes"})


def _at_most(slo: str, limit: float, measured: float | None, detail: str = "") -> Verdict:
    if measured is None:
        return Verdict(slo, limit, None, "failed", detail or "it never happened during the run")
    return Verdict(slo, limit, measured, "held" if measured <= limit else "failed", detail)


class RecoveryCheck:
    """Per fault: availability, detection, throughput and recovery after heal
    (chaos.checks.recovery); judged on the worst fault."""

    name: ClassVar[str] = "recovery"
    workloads: ClassVar[frozenset[str]] = ALL_WORKLOADS
    # SLO -> the per-fault figure it judges, in seconds
    figures: ClassVar[dict[str, str]] = {
        "max_unavailability": "unavailability_s",
        "max_blackout": "blackout_s",
        "max_time_to_detect": "time_to_detect_s",
        "max_time_to_recover": "throughput_recovered_s",
        "recovery_after_heal": "recovery_after_heal_s",
    }
    slos: ClassVar[tuple[str, ...]] = tuple(figures)

    def measure(self, history: History, rules: Rules) -> RecoveryReport:
        return recovery_metrics(history, rules)

    def judge(self, result: RecoveryReport, expect: dict[str, Any]) -> list[Verdict]:
        verdicts = []
        for slo, figure in self.figures.items():
            limit = expect.get(slo)
            if limit is None:
                continue
            faults = list(result.faults)
            if slo == "max_time_to_detect":
                faults = [f for f in faults if f.detection.observable]
                if not faults and result.faults:
                    notes = sorted({f.detection.note for f in result.faults if f.detection.note})
                    detail = f"not observable: {'; '.join(notes)}"
                    verdicts.append(Verdict(slo, limit, None, "unknown", detail))
                    continue
            if not faults:
                verdicts.append(Verdict(slo, limit, None, "failed", "no fault was injected"))
                continue
            measured = [getattr(fault, figure) for fault in faults]
            worst = None if None in measured else max(measured)  # type: ignore[type-var]
            verdicts.append(_at_most(slo, limit, worst))
        return verdicts


class LostWritesCheck:
    """Acknowledged unique-value adds missing from the final read (chaos.checks.safety)."""

    name: ClassVar[str] = "lost-writes"
    workloads: ClassVar[frozenset[str]] = frozenset({"unique-writes"})
    slos: ClassVar[tuple[str, ...]] = ("lost_writes",)

    def measure(self, history: History, rules: Rules) -> LostWritesResult:
        return lost_writes(history)

    def judge(self, result: LostWritesResult, expect: dict[str, Any]) -> list[Verdict]:
        limit = expect.get("lost_writes")
        if limit is None:
            return []
        lost = len(result.lost)
        if result.unchecked and not result.keys:
            return [Verdict("lost_writes", limit, None, "unknown", "no set could be read back")]
        return [Verdict("lost_writes", limit, lost, "held" if lost <= limit else "failed")]


class StaleReadsCheck:
    """Reads older than a write acknowledged before they were invoked (chaos.checks.safety)."""

    name: ClassVar[str] = "stale-reads"
    workloads: ClassVar[frozenset[str]] = DATA_WORKLOADS
    slos: ClassVar[tuple[str, ...]] = ("stale_reads",)

    def measure(self, history: History, rules: Rules) -> StaleReadsResult:
        return stale_reads(history)

    def judge(self, result: StaleReadsResult, expect: dict[str, Any]) -> list[Verdict]:
        limit = expect.get("stale_reads")
        if limit is None:
            return []
        stale = len(result.stale)
        return [Verdict("stale_reads", limit, stale, "held" if stale <= limit else "failed")]


class LinearizabilityCheck:
    """Wing-Gong-Lowe per register key, refused cas as evidence (chaos.checks.linearizability)."""

    name: ClassVar[str] = "linearizability"
    workloads: ClassVar[frozenset[str]] = frozenset({"register"})
    slos: ClassVar[tuple[str, ...]] = ("linearizable",)

    def measure(self, history: History, rules: Rules) -> LinearizabilityResult:
        """A refusal is evidence only where the run's refusals are real answers (not from a
        local, unsynced read, as in old runs of one system)."""
        return check_linearizability(history, refused_cas_evidence=rules.refusals_are_service)

    def judge(self, result: LinearizabilityResult, expect: dict[str, Any]) -> list[Verdict]:
        wanted = expect.get("linearizable")
        if wanted is None:
            return []
        if result.verdict == "unknown":
            detail = "the checker ran out of time"
            return [Verdict("linearizable", wanted, "unknown", "unknown", detail)]
        held = result.linearizable == wanted
        return [Verdict("linearizable", wanted, result.verdict, "held" if held else "failed")]


class SuccessRateCheck:
    """The share of workload operations served: ok, or a real refusal."""

    name: ClassVar[str] = "success-rate"
    workloads: ClassVar[frozenset[str]] = ALL_WORKLOADS
    slos: ClassVar[tuple[str, ...]] = ("min_success_rate",)

    def measure(self, history: History, rules: Rules) -> float | None:
        pairs = [(a, b) for a, b in pair_operations(history.ops) if a.f != "final-read"]
        if not pairs:
            return None
        return sum(served(b, rules.refusals_are_service) for _, b in pairs) / len(pairs)

    def judge(self, result: float | None, expect: dict[str, Any]) -> list[Verdict]:
        limit = expect.get("min_success_rate")
        if limit is None:
            return []
        outcome: Outcome = "held" if result is not None and result >= limit else "failed"
        return [Verdict("min_success_rate", limit, result, outcome)]


CHECKS = {
    check.name: check
    for check in (
        RecoveryCheck(),
        LostWritesCheck(),
        StaleReadsCheck(),
        LinearizabilityCheck(),
        SuccessRateCheck(),
        StalenessCheck(),
        VisibilityCheck(),
    )
}
CHECK_NAMES = tuple(CHECKS)
SLO_CHECKS = {slo: check.name for check in CHECKS.values() for slo in check.slos}


def applicable(workload: str) -> tuple[str, ...]:
    """The checks a workload gets unless its experiment names others."""
    return tuple(name for name, check in CHECKS.items() if workload in check.workloads)


def judge(results: dict[str, Any], names: Sequence[str], expect: dict[str, Any]) -> list[Verdict]:
    """Every verdict of the named checks, from their results."""
    return [verdict for name in names for verdict in CHECKS[name].judge(results[name], expect)]
