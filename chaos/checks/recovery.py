"""Recovery per fault: who lost service, when the system noticed, when it was whole again.

Pure functions of a `History` and the run's `Rules` (what the system means
by its answers and views, from run.json). Each fault is judged inside its
scope (see `chaos.checks.windows`), and every figure counts from the moment
the suite issued the fault, or its heal. The figures, each defined once:

- availability: per shard, whole-cluster blackouts, per client and downed
  nodes' downtime (`chaos.checks.availability`);
- detection: the system's own verdict (`chaos.checks.detection`);
- throughput recovered: throughput is counted in 1 s windows starting on
  100 ms steps. It has recovered at the start of the first window serving
  at least 90 % of the pre-fault rate that begins after the last window,
  started while the fault was in force, that served under half of it (or
  from the request, if none did): a first recovery followed by a deeper
  collapse (a whole-cluster blackout seconds after a kill) does not count,
  and a blip of a few hundred milliseconds is no collapse. Seconds from the
  request; 0 when the first window already serves 90 %. Only clients not
  bound to a downed node count, for the rate and after: clients of a killed
  node stay down until its restart, which is that node's downtime;
- recovery after heal: from the heal's request to the first moment every
  observer, answering since, sees every member up and every node has served
  an operation since.

The `final-read` after the workload is a check, not load, and is left out.
Times in the dataclasses are nanoseconds of the run's clock (`*_ns`);
durations are seconds (`*_s`).
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.checks.availability import Availability, OpPair, availability
from chaos.checks.detection import Detection, detect
from chaos.checks.rules import Rules
from chaos.checks.windows import FaultWindow, fault_windows, workload_bounds
from chaos.history import DRIVER_OBSERVER, History, Observation, pair_operations, served

BUCKET_NS = 100_000_000
WARM_UP_NS = 1_000_000_000  # left out of the baseline: clients and caches still warming
RECOVERED_SHARE = 0.9
COLLAPSED_SHARE = 0.5  # a second serving under half the rate is a collapse, not a blip
SUSTAINED_BUCKETS = 10  # a second, in 100 ms steps
PERCENTILES = (50, 95, 99)

Phase = Literal["before", "during", "after"]


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
    """Every figure of one fault; None where the event measured never happened."""

    fault: FaultWindow
    availability: Availability
    detection: Detection
    throughput_recovered_s: float | None
    recovery_after_heal_s: float | None
    phases: tuple[PhaseStats, ...]
    # Added within schema 2: None in metrics written before it.
    views_converged_s: float | None = None

    @property
    def unavailability_s(self) -> float | None:
        return self.availability.unavailability_s

    @property
    def blackout_s(self) -> float | None:
        return self.availability.blackout_s

    @property
    def time_to_detect_s(self) -> float | None:
        return self.detection.first_s


@dataclass(frozen=True)
class RecoveryReport:
    """Per-fault recovery figures and the baseline throughput they are measured against.

    The baseline is the mean of served completions per 100 ms before the first
    fault, leaving out the workload's first second, over every client.
    """

    baseline_served_per_bucket: float | None
    faults: tuple[FaultRecovery, ...]
    bucket_s: float = BUCKET_NS / 1e9

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, fault in zip(data["faults"], self.faults, strict=True):
            item["unavailability_s"] = fault.unavailability_s
            item["blackout_s"] = fault.blackout_s
            item["time_to_detect_s"] = fault.time_to_detect_s
            worst = fault.availability.worst_shard
            item["availability"]["worst_shard"] = worst.shard if worst else None
        return data


@dataclass(frozen=True)
class _Run:
    """The operations prepared once for every figure: sorted by invoke, outcome known."""

    ops: list[OpPair]
    invokes: list[int]
    bounds: tuple[int, int]
    refusals: bool

    @classmethod
    def of(cls, history: History, refusals: bool) -> _Run:
        workload = [op for op in history.ops if op.f != "final-read"]
        ops = sorted(pair_operations(workload), key=lambda p: p[0].time)
        return cls(ops, [i.time for i, _ in ops], workload_bounds(history), refusals)

    def served_times(self, excluded: Sequence[str] = ()) -> list[int]:
        """Completion times of served operations, leaving out clients bound to `excluded`."""
        return sorted(
            c.time
            for i, c in self.ops
            if c is not None and served(c, self.refusals) and i.node not in excluded
        )

    def error_times(self) -> list[int]:
        return sorted(c.time for _, c in self.ops if c is not None and not served(c, self.refusals))


# Faults that end on their own: the cluster converges from their request, not a heal's.
SELF_HEALING = frozenset({"restart", "start", "unpause"})


def recovery_metrics(history: History, rules: Rules | None = None) -> RecoveryReport:
    rules = rules or Rules()
    run = _Run.of(history, rules.refusals_are_service)
    windows = fault_windows(history)
    first_fault = windows[0].start_ns if windows else run.bounds[1]
    observations = sorted(history.observations, key=lambda o: o.time)
    rest = _AtRest.of(observations, first_fault)
    faults = []
    for window in windows:
        kept = run.served_times(excluded=window.downed)
        faults.append(
            FaultRecovery(
                fault=window,
                availability=availability(run.ops, window, rules.shard_of, run.refusals),
                detection=detect(observations, window, rules.detection),
                throughput_recovered_s=_throughput_recovered(
                    kept, window, _baseline(kept, run.bounds[0], first_fault)
                ),
                recovery_after_heal_s=_recovery_after_heal(observations, run, window),
                phases=_phases(run, window),
                views_converged_s=_views_converged(observations, window, rest),
            )
        )
    baseline = _baseline(run.served_times(), run.bounds[0], first_fault)
    return RecoveryReport(baseline_served_per_bucket=baseline, faults=tuple(faults))


def _seconds(ns: int) -> float:
    return ns / 1e9


def _bucket_counts(times: list[int], start: int, end: int) -> list[int]:
    """Counts of sorted `times` per bucket from `start`; the last bucket may be partial."""
    counts = [0] * -(-(end - start) // BUCKET_NS)
    for t in times[bisect_left(times, start) : bisect_left(times, end)]:
        counts[(t - start) // BUCKET_NS] += 1
    return counts


def _baseline(served_ns: list[int], workload_start: int, first_fault_ns: int) -> float | None:
    """Mean served per 100 ms before the first fault: a mean, since counts per step are
    small integers whose median jumps between neighbours."""
    start = workload_start + WARM_UP_NS
    whole = (first_fault_ns - start) // BUCKET_NS
    if whole <= 0:
        return None
    return statistics.fmean(_bucket_counts(served_ns, start, start + whole * BUCKET_NS))


def _throughput_recovered(
    served_ns: list[int], fault: FaultWindow, baseline: float | None
) -> float | None:
    if baseline is None:
        return None
    whole = (fault.scope_end_ns - fault.start_ns) // BUCKET_NS
    counts = _bucket_counts(served_ns, fault.start_ns, fault.start_ns + whole * BUCKET_NS)
    seconds = [
        sum(counts[i : i + SUSTAINED_BUCKETS]) for i in range(len(counts) - SUSTAINED_BUCKETS + 1)
    ]
    per_second = baseline * SUSTAINED_BUCKETS
    in_force = -(-(fault.end_ns - fault.start_ns) // BUCKET_NS)
    collapses = [
        i for i, served in enumerate(seconds[:in_force]) if served < COLLAPSED_SHARE * per_second
    ]
    after = collapses[-1] + 1 if collapses else 0
    back = next(
        (i for i in range(after, len(seconds)) if seconds[i] >= RECOVERED_SHARE * per_second),
        None,
    )
    return None if back is None else _seconds(back * BUCKET_NS)


def _recovery_after_heal(
    observations: list[Observation], run: _Run, fault: FaultWindow
) -> float | None:
    heal = fault.heal_requested_ns
    if heal is None:
        return None
    nodes: set[str] = set()
    first_served: dict[str, int] = {}
    for invoke, completion in run.ops:
        node = (completion and completion.node) or invoke.node
        if not node:
            continue
        nodes.add(node)
        if completion and completion.time >= heal and served(completion, run.refusals):
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
    for o in observations:
        if o.time < since:
            continue
        healthy[o.observer] = all(state == "up" for state in o.members.values())
        if len(healthy) == len(observers) and all(healthy.values()):
            return o.time
    return since if not observers else None


@dataclass(frozen=True)
class _AtRest:
    """What the nodes' views held before the first fault: the roles they were in, and
    whether any named a leader. Converged views are measured against it."""

    roles: frozenset[str]
    names_leader: bool

    @classmethod
    def of(cls, observations: list[Observation], first_fault_ns: int) -> _AtRest:
        before = [o for o in observations if o.time < first_fault_ns]
        roles = frozenset(o.role for o in before if o.role is not None)
        return cls(roles, any(o.leader is not None for o in before))


def _views_converged(
    observations: list[Observation], fault: FaultWindow, rest: _AtRest
) -> float | None:
    """From the heal's request (a restart's own request: it heals itself) to the first moment
    every node has reported since and their views agree: each is in a role held at rest,
    every node that reports membership sees the same members all up, and the leaders they
    name are one node (one is named if any was at rest). The driver is left out, as in
    `_all_up_since`; None if that never happens."""
    since = fault.requested_ns if fault.kind in SELF_HEALING else fault.heal_requested_ns
    if since is None:
        return None
    nodes = [o for o in observations if o.observer != DRIVER_OBSERVER]
    observers = {o.observer for o in nodes}
    latest: dict[str, Observation] = {}
    for o in nodes:
        if o.time >= since:
            latest[o.observer] = o
            if len(latest) == len(observers) and _agree(list(latest.values()), rest):
                return _seconds(o.time - since)
    return None


def _agree(views: list[Observation], rest: _AtRest) -> bool:
    if rest.roles and any(view.role not in rest.roles for view in views):
        return False
    members = {frozenset(v.members) | {v.observer} for v in views if v.members}
    if len(members) > 1 or any(s != "up" for v in views for s in v.members.values()):
        return False
    leaders = {v.leader for v in views if v.leader is not None}
    return len(leaders) == (1 if rest.names_leader else 0)


def _phases(run: _Run, fault: FaultWindow) -> tuple[PhaseStats, ...]:
    bounds: list[tuple[Phase, int, int]] = [
        ("before", fault.scope_start_ns, fault.start_ns),
        ("during", fault.start_ns, fault.end_ns),
    ]
    if fault.heal_requested_ns is not None:
        bounds.append(("after", fault.end_ns, max(fault.end_ns, fault.scope_end_ns)))
    served_ns, errors_ns = run.served_times(), run.error_times()
    return tuple(_phase_stats(run, served_ns, errors_ns, *b) for b in bounds)


def _phase_stats(
    run: _Run, served_ns: list[int], errors_ns: list[int], phase: Phase, start: int, end: int
) -> PhaseStats:
    ops = run.ops[bisect_left(run.invokes, start) : bisect_left(run.invokes, end)]
    latencies = sorted(
        (c.time - invoke.time) / 1e6
        for invoke, c in ops
        if c is not None and served(c, run.refusals)
    )
    p50, p95, p99 = (_nearest_rank(latencies, p) for p in PERCENTILES)
    return PhaseStats(
        phase=phase,
        start_ns=start,
        end_ns=end,
        operations=len(ops),
        served=len(latencies),
        success_rate=len(latencies) / len(ops) if ops else None,
        served_per_bucket=tuple(_bucket_counts(served_ns, start, end)),
        errors_per_bucket=tuple(_bucket_counts(errors_ns, start, end)),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
    )


def _nearest_rank(ordered: list[float], percentile: int) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, -(-percentile * len(ordered) // 100) - 1)]
