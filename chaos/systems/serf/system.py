"""HashiCorp Serf (SWIM gossip): the membership view is the data.

Each agent's view of every member comes through Serf's RPC interface
(`serfclient`), reached on the agent's published 127.0.0.1 port.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from serfclient import SerfClient

from chaos.backend import NodeSpec
from chaos.errors import NotReady
from chaos.history import Observation
from chaos.images import Image
from chaos.systems.base import Client, Cluster, Settings, System
from chaos.systems.prediction import Band, FaultShape, Mechanism

GOSSIP_PORT = 7946
SEEDS = 3  # agents join through the first three; gossip spreads the rest
# The kernel's cap on neighbour (ARP) entries, shared by every network namespace on it.
NEIGHBOUR_CAP = Path("/proc/sys/net/ipv4/neigh/default/gc_thresh3")


@dataclass(frozen=True)
class Probe:
    """memberlist's failure-detector timing for one Serf profile."""

    interval_s: float
    timeout_s: float
    suspicion_mult: int


# memberlist's DefaultLANConfig, DefaultWANConfig and DefaultLocalConfig: Serf's three profiles.
PROFILES = {"lan": Probe(1.0, 0.5, 4), "wan": Probe(5.0, 3.0, 6), "local": Probe(1.0, 0.2, 3)}


class SerfSettings(Settings):
    """Serf exposes memberlist's probe timing only through its profiles: lan probes every 1 s
    (500 ms timeout), wan every 5 s (3 s), local every 1 s (200 ms)."""

    profile: Literal["lan", "wan", "local"] = "lan"


