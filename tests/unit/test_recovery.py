"""Recovery metrics on hand-built histories whose numbers are worked out by hand.

Times are written in milliseconds and stored in nanoseconds, as the run's
clock records them. Most scenarios use clients that invoke an operation
every 10 ms and get an answer 2 ms later: 10 answers per 100 ms bucket each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from chaos.checks.recovery import FaultRecovery, fault_windows, recovery_metrics
from chaos.history import FaultEvent, FaultStage, History, Observation, Op, OpType

MS = 1_000_000


def stream(
    process: int,
    start_ms: int,
    end_ms: int,
    *,
    failing: tuple[tuple[int, int], ...] = (),
    f: str = "write",
    outcome: OpType = "info",
    error: str | None = "TimeoutError",
    node: str | None = None,
) -> list[Op]:
    """A client's operations every 10 ms, answered in 2 ms; `outcome` if invoked in `failing`."""
    ops = []
    for invoke in range(start_ms, end_ms, 10):
        op_id = process * 1_000_000 + invoke
        fails = any(lo <= invoke < hi for lo, hi in failing)
        ops.append(Op("invoke", op_id, process, f, "k", 1, invoke * MS, node=node))
        ops.append(
            Op(
                outcome if fails else "ok",
                op_id,
                process,
                f,
                "k",
                1,
                (invoke + 2) * MS,
                node=node,
                error=error if fails else None,
            )
        )
    return ops


def fault(
    stage: FaultStage,
    at_ms: int,
    fault_id: int = 1,
    targets: tuple[str, ...] = ("n1",),
    **detail: Any,
) -> FaultEvent:
    return FaultEvent(at_ms * MS, fault_id, "kill", stage, targets, "docker", detail)


def observe(at_ms: int, observer: str, leader: str | None = None, **members: str) -> Observation:
    return Observation(at_ms * MS, observer, leader=leader, members=members)


def measure(
    ops: list[Op], faults: list[FaultEvent], observations: Sequence[Observation] = ()
) -> FaultRecovery:
    history = History(ops=ops, faults=faults, observations=list(observations))
    (only,) = recovery_metrics(history).faults
    return only


KILL_AT_3S = [fault("requested", 2990), fault("effective", 3000), fault("healed", 4000)]


def test_a_fault_window_runs_from_effective_to_heal_and_scopes_end_at_the_next_fault() -> None:
    faults = [
        fault("requested", 990),
        fault("effective", 1000),
        fault("healed", 2000),
        fault("healed-verified", 2100),
        fault("requested", 5000, fault_id=2),
        fault("failed", 5001, fault_id=2),
    ]
    first, second = fault_windows(History(ops=stream(0, 0, 8000), faults=faults))
    assert (first.start_ns, first.heal_ns, first.effective) == (1000 * MS, 2000 * MS, True)
    assert (first.scope_start_ns, first.scope_end_ns) == (0, 5000 * MS)
    assert (second.start_ns, second.heal_ns, second.effective) == (5000 * MS, None, False)
    # Scopes are half-open: the last record, at 7.992 s, is inside.
    assert (second.scope_start_ns, second.scope_end_ns) == (2000 * MS, 7992 * MS + 1)


def test_client_outages_run_from_first_unserved_op_to_first_served_one() -> None:
    ops = (
        stream(1, 0, 5000, failing=((3000, 3500),))
        + stream(2, 0, 5000, failing=((3100, 3300),))
        + stream(3, 0, 5000, failing=((500, 600),))  # before the fault: not its doing
        + [  # the check after the workload, retried once: not load
            Op("invoke", 90, -1, "final-read", "s", None, 5100 * MS),
            Op("info", 90, -1, "final-read", "s", None, 5600 * MS, error="TimeoutError"),
        ]
    )
    outages = {
        o.process: (o.start_ns, o.end_ns, o.duration_s)
        for o in measure(ops, KILL_AT_3S).client_outages
    }
    assert outages == {
        1: (3000 * MS, 3502 * MS, pytest.approx(0.502)),
        2: (3100 * MS, 3302 * MS, pytest.approx(0.202)),
    }


def test_the_cluster_outage_ends_when_any_client_is_served_again() -> None:
    # Client 1 is out for 0.5 s (say, bound to the dead node); the cluster serves at 3.302 s.
    ops = stream(1, 0, 5000, failing=((3000, 3500),)) + stream(2, 0, 5000, failing=((3000, 3300),))
    cluster = measure(ops, KILL_AT_3S).cluster_outage
    assert cluster is not None
    assert (cluster.process, cluster.start_ns, cluster.end_ns) == (None, 3000 * MS, 3302 * MS)
    assert cluster.duration_s == pytest.approx(0.302)


