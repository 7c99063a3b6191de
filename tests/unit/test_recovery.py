"""Recovery figures on hand-built histories whose numbers are worked out by hand.

Times are written in milliseconds and stored in nanoseconds, as the run's
clock records them. Most scenarios use clients that invoke an operation
every 10 ms and get an answer 2 ms later: 10 answers per 100 ms bucket each.
The fault is issued at 2.990 s, proven at 3.000 s, its heal issued at 4.000 s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from chaos.checks.recovery import FaultRecovery, Rules, recovery_metrics
from chaos.checks.windows import fault_windows
from chaos.history import FaultEvent, FaultStage, History, Observation, Op, OpType

MS = 1_000_000
ONE_GROUP = Rules(detection="leader")
BY_KEY = Rules(detection="membership", sharded=True)


def stream(
    process: int,
    start_ms: int,
    end_ms: int,
    *,
    failing: tuple[tuple[int, int], ...] = (),
    f: str = "write",
    key: str = "k",
    outcome: OpType = "info",
    error: str | None = "TimeoutError",
    node: str | None = None,
) -> list[Op]:
    """A client's operations every 10 ms, answered in 2 ms; `outcome` if invoked in `failing`."""
    ops = []
    for invoke in range(start_ms, end_ms, 10):
        op_id = process * 1_000_000 + invoke
        fails = any(lo <= invoke < hi for lo, hi in failing)
        ops.append(Op("invoke", op_id, process, f, key, 1, invoke * MS, node=node))
        ops.append(
            Op(
                outcome if fails else "ok",
                op_id,
                process,
                f,
                key,
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
    kind: str = "kill",
    **detail: Any,
) -> FaultEvent:
    return FaultEvent(at_ms * MS, fault_id, kind, stage, targets, "docker", detail)


def observe(
    at_ms: int, observer: str, leader: str | None = None, role: str | None = None, **members: str
) -> Observation:
    return Observation(at_ms * MS, observer, role=role, leader=leader, members=members)


def measure(
    ops: list[Op],
    faults: list[FaultEvent],
    observations: Sequence[Observation] = (),
    rules: Rules = ONE_GROUP,
) -> FaultRecovery:
    history = History(ops=ops, faults=faults, observations=list(observations))
    (only,) = recovery_metrics(history, rules).faults
    return only


KILL_AT_3S = [
    fault("requested", 2990, targets=()),
    fault("effective", 3000),
    fault("heal-requested", 4000),
    fault("healed", 4300),
    fault("healed-verified", 4310),
]


def test_a_fault_window_runs_from_its_request_and_its_heal_request() -> None:
    faults = [
        fault("requested", 990, targets=()),
        fault("effective", 1000),
        fault("heal-requested", 1900),
        fault("healed", 2000),
        fault("healed-verified", 2100),
        fault("requested", 5000, fault_id=2, targets=()),
        fault("failed", 5001, fault_id=2),
    ]
    first, second = fault_windows(History(ops=stream(0, 0, 8000), faults=faults))
    assert (first.start_ns, first.effective_ns, first.end_ns) == (990 * MS, 1000 * MS, 1900 * MS)
    assert (first.targets, first.downed) == (("n1",), ("n1",))
    assert (first.scope_start_ns, first.scope_end_ns) == (0, 5000 * MS)
    assert (second.start_ns, second.heal_requested_ns, second.effective) == (5000 * MS, None, False)
    # The second scope starts at the first's proven heal; scopes are half-open.
    assert (second.scope_start_ns, second.scope_end_ns) == (2100 * MS, 7992 * MS + 1)


def test_a_history_without_heal_requests_takes_the_heal_from_healed_and_says_so() -> None:
    faults = [fault("requested", 990, targets=()), fault("effective", 1000), fault("healed", 2000)]
    (window,) = fault_windows(History(ops=stream(0, 0, 3000), faults=faults))
    assert (window.heal_requested_ns, window.heal_issued_recorded) == (2000 * MS, False)


def test_a_partition_downs_its_targets_only_when_it_cuts_their_clients() -> None:
    def window(clients: str) -> tuple[str, ...]:
        requested = fault("requested", 0, kind="partition", spec={"clients": clients})
        history = History(ops=stream(0, 0, 100), faults=[requested, fault("effective", 10)])
        return fault_windows(history)[0].downed

    assert (window("keep"), window("cut")) == ((), ("n1",))


def test_clients_bound_to_the_killed_node_are_its_downtime_not_the_clusters() -> None:
    ops = (
        stream(1, 0, 5000, failing=((3000, 4500),), node="n1")
        + stream(2, 0, 5000, failing=((3000, 3300),), node="n2")
        + stream(3, 0, 5000, failing=((500, 600),), node="n3")  # before the fault
        + [  # the check after the workload, retried once: not load
            Op("invoke", 90, -1, "final-read", "s", None, 5100 * MS),
            Op("info", 90, -1, "final-read", "s", None, 5600 * MS, error="TimeoutError"),
        ]
    )
    result = measure(ops, KILL_AT_3S).availability
    clients = {c.process: c.longest for c in result.clients}
    assert clients[2] is not None and (clients[2].start_ns, clients[2].end_ns) == (
        3000 * MS,
        3302 * MS,
    )
    assert clients[3] is None
    (downtime,) = result.node_downtime
    assert (downtime.node, downtime.processes) == ("n1", (1,))
    assert downtime.longest.duration_s == pytest.approx(1.502)
    assert downtime.back_after_heal_s == pytest.approx(0.502)  # heal issued at 4.0 s
    # n3's client kept the one group served: no more than a single operation's gap.
    assert result.unavailability_s <= 0.01


def test_an_operation_in_flight_at_the_request_opens_the_window_at_the_request() -> None:
    in_flight = [
        Op("invoke", 7, 1, "write", "k", 1, 2900 * MS),
        Op("info", 7, 1, "write", "k", 1, 3400 * MS),
    ]
    ops = in_flight + stream(1, 3400, 4000)
    shard = measure(ops, KILL_AT_3S).availability.worst_shard
    assert (shard.longest.start_ns, shard.longest.end_ns) == (2990 * MS, 3402 * MS)


def test_a_slow_success_invoked_before_the_window_does_not_close_it() -> None:
    slow = [
        Op("invoke", 7, 1, "write", "k", 1, 2950 * MS),
        Op("ok", 7, 1, "write", "k", 1, 3200 * MS),
    ]
    ops = slow + stream(1, 0, 5000, failing=((3000, 3500),))
    shard = measure(ops, KILL_AT_3S).availability.worst_shard
    assert (shard.longest.start_ns, shard.longest.end_ns) == (3000 * MS, 3502 * MS)


def test_a_window_still_open_at_the_end_has_no_duration_but_ranks_by_its_length() -> None:
    stuck = stream(1, 0, 5000, failing=((3000, 5000),))
    result = measure(stuck, KILL_AT_3S).availability
    assert result.unavailability_s is None  # never served again: no figure, an SLO fails
    assert result.worst_shard.longest.at_least_s == pytest.approx(1.993, abs=0.01)
    # A client served until its last two operations: its open window is short, not "never".
    tail = stream(2, 0, 5000, failing=((4980, 5000),))
    (client,) = measure(stuck + tail, KILL_AT_3S).availability.clients[1:]
    assert client.longest.end_ns is None and client.longest.at_least_s < 0.05


def test_each_shard_is_judged_on_its_own_keys() -> None:
    ops = stream(1, 0, 5000, key="s0", failing=((3000, 4000),)) + stream(2, 0, 5000, key="s1")
    by_key = measure(ops, KILL_AT_3S, rules=BY_KEY).availability
    assert {s.shard: s.longest is not None for s in by_key.shards} == {"s0": True, "s1": False}
    assert by_key.worst_shard.shard == "s0"
    assert by_key.unavailability_s == pytest.approx(1.002)
    one_group = measure(ops, KILL_AT_3S).availability
    assert one_group.unavailability_s < 0.02  # s1 kept the one group served


def test_shard_names_label_keys_as_the_system_names_its_shards() -> None:
    rules = Rules(sharded=True, shard_names={"s0": "slot 9", "s1": "slot 9"})
    ops = stream(1, 0, 5000, key="s0") + stream(2, 0, 5000, key="s1")
    (shard,) = measure(ops, KILL_AT_3S, rules=rules).availability.shards
    assert (shard.shard, shard.keys) == ("slot 9", ("s0", "s1"))


def test_a_blackout_needs_every_shard_and_every_client_unserved() -> None:
    # s0 out 3.0-4.0 s, s1 out 3.5-3.8 s and again 4.5-4.6 s: one blackout, 3.5-3.802 s.
    ops = stream(1, 0, 5000, key="s0", failing=((3000, 4000), (4500, 4600))) + stream(
        2, 0, 5000, key="s1", failing=((3500, 3800), (4500, 4600))
    )
    result = measure(ops, KILL_AT_3S, rules=BY_KEY).availability
    assert [(b.start_ns, b.end_ns) for b in result.blackouts] == [
        (3500 * MS, 3802 * MS),
        (4500 * MS, 4602 * MS),
    ]
    assert result.blackout_s == pytest.approx(0.302)
    assert result.longest_blackout.offset_s(2990 * MS) == pytest.approx(0.51)
    only_s0 = stream(1, 0, 5000, key="s0", failing=((3000, 4000),)) + stream(2, 0, 5000, key="s1")
    assert measure(only_s0, KILL_AT_3S, rules=BY_KEY).availability.blackouts == ()


def test_a_refused_cas_is_service_unless_the_run_says_its_refusals_prove_nothing() -> None:
    refusals = stream(1, 0, 5000, failing=((3000, 3500),), f="cas", outcome="fail", error=None)
    assert measure(refusals, KILL_AT_3S).unavailability_s == 0.0
    unsynced = Rules(detection="leader", refusals_are_service=False)
    assert measure(refusals, KILL_AT_3S, rules=unsynced).unavailability_s == pytest.approx(0.502)
    connection_refused = stream(
        1, 0, 5000, failing=((3000, 3500),), f="cas", outcome="fail", error="ConnectionRefused"
    )
    assert measure(connection_refused, KILL_AT_3S).unavailability_s == pytest.approx(0.502)


def test_throughput_recovered_counts_only_clients_not_bound_to_a_downed_node() -> None:
    # n1's client is down until 4.5 s; the other is back at 3.3 s. Over both clients the
    # throughput stays below 90 % until 4.5 s; over the unaffected one it is back at 3.3 s.
    ops = stream(1, 0, 6000, failing=((3000, 4500),), node="n1") + stream(
        2, 0, 6000, failing=((3000, 3300),), node="n2"
    )
    assert measure(ops, KILL_AT_3S).throughput_recovered_s == pytest.approx(0.31, abs=0.011)


def test_a_collapse_after_a_first_recovery_restarts_the_throughput_clock() -> None:
    # Out 3.0-3.7 s, back, then out again 3.9-4.5 s (a collapse begun while the fault was in
    # force, as Redis Cluster's blackout comes seconds after a kill): the first second at 90 %
    # after it starts at 4.49 s, 1.5 s after the request.
    outages = ((3000, 3700), (3900, 4500))
    ops = stream(1, 0, 6000, failing=outages) + stream(2, 0, 6000, failing=outages)
    assert measure(ops, KILL_AT_3S).throughput_recovered_s == pytest.approx(1.5, abs=0.011)


def test_a_short_outage_recovers_when_a_full_second_is_served_again() -> None:
    ops = stream(1, 0, 6000, failing=((3000, 3300),)) + stream(2, 0, 6000, failing=((3000, 3300),))
    assert measure(ops, KILL_AT_3S).throughput_recovered_s == pytest.approx(0.3, abs=0.011)


def test_a_shallow_dip_within_a_second_at_ninety_percent_is_recovered() -> None:
    # Half the rate for 100 ms inside an otherwise full second: that second is served.
    ops = stream(1, 0, 6000, failing=((3000, 3500), (4000, 4100))) + stream(2, 0, 6000)
    assert measure(ops, KILL_AT_3S).throughput_recovered_s == pytest.approx(0.5, abs=0.011)


def test_a_noise_dip_after_the_heal_does_not_set_the_throughput_figure() -> None:
    # The fault changed nothing; a dip long after its heal is not its recovery.
    ops = stream(1, 0, 8000, failing=((6000, 6500),)) + stream(2, 0, 8000)
    assert measure(ops, KILL_AT_3S).throughput_recovered_s == 0.0


def test_throughput_recovered_is_zero_without_a_dip_and_none_without_recovery() -> None:
    assert measure(stream(1, 0, 5000), KILL_AT_3S).throughput_recovered_s == 0.0
    stuck = stream(1, 0, 5000, failing=((3000, 5000),))
    assert measure(stuck, KILL_AT_3S).throughput_recovered_s is None


def test_no_baseline_without_a_full_bucket_after_the_first_second() -> None:
    early = [fault("requested", 1050, targets=()), fault("heal-requested", 1500)]
    report = recovery_metrics(History(ops=stream(1, 0, 3000), faults=early))
    assert report.baseline_served_per_bucket is None
    assert report.faults[0].throughput_recovered_s is None


LEADER_VIEWS = [
    *(observe(t, n, "n1") for t in range(0, 3000, 500) for n in ("n1", "n2")),
    observe(2500, "n3", "n2"),  # one stale view is outvoted
    observe(2995, "n2", role="looking"),  # after the request: not "before the fault"
    observe(3100, "n2"),
    observe(3200, "n3"),
    observe(3300, "n1", "n1"),  # the old leader again is no news
    observe(3400, "n2", "n2", role="leader"),
    observe(3500, "n3", "n2", role="follower"),
]


def test_a_leader_fault_is_detected_when_another_leader_is_seen() -> None:
    detection = measure(stream(1, 0, 5000), KILL_AT_3S, LEADER_VIEWS).detection
    assert (detection.old_leader, detection.new_leader) == ("n1", "n2")
    assert detection.first_s == pytest.approx(0.41)  # from the request at 2.990 s
    assert detection.not_before_s == pytest.approx(0.11)  # n2's previous answer
    assert detection.all_s == pytest.approx(0.51)  # n3 follows n2 at 3.5 s


def test_a_leader_systems_fault_off_the_leader_has_no_detection_to_observe() -> None:
    follower = [*KILL_AT_3S[:1], fault("effective", 3000, targets=("n3",)), *KILL_AT_3S[2:]]
    detection = measure(stream(1, 0, 5000), follower, LEADER_VIEWS).detection
    assert (detection.observable, detection.first_s) == (False, None)
    assert "did not strike the leader" in detection.note


def test_a_node_fault_is_detected_when_a_peer_marks_it_down() -> None:
    faults = [*KILL_AT_3S[:1], fault("effective", 3000, targets=("n2", "n3")), *KILL_AT_3S[2:]]
    views = [
        observe(3050, "n3", n2="down"),  # a target's own view does not count
        observe(3060, "driver", n2="down", n3="down"),  # nor does the client driver's
        observe(3100, "n1", n3="suspect"),
        observe(3250, "n1", n3="down"),
        observe(3400, "n1", n2="down", n3="down"),
    ]
    rules = Rules(detection="membership")
    detection = measure(stream(1, 0, 5000), faults, views, rules).detection
    assert detection.first_s == pytest.approx(0.26)
    assert detection.suspected_s == pytest.approx(0.11)
    assert detection.all_s == pytest.approx(0.41)  # every peer (n1) sees every target down
    assert detection.client_noticed_s == pytest.approx(0.07)
    assert measure(stream(1, 0, 5000), faults, views[:3], rules).detection.first_s is None


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


def test_recovery_after_heal_counts_from_the_heal_request() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 4300),), node="n1") + stream(2, 0, 5000, node="n2")
    # The heal was issued at 4.0 s; views are all up at 4.2 s; n1 serves again at 4.302 s.
    assert measure(ops, KILL_AT_3S, healing_views()).recovery_after_heal_s == (pytest.approx(0.302))
    served_early = stream(1, 0, 5000, failing=((3000, 4000),), node="n1")
    assert measure(served_early, KILL_AT_3S, healing_views()).recovery_after_heal_s == (
        pytest.approx(0.2)
    )


