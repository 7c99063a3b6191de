"""The search for a linearization of one key's operations.

The search is Wing and Gong's, with Lowe's memoisation: operations sit in a
doubly linked list of call and return entries in time order; the search
linearizes ("lifts") any call that precedes the first remaining return and is
legal in the current register state, and backtracks at a return whose call
it has not linearized yet. A configuration (set of linearized operations,
kept as small int bitmasks; register state) already explored is never
explored again, which is what makes long histories with modest concurrency
cheap: time and memory grow linearly with the history.

Timed-out operations whose value no read or cas observes only matter as the
reason for a refusal; the search lands them only just before one
(`_Excuses`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Hashable, Sequence

from chaos.checks.linearizability.calls import OBSERVING, WRITING, Call

# How many search steps run between two looks at the clock.
_CLOCK_EVERY = 4096

_ILLEGAL = object()  # what `_step` returns for an operation that cannot happen

_SPARE = object()  # the register after a spare timed-out write landed: a value nobody observes


class _Entry:
    """A call or return entry of the linked list the search walks."""

    __slots__ = ("call", "index", "is_call", "match", "next", "prev")

    def __init__(self, call: Call | None, index: int, is_call: bool) -> None:
        self.call = call
        self.index = index  # the operation's bit in a linearized set (see `_entries`)
        self.is_call = is_call
        self.match: _Entry | None = None  # a call's return entry; None if indeterminate
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _step(state: Hashable, call: Call) -> Hashable:
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

    def __init__(self, calls: Sequence[Call]) -> None:
        observed = {c.arg for c in calls if c.f in OBSERVING}
        expected = {c.arg for c in calls if c.f == "refused"}
        optional = [
            c for c in calls if c.complete is None and c.f in WRITING and c.new not in observed
        ]
        self.spares = [c for c in optional if c.f == "write" and c.new not in expected]
        spare_ids = {id(c) for c in self.spares}
        self.others = [c for c in optional if id(c) not in spare_ids]
        self.ids = {id(c) for c in optional}
        self._all_spares = (1 << len(self.spares)) - 1

    def options(
        self, refusal: Call, state: Hashable, used: int, by: int
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


def _entries(calls: Sequence[Call]) -> _Entry:
    """The list head: entries in time order, a call before a return at the same instant.

    Putting calls first at equal timestamps treats touching operations as
    concurrent, the permissive (never falsely failing) reading of a tie.
    Determinate and indeterminate operations are numbered apart, each in
    invoke order, for the two bitmasks of `search`.
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


def search(calls: Sequence[Call], deadline: float) -> bool | None:
    """Whether `calls` (one key) linearize; None if the deadline passed first."""
    return run(calls, deadline)[0]


# A move: the entry lifted, its kind, the excuse landed first (-1: none), the configuration
# and excuses after it, and the excuses that configuration was explored with before.
_Move = tuple[_Entry, int, int, tuple[int, int, int, Hashable], int, int | tuple[int, ...] | None]

_FRESH, _DIRECT, _EXCUSED, _FORCED = range(4)  # scan phases (see `run`); _FORCED: a move's kind


def run(calls: Sequence[Call], deadline: float) -> tuple[bool | None, int]:
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
            call: Call = entry.call  # type: ignore[assignment]
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
    """The configuration after lifting `entry` (see `run`, which inlines this where it is hot)."""
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
