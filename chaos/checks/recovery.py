"""Recovery metrics per fault: what clients lost, when the system noticed, when it healed.

Pure functions of a `History`. Each fault is judged inside its scope: from
the heal of the fault before it (or the workload's start) to the start of
the fault after it (or the workload's end), so consecutive faults do not
take credit or blame for each other.

An operation is *served* when the system answered it: it completed `ok`, or
`fail` with no error (a definite "no", such as a cas that found another
value); a `fail` with an error (refused) or an `info` is an error, as the
workload counts them. The `final-read` after the workload is a check, not
load, and is left out. Times in the dataclasses are nanoseconds of the
run's clock (`*_ns`); durations are seconds (`*_s`).
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from chaos.checks.linearizability import OpPair
from chaos.history import (
    DRIVER_OBSERVER,
    FaultEvent,
    History,
    Observation,
    Op,
    pair_operations,
    served,
)

BUCKET_NS = 100_000_000
WARM_UP_NS = 1_000_000_000  # left out of the baseline: clients and caches still warming
RECOVERED_SHARE = 0.9
SUSTAINED_BUCKETS = 10
PERCENTILES = (50, 95, 99)
HEAL_STAGES = ("healed", "healed-verified")

Phase = Literal["before", "during", "after"]


@dataclass(frozen=True)
class FaultWindow:
    """A fault from `effective` (or `requested`, if never effective) to its heal.

    `scope_start_ns`/`scope_end_ns` bound the stretch of the run attributed
    to it: the previous fault's heal (or the workload's start) to the next
    fault's start (or the workload's end).
    """

    fault_id: int
    kind: str
    targets: tuple[str, ...]
    start_ns: int
    heal_ns: int | None
    effective: bool
    scope_start_ns: int
    scope_end_ns: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outage:
    """A stretch without service, for one client (`process`) or the whole cluster (None).

    A client's outage starts when its first operation that was not served
    after the fault started was invoked (not before the fault start), and
    ends at the first served completion of an operation it invoked from
    then on. The cluster's outage runs from the first client outage's start
    to the first operation served anywhere that was invoked after it.
    `end_ns` is None when service never came back.
    """

    process: int | None
    start_ns: int
    end_ns: int | None
    duration_s: float | None


@dataclass(frozen=True)
class PhaseStats:
    """Operations invoked in one phase of a fault, and completions per 100 ms bucket in it.

    Latency percentiles are nearest-rank over served operations, in ms.
    """

    phase: Phase
    start_ns: int
    end_ns: int
    operations: int
    served: int
    success_rate: float | None
    served_per_bucket: tuple[int, ...]
    errors_per_bucket: tuple[int, ...]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


@dataclass(frozen=True)
class FaultRecovery:
    """Every metric of one fault; None where the event measured never happened.

    - time to detect: fault start to the first observation reflecting it: a
      leader other than the old one (for a fault on the leader), else a
      non-target observer marking a target `down`;
    - time to recover: fault start to the first of 10 consecutive 100 ms
      buckets, after throughput first fell below 90 % of the baseline, that
      all reach it again (0 when throughput never fell);
    - time to recover after heal: heal to the first moment every observer,
      reporting since the heal, sees every member `up` and every node has
      served an operation since the heal.
    """

    fault: FaultWindow
    client_outages: tuple[Outage, ...]
    cluster_outage: Outage | None
    time_to_detect_s: float | None
    time_to_recover_s: float | None
    time_to_recover_after_heal_s: float | None
    phases: tuple[PhaseStats, ...]


@dataclass(frozen=True)
class RecoveryReport:
    """Per-fault recovery metrics and the baseline they are measured against.

    The baseline is the median of served completions per 100 ms bucket
    before the first fault, leaving out the workload's first second.
    """

    baseline_served_per_bucket: float | None
    faults: tuple[FaultRecovery, ...]
    bucket_s: float = BUCKET_NS / 1e9

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Run:
    """The operations prepared once for every metric: sorted, and split by outcome."""

    ops: list[OpPair]  # by invoke time
    invokes: list[int]
    served_ns: list[int]  # completion times, sorted
    errors_ns: list[int]
    bounds: tuple[int, int]  # the workload's span, half-open

    @classmethod
    def of(cls, history: History) -> _Run:
        ops = sorted(pair_operations(_workload(history)), key=lambda p: p[0].time)
        completions = [c for _, c in ops if c is not None]
        return cls(
            ops=ops,
            invokes=[invoke.time for invoke, _ in ops],
            served_ns=sorted(c.time for c in completions if served(c)),
            errors_ns=sorted(c.time for c in completions if not served(c)),
            bounds=_workload_bounds(history),
        )


def _workload(history: History) -> list[Op]:
    return [op for op in history.ops if op.f != "final-read"]


def _workload_bounds(history: History) -> tuple[int, int]:
    """The span of the workload's records, half-open; the fault events' span if there are none."""
    times = [op.time for op in _workload(history)] or [e.time for e in history.faults] or [0]
    return min(times), max(times) + 1


def recovery_metrics(history: History) -> RecoveryReport:
    run = _Run.of(history)
    windows = fault_windows(history)
    baseline = _baseline(run, windows[0].start_ns if windows else run.bounds[1])
    faults = []
    for window in windows:
        clients = _client_outages(run, window)
        faults.append(
            FaultRecovery(
                fault=window,
                client_outages=clients,
                cluster_outage=_cluster_outage(run, clients),
                time_to_detect_s=_time_to_detect(history.observations, window),
                time_to_recover_s=_time_to_recover(run, window, baseline),
                time_to_recover_after_heal_s=_time_to_recover_after_heal(
                    history.observations, run, window
                ),
                phases=_phases(run, window),
            )
        )
    return RecoveryReport(baseline_served_per_bucket=baseline, faults=tuple(faults))


def fault_windows(history: History) -> list[FaultWindow]:
    """Every fault's window, by start time."""
    run_start, run_end = _workload_bounds(history)
    stages: dict[int, list[FaultEvent]] = defaultdict(list)
    for event in sorted(history.faults, key=lambda e: e.time):
        stages[event.fault_id].append(event)
    partial = []
    for fault_id, events in stages.items():
        effective_events = [e for e in events if e.stage == "effective"]
        first = (effective_events or events)[0]
        heals = [e.time for e in events if e.stage in HEAL_STAGES]
        partial.append((first, bool(effective_events), heals[0] if heals else None, fault_id))
    partial.sort(key=lambda w: w[0].time)
    windows = []
    for index, (first, effective, heal, fault_id) in enumerate(partial):
        earlier_heals = [h for _, _, h, _ in partial[:index] if h is not None and h <= first.time]
        later_starts = [f.time for f, _, _, _ in partial[index + 1 :]]
        windows.append(
            FaultWindow(
                fault_id=fault_id,
                kind=first.kind,
                targets=first.targets,
                start_ns=first.time,
                heal_ns=heal,
                effective=effective,
                scope_start_ns=max(earlier_heals, default=min(run_start, first.time)),
                scope_end_ns=max(min(later_starts, default=run_end), first.time),
                detail=first.detail,
            )
        )
    return windows


