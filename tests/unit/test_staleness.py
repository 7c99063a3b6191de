"""Staleness (versions behind, milliseconds since overwritten) on histories whose truth is
known by construction: planted stale reads, sequential executions, and agreement with the
stale-reads detector on arbitrary histories."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.artefacts import read_metrics
from chaos.checks.compose import CHECKS, applicable, judge
from chaos.checks.measure import measure, results_of
from chaos.checks.rules import Rules
from chaos.checks.safety import stale_reads
from chaos.checks.staleness import UNRECORDED, StalenessCheck, staleness
from chaos.history import History, Op, OpType, load_history

MS = 1_000_000  # nanoseconds
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded-runs"


def spans(
    *ops: tuple[str, Any, float, float | None],
    key: str = "k0",
    node: str | None = "n1",
    mode: str | None = None,
    outcome: OpType = "ok",
    first_id: int = 0,
) -> list[Op]:
    """Operations as (f, value, invoked ms, completed ms or None: never), all `outcome`;
    each its own process. A read's value is what it returned."""
    history = []
    for op_id, (f, value, invoked, completed) in enumerate(ops, start=first_id):
        read_mode = mode if f == "read" else None
        given = None if f == "read" else value
        history.append(
            Op("invoke", op_id, op_id, f, key, given, int(invoked * MS), node, mode=read_mode)
        )
        if completed is not None:
            history.append(
                Op(outcome, op_id, op_id, f, key, value, int(completed * MS), node, mode=read_mode)
            )
    return history


def test_a_read_two_writes_behind_is_stale_for_the_time_since_the_first_overwrite() -> None:
    ops = spans(
        ("write", 1, 0, 10), ("write", 2, 20, 30), ("write", 3, 40, 50), ("read", 1, 70, 80)
    )
    result = staleness(History(ops=ops))
    (read,) = result.stalest
    assert (result.reads_checked, result.stale_count) == (1, 1)
    assert (read.op_id, read.value, read.versions_behind) == (3, 1, 2)
    assert read.stale_ms == pytest.approx(40.0)  # the write of 2 completed at 30 ms
    assert read.overwritten_by == 1
    assert result.overall.versions_behind_max == 2
    assert result.overall.stale_ms_max == pytest.approx(40.0)


def test_the_initial_state_is_overwritten_by_the_first_acknowledged_write() -> None:
    ops = spans(("write", 1, 0, 10), ("write", 2, 12, 18), ("read", None, 25, 26))
    (read,) = staleness(History(ops=ops)).stalest
    assert (read.versions_behind, read.stale_ms) == (2, pytest.approx(15.0))


def test_a_write_concurrent_with_the_value_read_was_not_missed() -> None:
    # The write of 2 began before the write of 1 completed: it may be ordered first.
    ops = spans(("write", 1, 0, 10), ("write", 2, 5, 20), ("read", 1, 50, 60))
    assert staleness(History(ops=ops)).stale_count == 0


def test_a_write_still_running_when_the_read_began_was_not_missed() -> None:
    ops = spans(("write", 1, 0, 10), ("write", 2, 20, 100), ("read", 1, 50, 60))
    assert staleness(History(ops=ops)).stale_count == 0


def test_a_value_of_unknown_outcome_is_never_stale() -> None:
    unknown = spans(("write", 1, 0, 10), outcome="info")
    later = spans(("write", 2, 20, 30), ("read", 1, 50, 60), first_id=1)
    assert staleness(History(ops=unknown + later)).stale_count == 0


def test_a_successful_cas_overwrites_and_a_refused_one_does_not() -> None:
    base = spans(("write", 1, 0, 10))
    applied = spans(("cas", [1, 2], 20, 30), first_id=1)
    refused = spans(("cas", [7, 3], 20, 30), first_id=1, outcome="fail")
    read = spans(("read", 1, 45, 50), first_id=2)
    (stale,) = staleness(History(ops=base + applied + read)).stalest
    assert (stale.versions_behind, stale.stale_ms) == (1, pytest.approx(15.0))
    assert staleness(History(ops=base + refused + read)).stale_count == 0


def test_sets_are_not_registers() -> None:
    ops = spans(("add", 1, 0, 10), ("read", [], 20, 30), key="s0")
    assert staleness(History(ops=ops)).reads_checked == 0


