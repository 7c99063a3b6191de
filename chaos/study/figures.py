"""The figures a study's rules weigh, each read from a run's metrics as docs/metrics.md defines
it, for one fault of the run (by its place in the experiment) or the worst over its faults.

A figure reads None where it does not apply to the run (detection on a node the system's own
view shows nothing of, lost writes on a workload that checks none) and NEVER where the event
it measures never happened (an outage that never ended).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from chaos.artefacts import Metrics
from chaos.checks.recovery import FaultRecovery
from chaos.compare.statistics import NEVER

Worse = Literal["higher", "lower"]


@dataclass(frozen=True)
class Figure:
    """What a figure measures, its unit, which way is worse, and how to read it."""

    description: str
    unit: Literal["s", "count", "share", "B/s"]
    worse: Worse
    per_fault: Callable[[FaultRecovery], float | None] | None = None
    per_run: Callable[[Metrics], float | None] | None = None


def _never(value: float | None) -> float:
    return NEVER if value is None else float(value)


def _detect(item: FaultRecovery) -> float | None:
    return _never(item.detection.first_s) if item.detection.observable else None


def _spread(item: FaultRecovery) -> float | None:
    first, every = item.detection.first_s, item.detection.all_s
    if not item.detection.observable or first is None:
        return None
    return _never(None if every is None else every - first)


def _detected(item: FaultRecovery) -> float | None:
    return float(item.detection.first_s is not None) if item.detection.observable else None


def _served_during(item: FaultRecovery) -> float | None:
    during = next((p for p in item.phases if p.phase == "during"), None)
    return None if during is None else during.success_rate


def _after_heal(item: FaultRecovery) -> float | None:
    return None if item.fault.heal_requested_ns is None else _never(item.recovery_after_heal_s)


def _converged(item: FaultRecovery) -> float | None:
    return _never(item.views_converged_s)


def _stale_reads(metrics: Metrics) -> float | None:
    if metrics.staleness is not None:
        return float(metrics.staleness.stale_count)
    return float(len(metrics.stale_reads.stale)) if metrics.stale_reads.reads_checked else None


def _lost_writes(metrics: Metrics) -> float | None:
    return float(len(metrics.lost_writes.lost)) if metrics.lost_writes.keys else None


def _non_linearizable(metrics: Metrics) -> float | None:
    result = metrics.linearizability
    if result is None or result.verdict == "unknown":
        return None
    return float(result.verdict == "non-linearizable")


def _peer_traffic(phase: Literal["rest", "recovery"]) -> Callable[[Metrics], float | None]:
    def read(metrics: Metrics) -> float | None:
        if metrics.traffic is None:
            return None
        found = [p for p in metrics.traffic.phases if p.phase == phase]
        values = [p.median_peer_bytes_per_s for p in found if p.median_peer_bytes_per_s is not None]
        return max(values) if values else None

    return read


FIGURES: dict[str, Figure] = {
    "time_to_detect_s": Figure(
        "time to detect: the system's own verdict (new leader, or peers marking the node "
        "failed), from the fault's request",
        "s",
        "higher",
        per_fault=_detect,
    ),
    "detection_spread_s": Figure(
        "detection spread: from the first peer's verdict to the last peer's",
        "s",
        "higher",
        per_fault=_spread,
    ),
    "detected": Figure(
        "detected: 1 when the system's own view marked the fault's target failed (or elected "
        "anew), 0 when it never did",
        "count",
        "higher",
        per_fault=_detected,
    ),
    "unavailability_s": Figure(
        "worst shard unavailable: its longest window without a served operation",
        "s",
        "higher",
        per_fault=lambda item: _never(item.unavailability_s),
    ),
    "blackout_s": Figure(
        "whole-cluster blackout: longest window in which no shard served",
        "s",
        "higher",
        per_fault=lambda item: _never(item.blackout_s),
    ),
    "served_during": Figure(
        "share of the operations invoked while the fault was in force that were served",
        "share",
        "lower",
        per_fault=_served_during,
    ),
    "recovery_after_heal_s": Figure(
        "recovery after heal: from the heal's request until every node serves and sees "
        "every member up",
        "s",
        "higher",
        per_fault=_after_heal,
    ),
    "views_converged_s": Figure(
        "views converged: from the heal's (or restart's) request until every node's own view "
        "agrees with every other's",
        "s",
        "higher",
        per_fault=_converged,
    ),
    "stale_reads": Figure(
        "stale reads: reads that returned a value already overwritten when they were invoked",
        "count",
        "higher",
        per_run=_stale_reads,
    ),
    "lost_writes": Figure(
        "lost writes: acknowledged writes missing from the final read",
        "count",
        "higher",
        per_run=_lost_writes,
    ),
    "non_linearizable": Figure(
        "1 when the history is not linearizable, 0 when it is",
        "count",
        "higher",
        per_run=_non_linearizable,
    ),
    "peer_bytes_per_s_rest": Figure(
        "peer traffic per node at rest (median over nodes, bytes/s on the cluster network)",
        "B/s",
        "higher",
        per_run=_peer_traffic("rest"),
    ),
    "peer_bytes_per_s_recovery": Figure(
        "peer traffic per node during recovery (median over nodes, bytes/s; the highest "
        "over the run's faults)",
        "B/s",
        "higher",
        per_run=_peer_traffic("recovery"),
    ),
}


def read_figure(metrics: Metrics, name: str, fault: int | None = None) -> float | None:
    """Figure `name` of a run: of its `fault`-th fault (1 = first), or the worst over the
    faults that took effect; None where it does not apply or the fault is absent."""
    figure = FIGURES[name]
    if figure.per_run is not None:
        return figure.per_run(metrics)
    assert figure.per_fault is not None
    faults = metrics.recovery.faults
    if fault is not None:
        chosen = [faults[fault - 1]] if fault <= len(faults) else []
    else:
        chosen = [item for item in faults if item.fault.effective]
    values = [v for item in chosen if (v := figure.per_fault(item)) is not None]
    if not values:
        return None
    return max(values) if figure.worse == "higher" else min(values)


def shown(value: float, unit: str) -> str:
    """A figure's value as a page writes it."""
    if value == NEVER:
        return "never"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "share":
        return f"{value * 100:.0f} %"
    if unit == "B/s":
        return f"{value / 1000:.1f} kB/s" if value >= 1000 else f"{value:.0f} B/s"
    return f"{value:g}"
