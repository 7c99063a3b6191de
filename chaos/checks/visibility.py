"""t-visibility, as probabilistically bounded staleness (Bailis et al., PBS) defines it:
the probability that a read begun t ms after a write was acknowledged returns that
write's value or a newer one.

The `visibility` workload writes a new value through one node every `write_every` and
reads it through every other node every `read_every`. Each served read of another node
is a sample: t is from the acknowledgement of the latest write acknowledged before the
read's invocation to that invocation, and the read is **fresh** when it returned that
write's value or the value of a write invoked after it. Samples are binned by t in 10 ms
bins and split by when their write was acknowledged: at rest (before the first fault was
requested), during a fault (from its request to its heal's), and after (from a heal's
request on). Reads that were not served are counted apart, by when they were invoked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from chaos.checks.base import Verdict
from chaos.checks.linearizability import freeze
from chaos.checks.rules import Rules
from chaos.checks.windows import FaultWindow, fault_windows
from chaos.history import History, Op, pair_operations

Phase = Literal["rest", "fault", "after"]
PHASES: tuple[Phase, ...] = ("rest", "fault", "after")
BIN_MS = 10
POINTS_MS = (0, 10, 20, 50, 100, 200, 500, 1000)
MAX_BINS = 500  # the whole curve is kept to 5 s after the write; later samples only count
FRESH_ENOUGH = 0.99


@dataclass(frozen=True)
class VisibilityPoint:
    """The samples begun `after_ms` to `after_ms + 10` ms after their write's acknowledgement,
    and the share of them that were fresh (None: no sample so late)."""

    after_ms: int
    reads: int
    fresh: int
    probability: float | None


@dataclass(frozen=True)
class VisibilityCurve:
    """One phase's samples, of every reader node (`node` None) or of one.

    `bins` is the whole curve, (reads, fresh) per 10 ms from 0; `fresh_99_ms` the earliest
    bin such that at least 99 % of the samples in it and after were fresh (None: none).
    """

    phase: Phase
    node: str | None
    samples: int
    fresh: int
    unserved: int
    points: tuple[VisibilityPoint, ...]
    fresh_99_ms: int | None
    bins: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class VisibilityResult:
    writer: str | None
    writes_acknowledged: int
    curves: tuple[VisibilityCurve, ...]

    def curve(self, phase: Phase, node: str | None = None) -> VisibilityCurve | None:
        return next((c for c in self.curves if c.phase == phase and c.node == node), None)


def visibility(history: History) -> VisibilityResult:
    """The t-visibility curves of a history's register writes and other nodes' reads."""
    pairs = [p for p in pair_operations(history.ops) if p[0].f in ("write", "read")]
    writes = sorted(
        ((invoke, done) for invoke, done in pairs if invoke.f == "write" and done and _ok(done)),
        key=lambda write: write[1].time,
    )
    writers = Counter(invoke.node for invoke, _ in writes)
    writer = writers.most_common(1)[0][0] if writers else None
    written: dict[Hashable, int] = {
        freeze(invoke.value): invoke.time for invoke, _ in pairs if invoke.f == "write"
    }
    windows = fault_windows(history)
    samples: dict[tuple[Phase, str | None], list[tuple[float, bool]]] = defaultdict(list)
    unserved: Counter[tuple[Phase, str | None]] = Counter()
    acknowledged = [done.time for _, done in writes]
    index = 0
    reads = sorted((p for p in pairs if p[0].f == "read"), key=lambda p: p[0].time)
    for invoke, done in reads:
        if invoke.node == writer and writer is not None:
            continue
        while index < len(acknowledged) and acknowledged[index] < invoke.time:
            index += 1
        node = invoke.node
        if done is None or not _ok(done):
            for where in (node, None):
                unserved[(_phase(invoke.time, windows), where)] += 1
            continue
        if index == 0:  # no write acknowledged yet: nothing to be fresh about
            continue
        latest, acked = writes[index - 1]
        source = written.get(freeze(done.value))
        fresh = source is not None and source >= latest.time
        sample = ((invoke.time - acked.time) / 1e6, fresh)
        for where in (node, None):
            samples[(_phase(acked.time, windows), where)].append(sample)
    nodes = sorted({node for _, node in samples | unserved if node is not None})
    curves = [
        _curve(phase, node, samples.get((phase, node), []), unserved[(phase, node)])
        for phase in PHASES
        for node in (None, *nodes)
        if (phase, node) in samples or (phase, node) in unserved
    ]
    return VisibilityResult(writer, len(writes), tuple(curves))


def _curve(
    phase: Phase, node: str | None, samples: list[tuple[float, bool]], unserved: int
) -> VisibilityCurve:
    top = min(MAX_BINS, int(max((t for t, _ in samples), default=0) // BIN_MS) + 1)
    reads, fresh = [0] * top, [0] * top
    for t, is_fresh in samples:
        slot = int(max(t, 0) // BIN_MS)
        if slot < top:
            reads[slot] += 1
            fresh[slot] += is_fresh
    points = []
    for after in POINTS_MS:
        slot = after // BIN_MS
        n, k = (reads[slot], fresh[slot]) if slot < top else (0, 0)
        points.append(VisibilityPoint(after, n, k, k / n if n else None))
    return VisibilityCurve(
        phase=phase,
        node=node,
        samples=len(samples),
        fresh=sum(is_fresh for _, is_fresh in samples),
        unserved=unserved,
        points=tuple(points),
        fresh_99_ms=_fresh_from(reads, fresh),
        bins=tuple(zip(reads, fresh, strict=True)),
    )


def _fresh_from(reads: list[int], fresh: list[int]) -> int | None:
    """The earliest bin such that at least 99 % of the samples in it and after were fresh."""
    later_reads = later_fresh = 0
    found = None
    for slot in range(len(reads) - 1, -1, -1):
        later_reads, later_fresh = later_reads + reads[slot], later_fresh + fresh[slot]
        if reads[slot] and later_fresh >= FRESH_ENOUGH * later_reads:
            found = slot * BIN_MS
    return found


def _phase(time: int, windows: list[FaultWindow]) -> Phase:
    if not windows or time < windows[0].start_ns:
        return "rest"
    if any(w.start_ns <= time < w.end_ns for w in windows):
        return "fault"
    return "after"


def _ok(completion: Op) -> bool:
    return completion.type == "ok"


class VisibilityCheck:
    """The t-visibility curves of the visibility probe (chaos.checks.visibility): measured,
    with no SLO of its own."""

    name: ClassVar[str] = "visibility"
    workloads: ClassVar[frozenset[str]] = frozenset({"visibility"})
    slos: ClassVar[tuple[str, ...]] = ()

    def measure(self, history: History, rules: Rules) -> VisibilityResult:
        return visibility(history)

    def judge(self, result: Any, expect: dict[str, Any]) -> list[Verdict]:
        return []
