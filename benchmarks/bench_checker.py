"""Wall time of the linearizability checker on valid and on non-linearizable register histories.

Run `python benchmarks/bench_checker.py`. The histories look like a real
run: 10 clients issuing reads, writes and compare-and-sets with millisecond
latencies, 1 % of operations timing out (their effect landing up to 20
latencies later, or never). Each operation takes effect at a random instant
inside its call, so every history is linearizable and the checker must
search all of it; one key shared by all 10 clients is the hardest case.

The non-linearizable cases plant one anomaly late (after 90 % of the
operations), where shrinking the counterexample costs the most: a stale
read, or a refused cas whose register provably held the expected value. For
those the share of the time spent shrinking is printed too.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.checks import linearizability
from chaos.checks.linearizability import check_linearizability
from chaos.history import History, Op, OpType, pair_operations

PROCESSES = 10
TIMEOUT_RATE = 0.01
MS = 1_000_000
LATE = 0.9  # where a planted anomaly goes, as a share of the history's operations

Plant = Callable[[History], History]


def generate(n_ops: int, keys: int, seed: int) -> History:
    """A linearizable history of `n_ops` operations (two records each, fewer if pending)."""
    rng = random.Random(seed)
    clocks = [0] * PROCESSES
    last_written: dict[str, int | None] = {}
    planned: list[tuple[float, int, bool, Op]] = []  # (effect instant, latency, timed out, call)
    for op_id in range(n_ops):
        process = op_id % PROCESSES
        invoke = clocks[process] + int(rng.expovariate(1 / MS))
        latency = int(rng.lognormvariate(0.5, 0.6) * MS)
        clocks[process] = invoke + latency
        key = f"k{rng.randrange(keys)}"
        f = rng.choices(["read", "write", "cas"], weights=[5, 3, 2])[0]
        value = {"read": None, "write": op_id, "cas": [last_written.get(key), op_id]}[f]
        if f != "read":
            last_written[key] = op_id
        timed_out = rng.random() < TIMEOUT_RATE
        if timed_out and rng.random() < 0.5:
            effect = float("inf")
        else:
            effect = invoke + rng.random() * latency * (20 if timed_out else 1)
        planned.append(
            (effect, latency, timed_out, Op("invoke", op_id, process, f, key, value, invoke))
        )
    registers: dict[str | None, object] = {}
    ops: list[Op] = []
    for _, latency, timed_out, call in sorted(planned, key=lambda p: p[0]):
        current = registers.get(call.key)
        outcome: OpType = "ok"
        result = call.value
        if call.f == "read":
            result = current
        elif call.f == "write" or current == call.value[0]:
            registers[call.key] = call.value if call.f == "write" else call.value[1]
        else:
            outcome = "fail"
        if timed_out:
            outcome, result = "info", None
        ops += [
            call,
            Op(outcome, call.id, call.process, call.f, call.key, result, call.time + latency),
        ]
    return History(ops=sorted(ops, key=lambda op: op.time))


def _stored(invoke: Op) -> Any:
    return invoke.value[1] if invoke.f == "cas" else invoke.value


def _late_reads(history: History) -> list[tuple[Op, Op, list[tuple[Op, Op | None]]]]:
    """Ok reads after the `LATE` mark, each with its key's writes and cas (any outcome)."""
    pairs = pair_operations(history.ops)
    writers: dict[str | None, list[tuple[Op, Op | None]]] = {}
    for invoke, completion in pairs:
        if invoke.f in ("write", "cas"):
            writers.setdefault(invoke.key, []).append((invoke, completion))
    return [
        (invoke, completion, writers.get(invoke.key, []))
        for invoke, completion in pairs[int(LATE * len(pairs)) :]
        if invoke.f == "read" and completion is not None and completion.type == "ok"
    ]


def _sure(completion: Op | None) -> bool:
    return completion is not None and completion.type == "ok"


