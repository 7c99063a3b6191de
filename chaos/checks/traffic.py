"""Protocol traffic per node and per phase of the run, from the history's traffic samples.

A node's samples are cumulative counters (`chaos.history.TrafficSample`): two consecutive
samples of one installation (the same `since`) give the bytes and packets of the interval
between them, and an installation's first sample counts from its `since`, when the
counters were zero. A node that could not be read (killed, stopped) left no sample, so
no interval spans its absence: its rate there is unknown, never zero.

Phases, on the run's clock:

- `rest`: from one second after the workload's start (the warm-up the pre-fault
  throughput leaves out too) to the first fault's request, or the workload's end;
- `fault`: each fault from its request to its heal's request (or the end of its scope);
- `recovery`: each healed fault from its heal's request to the end of its scope (the next
  fault's request or the workload's end): catch-up traffic (log replay, hints, anti-entropy)
  outlasts the views' agreement, which most faults reach within one sampling interval.

A node's rate in a phase is the bytes (packets) of its intervals there over the seconds
they cover; an interval across a phase's edge counts in proportion to its overlap.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Literal

from chaos.checks.windows import fault_windows, workload_bounds
from chaos.history import History, TrafficSample

Phase = Literal["rest", "fault", "recovery"]
WARM_UP_NS = 1_000_000_000
COUNTERS = tuple(f.name for f in fields(TrafficSample) if f.name not in ("time", "node", "since"))
FLOWS = ("peer_in", "peer_out", "client_in", "client_out", "other_in", "other_out")


@dataclass(frozen=True)
class Interval:
    """One node's traffic between two readings: counter name -> how much it grew."""

    node: str
    start_ns: int
    end_ns: int
    counts: dict[str, int]

    def per_s(self, *names: str) -> float:
        return sum(self.counts[name] for name in names) / ((self.end_ns - self.start_ns) / 1e9)


@dataclass(frozen=True)
class Flow:
    bytes_per_s: float
    packets_per_s: float


@dataclass(frozen=True)
class NodeTraffic:
    """One node's mean rates in one phase; `covered_s` is how much of the phase its
    samples cover, `peak_peer_bytes_per_s` its busiest sampling interval (peer in + out)
    centred in the phase."""

    node: str
    covered_s: float
    peer_bytes_per_s: float
    client_bytes_per_s: float
    peer_in: Flow
    peer_out: Flow
    client_in: Flow
    client_out: Flow
    other_in: Flow
    other_out: Flow
    peak_peer_bytes_per_s: float | None


@dataclass(frozen=True)
class TrafficPhase:
    """Every node read in one phase. The medians are over those nodes (peer or client,
    in + out); `cluster_peer_bytes_per_s` sums what they sent to peers, so each byte on
    the cluster network counts once."""

    phase: Phase
    fault_id: int | None
    start_ns: int
    end_ns: int
    nodes: tuple[NodeTraffic, ...]
    median_peer_bytes_per_s: float | None
    median_client_bytes_per_s: float | None
    cluster_peer_bytes_per_s: float | None


@dataclass(frozen=True)
class TrafficResult:
    samples: int
    interval_s: float | None
    phases: tuple[TrafficPhase, ...]

    def phase(self, phase: Phase, fault_id: int | None = None) -> TrafficPhase | None:
        return next((p for p in self.phases if p.phase == phase and p.fault_id == fault_id), None)


def intervals(samples: Iterable[TrafficSample]) -> dict[str, list[Interval]]:
    """Each node's intervals between consecutive readings, in time order."""
    by_node: dict[str, list[TrafficSample]] = defaultdict(list)
    for sample in samples:
        by_node[sample.node].append(sample)
    result: dict[str, list[Interval]] = {}
    for node, mine in sorted(by_node.items()):
        mine.sort(key=lambda s: s.time)
        found = []
        for previous, sample in zip([None, *mine], mine, strict=False):
            if previous is not None and previous.since == sample.since:
                start, base = previous.time, _counters(previous)
            else:
                start, base = sample.since, dict.fromkeys(COUNTERS, 0)
            counts = {name: value - base[name] for name, value in _counters(sample).items()}
            if sample.time > start and min(counts.values()) >= 0:
                found.append(Interval(node, start, sample.time, counts))
        result[node] = found
    return result


