"""Linearizability of register histories, with a minimal counterexample when it fails.

The search is Wing and Gong's, with Lowe's memoisation: operations sit in a
doubly linked list of call and return entries in time order; the search
linearizes ("lifts") any call that precedes the first remaining return and is
legal in the current register state, and backtracks at a return whose call
it has not linearized yet. A configuration (set of linearized operations,
kept as small int bitmasks; register state) already explored is never
explored again, which is what makes long histories with modest concurrency
cheap: time and memory grow linearly with the history.

Every key is an independent register, and a history is linearizable exactly
when each key's sub-history is (P-compositionality), so keys are checked one
by one: the search space is per key, not per history.

Completions mean what `chaos.history.Op` says: `ok` took effect between
invoke and completion, `fail` did not happen (dropped), `info` or no
completion may take effect at any time after the invoke, with no upper bound
(an indeterminate read constrains nothing and is dropped).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.history import History, Op, pair_operations

Verdict = Literal["linearizable", "non-linearizable", "unknown"]
OpPair = tuple[Op, Op | None]
REGISTER_FUNCTIONS = frozenset({"read", "write", "cas"})

# How many search steps run between two looks at the clock.
_CLOCK_EVERY = 4096
_ILLEGAL = object()  # what `_step` returns for an operation that cannot happen
_NOTHING = object()  # what a write observes and a read writes


@dataclass(frozen=True)
class KeyResult:
    """One key's verdict; on failure a small set of its operations that is already wrong."""

    key: str | None
    verdict: Verdict
    operations: int
    counterexample: tuple[OpPair, ...] = ()
    # Dropping any one operation (and those observing what it writes) leaves a linearizable rest.
    minimal: bool = False
    explanation: str = ""


@dataclass(frozen=True)
class LinearizabilityResult:
    """The history's verdict: non-linearizable if any key is, unknown if any key ran out of time."""

    verdict: Verdict
    keys: tuple[KeyResult, ...]

    @property
    def linearizable(self) -> bool:
        return self.verdict == "linearizable"

    @property
    def failures(self) -> tuple[KeyResult, ...]:
        return tuple(k for k in self.keys if k.verdict == "non-linearizable")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, eq=False)  # not frozen: a frozen init is slow at 100,000 operations
class _Call:
    """A register operation as the search sees it.

    `arg` is the value a read returned or a cas expected; `new` the value a
    write or cas stores. `complete` is None for an indeterminate operation.
    """

    f: str
    arg: Hashable
    new: Hashable
    invoke: int
    complete: int | None
    pair: OpPair

    def observed(self) -> Hashable:
        """The register value this operation needs to see, or `_NOTHING`."""
        return self.arg if self.f != "write" else _NOTHING

    def written(self) -> Hashable:
        """The value this operation may store, or `_NOTHING`."""
        return self.new if self.f != "read" else _NOTHING


class _Entry:
    """A call or return entry of the linked list the search walks."""

    __slots__ = ("call", "index", "is_call", "match", "next", "prev")

    def __init__(self, call: _Call | None, index: int, is_call: bool) -> None:
        self.call = call
        self.index = index  # the operation's bit in a linearized set (see `_entries`)
        self.is_call = is_call
        self.match: _Entry | None = None  # a call's return entry; None if indeterminate
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def check_linearizability(
    history: History, *, timeout_s: float = 10.0, minimise_s: float = 5.0
) -> LinearizabilityResult:
    """Check every register key (`read`, `write`, `cas` operations) of the history.

    `timeout_s` bounds the search over all keys: a key not decided by then is
    `unknown`, so a pathological history cannot hang a run. `minimise_s`
    bounds the shrinking of each counterexample; when it runs out the
    counterexample is still non-linearizable, just not minimal.
    """
    deadline = time.monotonic() + timeout_s
    # The search allocates many small long-lived objects and frees them all at the
    # end; the cyclic collector's passes over them would double the run time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        results = [
            _check_key(key, calls, deadline, minimise_s)
            for key, calls in sorted(_calls_by_key(history).items(), key=lambda kv: str(kv[0]))
        ]
    finally:
        if collecting:
            gc.enable()
    verdicts = {r.verdict for r in results}
    verdict: Verdict = next(
        (v for v in ("non-linearizable", "unknown") if v in verdicts), "linearizable"
    )
    return LinearizabilityResult(verdict=verdict, keys=tuple(results))


