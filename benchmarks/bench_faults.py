"""Injection latency per fault kind: from request to verified effect, over N injections.

Printed figures, not a timed test. Each injection is healed (and the heal
verified) before the next, on a throwaway three-node toolbox cluster; the
latency is the gap between the `requested` and `effective` events on the run
clock, so it includes target resolution, the change itself and its proof
(for a partition, the probes' 100 ms of silence; for a delay, one delayed
round trip). Targets: kill and pause under 100 ms median, partitions under 300 ms.

    python benchmarks/bench_faults.py [--count 20] [--only kill,pause]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from testbed import ensure_toolbox, leftovers, toolbox_cluster

from chaos.backend.docker import DockerBackend
from chaos.faults import Nemesis
from chaos.history import Clock, FaultEvent

FAULTS: dict[str, dict[str, object]] = {
    "kill": {"kind": "kill", "target": "random"},
    "stop": {"kind": "stop", "target": "random", "grace": 1},
    "restart": {"kind": "restart", "target": "random", "grace": 1},
    "pause": {"kind": "pause", "target": "random"},
    "isolate": {"kind": "isolate", "target": "random"},
    "majority-minority": {"kind": "majority-minority"},
    "bridge": {"kind": "bridge"},
    "one-way": {"kind": "one-way", "source": "n1", "destination": "n2"},
    "isolate+clients-cut": {"kind": "isolate", "clients": "cut"},
    "delay 100ms": {"kind": "delay", "target": "random", "delay": "100ms", "jitter": "10ms"},
    "loss 20%": {"kind": "loss", "target": "random", "percent": 20},
    "duplicate 20%": {"kind": "duplicate", "target": "random", "percent": 20},
    "corrupt 20%": {"kind": "corrupt", "target": "random", "percent": 20},
    "bandwidth 1mbit": {"kind": "bandwidth", "target": "random", "rate": "1mbit"},
}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated fault names")
    args = parser.parse_args()
    chosen = {k: v for k, v in FAULTS.items() if not args.only or k in args.only.split(",")}

    client = docker.from_env()
    ensure_toolbox(client)
    run_id = f"bench-faults-{os.getpid()}"
    events: list[FaultEvent] = []
    print(f"{'fault':<22}{'backend':<30}{'median ms':>10}{'p95 ms':>9}{'heal ms':>9}  n")
    with (
        toolbox_cluster(client, run_id) as nodes,
        Nemesis(
            nodes, run_id=run_id, emit=events.append, clock=Clock(), seed=1, backend=DockerBackend()
        ) as nemesis,
    ):
        for name, spec in chosen.items():
            latencies, heals, backend = [], [], ""
            for _ in range(args.count):
                fault_id = nemesis.inject(spec)
                started = time.monotonic()
                nemesis.heal(fault_id)
                heals.append((time.monotonic() - started) * 1000)
                stages = {e.stage: e for e in events if e.fault_id == fault_id}
                effective = stages["effective"]
                latencies.append((effective.time - stages["requested"].time) / 1e6)
                backend = effective.backend
            print(
                f"{name:<22}{backend:<30}{statistics.median(latencies):>10.1f}"
                f"{p95(latencies):>9.1f}{statistics.median(heals):>9.1f}  {len(latencies)}",
                flush=True,
            )
    assert not leftovers(client, run_id), leftovers(client, run_id)


if __name__ == "__main__":
    main()
