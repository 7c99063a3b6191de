"""How the pages name and write every figure: one line per figure as docs/metrics.md
defines it, the statuses' labels, and durations as a reader wants them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chaos.checks.availability import Window

NS = 1e9

# Statuses whose verdicts are judgements; the others were measured, not judged.
JUDGED_STATUSES = ("held", "slo-failed", "unknown", "unhealthy")
STATUS_LABELS = {
    "held": "held",
    "slo-failed": "SLO failed",
    "unknown": "unknown: an SLO could not be decided",
    "unhealthy": "unhealthy cluster",
    "error": "run error",
    "interrupted": "interrupted — measured, not judged",
    "damaged": "damaged run folder",
}
NOT_JUDGED = "measured, not judged"

# One line per figure, as docs/metrics.md defines it: the tooltips of every table header.
DEFINITIONS = {
    "fault": "The fault as run, with the nodes it resolved to.",
    "issued → effective": "When the suite issued the fault (seconds since the run started), and"
    " how much later its effect was proven from outside. Every figure counts from the issue.",
    "time to detect": "SLO max_time_to_detect (time_to_detect_s = detection.first_s): seconds"
    " from the request to the first peer's observation showing the fault, by the system's own"
    " rule; not before: that peer's previous answer, which did not show it yet; all peers"
    " (detection.all_s): every peer that answered during the fault shows it.",
    "the client noticed": "detection.client_noticed_s: the client driver's own host-down event,"
    " seconds after the request. Shown beside detection, never counted as it.",
    "worst shard unavailable": "SLO max_unavailability (unavailability_s): per shard, the"
    " longest window from an unserved invocation to the first served completion of an"
    " operation invoked since; the worst shard.",
    "whole-cluster blackouts": "SLO max_blackout (blackout_s, availability.blackouts): windows"
    " in which every shard and every client had an unserved operation, so nothing anywhere"
    " was served; each with its start after the request. Shorter than the resolution (one"
    " client's interval between operations) cannot be seen.",
    "node downtime": "availability.node_downtime: the longest window of the clients bound to"
    " a node the fault took down, and how soon after the heal's request that node served its"
    " own clients again (back_after_heal_s). Never counted as the cluster's recovery.",
    "worst client window": "availability.clients: the longest window of one client's own"
    " operations, among clients not bound to a downed node, and how many it had.",
    "throughput recovered": "SLO max_time_to_recover (throughput_recovered_s): served"
    " operations counted in 1 s windows starting every 100 ms, against the pre-fault rate;"
    " from the request to the start of the first window serving at least 90 % of that rate"
    " after the last window, started while the fault was in force, that served under half"
    " of it. 0 when the first window already serves 90 %.",
    "recovery after heal": "SLO recovery_after_heal (recovery_after_heal_s): from the heal's"
    " request until every node's own view shows every member up and every node has served"
    " an operation since.",
    "views converged": "views_converged_s: from the heal's request (a restart's own, as it"
    " heals itself) until every node has reported its own view since and the views agree:"
    " roles as at rest, the same members all up, one leader. Membership convergence only;"
    " unlike recovery after heal it asks nothing of the clients, so it is never later.",
    "predicted": "The band the system's own model gives at the settings and size that ran"
    " (run.json predictions): seconds from the fault's request. A measurement outside it"
    " (allowing 0.1 s for the views' sampling) is flagged, never judged as an SLO.",
    "phase": "Operations invoked before (from the fault's scope start), during (to the heal"
    " request) and after the fault.",
    "operations": "Operations invoked in the phase.",
    "success rate": "Share of the phase's operations that were served (ok, or a real refusal).",
    "p50": "Latency, nearest rank, of served operations only.",
    "p95": "Latency, nearest rank, of served operations only.",
    "p99": "Latency, nearest rank, of served operations only.",
    "lost writes": "SLO lost_writes (lost_writes.lost_count): acknowledged unique-value adds"
    " missing from the final read of their set. Adds of unknown outcome are counted, never"
    " lost.",
    "stale reads": "SLO stale_reads (stale_reads.stale_count): reads that returned a value"
    " older than one acknowledged before the read was invoked.",
    "linearizability": "SLO linearizable (linearizability.verdict): Wing-Gong-Lowe search per"
    " key; a refused cas is evidence that the register held another value.",
    "min_success_rate": "Share of the workload's operations that were served.",
    "stale reads (staleness)": "SLO max_stale_reads (staleness.stale_count): ok register reads"
    " that missed one or more writes acknowledged before the read was invoked and invoked"
    " after the value read was written.",
    "versions behind": "staleness.*.versions_behind_max, _p50, _p99: how many acknowledged"
    " writes of its key a stale read missed (nearest rank over the stale reads).",
    "stale for": "SLO max_staleness (staleness.*.stale_ms_max, _p50, _p99): ms from the"
    " completion of the first missed write to the read's invocation: how long the value read"
    " had certainly been overwritten.",
    "P(fresh)": "visibility.curves[].points[]: of the reads begun t to t + 10 ms after the"
    " acknowledgement of the latest write before them, the share that returned it or a newer"
    " value; under it, how many reads there were.",
    "fresh from": "visibility.curves[].fresh_99_ms: the earliest 10 ms bin such that at least"
    " 99 % of the samples in it and after were fresh.",
    "peer traffic": "traffic.phases[].nodes[].peer_bytes_per_s: bytes per second a node"
    " received from and sent to the other nodes (in + out), counted by iptables in its"
    " network namespace as they cross its interfaces, whether or not a fault's rule then"
    " drops them; clients: the same with the host, whose clients reach the nodes through the"
    " network's gateway. A node that could not be read in a phase (killed) is not rated there.",
    "traffic phase": "at rest: from one second after the workload's start to the first fault's"
    " request; during: from a fault's request to its heal's request; recovery after: from the"
    " heal's request to the end of the fault's scope. The mean rate over the seconds a node's"
    " samples cover in it.",
}
SLO_FIGURES = {
    "max_unavailability": "worst shard unavailable",
    "max_blackout": "whole-cluster blackouts",
    "max_time_to_detect": "time to detect",
    "max_time_to_recover": "throughput recovered",
    "recovery_after_heal": "recovery after heal",
    "max_stale_reads": "stale reads (staleness)",
    "max_staleness": "stale for",
    "lost_writes": "lost writes",
    "stale_reads": "stale reads",
    "linearizable": "linearizability",
    "min_success_rate": "min_success_rate",
}
SECONDS_SLOS = frozenset(
    {
        "max_unavailability",
        "max_blackout",
        "max_time_to_detect",
        "max_time_to_recover",
        "recovery_after_heal",
        "max_staleness",
    }
)


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}{unit}"
    return f"{value}{unit}"


def secs(value: float | None) -> str:
    """A duration in seconds as a reader wants it: 15 ms, 305 ms, 10.39 s."""
    if value is None:
        return "-"
    if value == 0:
        return "0 s"
    if abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def clock(ns: int | None) -> str:
    """A moment of the run's clock, in seconds since the run started."""
    return "-" if ns is None else f"{ns / NS:.2f} s"


