"""etcd (Raft) through etcd3gw, the maintained client over etcd's grpc-gateway.

Why etcd3gw: it is maintained, pure HTTP (no gRPC stubs to match the server,
unlike the unmaintained `etcd3`, which no longer imports with current
protobuf), synchronous, and every call takes a timeout, which is what a
workload with a per-operation deadline needs. Reads through it are
linearizable (etcd's default), the property the checks rely on.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import etcd3gw

from chaos.history import Observation
from chaos.systems.base import System

if TYPE_CHECKING:
    from chaos.cluster import Cluster


class Etcd(System):
    name = "etcd"
    family = "consensus"
    protocol = "Raft"
    image = "etcd"
    client_port = 2379
    ready_timeout = 60.0
    defaults: ClassVar[dict[str, Any]] = {"election_timeout_ms": 1000, "heartbeat_interval_ms": 100}

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._member_names: dict[str, str] = {}

    def compose_env(self) -> dict[str, str]:
        return {
            "ETCD_ELECTION_TIMEOUT": str(self.settings["election_timeout_ms"]),
            "ETCD_HEARTBEAT_INTERVAL": str(self.settings["heartbeat_interval_ms"]),
        }

    def client(self, cluster: Cluster, node: str, timeout: float = 1.0) -> etcd3gw.Etcd3Client:
        host, port = cluster.client_address(node)
        return etcd3gw.Etcd3Client(host=host, port=port, timeout=timeout, api_path="/v3/")

    def readiness(self, cluster: Cluster) -> str | None:
        for node in cluster.names:
            client = self.client(cluster, node)
            members = client.members()
            started = [m for m in members if m.get("name")]
            if len(started) != len(cluster.nodes):
                return f"{node} lists {len(started)} started members of {len(cluster.nodes)}"
            self._member_names = {str(m["ID"]): m["name"] for m in members}
            token = secrets.token_hex(4)
            client.put(f"chaoslab/ready/{node}", token)
            if client.get(f"chaoslab/ready/{node}") != [token.encode()]:
                return f"{node} did not read back its own write"
        return None

    def observe(self, cluster: Cluster, now: Callable[[], int]) -> list[Observation]:
        observations = []
        for node in cluster.names:
            try:
                status = self.client(cluster, node, timeout=0.3).status()
            except Exception:  # a dead or cut-off member has no view to report
                continue
            observations.append(self.observation(node, status, now()))
        return observations

    def observation(self, node: str, status: dict[str, Any], time: int) -> Observation:
        """One member's view from its maintenance status: leader, term, raft index."""
        own_id = str(status["header"]["member_id"])
        leader_id = str(status.get("leader", "0"))
        return Observation(
            time=time,
            observer=node,
            role="leader" if leader_id == own_id else "follower",
            leader=self._member_names.get(leader_id),
            raw={
                "term": int(status.get("raftTerm", 0)),
                "raft_index": int(status.get("raftIndex", 0)),
            },
        )

    def version(self, cluster: Cluster) -> str:
        return str(self.client(cluster, cluster.names[0]).status().get("version", "unknown"))
