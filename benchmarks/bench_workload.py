"""The most operations per second one machine's workload driver sustains, per system.

    python benchmarks/bench_workload.py [SYSTEM...] [--rate 3000] [--seconds 5]

Asks for far more than a client can give and reports what was served, with
the clock's resolution (every timestamp is `time.monotonic_ns()`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from chaos.backend.docker import cluster
from chaos.history import Clock, HistoryWriter, load_history, pair_operations
from chaos.systems import SYSTEMS, make_system
from chaos.workload import Workload, WorkloadSpec

KIND = {"serf": "membership", "redis": "unique-writes"}


def measure(name: str, rate: float, seconds: float) -> tuple[float, float]:
    """(served ops/s, median latency ms) over `seconds` at an offered `rate`."""
    system = make_system(name)
    with (
        tempfile.TemporaryDirectory() as tmp,
        cluster.running(system, progress=lambda _: None) as running,
    ):
        path = Path(tmp) / "history.jsonl"
        writer = HistoryWriter(path, Clock())
        spec = WorkloadSpec(kind=KIND.get(name, "register"), clients=10, rate=rate, timeout=1.0)
        workload = Workload(system, running, spec, writer)
        workload.start()
        time.sleep(seconds)
        workload.stop()
        workload.close()
        writer.close()
        pairs = [(a, b) for a, b in pair_operations(load_history(path).ops) if b is not None]
    served = [b.time - a.time for a, b in pairs if b.type == "ok" or not b.error]
    return len(served) / seconds, statistics.median(served) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("systems", nargs="*", default=sorted(SYSTEMS))
    parser.add_argument("--rate", type=float, default=3000)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    resolution = time.get_clock_info("monotonic").resolution
    print(f"offered {args.rate:.0f} ops/s, 10 clients, clock resolution {resolution * 1e9:.0f} ns")
    for name in args.systems:
        served, latency = measure(name, args.rate, args.seconds)
        print(f"{name:<11} {served:>8.0f} ops/s served   median latency {latency:6.2f} ms")


if __name__ == "__main__":
    main()
