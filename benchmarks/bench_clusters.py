"""Cluster lifecycle figures: up to ready, idle memory per node, down; median of N runs.

    python benchmarks/bench_clusters.py [SYSTEM...] [--runs 3]

Images must be built first (`chaoslab images build`); their build time is
not part of `up`.
"""

from __future__ import annotations

import argparse
import statistics
import time

from chaos.backend.docker import build as images
from chaos.backend.docker import cluster, engine
from chaos.systems import SYSTEMS, make_system


def idle_memory_mib(running: cluster.Cluster) -> list[float]:
    """Each node's memory use as Docker reports it (cgroup usage less page cache)."""
    sdk = engine.client()
    usage = []
    for node in running.nodes:
        stats = sdk.containers.get(node.container).stats(stream=False)
        memory = stats["memory_stats"]
        cache = memory.get("stats", {}).get("total_inactive_file", 0)
        usage.append((memory["usage"] - cache) / 2**20)
    return usage


def measure(name: str, runs: int) -> dict[str, float]:
    ups, downs, memory = [], [], []
    for _ in range(runs):
        system = make_system(name)
        images.ensure([i.name for i in system.images], "local", progress=lambda _: None)
        with cluster.running(system, progress=lambda _: None) as running:
            ups.append(running.up_seconds)
            time.sleep(5)  # let the JVMs and caches settle before reading memory
            memory.append(statistics.median(idle_memory_mib(running)))
            downs.append(running.down(lambda _: None))
    return {
        "up_s": statistics.median(ups),
        "down_s": statistics.median(downs),
        "memory_mib": statistics.median(memory),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("systems", nargs="*", default=sorted(SYSTEMS))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'system':<11} {'up → ready':>11} {'idle MiB/node':>14} {'down':>7}", end="")
    print(f"  (median of {args.runs})")
    for name in args.systems:
        figures = measure(name, args.runs)
        print(
            f"{name:<11} {figures['up_s']:>10.1f}s {figures['memory_mib']:>14.0f} "
            f"{figures['down_s']:>6.1f}s"
        )


if __name__ == "__main__":
    main()