def test_no_recovery_after_heal_while_an_observer_stays_silent() -> None:
    silent_n3 = [v for v in healing_views() if not (v.observer == "n3" and v.time >= 4000 * MS)]
    result = measure(stream(1, 0, 5000, node="n1"), KILL_AT_3S, silent_n3)
    assert result.recovery_after_heal_s is None


def test_views_converge_when_every_node_agrees_not_when_it_serves() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 4300),), node="n1") + stream(2, 0, 5000, node="n2")
    # Every view is all up from 4.2 s; n1 serving again at 4.302 s is recovery, not convergence.
    result = measure(ops, KILL_AT_3S, healing_views())
    assert result.views_converged_s == pytest.approx(0.2)
    assert result.views_converged_s < result.recovery_after_heal_s


def leader_views(split_until_ms: int) -> list[Observation]:
    """n1 leads until the fault; after the heal n3 still follows the old leader until
    `split_until_ms`, then everyone names n2."""
    views = []
    for t in range(0, 6000, 100):
        for observer in ("n1", "n2", "n3"):
            old = t < 3000 or (observer == "n3" and t < split_until_ms)
            leader = "n1" if old else "n2"
            role = "leader" if observer == leader else "follower"
            views.append(observe(t, observer, leader=leader, role=role))
    return views