def _seconds(ns: int) -> float:
    return ns / 1e9


def _outage(process: int | None, start: int, end: int | None) -> Outage:
    return Outage(process, start, end, None if end is None else _seconds(end - start))


def _client_outages(run: _Run, fault: FaultWindow) -> tuple[Outage, ...]:
    by_process: dict[int, list[OpPair]] = defaultdict(list)
    for pair in run.ops:
        by_process[pair[0].process].append(pair)
    outages = []
    for process, ops in sorted(by_process.items()):
        first = next(
            (
                invoke
                for invoke, completion in ops
                if invoke.time < fault.scope_end_ns
                and (completion is None or completion.time >= fault.start_ns)
                and not served(completion)
            ),
            None,
        )
        if first is None:
            continue
        end = min(
            (
                c.time
                for invoke, c in ops
                if c is not None and invoke.time >= first.time and served(c)
            ),
            default=None,
        )
        outages.append(_outage(process, max(first.time, fault.start_ns), end))
    return tuple(outages)


def _cluster_outage(run: _Run, clients: tuple[Outage, ...]) -> Outage | None:
    """From the first client's loss of service to the first operation served anywhere
    that was invoked after it: how long the cluster as a whole served nothing.

    Clients bound to a dead node stay out longer; their own outages say so.
    """
    if not clients:
        return None
    start = min(o.start_ns for o in clients)
    end = min(
        (c.time for invoke, c in run.ops if c and invoke.time >= start and served(c)),
        default=None,
    )
    return _outage(None, start, end)


def _time_to_detect(observations: list[Observation], fault: FaultWindow) -> float | None:
    """A fault that hit the leader (as observed just before it) is detected by a new
    leader; any other by a node other than the targets marking a target down."""
    ordered = sorted(observations, key=lambda o: o.time)
    after = [o for o in ordered if fault.start_ns <= o.time < fault.scope_end_ns]
    latest = {o.observer: o for o in ordered if o.time < fault.start_ns}
    votes = Counter(o.leader for o in latest.values() if o.leader)
    old = votes.most_common(1)[0][0] if votes else None
    if old is not None and old in fault.targets:
        detected = (
            o for o in after if o.leader and o.leader != old and o.leader not in fault.targets
        )
    else:
        detected = (
            o
            for o in after
            if o.observer not in fault.targets
            and any(o.members.get(target) == "down" for target in fault.targets)
        )
    first = next(detected, None)
    return None if first is None else _seconds(first.time - fault.start_ns)


