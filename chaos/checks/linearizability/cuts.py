"""Cuts: the subsets of a key's operations that can be judged in place of all of them.

The checker judges subsets of a key's operations: before searching
it cuts indeterminate writes nobody observes, and it shrinks a
counterexample. A cut S of the key's operations U is sound when every
linearization of U restricts to one of S: then a counterexample of S is one
of U. Restriction keeps reads and cas legal when S keeps every writer of
each value S observes (`Cuts.close`, `Cuts.without`). A refused cas c
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
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence

from chaos.checks.linearizability.calls import NOTHING, OBSERVING, WRITING, Call

_EARLIEST = float("-inf")


class _Writes:
    """The calls of a set that may change a register holding a given value, sorted by invoke.

    The indeterminate ones apart; for the determinate ones the latest
    completion among the first i, to stop a backward scan early.
    """

    __slots__ = ("done", "invokes", "latest", "open")

    def __init__(self, calls: list[Call]) -> None:
        self.open = [c for c in calls if c.complete is None]
        self.done = [c for c in calls if c.complete is not None]
        self.invokes = [c.invoke for c in self.done]
        self.latest = list(itertools.accumulate((c.complete or 0 for c in self.done), max))


def _index(calls: Iterable[Call], writers: bool) -> dict[Hashable, list[Call]]:
    """The writers of each value (`Call.written`), or its observers (`Call.observed`)."""
    index: dict[Hashable, list[Call]] = defaultdict(list)
    functions = WRITING if writers else OBSERVING
    for call in calls:
        if call.f in functions:
            index[call.new if writers else call.arg].append(call)
    return index


def _determinate(call: Call) -> bool:
    return call.complete is not None


def _sure_write_before(cut: Sequence[Call], position: int, before: int) -> bool:
    """Whether `cut` (in invoke order) has an ok write or cas that completed `before`.

    `position` is where `before` would go in the cut: the scan goes back from there.
    """
    for i in range(position - 1, -1, -1):
        call = cut[i]
        if call.complete is not None and call.complete < before and call.f in WRITING:
            return True
    return False


class Cuts:
    """Sound cuts of one set of calls (a key's, or a counterexample being shrunk).

    The set is indexed once so that each cut costs about its own size, not
    the set's: shrinking a 100,000-operation key cuts it dozens of times.
    See the module docstring for why each cut is sound.
    """

    def __init__(self, calls: Sequence[Call]) -> None:
        self.calls = calls
        self.writers = _index(calls, writers=True)
        self._observers: dict[Hashable, list[Call]] | None = None
        self._order: dict[int, int] | None = None
        self._writes: dict[Hashable, _Writes] | None = None

    @property
    def observers(self) -> dict[Hashable, list[Call]]:
        if self._observers is None:
            self._observers = _index(self.calls, writers=False)
        return self._observers

    def evidence(self) -> list[Call]:
        """What the search needs: determinate calls and the writes that may explain them.

        An indeterminate write nobody observes is cut, unless a refused cas
        might need it to have landed: those come back until none is missing.
        """
        observed = {c.arg for c in self.calls if c.complete is not None and c.f in OBSERVING}
        seen_open = [c for c in self.calls if c.complete is None and c.new in observed]
        inside = set(_reach(self.writers, seen_open, Call.observed, _determinate))
        kept = [c for c in self.calls if c.complete is not None or id(c) in inside]
        everyone = [c for c in kept if c.f == "refused"]
        refusals = everyone
        if refusals:
            inside = {id(c) for c in kept}
        while refusals:
            risks = self._risks(kept, inside, refusals)
            back = _Dropped(self, kept, inside).every_threat(risks) if risks else []
            added = _reach(self.writers, back, Call.observed, lambda c: id(c) in inside)
            if not added:
                break
            inside.update(added)
            kept = [c for c in self.calls if id(c) in inside]
            # Added calls are indeterminate: only a refusal of a value one writes gains a risk.
            written = {c.written() for c in added.values()}
            refusals = [c for c in everyone if c.arg in written]
        return kept

    def close(self, kept: Iterable[Call]) -> list[Call]:
        """`kept`, plus the calls that write what a kept one observes, in the set's order."""
        return self._in_order(_reach(self.writers, kept, Call.observed))

    def without(self, dropped: Iterable[Call]) -> list[Call]:
        """The set without `dropped` and the calls that observe what a dropped one writes."""
        gone = _reach(self.observers, dropped, Call.written)
        return [c for c in self.calls if id(c) not in gone]

    def cut(self, subset: list[Call]) -> list[Call]:
        """`subset` (closed) without the refused cas that cutting the rest might wrongly condemn."""
        inside = {id(c) for c in subset}
        risks = self._risks(subset, inside)
        if not risks:
            return subset
        dropped = _Dropped(self, subset, inside)
        unsafe = {id(c) for c, start in risks if next(dropped.threats(c, start), None)}
        return [c for c in subset if id(c) not in unsafe] if unsafe else subset

    def writes(self, value: Hashable) -> _Writes | None:
        """The calls that may change a register holding `value` (`NOTHING`: the plain writes)."""
        if self._writes is None:
            groups: dict[Hashable, list[Call]] = defaultdict(list)
            for call in self.calls:
                if call.f == "write":
                    groups[NOTHING].append(call)
                elif call.f == "cas":
                    groups[call.arg].append(call)
            self._writes = {value: _Writes(calls) for value, calls in groups.items()}
        return self._writes.get(value)

    def _pinned(self, refusal: Call, inside: set[int]) -> bool:
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

    def _in_order(self, reached: dict[int, Call]) -> list[Call]:
        if len(reached) * 8 > len(self.calls):
            return [c for c in self.calls if id(c) in reached]
        if self._order is None:
            self._order = {id(c): i for i, c in enumerate(self.calls)}
        order = self._order
        return sorted(reached.values(), key=lambda c: order[id(c)])

    def _risks(
        self, cut: Sequence[Call], inside: set[int], refused: list[Call] | None = None
    ) -> list[tuple[Call, float]]:
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

    def __init__(self, cuts: Cuts, cut: Sequence[Call], inside: set[int]) -> None:
        self.cuts = cuts
        self.inside = inside
        self._first_open: dict[Hashable, int] = {}
        self._any_done: dict[Hashable, bool] = {}

    def threats(self, refusal: Call, start: float) -> Iterator[Call]:
        """Dropped calls that may lie between a writer invoked at `start` and `refusal`."""
        end: int = refusal.complete  # type: ignore[assignment]
        for value, writes in self._writes(refusal):
            yield from self._open(value, writes, end)
            yield from self._done(value, writes, end, start)

    def every_threat(self, risks: list[tuple[Call, float]]) -> list[Call]:
        """The union of the threats to `risks`, each once."""
        found: dict[int, Call] = {}
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

    def _writes(self, refusal: Call) -> Iterator[tuple[Hashable, _Writes]]:
        for value in (NOTHING, refusal.arg):
            writes = self.cuts.writes(value)
            if writes is not None:
                yield value, writes

    def _open(self, value: Hashable, writes: _Writes, end: int) -> Iterator[Call]:
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

    def _done(self, value: Hashable, writes: _Writes, end: int, start: float) -> Iterator[Call]:
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
    index: dict[Hashable, list[Call]],
    start: Iterable[Call],
    follow: Callable[[Call], Hashable],
    known: Callable[[Call], bool] = lambda call: False,
) -> dict[int, Call]:
    """`start` and every call `index` files under the `follow` value of one reached, by id.

    A `known` call is taken as reached already, with all it leads to, and left out.
    """
    reached = {id(c): c for c in start if not known(c)}
    pending = [follow(c) for c in reached.values()]
    visited = {NOTHING}
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