def count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def window_end_ns(window: Window) -> int:
    """Where a window stops on the clock: its close, or for an open one the scope's end."""
    if window.end_ns is not None:
        return window.end_ns
    return window.open_until_ns or window.start_ns


def window_text(window: Window | None) -> str:
    """A window's duration; an open one as "never served again (≥ how long it had lasted)"."""
    if window is None:
        return "none"
    lasted = secs(window.at_least_s)
    return lasted if window.end_ns is not None else f"never served again (≥ {lasted})"


def window_rank(window: Window | None) -> float:
    """How windows rank: by how long they lasted, an open one by how long it had lasted."""
    return -1.0 if window is None else window.at_least_s


def fault_label(fault_id: int, kind: str, targets: Iterable[str], detail: dict[str, Any]) -> str:
    """A fault as the charts and the tables name it: `#1 partition isolate n1`."""
    shape = detail.get("shape")
    kind = f"{kind} {shape}" if shape else kind
    return f"#{fault_id} {kind} {','.join(targets)}"


def slo_value(slo: str, value: Any) -> str:
    """An SLO's expected or measured value: seconds for the SLOs that are durations."""
    if slo in SECONDS_SLOS and isinstance(value, int | float) and not isinstance(value, bool):
        return secs(float(value))
    if value is None and slo in SECONDS_SLOS:
        return "never"
    return fmt(value)