def test_an_operation_in_flight_when_the_fault_starts_starts_the_outage_at_the_fault() -> None:
    in_flight = [
        Op("invoke", 7, 1, "write", "k", 1, 2900 * MS),
        Op("info", 7, 1, "write", "k", 1, 3400 * MS),
    ]
    ops = in_flight + stream(1, 3400, 4000)
    (outage,) = measure(ops, KILL_AT_3S).client_outages
    assert (outage.start_ns, outage.end_ns) == (3000 * MS, 3402 * MS)


def test_a_slow_success_invoked_before_the_outage_does_not_end_it() -> None:
    slow = [
        Op("invoke", 7, 1, "write", "k", 1, 2950 * MS),
        Op("ok", 7, 1, "write", "k", 1, 3200 * MS),
    ]
    ops = slow + stream(1, 0, 5000, failing=((3000, 3500),))
    (outage,) = measure(ops, KILL_AT_3S).client_outages
    assert (outage.start_ns, outage.end_ns) == (3000 * MS, 3502 * MS)


def test_outages_without_service_until_the_end_stay_open() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 5000),)) + stream(2, 0, 5000, failing=((3000, 5000),))
    result = measure(ops, KILL_AT_3S)
    assert [o.end_ns for o in result.client_outages] == [None, None]
    assert result.cluster_outage is not None
    assert (result.cluster_outage.end_ns, result.cluster_outage.duration_s) == (None, None)


def test_a_cas_that_found_another_value_is_service_not_an_outage() -> None:
    mismatches = stream(1, 0, 5000, failing=((3000, 3500),), f="cas", outcome="fail", error=None)
    assert measure(mismatches, KILL_AT_3S).cluster_outage is None
    refused = stream(
        1, 0, 5000, failing=((3000, 3500),), f="cas", outcome="fail", error="ConnectionRefusedError"
    )
    assert measure(refused, KILL_AT_3S).cluster_outage is not None


def test_time_to_recover_is_the_start_of_a_sustained_second_at_baseline() -> None:
    # Baseline: 20 answers per bucket. From 3.0 s: 10, 0, 0, 10, 10, then 20s.
    ops = stream(1, 0, 5000, failing=((3000, 3500),)) + stream(2, 0, 5000, failing=((3100, 3300),))
    report = recovery_metrics(History(ops=ops, faults=KILL_AT_3S))
    assert report.baseline_served_per_bucket == 20
    assert report.faults[0].time_to_recover_s == pytest.approx(0.5)


def test_a_relapse_before_a_full_second_restarts_the_recovery_clock() -> None:
    # Healthy from 3.5 s for five buckets, a dip at 4.0 s, healthy again from 4.1 s.
    ops = stream(1, 0, 6000, failing=((3000, 3500), (4000, 4100))) + stream(2, 0, 6000)
    assert measure(ops, KILL_AT_3S).time_to_recover_s == pytest.approx(1.1)


def test_time_to_recover_is_zero_without_a_dip_and_none_without_recovery() -> None:
    assert measure(stream(1, 0, 5000), KILL_AT_3S).time_to_recover_s == 0.0
    stuck = stream(1, 0, 5000, failing=((3000, 5000),))
    assert measure(stuck, KILL_AT_3S).time_to_recover_s is None


def test_no_baseline_without_a_full_bucket_after_the_first_second() -> None:
    early = [fault("effective", 1050), fault("healed", 1500)]
    report = recovery_metrics(History(ops=stream(1, 0, 3000), faults=early))
    assert report.baseline_served_per_bucket is None
    assert report.faults[0].time_to_recover_s is None


LEADER_VIEWS = [
    *(observe(t, n, "n1") for t in range(0, 3000, 500) for n in ("n1", "n2")),
    observe(2500, "n3", "n2"),  # one stale view is outvoted
    observe(3100, "n2"),
    observe(3200, "n3"),
    observe(3300, "n1", "n1"),  # the old leader again is no news
    observe(3400, "n2", "n2"),
    observe(3500, "n3", "n2"),
]


def test_a_leader_fault_is_detected_when_another_leader_is_seen() -> None:
    faults = [fault("effective", 3000, role="leader"), fault("healed", 4000)]
    assert measure(stream(1, 0, 5000), faults, LEADER_VIEWS).time_to_detect_s == pytest.approx(0.4)


