"""Wall time of the linearizability checker on valid register histories.

Run `python benchmarks/bench_checker.py`. The histories look like a real run:
10 clients issuing reads, writes and compare-and-sets on 5 keys with
millisecond latencies, 1 % of operations timing out (their effect happening
later or never). Each operation takes effect at a random instant inside its
call, so every history is linearizable and the checker must search it all.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.checks.linearizability import check_linearizability  # noqa: E402
from chaos.history import History, Op  # noqa: E402

KEYS = 5
PROCESSES = 10
TIMEOUT_RATE = 0.01
MS = 1_000_000


def generate(n_ops: int, seed: int) -> History:
    """A linearizable history of about `n_ops` operations (two records each)."""
    rng = random.Random(seed)
    clocks = [0] * PROCESSES
    planned: list[tuple[float, int, Op]] = []  # (effect instant, latency, invocation)
    for op_id in range(n_ops):
        process = op_id % PROCESSES
        invoke = clocks[process] + int(rng.expovariate(1 / MS))
        latency = int(rng.lognormvariate(0.5, 0.6) * MS)
        clocks[process] = invoke + latency
        f = rng.choices(["read", "write", "cas"], weights=[5, 3, 2])[0]
        value = {"read": None, "write": op_id, "cas": [rng.randrange(op_id + 1), op_id]}[f]
        key = f"k{rng.randrange(KEYS)}"
        timed_out = rng.random() < TIMEOUT_RATE
        effect = invoke + rng.random() * latency * (20 if timed_out else 1)
        planned.append((effect, latency, Op("invoke", op_id, process, f, key, value, invoke)))
        if timed_out and rng.random() < 0.5:
            planned[-1] = (float("inf"), latency, planned[-1][2])
    registers: dict[str | None, object] = {}
    ops: list[Op] = []
    for effect, latency, call in sorted(planned, key=lambda p: p[0]):
        current = registers.get(call.key)
        outcome, result = "ok", None
        if call.f == "read":
            result = current
        elif call.f == "write":
            registers[call.key] = call.value
        elif current == call.value[0]:
            registers[call.key] = call.value[1]
        else:
            outcome = "fail"
        if effect == float("inf") or effect > call.time + latency:
            outcome, result = "info", None
        ops += [call, Op(outcome, call.id, call.process, call.f, call.key, result, call.time + latency)]
    return History(ops=sorted(ops, key=lambda op: op.time))


def bench(n_ops: int, runs: int) -> None:
    times = []
    for seed in range(runs):
        history = generate(n_ops, seed)
        started = time.perf_counter()
        result = check_linearizability(history, timeout_s=120)
        times.append(time.perf_counter() - started)
        if not result.linearizable:
            print(f"  seed {seed}: unexpected verdict {result.verdict}")
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(
        f"{n_ops:>7} ops, {KEYS} keys, {PROCESSES} processes, {runs} runs: "
        f"median {statistics.median(times):.3f} s, p95 {p95:.3f} s"
    )


if __name__ == "__main__":
    bench(10_000, runs=11)
    bench(100_000, runs=5)