def plant_stale_read(history: History) -> History:
    """The first late read made to return a value overwritten before it was invoked.

    w1 completed before w2 was invoked, w2 before the read: every order puts
    w1, then w2, then the read, so reading w1's value is impossible.
    """
    for invoke, read, writers in _late_reads(history):
        done = [(i, c) for i, c in writers if _sure(c) and c.time < invoke.time]  # type: ignore[union-attr]
        if not done:
            continue
        w2 = max(done, key=lambda p: p[1].time)[0]  # type: ignore[union-attr]
        older = [(i, c) for i, c in done if c.time < w2.time]  # type: ignore[union-attr]
        if older:
            w1 = max(older, key=lambda p: p[1].time)[0]  # type: ignore[union-attr]
            return History(
                ops=[replace(op, value=_stored(w1)) if op is read else op for op in history.ops]
            )
    raise ValueError("no late read to make stale")


def plant_refusal(history: History) -> History:
    """A refused cas, by a new process, inserted where the register provably held its expectation.

    It runs after the only writer of the value v a late read returned had
    completed, and ends before that read began: the register held v at both
    ends and values are unique, so no write came between.
    """
    for invoke, read, writers in _late_reads(history):
        sources = [(i, c) for i, c in writers if _stored(i) == read.value]
        if not all(_sure(c) for _, c in sources):
            continue
        start = max((c.time for _, c in sources), default=0) + 1  # type: ignore[union-attr]
        end = invoke.time - 1
        if start <= end:
            op_id = max(op.id for op in history.ops) + 1
            value = [read.value, op_id]
            cas = Op("invoke", op_id, PROCESSES, "cas", invoke.key, value, start)
            ops = [*history.ops, cas, replace(cas, type="fail", time=end)]
            return History(ops=sorted(ops, key=lambda op: op.time))
    raise ValueError("no late read to plant a refusal before")


def bench(n_ops: int, keys: int, runs: int) -> None:
    times = []
    for seed in range(runs):
        history = generate(n_ops, keys, seed)
        started = time.perf_counter()
        result = check_linearizability(history, timeout_s=300)
        times.append(time.perf_counter() - started)
        if not result.linearizable:
            print(f"  seed {seed}: unexpected verdict {result.verdict}")
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(
        f"{n_ops:>7} ops, {keys} key(s), {PROCESSES} processes, {runs} runs: "
        f"median {statistics.median(times):.3f} s, p95 {p95:.3f} s"
    )


def bench_anomaly(name: str, plant: Plant, n_ops: int, keys: int, runs: int) -> None:
    """The whole check of histories with one planted anomaly, and the share spent shrinking."""
    shrink = linearizability.shrink
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return shrink(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    times, shares, sizes, minimal, missed = [], [], [], 0, 0
    linearizability.shrink = timed  # type: ignore[assignment]
    try:
        for seed in range(runs):
            history = plant(generate(n_ops, keys, seed))
            spent.clear()
            started = time.perf_counter()
            result = check_linearizability(history, timeout_s=300)
            total = time.perf_counter() - started
            times.append(total)
            shares.append(sum(spent) / total)
            if result.verdict != "non-linearizable":
                missed += 1
                continue
            (failure,) = result.failures
            sizes.append(len(failure.counterexample))
            minimal += failure.minimal
    finally:
        linearizability.shrink = shrink  # type: ignore[assignment]
    found = f"{minimal}/{runs} minimal, median size {statistics.median(sizes):g}" if sizes else ""
    print(
        f"{n_ops:>7} ops, {keys} key(s), {name}, {runs} runs: "
        f"median {statistics.median(times):.3f} s, shrinking {statistics.median(shares):.0%}; "
        f"{found}{f'; {missed} not found' if missed else ''}"
    )


if __name__ == "__main__":
    bench(10_000, keys=5, runs=21)
    bench(10_000, keys=1, runs=21)
    bench(100_000, keys=5, runs=5)
    bench(100_000, keys=1, runs=5)
    for n_ops in (10_000, 100_000):
        for keys in (5, 1):
            bench_anomaly("stale read", plant_stale_read, n_ops, keys, runs=5)
            bench_anomaly("refused cas", plant_refusal, n_ops, keys, runs=5)