def freeze(value: Any) -> Hashable:
    """A value read back from JSON, with lists made tuples so it can go in a set."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def _calls_by_key(history: History) -> dict[str | None, list[_Call]]:
    by_key: dict[str | None, list[_Call]] = defaultdict(list)
    for invoke, completion in pair_operations(history.ops):
        if invoke.f not in REGISTER_FUNCTIONS:
            continue
        outcome = completion.type if completion else "info"
        if outcome == "fail" or (outcome == "info" and invoke.f == "read"):
            continue
        complete = completion.time if completion and outcome == "ok" else None
        if invoke.f == "read":
            arg, new = freeze(completion.value if completion else None), None
        elif invoke.f == "write":
            arg, new = None, freeze(invoke.value)
        else:
            expected, stored = invoke.value
            arg, new = freeze(expected), freeze(stored)
        by_key[invoke.key].append(
            _Call(invoke.f, arg, new, invoke.time, complete, (invoke, completion))
        )
    for calls in by_key.values():
        calls.sort(key=lambda c: c.invoke)
    return by_key


def _check_key(
    key: str | None, calls: list[_Call], deadline: float, minimise_s: float
) -> KeyResult:
    calls = _close(calls, [c for c in calls if c.complete is not None])
    outcome = _search(calls, deadline)
    if outcome is True:
        return KeyResult(key, "linearizable", len(calls))
    if outcome is None:
        return KeyResult(
            key, "unknown", len(calls), explanation="the search ran out of time before deciding"
        )
    witness, minimal = _shrink(calls, time.monotonic() + minimise_s)
    return KeyResult(
        key,
        "non-linearizable",
        len(calls),
        counterexample=tuple(c.pair for c in witness),
        minimal=minimal,
        explanation=_explain(key, witness, calls),
    )


def _close(universe: Sequence[_Call], kept: Iterable[_Call]) -> list[_Call]:
    """`kept`, plus the operations of `universe` that write what a kept one observes.

    Cutting operations from a history is safe (a linearizable history stays
    linearizable) when no remaining operation observes, by reading it or
    expecting it in a cas, a value a cut one writes. Every cut the checker
    makes is closed this way or by `_drop`, so a counterexample of the cut
    history is one of the whole: it is why an indeterminate write nobody
    observed can go before the search, and why shrinking never invents a
    read of a value "nobody wrote".
    """
    keep = _reach(universe, kept, follow=_Call.observed, via=_Call.written)
    return [c for c in universe if id(c) in keep]


def _drop(universe: Sequence[_Call], dropped: Iterable[_Call]) -> list[_Call]:
    """`universe` without `dropped` and the operations that observe what a dropped one writes."""
    gone = _reach(universe, dropped, follow=_Call.written, via=_Call.observed)
    return [c for c in universe if id(c) not in gone]


def _reach(
    universe: Sequence[_Call],
    start: Iterable[_Call],
    follow: Callable[[_Call], Hashable],
    via: Callable[[_Call], Hashable],
) -> set[int]:
    """Ids of `start` and of every call whose `via` value is the `follow` value of one reached."""
    reached = {id(c) for c in start}
    by_value: dict[Hashable, list[_Call]] = defaultdict(list)
    for call in universe:
        if id(call) not in reached:
            by_value[via(call)].append(call)
    by_value.pop(_NOTHING, None)
    pending = [follow(c) for c in universe if id(c) in reached]
    while pending:
        for call in by_value.pop(pending.pop(), ()):
            reached.add(id(call))
            pending.append(follow(call))
    return reached


def _step(state: Hashable, call: _Call) -> Hashable:
    """The register after `call`, or `_ILLEGAL` if `call` cannot happen in `state`."""
    if call.f == "write":
        return call.new
    if state == call.arg:
        return call.new if call.f == "cas" else state
    # An indeterminate cas that found another value failed: a legal no-op.
    return state if call.f == "cas" and call.complete is None else _ILLEGAL


def _entries(calls: Sequence[_Call]) -> _Entry:
    """The list head: entries in time order, a call before a return at the same instant.

    Putting calls first at equal timestamps treats touching operations as
    concurrent, the permissive (never falsely failing) reading of a tie.
    Determinate and indeterminate operations are numbered apart, each in
    invoke order, for the two bitmasks of `_search`.
    """
    events: list[tuple[int, int, _Entry]] = []
    numbers = {True: itertools.count(), False: itertools.count()}
    for call in calls:
        determinate = call.complete is not None
        entry = _Entry(call, next(numbers[determinate]), True)
        events.append((call.invoke, 0, entry))
        if call.complete is not None:
            entry.match = _Entry(call, entry.index, False)
            events.append((call.complete, 1, entry.match))
    events.sort(key=lambda e: (e[0], e[1]))
    head = _Entry(None, 0, False)
    previous = head
    for _, _, entry in events:
        previous.next, entry.prev = entry, previous
        previous = entry
    return head


def _search(calls: Sequence[_Call], deadline: float) -> bool | None:
    """Whether `calls` (one key) linearize; None if the deadline passed first.

    Indeterminate operations have no return entry: once every determinate
    operation is linearized the rest can go last, so the search stops there.

    The linearized set is kept compact, so that memory and time per step do
    not grow with the history: determinate operations numbered below `base`
    are all linearized, `above` is a bitmask of those from `base` up, and
    `indeterminate` one of the others. A linearized set holds every
    operation that returned before one of its members was invoked, so
    `above` spans only the operations running alongside the lowest
    unlinearized one.
    """
    head = _entries(calls)
    remaining = sum(1 for c in calls if c.complete is not None)
    state: Hashable = None
    base = above = indeterminate = 0
    stack: list[tuple[_Entry, Hashable, int, int, int]] = []
    seen: set[tuple[int, int, int, Hashable]] = set()
    entry = head.next
    steps = 0
    while remaining:
        steps += 1
        if steps % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
            return None
        assert entry is not None  # a remaining determinate op's return lies ahead
        if entry.is_call:
            call = entry.call
            new_state = _step(state, call)  # type: ignore[arg-type]
            if new_state is not _ILLEGAL:
                if entry.match is None:
                    config = (base, above, indeterminate | 1 << entry.index, new_state)
                else:
                    bits = above | 1 << (entry.index - base)
                    shift = (~bits & (bits + 1)).bit_length() - 1  # its trailing ones
                    config = (base + shift, bits >> shift, indeterminate, new_state)
                if config not in seen:
                    seen.add(config)
                    stack.append((entry, state, base, above, indeterminate))
                    base, above, indeterminate, state = config
                    _lift(entry)
                    remaining -= entry.match is not None
                    entry = head.next
                    continue
            entry = entry.next
        else:
            if not stack:
                return False
            entry, state, base, above, indeterminate = stack.pop()
            _unlift(entry)
            remaining += entry.match is not None
            entry = entry.next
    return True


def _lift(entry: _Entry) -> None:
    for e in (entry, entry.match):
        if e is not None:
            e.prev.next = e.next  # type: ignore[union-attr]
            if e.next is not None:
                e.next.prev = e.prev


def _unlift(entry: _Entry) -> None:
    for e in (entry.match, entry):
        if e is not None:
            e.prev.next = e  # type: ignore[union-attr]
            if e.next is not None:
                e.next.prev = e


def _shrink(calls: list[_Call], deadline: float) -> tuple[list[_Call], bool]:
    """A small non-linearizable subset of `calls` (known non-linearizable), and if it is minimal.

    First the shortest failing prefix by invoke time (galloping, then
    bisection), then delta debugging: drop chunks of halving size, each with
    the operations that observe what it writes, while the rest still fails;
    at chunks of one the result is minimal in that sense. Cuts are closed by
    `_close` and `_drop`, so the result is a counterexample of the whole
    history. Bisection assumes failure persists in longer prefixes, which
    usually but not always holds; every candidate is checked, so only the
    speed of shrinking depends on it.
    """

    def fails(candidate: list[_Call]) -> bool | None:
        outcome = _search(candidate, deadline)
        return None if outcome is None else not outcome

    def prefix(size: int) -> list[_Call]:
        return _close(calls, calls[:size])

    passing, failing = 0, len(calls)
    size = 8
    while size < failing:
        outcome = fails(prefix(size))
        if outcome is None:
            return calls, False
        if outcome:
            failing = size
        else:
            passing, size = size, size * 2
    while failing - passing > 1:
        middle = (passing + failing) // 2
        outcome = fails(prefix(middle))
        if outcome is None:
            return prefix(failing), False
        passing, failing = (passing, middle) if outcome else (middle, failing)

    current = prefix(failing)
    chunks = 2
    while len(current) > 1:
        chunk = -(-len(current) // chunks)
        for start in range(0, len(current), chunk):
            candidate = _drop(current, current[start : start + chunk])
            outcome = fails(candidate)
            if outcome is None:
                return current, False
            if outcome:
                current, chunks = candidate, max(chunks - 1, 2)
                break
        else:
            if chunk == 1:
                break
            chunks = min(chunks * 2, len(current))
    return current, True


def _explain(key: str | None, witness: Sequence[_Call], calls: Sequence[_Call]) -> str:
    """What a person needs to see the violation: the operations, and any value nobody wrote."""
    lines = [
        f"key {key!r}: no order of these {len(witness)} operations respects both their "
        "real-time order and a register's semantics (initially empty):"
    ]
    lines += [f"  {_describe(c)}" for c in witness]
    written = {c.new for c in calls if c.f != "read"} | {None}
    for call in witness:
        if call.f != "write" and call.arg not in written:
            verb = "read" if call.f == "read" else "cas expected"
            lines.append(
                f"  process {call.pair[0].process} {verb} {call.arg!r}, "
                "which no operation on this key that may have taken effect wrote"
            )
    return "\n".join(lines)


def _describe(call: _Call) -> str:
    invoke, completion = call.pair
    what = {
        "read": f"read -> {call.arg!r}",
        "write": f"write {call.new!r}",
        "cas": f"cas {call.arg!r} -> {call.new!r}",
    }[call.f]
    end = f"{call.complete / 1e9:.6f} s" if call.complete is not None else "never (indeterminate)"
    outcome = completion.type if completion else "no completion"
    return (
        f"op {invoke.id} process {invoke.process}: {what} ({outcome}), "
        f"invoked {invoke.time / 1e9:.6f} s, completed {end}"
    )
