"""The linearizability checker against histories whose truth is known by construction.

Valid histories come from a sequential model run with random concurrency:
each operation takes effect at one instant inside its call (an
indeterminate one at any instant after its invoke, or never), so a valid
order exists by construction; the model refuses a cas whose expectation is
wrong. Planted anomalies make one read, or one refusal, impossible.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.checks.linearizability import KeyResult, check_linearizability
from chaos.checks.linearizability.calls import calls_by_key
from chaos.checks.linearizability.cuts import Cuts
from chaos.checks.linearizability.search import search
from chaos.history import History, Op, OpType, pair_operations

Model = Callable[[dict[str, Any], Op], tuple[OpType, Any]]
PHANTOM = 10**6  # a value no generated operation writes


@dataclass(frozen=True)
class Spec:
    """One operation to simulate: who, what, and when its effect lands.

    `point` places a definite operation's effect inside its call (0 = at
    the invoke, 1 = at the completion); an indeterminate one (`info`, or
    `pending` with no completion) takes effect `delay` after its invoke if
    `happens`, possibly long after its completion, else never.
    """

    process: int
    key: str
    f: str
    value: Any
    gap: int
    duration: int
    point: float
    outcome: Literal["definite", "info", "pending"]
    happens: bool
    delay: int


def register_model(registers: dict[str, Any], call: Op) -> tuple[OpType, Any]:
    current = registers.get(call.key)  # type: ignore[arg-type]
    if call.f == "read":
        return "ok", current
    if call.f == "write":
        registers[call.key] = call.value  # type: ignore[index]
        return "ok", call.value
    expected, new = call.value
    if current != expected:
        return "fail", call.value
    registers[call.key] = new  # type: ignore[index]
    return "ok", call.value


def simulate(specs: Iterable[Spec], model: Model = register_model) -> list[Op]:
    """The history of `specs` run against `model`, each effect at its planned instant."""
    clocks: dict[int, int] = defaultdict(int)
    planned: list[tuple[float, Op]] = []
    completions: dict[int, tuple[Spec, int]] = {}
    ops: list[Op] = []
    for op_id, spec in enumerate(specs):
        invoke = clocks[spec.process] + spec.gap
        complete = invoke + spec.duration
        clocks[spec.process] = complete
        call = Op("invoke", op_id, spec.process, spec.f, spec.key, spec.value, invoke)
        ops.append(call)
        completions[op_id] = (spec, complete)
        if spec.outcome == "definite":
            planned.append((invoke + spec.point * spec.duration, call))
        elif spec.happens:
            planned.append((invoke + spec.delay, call))
    states: dict[str, Any] = {}
    results = {call.id: model(states, call) for _, call in sorted(planned, key=lambda p: p[0])}
    for call in list(ops):
        spec, complete = completions[call.id]
        if spec.outcome == "definite":
            outcome, value = results[call.id]
            ops.append(replace(call, type=outcome, value=value, time=complete))
        elif spec.outcome == "info":
            ops.append(replace(call, type="info", value=None, time=complete))
    return sorted(ops, key=lambda op: op.time)


@st.composite
def specs(
    draw: st.DrawFn, functions: tuple[str, ...] = ("read", "write", "cas"), max_ops: int = 30
) -> list[Spec]:
    processes = draw(st.integers(1, 5))
    keys = draw(st.sampled_from([("x",), ("x", "y")]))
    small = st.integers(0, 4)  # few values, so values repeat and reads are ambiguous
    values = {"read": st.none(), "write": small, "cas": st.tuples(small, small).map(list)}
    spec = st.builds(
        Spec,
        process=st.integers(0, processes - 1),
        key=st.sampled_from(keys),
        f=st.sampled_from(functions),
        value=st.none(),
        gap=st.integers(0, 5),
        duration=st.integers(0, 20),
        point=st.floats(0, 1),
        outcome=st.sampled_from(["definite"] * 4 + ["info", "pending"]),
        happens=st.booleans(),
        delay=st.integers(0, 100),
    )
    drawn = draw(st.lists(spec, max_size=max_ops))
    return [replace(s, value=draw(values[s.f])) if s.f in values else s for s in drawn]


def register_histories() -> st.SearchStrategy[list[Op]]:
    return specs().map(simulate)


def ok_reads(ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.type == "ok" and op.f == "read"]


def with_read_value(ops: list[Op], read: Op, value: Any) -> list[Op]:
    return [replace(op, value=value) if op is read else op for op in ops]


def planted_read(spans: list[tuple[str, Any, int, int]], key: str = "z") -> list[Op]:
    """Sequential operations on one key, as (f, value, invoke, complete) spans, all ok."""
    ops = []
    for op_id, (f, value, invoke, complete) in enumerate(spans, start=10_000):
        ops.append(Op("invoke", op_id, op_id, f, key, None if f == "read" else value, invoke))
        ops.append(Op("ok", op_id, op_id, f, key, value, complete))
    return ops


def stale_plant(ops: list[Op]) -> tuple[Op, Any] | None:
    """An ok read and a value it could not have seen, found by brute force.

    The value's every possible source completed before some write w was
    invoked, and w completed before the read was invoked: every order puts
    the sources, then w, then the read.
    """
    pairs = [(i, c) for i, c in pair_operations(ops) if c is None or c.type != "fail"]

    def sources(key: str | None, value: Any) -> list[tuple[Op, Op | None]]:
        return [
            (i, c)
            for i, c in pairs
            if i.key == key
            and i.f in ("write", "cas")
            and (i.value[1] if i.f == "cas" else i.value) == value
        ]

    for read in ok_reads(ops):
        writes = [
            (i, c)
            for i, c in pairs
            if i.key == read.key and i.f in ("write", "cas") and c and c.type == "ok"
        ]
        before = [(i, c) for i, c in writes if c and c.time < _invoke(ops, read).time]
        candidates = {None} | {i.value[1] if i.f == "cas" else i.value for i, _ in writes}
        for value in candidates - {read.value}:
            found = sources(read.key, value)
            if value is not None and not found:
                continue
            if any(c is None or c.type != "ok" for _, c in found):
                continue
            if any(all(c.time < w.time for _, c in found) for w, _ in before):  # type: ignore[union-attr]
                return read, value
    return None


def _invoke(ops: list[Op], completion: Op) -> Op:
    return next(op for op in ops if op.id == completion.id and op.type == "invoke")


def counterexample_ids(ops: list[Op]) -> set[int]:
    result = check_linearizability(History(ops=ops))
    assert result.verdict == "non-linearizable"
    return {invoke.id for k in result.failures for invoke, _ in k.counterexample}


@given(register_histories())
@settings(max_examples=300, deadline=None)
def test_every_history_of_a_sequential_model_is_linearizable(ops: list[Op]) -> None:
    result = check_linearizability(History(ops=ops))
    assert result.linearizable, result.failures[0].explanation if result.failures else result


@given(register_histories(), st.data())
@settings(max_examples=200, deadline=None)
def test_a_read_of_a_value_never_written_is_the_whole_counterexample(
    ops: list[Op], data: st.DataObject
) -> None:
    reads = ok_reads(ops)
    if reads:
        read = data.draw(st.sampled_from(reads))
        ops = with_read_value(ops, read, PHANTOM)
    else:
        ops = ops + planted_read([("read", PHANTOM, 0, 1)])
        read = ops[-1]
    result = check_linearizability(History(ops=ops))
    assert not result.linearizable
    (failure,) = result.failures
    assert [invoke.id for invoke, _ in failure.counterexample] == [read.id]
    assert failure.minimal
    assert f"read {PHANTOM}, which no operation on this key" in failure.explanation


@given(register_histories())
@settings(max_examples=200, deadline=None)
def test_a_read_of_an_overwritten_value_is_in_the_counterexample(ops: list[Op]) -> None:
    plant = stale_plant(ops)
    if plant is None:  # no read in this history can be made stale: add one on its own key
        ops = ops + planted_read([("write", 1, 0, 1), ("write", 2, 2, 3), ("read", 1, 4, 5)])
        read = ops[-1]
    else:
        read, value = plant
        ops = with_read_value(ops, read, value)
    assert read.id in counterexample_ids(ops)


def test_stale_read_counterexample_is_the_two_writes_and_the_read() -> None:
    ops = planted_read([("write", 1, 0, 10), ("write", 2, 20, 30), ("read", 1, 40, 50)])
    noise = planted_read([("write", 7, 0, 100), ("read", 7, 5, 200)], key="z")
    ops += [replace(op, id=op.id + 100, process=op.process + 100) for op in noise]
    result = check_linearizability(History(ops=ops))
    (failure,) = result.failures
    assert {invoke.id for invoke, _ in failure.counterexample} == {10_000, 10_001, 10_002}
    assert failure.minimal


def test_a_cut_never_separates_a_read_from_its_later_invoked_write() -> None:
    # The first read sees a write invoked after it; a cut of the history between
    # them must keep the write, or shrinking would blame the innocent read.
    early_reads = [("read", None, t, t + 1) for t in range(1, 9)]
    spans = [("read", 1, 0, 1_000), *early_reads, ("write", 1, 20, 30), ("read", PHANTOM, 40, 50)]
    assert counterexample_ids(planted_read(spans)) == {10_010}


def test_reads_that_go_back_in_time_are_caught_though_no_write_completed_before() -> None:
    # The write is still running when both reads happen; seeing 1 then the old None
    # is impossible in any order, though no read follows a completed write.
    ops = planted_read([("write", 1, 0, 100), ("read", 1, 10, 20), ("read", None, 30, 40)])
    assert counterexample_ids(ops) == {10_000, 10_001, 10_002}


def test_touching_operations_count_as_concurrent() -> None:
    ops = planted_read([("write", 1, 0, 10), ("read", None, 10, 20)])
    assert check_linearizability(History(ops=ops)).linearizable


def test_a_failed_write_did_not_happen() -> None:
    ops = planted_read([("write", 1, 0, 10), ("read", 1, 20, 30)])
    ops[1] = replace(ops[1], type="fail")
    assert counterexample_ids(ops) == {10_001}


def test_an_indeterminate_write_may_take_effect_long_after_its_timeout() -> None:
    ops = planted_read([("write", 1, 0, 10), ("read", None, 20, 30), ("read", 1, 900, 910)])
    ops[1] = replace(ops[1], type="info", value=None)
    assert check_linearizability(History(ops=ops)).linearizable
    without_completion = [op for op in ops if op is not ops[1]]
    assert check_linearizability(History(ops=without_completion)).linearizable


def test_an_indeterminate_write_cannot_be_seen_and_then_unseen() -> None:
    ops = planted_read([("write", 1, 0, 10), ("read", 1, 20, 30), ("read", None, 40, 50)])
    ops[1] = replace(ops[1], type="info", value=None)
    assert counterexample_ids(ops) == {10_000, 10_001, 10_002}


def test_indeterminate_operations_seen_only_through_each_other_are_kept() -> None:
    # Only the read is definite; it sees the cas's value, and the cas needs the write's.
    ops = planted_read([("write", 1, 0, 10), ("cas", [1, 2], 20, 30), ("read", 2, 40, 50)])
    ops[1] = replace(ops[1], type="info", value=None)
    ops[3] = replace(ops[3], type="info", value=None)
    assert check_linearizability(History(ops=ops)).linearizable


def test_a_successful_cas_needs_the_expected_value() -> None:
    ops = planted_read([("write", 1, 0, 10), ("cas", [2, 3], 20, 30)])
    assert counterexample_ids(ops) == {10_001}
    ops = planted_read([("write", 1, 0, 10), ("cas", [1, 3], 20, 30), ("read", 3, 40, 50)])
    assert check_linearizability(History(ops=ops)).linearizable


def test_an_indeterminate_cas_with_a_wrong_expectation_changes_nothing() -> None:
    ops = planted_read([("write", 1, 0, 10), ("cas", [2, 3], 20, 30), ("read", 1, 40, 50)])
    ops[3] = replace(ops[3], type="info", value=None)
    assert check_linearizability(History(ops=ops)).linearizable


def test_keys_are_judged_separately() -> None:
    good = planted_read([("write", 1, 0, 10), ("read", 1, 20, 30)], key="good")
    bad = planted_read([("write", 1, 0, 10), ("read", 2, 20, 30)], key="bad")
    bad = [replace(op, id=op.id + 100) for op in bad]
    result = check_linearizability(History(ops=good + bad))
    assert {k.key: k.verdict for k in result.keys} == {
        "good": "linearizable",
        "bad": "non-linearizable",
    }
    json.dumps(result.to_dict())


def test_operations_other_than_register_ones_are_ignored() -> None:
    adds = [Op("invoke", 1, 0, "add", "x", 5, 0), Op("ok", 1, 0, "add", "x", 5, 1)]
    ops = adds + planted_read([("read", None, 2, 3)], key="x")
    assert check_linearizability(History(ops=ops)).linearizable


def test_a_pathological_history_gives_up_as_unknown_within_its_budget() -> None:
    # 22 concurrent writes, then a read of a value none wrote: every order of
    # every subset of the writes is a distinct configuration to refute.
    spans = [("write", v, 0, 1_000) for v in range(22)] + [("read", PHANTOM, 2_000, 2_001)]
    started = time.monotonic()
    result = check_linearizability(History(ops=planted_read(spans)), timeout_s=0.3)
    assert result.verdict == "unknown"
    assert time.monotonic() - started < 1.0


REFUSER = 500  # the process and op id of a planted refusal


@st.composite
def unique_value_specs(draw: st.DrawFn) -> list[Spec]:
    """Cas-heavy operations with unique written values, each cas expecting a recent one.

    Unique values make a refusal hinge on one write, which random small
    values rarely do: an unobserved timed-out write is then often the only
    reason for a refusal, the case a cut must not lose.
    """
    drawn = draw(specs(functions=("read", "write", "cas", "cas")))
    written: dict[str, list[int | None]] = defaultdict(lambda: [None])
    result = []
    for index, spec in enumerate(drawn):
        value = 100 + index
        if spec.f == "write":
            spec = replace(spec, value=value)
        elif spec.f == "cas":
            spec = replace(spec, value=[draw(st.sampled_from(written[spec.key][-3:])), value])
        if spec.f != "read":
            written[spec.key].append(value)
        result.append(spec)
    return result


def refused(ops: list[Op], op_id: int, error: str | None = None) -> list[Op]:
    """`ops` with the completion of cas `op_id` made a refusal."""
    return [
        replace(op, type="fail", error=error) if op.id == op_id and op.type != "invoke" else op
        for op in ops
    ]


def timed_out(ops: list[Op], op_id: int, pending: bool = False) -> list[Op]:
    """`ops` with the completion of `op_id` made `info`, or removed if `pending`."""
    done = [op for op in ops if not (op.id == op_id and op.type != "invoke")]
    if pending:
        return done
    completion = next(op for op in ops if op.id == op_id and op.type != "invoke")
    return sorted([*done, replace(completion, type="info", value=None)], key=lambda op: op.time)


def refusal_plants(ops: list[Op]) -> list[list[Op]]:
    """Each way to add to `ops` one refused cas where the register provably held its expectation.

    The cas ends before an ok read of value v begins, and starts after every
    operation that may store v completed, all of them ok: the register held
    v from then until the read, whatever the order.
    """
    pairs = pair_operations(ops)
    plants = []
    for invoke, completion in pairs:
        if invoke.f != "read" or completion is None or completion.type != "ok":
            continue
        sources = [
            c
            for i, c in pairs
            if i.key == invoke.key
            and i.f in ("write", "cas")
            and (i.value[1] if i.f == "cas" else i.value) == completion.value
            and (c is None or c.type != "fail")
        ]
        if any(c is None or c.type != "ok" for c in sources):
            continue
        start = max((c.time for c in sources if c is not None), default=-1) + 1
        if start < invoke.time:
            value = [completion.value, PHANTOM]
            cas = Op("invoke", REFUSER, REFUSER, "cas", invoke.key, value, start)
            planted = [*ops, cas, replace(cas, type="fail", time=invoke.time - 1)]
            plants.append(sorted(planted, key=lambda op: op.time))
    return plants


def planted_refusal(ops: list[Op], data: st.DataObject) -> list[Op]:
    """One of `refusal_plants`, or a refusal on a key of its own when there is none."""
    plants = refusal_plants(ops)
    if plants:
        return data.draw(st.sampled_from(plants))
    alone = planted_read([("write", 1, 0, 1), ("read", 1, 4, 5)], key="alone")
    cas = Op("invoke", REFUSER, REFUSER, "cas", "alone", [1, PHANTOM], 2)
    return ops + alone + [cas, replace(cas, type="fail", time=3)]


def each_rest_linearizes(ops: list[Op], failure: KeyResult) -> Iterator[bool]:
    """For each operation of a counterexample: whether the rest linearizes, cut as shrinking does.

    The cut drops the operation with those observing what it writes, then the
    refusals that cut would expose as a cut of the key's whole history.
    """
    calls = calls_by_key(History(ops=ops))[failure.key]
    by_invoke = {id(c.pair[0]): c for c in calls}
    witness = [by_invoke[id(invoke)] for invoke, _ in failure.counterexample]
    whole, cuts = Cuts(calls), Cuts(witness)
    for call in witness:
        yield search(whole.cut(cuts.without([call])), time.monotonic() + 60) is True


def assert_self_contained(ops: list[Op], failure: KeyResult) -> None:
    """The counterexample still fails with every write of its key it left out put back.

    Those writes may have landed anywhere their own calls allow: none may
    excuse what the counterexample condemns.
    """
    kept = {invoke.id for invoke, _ in failure.counterexample}
    rest = [o for o in ops if o.key == failure.key and o.f == "write" and o.id not in kept]
    witness = [o for pair in failure.counterexample for o in pair if o is not None]
    both = sorted(witness + rest, key=lambda op: op.time)
    assert check_linearizability(History(ops=both)).verdict == "non-linearizable"


def test_a_cas_refused_while_the_register_held_its_expected_value_is_a_violation() -> None:
    ops = refused(
        planted_read([("write", 1, 0, 10), ("cas", [1, 2], 20, 30), ("read", 1, 40, 50)]), 10_001
    )
    result = check_linearizability(History(ops=ops))
    (failure,) = result.failures
    assert {invoke.id for invoke, _ in failure.counterexample} == {10_000, 10_001}
    assert failure.minimal
    assert "cas 1 -> 2 refused" in failure.explanation


def test_a_refused_create_means_the_key_existed() -> None:
    empty = refused(planted_read([("cas", [None, 5], 0, 10)]), 10_000)
    assert counterexample_ids(empty) == {10_000}
    written = refused(planted_read([("write", 1, 0, 10), ("cas", [None, 5], 20, 30)]), 10_001)
    assert check_linearizability(History(ops=written)).linearizable
    maybe = timed_out(written, 10_000, pending=True)  # a timed-out write may have created it
    assert check_linearizability(History(ops=maybe)).linearizable


def test_a_cas_that_failed_with_an_error_proves_nothing() -> None:
    spans = [("write", 1, 0, 10), ("cas", [1, 2], 20, 30), ("read", 1, 40, 50)]
    ops = refused(planted_read(spans), 10_001, error="connection refused")
    assert check_linearizability(History(ops=ops)).linearizable


def test_refusals_are_dropped_when_they_are_not_evidence() -> None:
    ops = refused(
        planted_read([("write", 1, 0, 10), ("cas", [1, 2], 20, 30), ("read", 1, 40, 50)]), 10_001
    )
    assert check_linearizability(History(ops=ops), refused_cas_evidence=False).linearizable


@given(register_histories(), st.data())
@settings(max_examples=100, deadline=None)
def test_without_refusals_as_evidence_the_verdict_is_that_of_the_history_without_them(
    ops: list[Op], data: st.DataObject
) -> None:
    ops = planted_refusal(ops, data) if data.draw(st.booleans()) else ops
    failed = {op.id for op in ops if op.type == "fail"}
    without = [op for op in ops if op.id not in failed]
    verdict = check_linearizability(History(ops=ops), refused_cas_evidence=False).verdict
    assert verdict == check_linearizability(History(ops=without)).verdict


@given(unique_value_specs())
@settings(max_examples=300, deadline=None)
def test_every_history_of_a_sequential_model_with_unique_values_is_linearizable(
    drawn: list[Spec],
) -> None:
    result = check_linearizability(History(ops=simulate(drawn)))
    assert result.linearizable, result.failures[0].explanation if result.failures else result


def test_a_timed_out_write_that_may_explain_a_refusal_is_not_cut_away() -> None:
    # Nobody reads 2, so the write of 2 would be cut; but it may have landed before the cas.
    spans = [
        ("write", 1, 0, 10),
        ("read", 1, 12, 15),
        ("write", 2, 20, 30),
        ("cas", [1, 3], 40, 50),
    ]
    ops = refused(planted_read(spans), 10_003)
    assert check_linearizability(History(ops=timed_out(ops, 10_002))).linearizable
    assert check_linearizability(History(ops=timed_out(ops, 10_002, pending=True))).linearizable
    without = [op for op in ops if op.id != 10_002]
    assert counterexample_ids(without) == {10_000, 10_003}


@given(register_histories())
@settings(max_examples=100, deadline=None)
def test_a_refusal_only_a_timed_out_write_explains_is_no_violation(ops: list[Op]) -> None:
    # After the history: the register holds a, then a write of b times out, then the cas
    # expecting a is refused. Values no generated operation writes: only b can excuse it.
    a, b, late = PHANTOM + 1, PHANTOM + 2, 10**6
    spans: list[tuple[str, Any, int, int]] = [("write", a, late, late + 10)]
    spans += [("read", a, late + 20, late + 30), ("write", b, late + 40, late + 50)]
    spans += [("cas", [a, PHANTOM], late + 60, late + 70)]
    tail = timed_out(refused(planted_read(spans, key="x"), 10_003), 10_002, pending=True)
    assert check_linearizability(History(ops=ops + tail)).linearizable


def test_a_timed_out_write_excuses_refusals_only_until_the_next_write() -> None:
    # The timed-out write of 2 excuses the first refusal or the second, not both: the
    # write of 3 comes between. A second timed-out write (of 7) excuses the other.
    spans = [("write", 1, 0, 10), ("write", 2, 12, 13), ("cas", [1, 5], 20, 30)]
    spans += [("write", 3, 40, 50), ("cas", [3, 6], 60, 70)]
    ops = timed_out(refused(refused(planted_read(spans), 10_002), 10_004), 10_001, pending=True)
    assert counterexample_ids(ops) == {10_000, 10_001, 10_002, 10_003, 10_004}
    spans.insert(2, ("write", 7, 14, 15))
    ops = timed_out(refused(refused(planted_read(spans), 10_003), 10_005), 10_001, pending=True)
    assert check_linearizability(History(ops=timed_out(ops, 10_002, pending=True))).linearizable


def test_a_timed_out_write_cannot_excuse_a_refusal_that_ended_before_it_began() -> None:
    # The write of 2 may excuse the second refusal, not the first: it had not begun.
    spans = [("write", 1, 0, 10), ("cas", [1, 5], 20, 30), ("write", 2, 40, 45)]
    spans += [("cas", [1, 6], 50, 60)]
    ops = timed_out(refused(refused(planted_read(spans), 10_001), 10_003), 10_002, pending=True)
    assert counterexample_ids(ops) == {10_000, 10_001}
    assert check_linearizability(History(ops=[op for op in ops if op.id != 10_001])).linearizable


def test_a_refusal_pinned_by_a_later_read_keeps_the_read_in_its_counterexample() -> None:
    # The timed-out write of 2 could excuse the refusal, but not the read of 1 after it.
    spans = [("write", 1, 0, 10), ("write", 2, 5, 6), ("cas", [1, 3], 20, 30), ("read", 1, 40, 50)]
    ops = timed_out(refused(planted_read(spans), 10_002), 10_001, pending=True)
    result = check_linearizability(History(ops=ops))
    (failure,) = result.failures
    assert {invoke.id for invoke, _ in failure.counterexample} == {10_000, 10_002, 10_003}
    assert failure.minimal
    assert_self_contained(ops, failure)


@given(register_histories(), st.data())
@settings(max_examples=200, deadline=None)
def test_a_planted_refusal_is_in_a_minimal_counterexample(
    ops: list[Op], data: st.DataObject
) -> None:
    ops = planted_refusal(ops, data)
    result = check_linearizability(History(ops=ops))
    (failure,) = result.failures
    assert REFUSER in {invoke.id for invoke, _ in failure.counterexample}
    assert failure.minimal
    assert all(each_rest_linearizes(ops, failure))
    assert_self_contained(ops, failure)


@given(register_histories())
@settings(max_examples=100, deadline=None)
def test_a_stale_read_counterexample_is_minimal_and_self_contained(ops: list[Op]) -> None:
    plant = stale_plant(ops)
    if plant is None:
        ops = ops + planted_read([("write", 1, 0, 1), ("write", 2, 2, 3), ("read", 1, 4, 5)])
    else:
        ops = with_read_value(ops, *plant)
    result = check_linearizability(History(ops=ops))
    (failure,) = result.failures
    assert failure.minimal
    assert all(each_rest_linearizes(ops, failure))
    assert_self_contained(ops, failure)
