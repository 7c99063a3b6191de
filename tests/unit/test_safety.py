"""Lost writes and stale reads against histories whose truth is known by construction."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_linearizability import (
    Spec,
    ok_reads,
    planted_read,
    register_histories,
    simulate,
    specs,
    stale_plant,
    with_read_value,
)

from chaos.checks.linearizability import check_linearizability
from chaos.checks.safety import lost_writes, stale_reads
from chaos.history import History, Op, OpType

FINAL = Spec(
    process=99,
    key="x",
    f="final-read",
    value=None,
    gap=100_000,  # after every effect, indeterminate ones included
    duration=1,
    point=0.5,
    outcome="definite",
    happens=True,
    delay=0,
)


def set_model(sets: dict[str, Any], call: Op) -> tuple[OpType, Any]:
    members = sets.setdefault(call.key, set())  # type: ignore[arg-type]
    if call.f == "add":
        members.add(call.value)
        return "ok", call.value
    return "ok", sorted(members)


@st.composite
def set_histories(draw: st.DrawFn) -> list[Op]:
    """Unique-value adds and reads on one or two keys, then a final read of each key."""
    drawn = draw(specs(functions=("add", "read")))
    adds = [replace(s, value=i) if s.f == "add" else s for i, s in enumerate(drawn)]
    return simulate([*adds, FINAL, replace(FINAL, key="y")], set_model)


def final_read_of(ops: list[Op], key: str) -> Op:
    return next(op for op in ops if op.f == "final-read" and op.type == "ok" and op.key == key)


def adds_with(ops: list[Op], outcome: str) -> list[Op]:
    completed = {op.id: op.type for op in ops if op.type != "invoke"}
    return [
        op
        for op in ops
        if op.f == "add" and op.type == "invoke" and completed.get(op.id, "info") == outcome
    ]


def add(op_id: int, value: int, invoke: int, complete: int, outcome: OpType = "ok") -> list[Op]:
    return [
        Op("invoke", op_id, op_id, "add", "s", value, invoke),
        Op(outcome, op_id, op_id, "add", "s", value, complete),
    ]


def read(op_id: int, f: str, values: list[int], invoke: int, complete: int) -> list[Op]:
    return [
        Op("invoke", op_id, op_id, f, "s", None, invoke),
        Op("ok", op_id, op_id, f, "s", values, complete),
    ]


@given(set_histories())
@settings(max_examples=200, deadline=None)
def test_no_write_of_a_sequential_set_is_lost(ops: list[Op]) -> None:
    result = lost_writes(History(ops=ops))
    assert result.ok and not result.unchecked
    acknowledged = adds_with(ops, "ok")
    unknown = adds_with(ops, "info")
    assert sum(k.acknowledged for k in result.keys) == len(acknowledged)
    assert sum(k.unknown_present + k.unknown_absent for k in result.keys) == len(unknown)


@given(set_histories(), st.data())
@settings(max_examples=200, deadline=None)
def test_an_acknowledged_add_missing_from_the_final_read_is_lost(
    ops: list[Op], data: st.DataObject
) -> None:
    acknowledged = adds_with(ops, "ok")
    if not acknowledged:
        ops = ops + add(500, 500, 0, 1) + read(501, "final-read", [500], 10, 20)
        acknowledged = [ops[-4]]
    victim = data.draw(st.sampled_from(acknowledged))
    final = final_read_of(ops, victim.key)  # type: ignore[arg-type]
    kept = [v for v in final.value if v != victim.value]
    ops = [replace(op, value=kept) if op is final else op for op in ops]
    result = lost_writes(History(ops=ops))
    assert not result.ok
    assert [invoke.id for invoke, _ in result.lost] == [victim.id]


def test_an_add_that_reported_failure_but_shows_up_is_unexpected() -> None:
    ops = add(1, 10, 0, 5) + add(2, 20, 0, 5, "fail") + add(3, 30, 0, 5, "info")
    ops += read(4, "final-read", [10, 20, 30], 100, 110)
    (key,) = lost_writes(History(ops=ops)).keys
    assert key.unexpected == (20,)
    assert (key.acknowledged, key.unknown_present, key.unknown_absent) == (1, 1, 0)


def test_only_the_last_final_read_counts() -> None:
    ops = add(1, 10, 0, 5) + read(2, "final-read", [], 10, 20) + read(3, "final-read", [10], 30, 40)
    result = lost_writes(History(ops=ops))
    assert result.ok
    assert result.keys[0].final_read[0].id == 3


def test_a_key_without_a_successful_final_read_is_unchecked_not_passed() -> None:
    ops = [*add(1, 10, 0, 5), Op("invoke", 2, 2, "final-read", "s", None, 10)]
    result = lost_writes(History(ops=ops))
    assert result.unchecked == ("s",)
    assert result.keys == ()
    json.dumps(result.to_dict())


@given(register_histories())
@settings(max_examples=300, deadline=None)
def test_no_read_of_a_sequential_register_is_stale(ops: list[Op]) -> None:
    assert stale_reads(History(ops=ops)).ok


@given(set_histories())
@settings(max_examples=200, deadline=None)
def test_no_read_of_a_sequential_set_is_stale(ops: list[Op]) -> None:
    assert stale_reads(History(ops=ops)).ok


@given(register_histories())
@settings(max_examples=200, deadline=None)
def test_a_read_of_an_overwritten_register_value_is_stale(ops: list[Op]) -> None:
    plant = stale_plant(ops)
    if plant is None:
        ops = ops + planted_read([("write", 1, 0, 1), ("write", 2, 2, 3), ("read", 1, 4, 5)])
        planted = ops[-1]
    else:
        planted, value = plant
        ops = with_read_value(ops, planted, value)
    result = stale_reads(History(ops=ops))
    assert planted.id in {s.read[0].id for s in result.stale}


@given(register_histories(), st.data())
@settings(max_examples=300, deadline=None)
def test_a_stale_read_is_always_a_linearizability_violation(
    ops: list[Op], data: st.DataObject
) -> None:
    for read_op in ok_reads(ops):
        ops = with_read_value(ops, read_op, data.draw(st.sampled_from([None, 0, 1, 2, 3, 4])))
    history = History(ops=ops)
    if not stale_reads(history).ok:
        assert check_linearizability(history).verdict == "non-linearizable"


@given(set_histories(), st.data())
@settings(max_examples=200, deadline=None)
def test_a_set_read_missing_an_add_acknowledged_before_it_is_stale(
    ops: list[Op], data: st.DataObject
) -> None:
    done = {op.id: op.time for op in ops if op.f == "add" and op.type == "ok"}
    invoked = {op.id: op.time for op in ops if op.type == "invoke"}
    candidates = [
        (r, v) for r in ok_reads(ops) for v in r.value if v in done and done[v] < invoked[r.id]
    ]
    if not candidates:
        ops = ops + add(500, 500, 0, 1) + read(501, "read", [], 2, 3)
        candidates = [(ops[-1], 500)]
    planted, missing = data.draw(st.sampled_from(candidates))
    ops = with_read_value(ops, planted, [v for v in planted.value if v != missing])
    (stale,) = stale_reads(History(ops=ops)).stale
    assert stale.read[0].id == planted.id
    assert [invoke.value for invoke, _ in stale.missed] == [missing]


def test_a_set_read_invoked_as_an_add_completes_may_miss_it() -> None:
    ops = add(1, 10, 0, 5) + read(2, "read", [], 5, 8) + read(3, "read", [], 6, 9)
    (stale,) = stale_reads(History(ops=ops)).stale
    assert stale.read[0].id == 3


def register(spans: list[tuple[str, Any, int, int, OpType]]) -> list[Op]:
    ops = []
    for op_id, (f, value, invoke, complete, outcome) in enumerate(spans):
        ops.append(Op("invoke", op_id, op_id, f, "r", None if f == "read" else value, invoke))
        ops.append(Op(outcome, op_id, op_id, f, "r", value, complete))
    return ops


def test_a_read_behind_a_completed_write_is_stale_and_names_it() -> None:
    ops = register(
        [("write", 1, 0, 10, "ok"), ("write", 2, 20, 30, "ok"), ("read", 1, 40, 50, "ok")]
    )
    (stale,) = stale_reads(History(ops=ops)).stale
    assert (stale.read[0].id, stale.value, stale.missed[0][0].id) == (2, 1, 1)


def test_a_read_of_the_initial_value_after_a_completed_write_is_stale() -> None:
    ops = register([("write", 1, 0, 10, "ok"), ("read", None, 20, 30, "ok")])
    assert len(stale_reads(History(ops=ops)).stale) == 1


def test_a_write_still_running_when_the_read_starts_does_not_make_it_stale() -> None:
    ops = register(
        [("write", 1, 0, 10, "ok"), ("write", 2, 20, 45, "ok"), ("read", 1, 40, 50, "ok")]
    )
    assert stale_reads(History(ops=ops)).ok


def test_a_value_from_a_write_of_unknown_outcome_is_never_stale() -> None:
    # The timed-out write of 1 may take effect after the write of 2.
    ops = register(
        [("write", 1, 0, 10, "info"), ("write", 2, 20, 30, "ok"), ("read", 1, 40, 50, "ok")]
    )
    assert stale_reads(History(ops=ops)).ok
    assert check_linearizability(History(ops=ops)).linearizable


def test_a_read_of_a_value_only_a_failed_cas_stored_is_not_called_stale() -> None:
    # Nothing wrote 3: that is a phantom, the linearizability checker's to report.
    ops = register(
        [("write", 1, 0, 10, "ok"), ("cas", [2, 3], 20, 30, "fail"), ("read", 3, 40, 50, "ok")]
    )
    result = stale_reads(History(ops=ops))
    assert result.ok and result.reads_checked == 1
    json.dumps(result.to_dict())
