"""How stale register reads were: measured, never judged unless the experiment asks.

A read served from a replica or a member's own copy (a serializable or local read, a
read at consistency level ONE, a read from a replica) may return a value that was already
overwritten; that is what those modes trade for speed and availability. This check
counts such reads and says how stale each was, in versions and in milliseconds. The
`stale-reads` check (chaos.checks.safety) has the same verdict on which reads are
stale, and judges it as a linearizability violation; this one measures.

A read r, invoked at R, that returned y missed an acknowledged write w of its key when
w completed `ok` before R and was invoked after y's write completed: real time then
orders y's write before w and w before r, so y had been overwritten when r began. The
read is **stale** when it missed one or more; it is **versions behind** by how many it
missed, and **stale for** the milliseconds from the completion of the first of them to
complete (when y was certainly overwritten) to R. y = None (the initial state) is
overwritten by every acknowledged write. A value whose write is of unknown outcome may
have taken effect at any later time, so a read of it is never stale; nor is a read of a
value nothing wrote (the linearizability checker's to report).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from chaos.checks.base import Outcome, Verdict
from chaos.checks.linearizability import OpPair, freeze
from chaos.checks.rules import Rules
from chaos.history import History, Op, pair_operations

UNRECORDED = "unrecorded"  # the mode of reads in histories from before reads carried one
STALEST_KEPT = 20
PERCENTILES = (50, 99)


@dataclass(frozen=True)
class StaleValue:
    """One stale read: who read what, when, how many acknowledged writes it missed and for
    how long its value had been overwritten; `overwritten_by` is the missed write that
    completed first."""

    op_id: int
    process: int
    node: str | None
    key: str | None
    mode: str | None
    value: Any
    invoked_s: float
    versions_behind: int
    stale_ms: float
    overwritten_by: int


@dataclass(frozen=True)
class Staleness:
    """Reads of one kind (all, one mode, one node): how many were stale and how stale.
    Percentiles are nearest-rank over the stale reads only; None when none was stale."""

    reads: int
    stale: int
    versions_behind_max: int = 0
    versions_behind_p50: int | None = None
    versions_behind_p99: int | None = None
    stale_ms_max: float | None = None
    stale_ms_p50: float | None = None
    stale_ms_p99: float | None = None


@dataclass(frozen=True)
class StalenessResult:
    """Every `ok` register read, by read mode and by node; the stalest kept for reports."""

    reads_checked: int
    stale_count: int
    overall: Staleness
    by_mode: dict[str, Staleness]
    by_node: dict[str, Staleness]
    stalest: tuple[StaleValue, ...]


def staleness(history: History) -> StalenessResult:
    """Every `ok` read of a register key (one no `add` names), measured as the module says."""
    by_key: dict[str | None, list[OpPair]] = defaultdict(list)
    for pair in pair_operations(history.ops):
        by_key[pair[0].key].append(pair)
    reads: list[tuple[Op, Op]] = []
    stale: dict[int, StaleValue] = {}
    for pairs in by_key.values():
        if any(invoke.f == "add" for invoke, _ in pairs):
            continue
        key_reads = _ok(p for p in pairs if p[0].f == "read")
        reads += key_reads
        stale |= {found.op_id: found for found in _stale_reads(pairs, key_reads)}
    modes: dict[str, list[StaleValue | None]] = defaultdict(list)
    nodes: dict[str, list[StaleValue | None]] = defaultdict(list)
    for invoke, _ in reads:
        found = stale.get(invoke.id)
        modes[invoke.mode or UNRECORDED].append(found)
        nodes[invoke.node or "driver"].append(found)
    stalest = sorted(stale.values(), key=lambda s: (-s.stale_ms, s.op_id))[:STALEST_KEPT]
    return StalenessResult(
        reads_checked=len(reads),
        stale_count=len(stale),
        overall=summarise([stale.get(invoke.id) for invoke, _ in reads]),
        by_mode={mode: summarise(found) for mode, found in sorted(modes.items())},
        by_node={node: summarise(found) for node, found in sorted(nodes.items())},
        stalest=tuple(stalest),
    )


def summarise(reads: list[StaleValue | None]) -> Staleness:
    """Reads, each its stale measure or None when it was fresh."""
    stale = [read for read in reads if read is not None]
    if not stale:
        return Staleness(reads=len(reads), stale=0)
    versions = sorted(read.versions_behind for read in stale)
    millis = sorted(read.stale_ms for read in stale)
    v50, v99 = (_nearest_rank(versions, p) for p in PERCENTILES)
    m50, m99 = (_nearest_rank(millis, p) for p in PERCENTILES)
    return Staleness(len(reads), len(stale), versions[-1], v50, v99, millis[-1], m50, m99)


def _stale_reads(pairs: list[OpPair], reads: list[tuple[Op, Op]]) -> Iterator[StaleValue]:
    # When each value's write completed: the latest of its possible sources, +inf for one
    # of unknown outcome (it may land at any time), -inf for the initial state.
    written: dict[Hashable, float] = {None: float("-inf")}
    for invoke, completion in pairs:
        if invoke.f in ("write", "cas") and _outcome(completion) != "fail":
            stored = freeze(invoke.value[1] if invoke.f == "cas" else invoke.value)
            done = completion.time if completion and completion.type == "ok" else float("inf")
            written[stored] = max(written.get(stored, float("-inf")), done)
    # Acknowledged writes by invocation: the ones a read can have missed lie between
    # its value's write's completion and its own invocation.
    acknowledged = sorted(
        _ok(p for p in pairs if p[0].f in ("write", "cas")), key=lambda p: p[0].time
    )
    invoked = [invoke.time for invoke, _ in acknowledged]
    for invoke, completion in reads:
        value = freeze(completion.value)
        if value not in written:
            continue
        since = written[value]
        window = acknowledged[bisect_right(invoked, since) : bisect_left(invoked, invoke.time)]
        missed = [write for write in window if write[1].time < invoke.time]
        if not missed:
            continue
        first = min(missed, key=lambda write: write[1].time)
        yield StaleValue(
            op_id=invoke.id,
            process=invoke.process,
            node=invoke.node,
            key=invoke.key,
            mode=invoke.mode,
            value=completion.value,
            invoked_s=invoke.time / 1e9,
            versions_behind=len(missed),
            stale_ms=(invoke.time - first[1].time) / 1e6,
            overwritten_by=first[0].id,
        )


def _outcome(completion: Op | None) -> str:
    return completion.type if completion is not None else "info"


def _ok(pairs: Iterable[OpPair]) -> list[tuple[Op, Op]]:
    return [(invoke, c) for invoke, c in pairs if c is not None and c.type == "ok"]


def _nearest_rank(ordered: list[Any], percentile: int) -> Any:
    return ordered[max(0, -(-percentile * len(ordered) // 100) - 1)]


class StalenessCheck:
    """How many register reads were stale and how stale (chaos.checks.staleness): measured
    for every run, judged only against the SLOs an experiment sets."""

    name: ClassVar[str] = "staleness"
    workloads: ClassVar[frozenset[str]] = frozenset({"register", "visibility"})
    slos: ClassVar[tuple[str, ...]] = ("max_stale_reads", "max_staleness")

    def measure(self, history: History, rules: Rules) -> StalenessResult:
        return staleness(history)

    def judge(self, result: StalenessResult | None, expect: dict[str, Any]) -> list[Verdict]:
        verdicts = []
        for slo in self.slos:
            limit = expect.get(slo)
            if limit is None:
                continue
            if result is None:  # a metrics file from before this check existed
                verdicts.append(Verdict(slo, limit, None, "unknown", "not measured"))
                continue
            if slo == "max_stale_reads":
                measured: float = result.stale_count
            else:  # seconds, as every duration SLO
                measured = (result.overall.stale_ms_max or 0.0) / 1000
            outcome: Outcome = "held" if measured <= limit else "failed"
            verdicts.append(Verdict(slo, limit, measured, outcome))
        return verdicts