def neighbour_table_problem(nodes: int, cap_file: Path = NEIGHBOUR_CAP) -> str | None:
    """Why agents may not reach each other here: gossip makes every agent talk to every other,
    so N agents need about N x N neighbour entries (peers, the gateway, the host's side), and
    past the kernel's cap it drops packets ("neighbor table overflow" in dmesg). Measured: 64
    agents under the default 1024 never converge. None where the cap is enough or unknown
    (Docker on another machine)."""
    try:
        cap = int(cap_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if nodes * nodes <= cap:
        return None
    return (
        f"{nodes} agents need about {nodes * nodes} neighbour (ARP) entries and this kernel keeps"
        f" {cap} (net.ipv4.neigh.default.gc_thresh3), so it drops their packets: raise it, e.g."
        " sysctl -w net.ipv4.neigh.default.gc_thresh2=4096 net.ipv4.neigh.default.gc_thresh3=8192"
    )


def suspicion_seconds(probe: Probe, nodes: int) -> float:
    """SWIM's suspicion timeout as memberlist computes it: mult x max(1, log10 N) intervals."""
    return probe.suspicion_mult * max(1.0, math.log10(nodes)) * probe.interval_s


class Serf(System):
    name = "serf"
    family = "gossip"
    protocol = "SWIM"
    client_port = 7373
    Settings = SerfSettings
    images = (Image("serf", recipe=Path(__file__).parent / "image"),)
    image_sources = ("local",)  # no maintained upstream image: always the local recipe
    workloads = ("membership",)
    ready_timeout = 60.0
    startup_s = (2.0, 0.8)  # compose starts agents one after another: ~0.8 s each at 64
    node_range = (3, 64)
    memory_mib = 128
    need_mib = 16

    def __init__(self, settings: dict[str, Any] | None = None, nodes: int | None = None) -> None:
        super().__init__(settings, nodes)
        self._kept = threading.local()  # each thread's open connections, by address

    def node_specs(self, image: str) -> list[NodeSpec]:
        return [
            NodeSpec(
                name=node,
                image=image,
                memory_mib=self.memory_mib,
                ports=(self.client_port,),
                command=self.command(node),
            )
            for node in self.names
        ]

    def command(self, node: str) -> tuple[str, ...]:
        """The agent joins the seeds other than itself: a join to itself succeeds at once and
        ends Serf's retries, so a seed that reached no other seed (started first, or its
        packets dropped) would not try again; agents that start later usually mend it."""
        joins = tuple(f"-retry-join={seed}" for seed in self.names[:SEEDS] if seed != node)
        return (
            "serf",
            "agent",
            f"-bind=0.0.0.0:{GOSSIP_PORT}",
            f"-rpc-addr=0.0.0.0:{self.client_port}",
            f"-profile={self.settings['profile']}",
            *joins,
            "-retry-interval=1s",
        )

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """SWIM: some member probes the silent one within an interval, its ack times out,
        indirect probes fail, and the suspicion timeout runs (shortened by confirmations
        from others, which gossip spreads within a couple of intervals)."""
        probe = PROFILES[settings["profile"]]
        suspicion = suspicion_seconds(probe, nodes)
        low = probe.timeout_s + suspicion
        return Mechanism(
            detects=(
                f"SWIM with profile={settings['profile']} probes a peer every "
                f"{probe.interval_s:g} s (ack timeout {probe.timeout_s * 1000:g} ms), then "
                "suspects a silent one and declares it failed after the suspicion timeout, "
                f"{probe.suspicion_mult} x max(1, log10 {nodes} nodes) x {probe.interval_s:g} s"
                f" = {suspicion:g} s"
            ),
            serves=(
                "there is no leader: every agent answers from its own view, so only the lost"
                " agent stops answering"
            ),
            rejoins=(
                "a restarted agent rejoins and gossips that it is alive; peers take it back"
                f" within a few probe intervals ({probe.interval_s:g} s)"
            ),
            detail=(
                "The suspicion timeout grows with log10 of the cluster size; Lifeguard"
                " stretches it up to 6x while no other member confirms the suspicion."
            ),
            detect=Band(low, low + 3 * probe.interval_s) if shape.silences else None,
        )

    def view(self, cluster: Cluster, node: str, timeout: float = 1.0) -> dict[str, str]:
        """Member name → Serf status (alive, failed, left, leaving) as `node` sees it.

        Each thread keeps its connection to each agent between calls: a fresh one costs a
        TCP connect through Docker's port proxy and a handshake, ten times the members call
        itself (32 agents polled every 100 ms: p95 50 ms fresh, 4 ms kept), which on a busy
        machine is what made a 32- or 64-agent run miss its steady state. A call that fails
        drops the connection, so the next one connects afresh."""
        address = (*cluster.client_address(node), timeout)
        kept: dict[tuple[str, int, float], SerfClient] = self._kept.__dict__.setdefault(
            "clients", {}
        )
        client = kept.pop(address, None)
        try:
            client = client or SerfClient(host=address[0], port=address[1], timeout=timeout)
            members = client.members().body["Members"]
        except BaseException:
            if client is not None:
                client.close()
            raise
        kept[address] = client
        return {_text(m["Name"]): _text(m["Status"]) for m in members}

    def client(
        self, cluster: Cluster, node: str | None, timeout: float, consistency: str | None = None
    ) -> Client:
        return SerfMembershipClient(self, cluster, node or cluster.names[0], timeout)

    def driver_settings(self) -> dict[str, Any]:
        return {"driver": "serfclient (Serf RPC)", "operation": "members"}

    def wait_ready(self, cluster: Cluster, timeout: float | None = None) -> float:
        """As every system waits, naming the kernel's neighbour table when it is what stops a
        large cluster from converging."""
        try:
            return super().wait_ready(cluster, timeout)
        except NotReady as stuck:
            cause = neighbour_table_problem(self.node_count)
            if cause is None:
                raise
            raise NotReady(f"{stuck}; {cause}") from None

    def readiness(self, cluster: Cluster) -> str | None:
        for node in cluster.names:
            view = self.view(cluster, node)
            alive = sorted(name for name, status in view.items() if status == "alive")
            if alive != sorted(cluster.names):
                return f"{node} sees {view}"
        return None

    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        return self.observation(node, self.view(cluster, node, timeout), now())

    @staticmethod
    def observation(node: str, view: dict[str, str], time: int) -> Observation:
        return Observation(
            time=time,
            observer=node,
            role="member",
            members={name: "up" if status == "alive" else "down" for name, status in view.items()},
            raw={"status": view},
        )

    def version(self, cluster: Cluster) -> str:
        code, output = cluster.exec(cluster.names[0], ["serf", "version"])
        return output.splitlines()[0] if code == 0 and output else "unknown"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SerfMembershipClient(Client):
    """Serf stores nothing: the only operation reads the agent's member list.

    `read` returns how many members the agent sees alive; an agent that
    cannot answer is unavailable. Writes are not part of Serf's model.
    """

    def __init__(self, serf: Serf, cluster: Cluster, node: str, timeout: float) -> None:
        self._view = lambda: serf.view(cluster, node, timeout)

    def read(self, key: str) -> int | None:
        return sum(status == "alive" for status in self._view().values())

    def definitely_failed(self, error: Exception) -> bool:
        """A refused connection: a read that fails drops its kept connection, the next one
        connects afresh, and serfclient raises its SerfConnectionError from the refusal
        before sending anything. A reset once connected (the kept connection of a killed
        agent; Docker's port proxy accepts for one until the port is removed) or a timeout
        (SerfTimeout) leaves the outcome unknown."""
        return self._refused(error)