def _bucket_counts(times: list[int], start: int, end: int) -> list[int]:
    """Counts of sorted `times` per bucket from `start`; the last bucket may be partial."""
    counts = [0] * -(-(end - start) // BUCKET_NS)
    for t in times[bisect_left(times, start) : bisect_left(times, end)]:
        counts[(t - start) // BUCKET_NS] += 1
    return counts


def _baseline(run: _Run, first_fault_ns: int) -> float | None:
    start = run.bounds[0] + WARM_UP_NS
    whole = (first_fault_ns - start) // BUCKET_NS
    if whole <= 0:
        return None
    return statistics.median(_bucket_counts(run.served_ns, start, start + whole * BUCKET_NS))


def _time_to_recover(run: _Run, fault: FaultWindow, baseline: float | None) -> float | None:
    if baseline is None:
        return None
    threshold = RECOVERED_SHARE * baseline
    whole = (fault.scope_end_ns - fault.start_ns) // BUCKET_NS
    counts = _bucket_counts(run.served_ns, fault.start_ns, fault.start_ns + whole * BUCKET_NS)
    dip = next((i for i, count in enumerate(counts) if count < threshold), None)
    if dip is None:
        return 0.0
    healthy = 0
    for index in range(dip + 1, len(counts)):
        healthy = healthy + 1 if counts[index] >= threshold else 0
        if healthy == SUSTAINED_BUCKETS:
            return _seconds((index - SUSTAINED_BUCKETS + 1) * BUCKET_NS)
    return None


def _time_to_recover_after_heal(
    observations: list[Observation], run: _Run, fault: FaultWindow
) -> float | None:
    heal = fault.heal_ns
    if heal is None:
        return None
    nodes: set[str] = set()
    first_served: dict[str, int] = {}
    for invoke, completion in run.ops:
        node = (completion and completion.node) or invoke.node
        if not node:
            continue
        nodes.add(node)
        if completion and completion.time >= heal and served(completion):
            first_served[node] = min(completion.time, first_served.get(node, completion.time))
    if nodes - first_served.keys():
        return None
    views_ready = _all_up_since(observations, heal)
    if views_ready is None:
        return None
    return _seconds(max([views_ready, *first_served.values()]) - heal)


def _all_up_since(observations: list[Observation], since: int) -> int | None:
    """The first moment every node, reporting since `since`, last saw every member up.

    The driver's events are left out: they come only when something changes,
    so a driver that saw nothing after the heal would otherwise never count.
    """
    observations = [o for o in observations if o.observer != DRIVER_OBSERVER]
    observers = {o.observer for o in observations}
    healthy: dict[str, bool] = {}
    for o in sorted(observations, key=lambda o: o.time):
        if o.time < since:
            continue
        healthy[o.observer] = all(state == "up" for state in o.members.values())
        if len(healthy) == len(observers) and all(healthy.values()):
            return o.time
    return since if not observers else None


def _phases(run: _Run, fault: FaultWindow) -> tuple[PhaseStats, ...]:
    during_end = fault.heal_ns if fault.heal_ns is not None else fault.scope_end_ns
    bounds: list[tuple[Phase, int, int]] = [
        ("before", fault.scope_start_ns, fault.start_ns),
        ("during", fault.start_ns, during_end),
    ]
    if fault.heal_ns is not None:
        bounds.append(("after", fault.heal_ns, max(fault.heal_ns, fault.scope_end_ns)))
    return tuple(_phase_stats(run, *b) for b in bounds)


def _phase_stats(run: _Run, phase: Phase, start: int, end: int) -> PhaseStats:
    ops = run.ops[bisect_left(run.invokes, start) : bisect_left(run.invokes, end)]
    latencies = sorted(
        (c.time - invoke.time) / 1e6 for invoke, c in ops if c is not None and served(c)
    )
    p50, p95, p99 = (_nearest_rank(latencies, p) for p in PERCENTILES)
    return PhaseStats(
        phase=phase,
        start_ns=start,
        end_ns=end,
        operations=len(ops),
        served=len(latencies),
        success_rate=len(latencies) / len(ops) if ops else None,
        served_per_bucket=tuple(_bucket_counts(run.served_ns, start, end)),
        errors_per_bucket=tuple(_bucket_counts(run.errors_ns, start, end)),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
    )


def _nearest_rank(ordered: list[float], percentile: int) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, -(-percentile * len(ordered) // 100) - 1)]