def test_reads_are_counted_by_mode_and_by_node() -> None:
    writes = spans(("write", 1, 0, 10), ("write", 2, 20, 30))
    weak = spans(("read", 1, 40, 41), first_id=2, node="n3", mode="serializable")
    strong = spans(("read", 2, 40, 41), first_id=3, node="n1", mode="linearizable")
    old = spans(("read", 2, 50, 51), first_id=4, node="n2")
    result = staleness(History(ops=writes + weak + strong + old))
    assert {mode: (s.reads, s.stale) for mode, s in result.by_mode.items()} == {
        "linearizable": (1, 0),
        "serializable": (1, 1),
        UNRECORDED: (1, 0),
    }
    assert {node: (s.reads, s.stale) for node, s in result.by_node.items()} == {
        "n1": (1, 0),
        "n2": (1, 0),
        "n3": (1, 1),
    }
    assert result.by_mode["serializable"].stale_ms_p50 == pytest.approx(10.0)


def test_percentiles_are_nearest_rank_over_the_stale_reads() -> None:
    writes = spans(*[("write", v, 10 * v, 10 * v + 5) for v in range(1, 11)])
    # Reads of 1 at 200 ms (9 behind, 175 ms), of 5 (5 behind, 135 ms), of 10 (fresh).
    reads = spans(("read", 1, 200, 201), ("read", 5, 200, 201), ("read", 10, 200, 201), first_id=10)
    overall = staleness(History(ops=writes + reads)).overall
    assert (overall.reads, overall.stale) == (3, 2)
    assert (overall.versions_behind_p50, overall.versions_behind_p99) == (5, 9)
    assert overall.stale_ms_p50 == pytest.approx(135.0)
    assert overall.stale_ms_p99 == pytest.approx(175.0)


# -- judging: never a failure the experiment did not ask for -------------------------------


def planted_stale_history() -> History:
    return History(ops=spans(("write", 1, 0, 10), ("write", 2, 20, 30), ("read", 1, 70, 80)))


def test_stale_reads_are_measured_and_not_judged_unless_the_experiment_asks() -> None:
    check = StalenessCheck()
    result = check.measure(planted_stale_history(), Rules())
    assert result.stale_count == 1
    assert check.judge(result, {}) == []
    assert check.judge(result, {"stale_reads": 0, "linearizable": True}) == []


def test_staleness_slos_are_judged_when_set() -> None:
    check = StalenessCheck()
    result = check.measure(planted_stale_history(), Rules())
    reads, age = check.judge(result, {"max_stale_reads": 0, "max_staleness": 0.05})
    assert (reads.slo, reads.measured, reads.outcome) == ("max_stale_reads", 1, "failed")
    assert (age.slo, age.measured, age.outcome) == ("max_staleness", pytest.approx(0.04), "held")
    (age,) = check.judge(result, {"max_staleness": 0.01})
    assert age.outcome == "failed"


def test_a_run_without_stale_reads_holds_a_zero_staleness_bound() -> None:
    fresh = History(ops=spans(("write", 1, 0, 10), ("read", 1, 20, 30)))
    result = StalenessCheck().measure(fresh, Rules())
    verdicts = StalenessCheck().judge(result, {"max_stale_reads": 0, "max_staleness": 0})
    assert [(v.measured, v.outcome) for v in verdicts] == [(0, "held"), (0.0, "held")]


def test_a_metrics_file_from_before_the_check_judges_its_slo_unknown() -> None:
    (verdict,) = StalenessCheck().judge(None, {"max_stale_reads": 0})
    assert (verdict.outcome, verdict.detail) == ("unknown", "not measured")


def test_the_check_runs_on_register_workloads_and_lands_in_metrics(tmp_path: Path) -> None:
    assert "staleness" in applicable("register")
    assert "staleness" not in applicable("unique-writes")
    metrics = measure(planted_stale_history(), Rules(), applicable("register"))
    assert metrics.staleness is not None and metrics.staleness.stale_count == 1
    assert judge(results_of(metrics), ["staleness"], {"max_stale_reads": 1})[0].held
    (tmp_path / "metrics.json").write_text(json.dumps(metrics.to_json()))
    assert read_metrics(tmp_path) == metrics  # a typed artefact: read back as written


def test_an_old_history_is_read_with_its_reads_unrecorded() -> None:
    history = load_history(RECORDED / "zookeeper-leader-pause" / "history.jsonl.gz")
    result = staleness(history)
    assert result.reads_checked > 0
    assert set(result.by_mode) == {UNRECORDED}
    assert CHECKS["staleness"].judge(result, {}) == []


# -- properties ---------------------------------------------------------------------------


