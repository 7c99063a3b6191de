"""Wall time of the linearizability checker on valid register histories.

Run `python benchmarks/bench_checker.py`. The histories look like a real
run: 10 clients issuing reads, writes and compare-and-sets with millisecond
latencies, 1 % of operations timing out (their effect landing up to 20
latencies later, or never). Each operation takes effect at a random instant
inside its call, so every history is linearizable and the checker must
search all of it; one key shared by all 10 clients is the hardest case.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.checks.linearizability import check_linearizability
from chaos.history import History, Op, OpType

PROCESSES = 10
TIMEOUT_RATE = 0.01
MS = 1_000_000


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


if __name__ == "__main__":
    bench(10_000, keys=5, runs=21)
    bench(10_000, keys=1, runs=21)
    bench(100_000, keys=5, runs=5)
    bench(100_000, keys=1, runs=5)