def test_views_converge_only_once_every_node_names_the_same_leader() -> None:
    ops = stream(1, 0, 6000, node="n2")
    assert measure(ops, KILL_AT_3S, leader_views(4500)).views_converged_s == pytest.approx(0.5)
    assert measure(ops, KILL_AT_3S, leader_views(0)).views_converged_s == 0.0


def test_a_node_in_a_role_unseen_at_rest_has_not_converged() -> None:
    electing = range(3000 * MS, 4700 * MS)
    views = [
        replace(v, role="looking", leader=None) if v.observer == "n1" and v.time in electing else v
        for v in leader_views(0)
    ]
    assert measure(stream(1, 0, 6000, node="n2"), KILL_AT_3S, views).views_converged_s == (
        pytest.approx(0.7)
    )


def test_a_restart_converges_from_its_own_request() -> None:
    restart = [fault("requested", 2990, kind="restart"), fault("effective", 3000, kind="restart")]
    result = measure(stream(1, 0, 6000, node="n2"), restart, leader_views(4000))
    assert result.views_converged_s == pytest.approx(1.01)


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
    faults = [fault("requested", 100, targets=()), fault("heal-requested", 200)]
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


def test_the_report_is_plain_json_with_the_headline_figures() -> None:
    ops = stream(1, 0, 5000, failing=((3000, 3500),), node="n2")
    report = recovery_metrics(
        History(ops=ops, faults=KILL_AT_3S, observations=healing_views()), ONE_GROUP
    )
    data = json.loads(json.dumps(report.to_dict()))
    (fault_data,) = data["faults"]
    assert fault_data["unavailability_s"] == pytest.approx(0.502)
    assert fault_data["blackout_s"] == pytest.approx(0.502)
    assert fault_data["availability"]["worst_shard"] == "all"
    assert [p["phase"] for p in fault_data["phases"]] == ["before", "during", "after"]
    assert data["bucket_s"] == 0.1