@st.composite
def sequential_histories(draw: st.DrawFn) -> list[Op]:
    """One operation at a time against a register, each read returning the current value;
    nodes, modes and gaps drawn."""
    count = draw(st.integers(1, 40))
    ops: list[Op] = []
    current: int | None = None
    now, value = 0, 0
    for op_id in range(count):
        f = draw(st.sampled_from(["read", "write", "cas"]))
        now += draw(st.integers(0, 50)) * MS
        invoked, now = now, now + draw(st.integers(1, 20)) * MS
        node = draw(st.sampled_from(["n1", "n2", "n3"]))
        mode = (
            draw(st.sampled_from(["linearizable", "serializable", None])) if f == "read" else None
        )
        kind: OpType = "ok"
        if f == "read":
            given, returned = None, current
        elif f == "write":
            value += 1
            given = returned = value
            current = value
        else:
            value += 1
            expected = current if draw(st.booleans()) else -1
            given = returned = [expected, value]
            if expected == current:
                current = value
            else:
                kind = "fail"
        ops.append(Op("invoke", op_id, op_id, f, "k", given, invoked, node, mode=mode))
        ops.append(Op(kind, op_id, op_id, f, "k", returned, now, node, mode=mode))
        now += MS
    return ops


@settings(max_examples=300, deadline=None)
@given(sequential_histories())
def test_a_sequential_history_has_no_staleness(ops: list[Op]) -> None:
    result = staleness(History(ops=ops))
    assert result.reads_checked == sum(op.type == "ok" and op.f == "read" for op in ops)
    assert result.stale_count == 0
    assert all(summary.stale == 0 for summary in result.by_mode.values())


@settings(max_examples=300, deadline=None)
@given(sequential_histories(), st.data())
def test_a_planted_old_value_is_exactly_as_stale_as_the_writes_after_it(
    ops: list[Op], data: st.DataObject
) -> None:
    """Replace a read's value with one written k acknowledged writes before: k behind, and
    stale from the completion of the first of them."""
    completions = {op.id: op for op in ops if op.type != "invoke"}
    invokes = [op for op in ops if op.type == "invoke"]
    stores = [  # (value, completion) of each acknowledged write or applied cas, in order
        (op.value[1] if op.f == "cas" else op.value, completions[op.id])
        for op in invokes
        if op.f != "read" and completions[op.id].type == "ok"
    ]
    reads = [op for op in invokes if op.f == "read"]
    choices = [
        (read, index)
        for read in reads
        for index in range(-1, len(stores))
        if any(done.time < read.time for _, done in stores[index + 1 :])
    ]
    if not choices:
        return
    read, index = data.draw(st.sampled_from(choices))
    old = None if index < 0 else stores[index][0]
    later = [done for _, done in stores[index + 1 :] if done.time < read.time]
    planted = [replace(op, value=old) if op is completions[read.id] else op for op in ops]
    result = staleness(History(ops=planted))
    (stale,) = result.stalest
    assert stale.op_id == read.id
    assert stale.versions_behind == len(later)
    assert stale.stale_ms == pytest.approx((read.time - later[0].time) / MS)


@st.composite
def concurrent_histories(draw: st.DrawFn) -> list[Op]:
    """Overlapping operations on one register with any outcome and any value read (one
    written anywhere in the history, or none): nothing like a real execution, which is the
    point for comparing two definitions."""
    count = draw(st.integers(1, 25))
    values = list(range(1, count + 1))
    ops = []
    for op_id in range(count):
        f = draw(st.sampled_from(["read", "write", "cas"]))
        invoked = draw(st.integers(0, 200)) * MS
        completed = invoked + draw(st.integers(1, 60)) * MS
        kind: OpType = draw(st.sampled_from(["ok", "ok", "ok", "fail", "info"]))
        if f == "read":
            kind = "ok"
            given, returned = None, draw(st.sampled_from([None, *values]))
        elif f == "write":
            given = returned = values[op_id]
        else:
            given = returned = [draw(st.sampled_from([None, *values])), values[op_id]]
        ops.append(Op("invoke", op_id, op_id, f, "k", given, invoked))
        if not (kind == "info" and draw(st.booleans())):  # some never complete
            ops.append(Op(kind, op_id, op_id, f, "k", returned, completed))
    return sorted(ops, key=lambda op: op.time)


@settings(max_examples=500, deadline=None)
@given(concurrent_histories())
def test_staleness_finds_exactly_the_reads_the_stale_reads_detector_finds(ops: list[Op]) -> None:
    history = History(ops=ops)
    detected = {stale.read[0].id for stale in stale_reads(history).stale}
    measured = {stale.op_id for stale in staleness(history).stalest}
    assert staleness(history).stale_count == len(detected)
    assert measured <= detected
    assert all(
        stale.versions_behind >= 1 and stale.stale_ms > 0 for stale in staleness(history).stalest
    )