def test_a_node_fault_is_detected_when_another_node_marks_it_down() -> None:
    faults = [fault("effective", 3000, targets=("n2", "n3")), fault("healed", 4000)]
    views = [
        observe(3050, "n3", n2="down"),  # a target's own view does not count
        observe(3100, "n1", n3="up"),
        observe(3250, "n1", n3="down"),
        observe(3300, "n2", n3="down"),
    ]
    assert measure(stream(1, 0, 5000), faults, views).time_to_detect_s == pytest.approx(0.25)
    assert measure(stream(1, 0, 5000), faults, views[:2]).time_to_detect_s is None


def healing_views(observers: tuple[str, ...] = ("n1", "n2", "n3")) -> list[Observation]:
    """Every 100 ms all up, then n1 down from 3.0 s to 4.2 s; n1 itself silent 3.0 s to 4.1 s."""
    views = []
    for t in range(0, 5000, 100):
        for observer in observers:
            if observer == "n1" and 3000 <= t < 4100:
                continue
            n1 = "down" if 3000 <= t < 4200 and observer != "n1" else "up"
            views.append(observe(t, observer, n1=n1, n2="up", n3="up"))
    return views


def test_recovery_after_heal_waits_for_every_view_and_every_node_to_serve() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 4300),), node="n1") + stream(2, 0, 5000, node="n2")
    # Views are all up at 4.2 s; n1 serves again at 4.302 s.
    assert measure(ops, KILL_AT_3S, healing_views()).time_to_recover_after_heal_s == (
        pytest.approx(0.302)
    )
    served_early = stream(1, 0, 5000, failing=((3000, 4000),), node="n1")
    assert measure(served_early, KILL_AT_3S, healing_views()).time_to_recover_after_heal_s == (
        pytest.approx(0.2)
    )


def test_no_recovery_after_heal_while_an_observer_stays_silent() -> None:
    silent_n3 = [v for v in healing_views() if not (v.observer == "n3" and v.time >= 4000 * MS)]
    result = measure(stream(1, 0, 5000, node="n1"), KILL_AT_3S, silent_n3)
    assert result.time_to_recover_after_heal_s is None


def test_phase_stats_count_success_throughput_and_nearest_rank_latency() -> None:
    def op(
        op_id: int, invoke_ms: int, latency_ms: int, outcome: OpType, error: str = ""
    ) -> list[Op]:
        done = (invoke_ms + latency_ms) * MS
        return [
            Op("invoke", op_id, op_id, "cas", "k", [1, 2], invoke_ms * MS),
            Op(outcome, op_id, op_id, "cas", "k", [1, 2], done, error=error or None),
        ]

    ops = [
        *op(1, 0, 1, "ok"),
        *op(2, 10, 2, "ok"),
        *op(3, 20, 3, "ok"),
        *op(4, 30, 4, "ok"),
        *op(5, 110, 50, "info", "TimeoutError"),
        *op(6, 120, 5, "ok"),
        *op(7, 130, 1, "fail"),  # a definite "no": served
        *op(8, 140, 1, "fail", "ConnectionRefusedError"),
        *op(9, 250, 10, "ok"),
    ]
    faults = [fault("effective", 100), fault("healed", 200)]
    before, during, after = measure(ops, faults).phases
    summary = [
        (
            p.phase,
            p.operations,
            p.served,
            p.success_rate,
            p.served_per_bucket,
            p.errors_per_bucket,
            (p.latency_p50_ms, p.latency_p95_ms, p.latency_p99_ms),
        )
        for p in (before, during, after)
    ]
    assert summary == [
        ("before", 4, 4, 1.0, (4,), (0,), (2.0, 4.0, 4.0)),
        ("during", 4, 2, 0.5, (2,), (2,), (1.0, 5.0, 5.0)),
        ("after", 1, 1, 1.0, (1,), (0,), (10.0, 10.0, 10.0)),
    ]
    assert (after.start_ns, after.end_ns) == (200 * MS, 260 * MS + 1)


def test_the_report_is_plain_json() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 3500),), node="n1")
    report = recovery_metrics(History(ops=ops, faults=KILL_AT_3S, observations=healing_views()))
    data = json.loads(json.dumps(report.to_dict()))
    (fault_data,) = data["faults"]
    assert fault_data["cluster_outage"]["duration_s"] == pytest.approx(0.502)
    assert [p["phase"] for p in fault_data["phases"]] == ["before", "during", "after"]
    assert data["bucket_s"] == 0.1
