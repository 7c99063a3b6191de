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
(an indeterminate read constrains nothing and is dropped). One `fail` is
evidence: a cas refused without an error (`chaos.history.served`) is the
system's answer that the register did not hold the expected value (for an
expected None: that the key existed). It is a determinate operation that
writes nothing and is legal only where the register holds another value.

Cuts. The checker judges subsets of a key's operations: before searching
it cuts indeterminate writes nobody observes, and it shrinks a
counterexample. A cut S of the key's operations U is sound when every
linearization of U restricts to one of S: then a counterexample of S is one
of U. Restriction keeps reads and cas legal when S keeps every writer of
each value S observes (`_Cuts.close`, `_Cuts.without`). A refused cas c
expecting e needs more: if the last writer before c that S keeps writes e,
the first write after it that changed e (a write, or a cas expecting e) was
cut. So c is safe in S when every cut write, and every cut cas expecting e,
completed before each writer of e in S that may precede c was invoked, or
was invoked after c completed; for e None the empty initial register counts
as such a writer unless S keeps a sure write completed before c began. It
is also safe when an ok operation of S observes e after c and every writer
of e completed before c began: the register held e throughout c, so U has
no linearization at all, which S shows by itself. That reason does not
survive cutting the observer, so safety is always judged against U, never
against the set a cut was taken from. Before the search an unsafe refusal
gets its threatening writes back (to a fixpoint), so nothing it proves is
lost; while shrinking it is dropped instead, which is always sound, since
it writes nothing.

