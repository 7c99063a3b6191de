"""A counterexample made minimal, and told in words.

Shrinking judges smaller cuts of a failing key's operations (`cuts.Cuts`) with the same
search, and keeps the smallest that still fails.
"""

from __future__ import annotations

import functools
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence

from chaos.checks.linearizability.calls import NOTHING, Call
from chaos.checks.linearizability.cuts import Cuts
from chaos.checks.linearizability.search import search


def shrink(
    whole: Cuts, calls: list[Call], frontier: int, deadline: float
) -> tuple[list[Call], bool]:
    """A small non-linearizable subset of `calls` (known non-linearizable), and if it is minimal.

    First a short failing window: it ends at the search's frontier (`run`)
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

    def fails(candidate: list[Call]) -> bool | None:
        if time.monotonic() > deadline:
            return None
        outcome = search(candidate, deadline)
        return None if outcome is None else not outcome

    def window(start: int, end: int) -> list[Call]:
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
        cuts = Cuts(current)
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


def explain(key: str | None, witness: Sequence[Call], calls: Sequence[Call]) -> str:
    """What a person needs to see the violation: the operations, and any value nobody wrote."""
    lines = [
        f"key {key!r}: no order of these {len(witness)} operations respects both their "
        "real-time order and a register's semantics (initially empty):"
    ]
    lines += [f"  {_describe(c)}" for c in witness]
    written = {c.written() for c in calls} | {None}
    for call in witness:
        if call.observed() is not NOTHING and call.arg not in written:
            verb = "read" if call.f == "read" else "cas expected"
            lines.append(
                f"  process {call.pair[0].process} {verb} {call.arg!r}, "
                "which no operation on this key that may have taken effect wrote"
            )
    return "\n".join(lines)


def _describe(call: Call) -> str:
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
