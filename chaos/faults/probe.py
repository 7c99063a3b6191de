"""Connection probes that prove a network fault, run with the toolbox's netprobe.

A probe is a TCP connection attempt to port 9 of a peer. Nothing listens
there, so the peer's kernel answers with a reset: any answer proves packets
pass both ways, silence until the timeout proves something dropped them, and
the time to the answer is a round trip. No image needs a listener for this.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

PROBE_PORT = 9


@dataclass(frozen=True)
class Reach:
    """The outcome of the attempts towards one address."""

    reached: int
    lost: int
    median_ms: float | None

    @property
    def lost_fraction(self) -> float:
        return self.lost / (self.reached + self.lost)


def tcp_command(ips: Sequence[str], timeout_ms: int, count: int = 1) -> str:
    """The shell command that probes every address `count` times at once."""
    targets = [f"{ip}:{PROBE_PORT}" for ip in ips]
    return shlex.join(["netprobe", "tcp", "-t", str(timeout_ms), "-n", str(count), *targets])


def parse_tcp(output: str) -> dict[str, Reach]:
    """netprobe's lines (`IP:PORT reached=R lost=L median_us=M`), keyed by IP."""
    results = {}
    for line in output.splitlines():
        if "reached=" not in line:
            continue
        target, *fields = line.split()
        values = dict(field.split("=") for field in fields)
        median = int(values["median_us"])
        results[target.rsplit(":", 1)[0]] = Reach(
            int(values["reached"]), int(values["lost"]), median / 1000 if median >= 0 else None
        )
    return results


def from_host(ips: Sequence[str], timeout: float) -> dict[str, bool]:
    """Whether the host (the clients' side) gets an answer from each address."""

    def answers(ip: str) -> bool:
        try:
            socket.create_connection((ip, PROBE_PORT), timeout=timeout).close()
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return True

    if not ips:
        return {}
    with ThreadPoolExecutor(max_workers=len(ips)) as pool:
        return dict(zip(ips, pool.map(answers, ips), strict=True))