Timed-out operations whose value no read or cas observes only matter as the
reason for a refusal; the search lands them only just before one
(`_Excuses`).
"""

from __future__ import annotations

import functools
import gc
import itertools
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.history import History, Op, pair_operations, served

Verdict = Literal["linearizable", "non-linearizable", "unknown"]
OpPair = tuple[Op, Op | None]
REGISTER_FUNCTIONS = frozenset({"read", "write", "cas"})

# How many search steps run between two looks at the clock.
_CLOCK_EVERY = 4096
_ILLEGAL = object()  # what `_step` returns for an operation that cannot happen
_NOTHING = object()  # what a write observes and a read writes
_SPARE = object()  # the register after a spare timed-out write landed: a value nobody observes
_OBSERVING = ("read", "cas")  # what needs a value (a refusal needs any other)
_WRITING = ("write", "cas")  # what may store one
_EARLIEST = float("-inf")
_LATEST = float("inf")


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

    `f` is `read`, `write`, `cas` or `refused` (a cas the system refused).
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
        return self.arg if self.f in _OBSERVING else _NOTHING

    def written(self) -> Hashable:
        """The value this operation may store, or `_NOTHING`."""
        return self.new if self.f in _WRITING else _NOTHING


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
    history: History,
    *,
    timeout_s: float = 10.0,
    minimise_s: float = 5.0,
    refused_cas_evidence: bool = True,
) -> LinearizabilityResult:
    """Check every register key (`read`, `write`, `cas` operations) of the history.

    `timeout_s` bounds the search over all keys: a key not decided by then is
    `unknown`, so a pathological history cannot hang a run. `minimise_s`
    bounds the shrinking of each counterexample; when it runs out the
    counterexample is still non-linearizable, just not minimal. With
    `refused_cas_evidence` False a refused cas is dropped like any failure,
    for clients whose refusals prove nothing (one that compared against a
    stale local read).
    """
    deadline = time.monotonic() + timeout_s
    # The search allocates many small long-lived objects and frees them all at the
    # end; the cyclic collector's passes over them would double the run time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        by_key = _calls_by_key(history, refused_cas_evidence)
        results = [
            _check_key(key, calls, deadline, minimise_s)
            for key, calls in sorted(by_key.items(), key=lambda kv: str(kv[0]))
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


def _calls_by_key(
    history: History, refused_cas_evidence: bool = True
) -> dict[str | None, list[_Call]]:
    by_key: dict[str | None, list[_Call]] = defaultdict(list)
    for invoke, completion in pair_operations(history.ops):
        if invoke.f not in REGISTER_FUNCTIONS:
            continue
        outcome = completion.type if completion else "info"
        # A cas refused without an error is the system's answer; another failure did not happen.
        refused = refused_cas_evidence and invoke.f == "cas" and outcome == "fail"
        refused = refused and served(completion)
        if (outcome == "fail" and not refused) or (outcome == "info" and invoke.f == "read"):
            continue
        complete = completion.time if completion and outcome != "info" else None
        f = "refused" if refused else invoke.f
        if invoke.f == "read":
            arg, new = freeze(completion.value if completion else None), None
        elif invoke.f == "write":
            arg, new = None, freeze(invoke.value)
        else:
            expected, stored = invoke.value
            arg, new = freeze(expected), freeze(stored)
        by_key[invoke.key].append(_Call(f, arg, new, invoke.time, complete, (invoke, completion)))
    for calls in by_key.values():
        calls.sort(key=lambda c: c.invoke)
    return by_key


def _check_key(
    key: str | None, calls: list[_Call], deadline: float, minimise_s: float
) -> KeyResult:
    whole = _Cuts(calls)
    calls = whole.evidence()
    outcome, frontier = _run(calls, deadline)
    if outcome is True:
        return KeyResult(key, "linearizable", len(calls))
    if outcome is None:
        return KeyResult(
            key, "unknown", len(calls), explanation="the search ran out of time before deciding"
        )
    witness, minimal = _shrink(whole, calls, frontier, time.monotonic() + minimise_s)
    return KeyResult(
        key,
        "non-linearizable",
        len(calls),
        counterexample=tuple(c.pair for c in witness),
        minimal=minimal,
        explanation=_explain(key, witness, calls),
    )


class _Writes:
    """The calls of a set that may change a register holding a given value, sorted by invoke.

    The indeterminate ones apart; for the determinate ones the latest
    completion among the first i, to stop a backward scan early.
    """

    __slots__ = ("done", "invokes", "latest", "open")

    def __init__(self, calls: list[_Call]) -> None:
        self.open = [c for c in calls if c.complete is None]
        self.done = [c for c in calls if c.complete is not None]
        self.invokes = [c.invoke for c in self.done]
        self.latest = list(itertools.accumulate((c.complete or 0 for c in self.done), max))


def _index(calls: Iterable[_Call], writers: bool) -> dict[Hashable, list[_Call]]:
    """The writers of each value (`_Call.written`), or its observers (`_Call.observed`)."""
    index: dict[Hashable, list[_Call]] = defaultdict(list)
    functions = _WRITING if writers else _OBSERVING
    for call in calls:
        if call.f in functions:
            index[call.new if writers else call.arg].append(call)
    return index


def _determinate(call: _Call) -> bool:
    return call.complete is not None


def _sure_write_before(cut: Sequence[_Call], position: int, before: int) -> bool:
    """Whether `cut` (in invoke order) has an ok write or cas that completed `before`.

    `position` is where `before` would go in the cut: the scan goes back from there.
    """
    for i in range(position - 1, -1, -1):
        call = cut[i]
        if call.complete is not None and call.complete < before and call.f in _WRITING:
            return True
    return False


class _Cuts:
    """Sound cuts of one set of calls (a key's, or a counterexample being shrunk).

    The set is indexed once so that each cut costs about its own size, not
    the set's: shrinking a 100,000-operation key cuts it dozens of times.
    See the module docstring for why each cut is sound.
    """

    def __init__(self, calls: Sequence[_Call]) -> None:
        self.calls = calls
        self.writers = _index(calls, writers=True)
        self._observers: dict[Hashable, list[_Call]] | None = None
        self._order: dict[int, int] | None = None
        self._writes: dict[Hashable, _Writes] | None = None

    @property
    def observers(self) -> dict[Hashable, list[_Call]]:
        if self._observers is None:
            self._observers = _index(self.calls, writers=False)
        return self._observers

    def evidence(self) -> list[_Call]:
        """What the search needs: determinate calls and the writes that may explain them.

        An indeterminate write nobody observes is cut, unless a refused cas
        might need it to have landed: those come back until none is missing.
        """
        observed = {c.arg for c in self.calls if c.complete is not None and c.f in _OBSERVING}
        seen_open = [c for c in self.calls if c.complete is None and c.new in observed]
        inside = set(_reach(self.writers, seen_open, _Call.observed, _determinate))
        kept = [c for c in self.calls if c.complete is not None or id(c) in inside]
        everyone = [c for c in kept if c.f == "refused"]
        refusals = everyone
        if refusals:
            inside = {id(c) for c in kept}
        while refusals:
            risks = self._risks(kept, inside, refusals)
            back = _Dropped(self, kept, inside).every_threat(risks) if risks else []
            added = _reach(self.writers, back, _Call.observed, lambda c: id(c) in inside)
            if not added:
                break
            inside.update(added)
            kept = [c for c in self.calls if id(c) in inside]
            # Added calls are indeterminate: only a refusal of a value one writes gains a risk.
            written = {c.written() for c in added.values()}
            refusals = [c for c in everyone if c.arg in written]
        return kept

    def close(self, kept: Iterable[_Call]) -> list[_Call]:
        """`kept`, plus the calls that write what a kept one observes, in the set's order."""
        return self._in_order(_reach(self.writers, kept, _Call.observed))

    def without(self, dropped: Iterable[_Call]) -> list[_Call]:
        """The set without `dropped` and the calls that observe what a dropped one writes."""
        gone = _reach(self.observers, dropped, _Call.written)
        return [c for c in self.calls if id(c) not in gone]

    def cut(self, subset: list[_Call]) -> list[_Call]:
        """`subset` (closed) without the refused cas that cutting the rest might wrongly condemn."""
        inside = {id(c) for c in subset}
        risks = self._risks(subset, inside)
        if not risks:
            return subset
        dropped = _Dropped(self, subset, inside)
        unsafe = {id(c) for c, start in risks if next(dropped.threats(c, start), None)}
        return [c for c in subset if id(c) not in unsafe] if unsafe else subset

    def writes(self, value: Hashable) -> _Writes | None:
        """The calls that may change a register holding `value` (`_NOTHING`: the plain writes)."""
        if self._writes is None:
            groups: dict[Hashable, list[_Call]] = defaultdict(list)
            for call in self.calls:
                if call.f == "write":
                    groups[_NOTHING].append(call)
                elif call.f == "cas":
                    groups[call.arg].append(call)
            self._writes = {value: _Writes(calls) for value, calls in groups.items()}
        return self._writes.get(value)

    def _pinned(self, refusal: _Call, inside: set[int]) -> bool:
        """Whether the cut holds an ok operation observing the refusal's expected value after it,
        and every writer of that value completed before it began.

        Then the register held the value throughout the refusal: the key has
        no linearization at all, which the cut shows by itself.
        """
        for writer in self.writers.get(refusal.arg, ()):
            if writer.complete is None or writer.complete >= refusal.invoke:
                return False
        end: int = refusal.complete  # type: ignore[assignment]
        for observer in self.observers.get(refusal.arg, ()):
            if observer.complete is not None and observer.invoke > end and id(observer) in inside:
                return True
        return False

    def _in_order(self, reached: dict[int, _Call]) -> list[_Call]:
        if len(reached) * 8 > len(self.calls):
            return [c for c in self.calls if id(c) in reached]
        if self._order is None:
            self._order = {id(c): i for i, c in enumerate(self.calls)}
        order = self._order
        return sorted(reached.values(), key=lambda c: order[id(c)])

    def _risks(
        self, cut: Sequence[_Call], inside: set[int], refused: list[_Call] | None = None
    ) -> list[tuple[_Call, float]]:
        """The refused cas of `cut` (or just `refused`) that a dropped write might vindicate.

        Each comes with the earliest invoke of a writer of its expected value
        in the cut that may precede it (`_EARLIEST` for the initial register).
        """
        if refused is None:
            refused = [c for c in cut if c.f == "refused"]
        invokes: list[int] = []
        risks = []
        for call in refused:
            end: int = call.complete  # type: ignore[assignment]
            starts: list[float] = [
                w.invoke
                for w in self.writers.get(call.arg, ())
                if id(w) in inside and w.invoke <= end
            ]
            if call.arg is None:  # the empty initial register, unless a sure write came first
                if not invokes:
                    invokes = [c.invoke for c in cut]
                if not _sure_write_before(cut, bisect_left(invokes, call.invoke), call.invoke):
                    starts.append(_EARLIEST)
            if starts and not self._pinned(call, inside):
                risks.append((call, min(starts)))
        return risks


class _Dropped:
    """The calls of a set outside one cut of it that may change the register, found lazily."""

    def __init__(self, cuts: _Cuts, cut: Sequence[_Call], inside: set[int]) -> None:
        self.cuts = cuts
        self.inside = inside
        self._first_open: dict[Hashable, int] = {}
        self._any_done: dict[Hashable, bool] = {}

    def threats(self, refusal: _Call, start: float) -> Iterator[_Call]:
        """Dropped calls that may lie between a writer invoked at `start` and `refusal`."""
        end: int = refusal.complete  # type: ignore[assignment]
        for value, writes in self._writes(refusal):
            yield from self._open(value, writes, end)
            yield from self._done(value, writes, end, start)

    def every_threat(self, risks: list[tuple[_Call, float]]) -> list[_Call]:
        """The union of the threats to `risks`, each once."""
        found: dict[int, _Call] = {}
        groups: dict[Hashable, _Writes] = {}
        latest_end: dict[Hashable, int] = {}  # an indeterminate threat needs only be invoked by it
        for refusal, start in risks:
            end: int = refusal.complete  # type: ignore[assignment]
            for value, writes in self._writes(refusal):
                groups[value] = writes
                latest_end[value] = max(latest_end.get(value, end), end)
                found.update((id(c), c) for c in self._done(value, writes, end, start))
        for value, writes in groups.items():
            found.update((id(c), c) for c in self._open(value, writes, latest_end[value]))
        return list(found.values())

    def _writes(self, refusal: _Call) -> Iterator[tuple[Hashable, _Writes]]:
        for value in (_NOTHING, refusal.arg):
            writes = self.cuts.writes(value)
            if writes is not None:
                yield value, writes

    def _open(self, value: Hashable, writes: _Writes, end: int) -> Iterator[_Call]:
        if value not in self._first_open:
            self._first_open[value] = next(
                (i for i, c in enumerate(writes.open) if id(c) not in self.inside),
                len(writes.open),
            )
        for call in itertools.islice(writes.open, self._first_open[value], None):
            if call.invoke > end:
                return
            if id(call) not in self.inside:
                yield call

    def _done(self, value: Hashable, writes: _Writes, end: int, start: float) -> Iterator[_Call]:
        if value not in self._any_done:
            self._any_done[value] = any(id(c) not in self.inside for c in writes.done)
        if not self._any_done[value]:
            return
        j = bisect_right(writes.invokes, end)
        while j and writes.latest[j - 1] >= start:
            j -= 1
            call = writes.done[j]
            if call.complete >= start and id(call) not in self.inside:  # type: ignore[operator]
                yield call


def _reach(
    index: dict[Hashable, list[_Call]],
    start: Iterable[_Call],
    follow: Callable[[_Call], Hashable],
    known: Callable[[_Call], bool] = lambda call: False,
) -> dict[int, _Call]:
    """`start` and every call `index` files under the `follow` value of one reached, by id.

    A `known` call is taken as reached already, with all it leads to, and left out.
    """
    reached = {id(c): c for c in start if not known(c)}
    pending = [follow(c) for c in reached.values()]
    visited = {_NOTHING}
    while pending:
        value = pending.pop()
        if value in visited:
            continue
        visited.add(value)
        for call in index.get(value, ()):
            if id(call) not in reached and not known(call):
                reached[id(call)] = call
                pending.append(follow(call))
    return reached


def _step(state: Hashable, call: _Call) -> Hashable:
    """The register after `call`, or `_ILLEGAL` if `call` cannot happen in `state`."""
    f = call.f
    if f == "write":
        return call.new
    if state == call.arg:
        return state if f == "read" else call.new if f == "cas" else _ILLEGAL
    # Another value: what a refusal needs; an indeterminate cas that found it failed, a no-op.
    return state if f == "refused" or (f == "cas" and call.complete is None) else _ILLEGAL


class _Excuses:
    """Timed-out writes and cas whose value no read or cas observes.

    Such an operation only matters as the reason for a refusal: landing it
    at any other moment helps nothing, and leaving it in the list would
    double the configurations of a failing search (once landed, once not)
    for every one of them. So the search lands one only just before a
    refusal it unblocks, and a configuration reached again with a subset of
    the excuses already used is not explored again. Spares, the writes whose
    value nobody even expects, are interchangeable: the search takes the
    earliest invoked, so those used are always the first few.
    """

    def __init__(self, calls: Sequence[_Call]) -> None:
        observed = {c.arg for c in calls if c.f in _OBSERVING}
        expected = {c.arg for c in calls if c.f == "refused"}
        optional = [
            c for c in calls if c.complete is None and c.f in _WRITING and c.new not in observed
        ]
        self.spares = [c for c in optional if c.f == "write" and c.new not in expected]
        spare_ids = {id(c) for c in self.spares}
        self.others = [c for c in optional if id(c) not in spare_ids]
        self.ids = {id(c) for c in optional}
        self._all_spares = (1 << len(self.spares)) - 1

    def options(
        self, refusal: _Call, state: Hashable, used: int, by: int
    ) -> list[tuple[int, Hashable]]:
        """What may land just before `refusal` (blocked in `state`): its bit, the state after.

        Only excuses invoked `by` the first remaining return may land now.
        """
        found: list[tuple[int, Hashable]] = []
        spare = (used & self._all_spares).bit_length()
        if spare < len(self.spares) and self.spares[spare].invoke <= by:
            found.append((1 << spare, _SPARE))
        for bit, call in enumerate(self.others, start=len(self.spares)):
            if call.invoke > by:
                break
            if (
                not used >> bit & 1
                and call.new != refusal.arg
                and (call.f == "write" or call.arg == state)
            ):
                found.append((1 << bit, call.new))
        return found


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
    """Whether `calls` (one key) linearize; None if the deadline passed first."""
    return _run(calls, deadline)[0]


# A move: the entry lifted, its kind, the excuse landed first (-1: none), the configuration
# and excuses after it, and the excuses that configuration was explored with before.
_Move = tuple[_Entry, int, int, tuple[int, int, int, Hashable], int, int | tuple[int, ...] | None]
_FRESH, _DIRECT, _EXCUSED, _FORCED = range(4)  # scan phases (see `_run`); _FORCED: a move's kind


def _run(calls: Sequence[_Call], deadline: float) -> tuple[bool | None, int]:
    """Whether `calls` linearize (None: out of time), and the search's frontier.

    The frontier is the latest return any configuration was stuck at: when
    the search fails, the operations invoked by then (and the writes they
    observe) already fail, since every configuration is the same there.

    Indeterminate operations have no return entry: once every determinate
    operation is linearized the rest can go last, so the search stops there.

    The linearized set is kept compact, so that memory and time per step do
    not grow with the history: determinate operations numbered below `base`
    are all linearized, `above` is a bitmask of those from `base` up, and
    `indeterminate` one of the others. A linearized set holds every
    operation that returned before one of its members was invoked, so
    `above` spans only the operations running alongside the lowest
    unlinearized one. `used` is the bitmask of the excuses landed
    (`_Excuses`).

    A read, or a refusal, that is legal now is linearized at once and its
    alternatives are not tried: it leaves the register as it was, so any
    order that puts it later works with it here too. Without this, every
    refusal running alongside others (legal in almost any state) would
    double the configurations a failing search must refute.
    """
    excuses = _Excuses(calls)
    if excuses.ids:
        calls = [c for c in calls if id(c) not in excuses.ids]
    head = _entries(calls)
    remaining = sum(1 for c in calls if c.complete is not None)
    state: Hashable = None
    base = above = indeterminate = used = 0
    stack: list[tuple[_Entry, int, int, Hashable, int, int, int, int]] = []
    seen: dict[tuple[int, int, int, Hashable], int | tuple[int, ...]] = {}
    frontier = -1
    # What this configuration's scan looks for: _FRESH (none tried yet) anything, taking
    # a read or refusal at once; then _DIRECT moves; then _EXCUSED ones, fewest excuses first.
    phase = _FRESH
    direct: _Move | None = None  # the first direct move a fresh scan found
    excused: _Move | None = None  # and the first move landing an excuse
    option = 0  # the first excuse to try at `entry`, when a backtrack returns to it
    entry = head.next
    steps = 0
    while remaining:
        steps += 1
        if steps % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
            return None, frontier
        assert entry is not None  # a remaining determinate op's return lies ahead
        move: _Move | None = None
        stuck = False
        if entry.is_call:
            call: _Call = entry.call  # type: ignore[assignment]
            if direct is not None and call.f != "read" and call.f != "refused":
                entry = entry.next  # a fresh scan with a move in hand looks for one to force
                continue
            new_state = _step(state, call)
            if new_state is not _ILLEGAL:
                if phase != _EXCUSED:
                    if entry.match is None:
                        config = (base, above, indeterminate | 1 << entry.index, new_state)
                    else:
                        bits = above | 1 << (entry.index - base)
                        shift = (~bits & (bits + 1)).bit_length() - 1  # its trailing ones
                        config = (base + shift, bits >> shift, indeterminate, new_state)
                    prior = seen.get(config)
                    keeps = phase == _FRESH and (call.f == "read" or call.f == "refused")
                    if prior is not None and (prior == used or _covered(prior, used)):
                        stuck = keeps  # what this configuration must do next failed before
                    elif keeps:
                        move = (entry, _FORCED, -1, config, used, prior)
                    elif phase == _DIRECT:
                        move = (entry, _DIRECT, -1, config, used, prior)
                    elif direct is None:
                        direct = (entry, _DIRECT, -1, config, used, prior)
            elif (
                call.f == "refused"
                and excuses.ids
                and (phase == _EXCUSED or (phase == _FRESH and direct is None and excused is None))
            ):
                options = excuses.options(call, state, used, _first_return(entry))
                for k in range(option, len(options)):
                    bit, after = options[k]
                    config = _configuration(entry, base, above, indeterminate, after)
                    prior = seen.get(config)
                    if not _covered(prior, used | bit):
                        found = (entry, _EXCUSED, k, config, used | bit, prior)
                        if phase == _EXCUSED:
                            move = found
                        else:
                            excused = found
                        break
            option = 0
            if move is None and not stuck:
                entry = entry.next
                continue
        else:  # the first remaining return: every call this configuration may lift is behind
            if entry.call.complete > frontier:  # type: ignore[union-attr, operator]
                frontier = entry.call.complete  # type: ignore[union-attr, assignment]
            if phase == _FRESH:
                move = direct or excused
            elif phase == _DIRECT and excuses.ids:
                phase, entry = _EXCUSED, head.next
                continue
            stuck = move is None
        if stuck:
            while True:  # back to the latest configuration with a choice left
                if not stack:
                    return False, frontier
                entry, phase, k, state, base, above, indeterminate, used = stack.pop()
                _unlift(entry)
                remaining += entry.match is not None
                if phase != _FORCED:
                    break
            if phase == _DIRECT:
                entry = entry.next  # type: ignore[assignment]
            else:
                option = k + 1  # the same refusal, with the next excuse
            direct = excused = None
            continue
        entry, kind, k, config, new_used, prior = move  # type: ignore[misc]
        seen[config] = new_used if prior is None else _remember(prior, new_used)
        stack.append((entry, kind, k, state, base, above, indeterminate, used))
        base, above, indeterminate, state = config
        used = new_used
        _lift(entry)
        remaining -= entry.match is not None
        entry, phase, direct, excused = head.next, _FRESH, None, None  # type: ignore[assignment]
    return True, frontier


def _configuration(
    entry: _Entry, base: int, above: int, indeterminate: int, state: Hashable
) -> tuple[int, int, int, Hashable]:
    """The configuration after lifting `entry` (see `_run`, which inlines this where it is hot)."""
    if entry.match is None:
        return (base, above, indeterminate | 1 << entry.index, state)
    bits = above | 1 << (entry.index - base)
    shift = (~bits & (bits + 1)).bit_length() - 1
    return (base + shift, bits >> shift, indeterminate, state)


def _covered(prior: int | tuple[int, ...] | None, used: int) -> bool:
    """Whether a configuration explored with excuses `prior` (one set or several) did all that
    it can do with `used`: fewer excuses spent leave more choices."""
    if prior is None:
        return False
    if isinstance(prior, int):
        return prior & ~used == 0
    return any(p & ~used == 0 for p in prior)


def _remember(prior: int | tuple[int, ...], used: int) -> int | tuple[int, ...]:
    """The sets of excuses a configuration has been explored with, `used` added: no set
    that includes another is kept."""
    kept = [p for p in ((prior,) if isinstance(prior, int) else prior) if used & ~p]
    return used if not kept else (*kept, used)


def _first_return(entry: _Entry) -> int:
    """When the first remaining return after a call entry is: a spare must be invoked by then."""
    while entry.is_call:
        entry = entry.next  # type: ignore[assignment]
    return entry.call.complete  # type: ignore[union-attr, return-value]


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


def _shrink(
    whole: _Cuts, calls: list[_Call], frontier: int, deadline: float
) -> tuple[list[_Call], bool]:
    """A small non-linearizable subset of `calls` (known non-linearizable), and if it is minimal.

    First a short failing window: it ends at the search's frontier (`_run`)
    and starts as late as still fails (galloping back from the end, then
    bisection), so delta debugging works on a few dozen operations, not on
    the whole key. Then delta debugging: drop chunks of halving size, each
    with the operations that observe what it writes, while the rest still
    fails; at chunks of one the result is minimal in that sense.

    Every cut drops the refusals it exposes as a cut of `whole` (the key's
    calls), not of the set it was cut from: a refusal safe only because a
    later read pins its value would otherwise let a cut made while the read
    was there stand after the read is gone. So the result is a
    counterexample of the whole history. The window search assumes failure
    persists in longer windows, which usually but not always holds; every
    candidate is checked, so only the speed of shrinking depends on it.
    """

    def fails(candidate: list[_Call]) -> bool | None:
        if time.monotonic() > deadline:
            return None
        outcome = _search(candidate, deadline)
        return None if outcome is None else not outcome

    def window(start: int, end: int) -> list[_Call]:
        return whole.cut(whole.close(calls[start:end]))

    def window_fails(start: int, end: int) -> bool | None:
        return fails(window(start, end))

    # Past the frontier, unless the cut there had to give up a refusal the failure needs.
    at_frontier = bisect_right([c.invoke for c in calls], frontier)
    for end in dict.fromkeys((at_frontier, len(calls))):
        start = _boundary(functools.partial(window_fails, end=end), passing=end, failing=0)
        if start is None:
            return calls, False
        current = window(start, end)
        if start or end == len(calls):
            break
        outcome = fails(current)  # the whole prefix: the window search never tried it
        if outcome is None:
            return calls, False
        if outcome:
            break

    chunks = 2
    while len(current) > 1:
        cuts = _Cuts(current)
        chunk = -(-len(current) // chunks)
        for first in range(0, len(current), chunk):
            candidate = whole.cut(cuts.without(current[first : first + chunk]))
            if len(candidate) == len(current):
                continue
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


def _boundary(fails: Callable[[int], bool | None], passing: int, failing: int) -> int | None:
    """The failing bound nearest `passing`, galloping away from it, then bisecting.

    Assumes that what fails at a bound fails at every bound farther from
    `passing`; None if the deadline passed first.
    """
    direction = 1 if failing > passing else -1
    origin, span = passing, 8
    while span < abs(failing - origin):
        probe = origin + direction * span
        outcome = fails(probe)
        if outcome is None:
            return None
        if outcome:
            failing = probe
            break
        passing, span = probe, span * 2
    while abs(failing - passing) > 1:
        middle = (passing + failing) // 2
        outcome = fails(middle)
        if outcome is None:
            return None
        passing, failing = (passing, middle) if outcome else (middle, failing)
    return failing


def _explain(key: str | None, witness: Sequence[_Call], calls: Sequence[_Call]) -> str:
    """What a person needs to see the violation: the operations, and any value nobody wrote."""
    lines = [
        f"key {key!r}: no order of these {len(witness)} operations respects both their "
        "real-time order and a register's semantics (initially empty):"
    ]
    lines += [f"  {_describe(c)}" for c in witness]
    written = {c.written() for c in calls} | {None}
    for call in witness:
        if call.observed() is not _NOTHING and call.arg not in written:
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
        "refused": f"cas {call.arg!r} -> {call.new!r} refused (the register held another value)",
    }[call.f]
    end = f"{call.complete / 1e9:.6f} s" if call.complete is not None else "never (indeterminate)"
    outcome = completion.type if completion else "no completion"
    return (
        f"op {invoke.id} process {invoke.process}: {what} ({outcome}), "
        f"invoked {invoke.time / 1e9:.6f} s, completed {end}"
    )