def _counters(sample: TrafficSample) -> dict[str, int]:
    return {name: getattr(sample, name) for name in COUNTERS}


def phases(history: History) -> list[tuple[Phase, int | None, int, int]]:
    """The run's phases as (phase, fault id, start, end), in time order."""
    if any(op.f != "final-read" for op in history.ops):
        start, end = workload_bounds(history)
    else:
        times = [s.time for s in history.traffic] or [0]
        start, end = min(times), max(times)
    windows = fault_windows(history)
    found: list[tuple[Phase, int | None, int, int]] = []
    rest_end = windows[0].start_ns if windows else end
    if rest_end > start + WARM_UP_NS:
        found.append(("rest", None, start + WARM_UP_NS, rest_end))
    for window in windows:
        found.append(("fault", window.fault_id, window.start_ns, window.end_ns))
        if window.heal_requested_ns is not None and window.scope_end_ns > window.end_ns:
            found.append(("recovery", window.fault_id, window.end_ns, window.scope_end_ns))
    return found


def traffic_metrics(history: History) -> TrafficResult | None:
    """Rates per node and phase; None for a history without traffic samples (runs recorded
    before they were taken)."""
    if not history.traffic:
        return None
    spans = intervals(history.traffic)
    lengths = [i.end_ns - i.start_ns for mine in spans.values() for i in mine]
    measured = []
    for phase, fault_id, start, end in phases(history):
        nodes = [t for mine in spans.values() if (t := _node(mine, start, end)) is not None]
        peer = [n.peer_bytes_per_s for n in nodes]
        measured.append(
            TrafficPhase(
                phase=phase,
                fault_id=fault_id,
                start_ns=start,
                end_ns=end,
                nodes=tuple(nodes),
                median_peer_bytes_per_s=statistics.median(peer) if peer else None,
                median_client_bytes_per_s=(
                    statistics.median(n.client_bytes_per_s for n in nodes) if nodes else None
                ),
                cluster_peer_bytes_per_s=(
                    sum(n.peer_out.bytes_per_s for n in nodes) if nodes else None
                ),
            )
        )
    interval = statistics.median(lengths) / 1e9 if lengths else None
    return TrafficResult(len(history.traffic), interval, tuple(measured))


def _node(mine: list[Interval], start: int, end: int) -> NodeTraffic | None:
    """A node's rates over [start, end), or None where no interval of it overlaps."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    covered = 0
    for interval in mine:
        overlap = min(interval.end_ns, end) - max(interval.start_ns, start)
        if overlap <= 0:
            continue
        share = overlap / (interval.end_ns - interval.start_ns)
        for name, value in interval.counts.items():
            totals[name] += value * share
        covered += overlap
    if not covered:
        return None
    seconds = covered / 1e9
    flows = {
        flow: Flow(totals[f"{flow}_bytes"] / seconds, totals[f"{flow}_packets"] / seconds)
        for flow in FLOWS
    }
    centred = [i for i in mine if start <= (i.start_ns + i.end_ns) // 2 < end]
    peak = max((i.per_s("peer_in_bytes", "peer_out_bytes") for i in centred), default=None)
    return NodeTraffic(
        node=mine[0].node,
        covered_s=seconds,
        peer_bytes_per_s=flows["peer_in"].bytes_per_s + flows["peer_out"].bytes_per_s,
        client_bytes_per_s=flows["client_in"].bytes_per_s + flows["client_out"].bytes_per_s,
        peak_peer_bytes_per_s=peak,
        **flows,
    )
