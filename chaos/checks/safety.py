"""Safety checks more direct than linearizability: lost writes and stale reads.

Both name the operations at fault without a search, so a report can say
"these 12 acknowledged writes are gone" or "this read, invoked after that
write was acknowledged, returned an older value".
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from chaos.checks.linearizability import OpPair, freeze
from chaos.history import History, Op, pair_operations

Completed = tuple[Op, Op]


@dataclass(frozen=True)
class LostWrites:
    """One set key's unique-value adds against its last final read.

    `lost` are adds acknowledged `ok` that the final read lacks. Adds of
    unknown outcome (`info`, or no completion) may or may not have happened,
    so they are only counted, never lost. `unexpected` are values the final
    read holds that no `ok` or unknown add wrote (an add that reported
    `fail` promised it did not happen).
    """

    key: str | None
    acknowledged: int
    lost: tuple[OpPair, ...]
    unknown_present: int
    unknown_absent: int
    unexpected: tuple[Any, ...]
    final_read: Completed


@dataclass(frozen=True)
class LostWritesResult:
    """Every set key with a final read; `unchecked` keys had adds but no `ok` final read."""

    keys: tuple[LostWrites, ...]
    unchecked: tuple[str | None, ...]

    @property
    def ok(self) -> bool:
        return not any(k.lost or k.unexpected for k in self.keys)

    @property
    def lost(self) -> tuple[OpPair, ...]:
        return tuple(op for k in self.keys for op in k.lost)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class StaleRead:
    """A read that missed writes acknowledged before it was invoked.

    On a register, `missed` is one write the read must have followed and
    that no source of the value read can follow; on a set, every
    acknowledged add missing from the value read.
    """

    read: Completed
    value: Any
    missed: tuple[Completed, ...]


@dataclass(frozen=True)
class StaleReadsResult:
    reads_checked: int
    stale: tuple[StaleRead, ...]

    @property
    def ok(self) -> bool:
        return not self.stale

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def lost_writes(history: History) -> LostWritesResult:
    """Acknowledged `add`s missing from the last `ok` `final-read` of their key."""
    adds: dict[str | None, list[OpPair]] = defaultdict(list)
    finals: dict[str | None, Completed] = {}
    for invoke, completion in pair_operations(history.ops):
        if invoke.f == "add":
            adds[invoke.key].append((invoke, completion))
        elif invoke.f == "final-read" and completion is not None and completion.type == "ok":
            latest = finals.get(invoke.key)
            if latest is None or completion.time > latest[1].time:
                finals[invoke.key] = (invoke, completion)
    keys = []
    for key, final in finals.items():
        present = [freeze(v) for v in final[1].value or ()]
        acknowledged = [p for p in adds[key] if _outcome(p) == "ok"]
        unknown = [p for p in adds[key] if _outcome(p) == "info"]
        present_set = set(present)
        possible = {freeze(p[0].value) for p in acknowledged + unknown}
        unknown_present = sum(1 for p in unknown if freeze(p[0].value) in present_set)
        keys.append(
            LostWrites(
                key=key,
                acknowledged=len(acknowledged),
                lost=tuple(p for p in acknowledged if freeze(p[0].value) not in present_set),
                unknown_present=unknown_present,
                unknown_absent=len(unknown) - unknown_present,
                unexpected=tuple(dict.fromkeys(v for v in present if v not in possible)),
                final_read=final,
            )
        )
    unchecked = tuple(key for key in adds if key not in finals)
    return LostWritesResult(keys=tuple(keys), unchecked=unchecked)


def stale_reads(history: History) -> StaleReadsResult:
    """Reads that returned a value older than one acknowledged before they were invoked.

    On a set key (one with `add`s) a read is stale when it lacks a value
    whose add completed `ok` before the read was invoked.

    On a register key a read r returning y is stale when some write or cas w
    completed `ok` before r was invoked, and every operation that could have
    stored y (writes of y and cas to y, `ok` or of unknown outcome; for
    y = None also the initial state) completed `ok` before w was invoked.
    Real time then orders every source of y before w and w before r, so no
    order of the history lets r see y: a stale read is always a
    linearizability violation. A source of unknown outcome may take effect
    at any later time, so it never makes a read stale; nor does a read of a
    value nothing wrote, which is the linearizability checker's to report.
    """
    by_key: dict[str | None, list[OpPair]] = defaultdict(list)
    for pair in pair_operations(history.ops):
        by_key[pair[0].key].append(pair)
    stale: list[StaleRead] = []
    reads_checked = 0
    for pairs in by_key.values():
        reads = _ok(p for p in pairs if p[0].f == "read")
        reads_checked += len(reads)
        if any(invoke.f == "add" for invoke, _ in pairs):
            stale += _stale_set_reads(_ok(p for p in pairs if p[0].f == "add"), reads)
        else:
            stale += _stale_register_reads(pairs, reads)
    return StaleReadsResult(reads_checked=reads_checked, stale=tuple(stale))


def _stale_set_reads(adds: list[Completed], reads: list[Completed]) -> Iterator[StaleRead]:
    adds.sort(key=lambda p: p[1].time)
    completed = [completion.time for _, completion in adds]
    for invoke, completion in reads:
        seen = {freeze(v) for v in completion.value or ()}
        due = adds[: bisect_left(completed, invoke.time)]
        missed = tuple(p for p in due if freeze(p[0].value) not in seen)
        if missed:
            yield StaleRead(read=(invoke, completion), value=completion.value, missed=missed)


def _stale_register_reads(pairs: list[OpPair], reads: list[Completed]) -> Iterator[StaleRead]:
    # When each value's last possible source completed; +inf for a source of unknown outcome.
    sources: dict[Hashable, float] = {None: float("-inf")}
    for pair in pairs:
        invoke, completion = pair
        if invoke.f in ("write", "cas") and _outcome(pair) != "fail":
            stored = freeze(invoke.value[1] if invoke.f == "cas" else invoke.value)
            done = completion.time if completion and completion.type == "ok" else float("inf")
            sources[stored] = max(sources.get(stored, float("-inf")), done)
    # Acknowledged writes by completion, and the latest-invoked one of each prefix.
    writes = sorted(_ok(p for p in pairs if p[0].f in ("write", "cas")), key=lambda p: p[1].time)
    completed = [completion.time for _, completion in writes]
    latest: list[Completed] = []
    for write in writes:
        latest.append(write if not latest or write[0].time > latest[-1][0].time else latest[-1])
    for invoke, completion in reads:
        value = freeze(completion.value)
        done_before = bisect_left(completed, invoke.time)
        if value in sources and done_before and latest[done_before - 1][0].time > sources[value]:
            yield StaleRead(
                read=(invoke, completion), value=completion.value, missed=(latest[done_before - 1],)
            )


def _outcome(pair: OpPair) -> str:
    """`ok`, `fail`, or `info` for an unknown outcome (including no completion)."""
    return pair[1].type if pair[1] is not None else "info"


def _ok(pairs: Iterable[OpPair]) -> list[Completed]:
    return [(invoke, c) for invoke, c in pairs if c is not None and c.type == "ok"]
