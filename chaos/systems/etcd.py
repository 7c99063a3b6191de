"""etcd (Raft) through etcd3gw, the maintained client over etcd's grpc-gateway.

Why etcd3gw: it is maintained, pure HTTP (no gRPC stubs to match the server,
unlike the unmaintained `etcd3`, which no longer imports with current
protobuf), synchronous, and every call takes a timeout, which is what a
workload with a per-operation deadline needs. Reads through it are
linearizable (etcd's default), the property the checks rely on.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import etcd3gw

from chaos.history import Observation
from chaos.systems.base import Client, System

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
    detection = "leader"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._member_names: dict[str, str] = {}

    def compose_env(self) -> dict[str, str]:
        return {
            "ETCD_ELECTION_TIMEOUT": str(self.settings["election_timeout_ms"]),
            "ETCD_HEARTBEAT_INTERVAL": str(self.settings["heartbeat_interval_ms"]),
        }

    def driver(self, cluster: Cluster, node: str, timeout: float = 1.0) -> etcd3gw.Etcd3Client:
        host, port = cluster.client_address(node)
        return etcd3gw.Etcd3Client(host=host, port=port, timeout=timeout, api_path="/v3/")

    def client(self, cluster: Cluster, node: str | None, timeout: float) -> Client:
        """etcd3gw does no balancing: a cluster-bound client rotates over every member."""
        nodes = [node] if node else cluster.names
        return EtcdClient([self.driver(cluster, n, timeout) for n in nodes])

    def driver_settings(self) -> dict[str, Any]:
        return {"driver": "etcd3gw", "retries": 0, "reads": "linearizable"}

    def readiness(self, cluster: Cluster) -> str | None:
        for node in cluster.names:
            client = self.driver(cluster, node)
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

    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        return self.observation(node, self.driver(cluster, node, timeout).status(), now())

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
        return str(self.driver(cluster, cluster.names[0]).status().get("version", "unknown"))


class EtcdClient(Client):
    """Registers under `r/`, unique-value sets as one key per value under `s/<set>/`."""

    def __init__(self, drivers: list[etcd3gw.Etcd3Client]) -> None:
        self._drivers = itertools.cycle(drivers)

    def read(self, key: str) -> int | None:
        values = next(self._drivers).get(f"r/{key}")
        return int(values[0]) if values else None

    def write(self, key: str, value: int) -> None:
        next(self._drivers).put(f"r/{key}", str(value))

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        driver = next(self._drivers)
        if expected is None:
            return bool(driver.create(f"r/{key}", str(new)))
        return bool(driver.replace(f"r/{key}", str(expected), str(new)))

    def add(self, key: str, value: int) -> None:
        next(self._drivers).put(f"s/{key}/{value}", str(value))

    def read_all(self, key: str) -> list[int]:
        return [int(value) for value, _ in next(self._drivers).get_prefix(f"s/{key}/")]

    def definitely_failed(self, error: Exception) -> bool:
        """Only a refused connection proves the request never reached etcd.

        etcd3gw raises ConnectionFailedError with an empty message (the text is in
        `detail_text`), and raises it for an HTTP 503 too (etcd's "no leader" or "request
        timed out": unknown), so the refusal is looked for in what it was raised from
        (requests, urllib3, ConnectionRefusedError). Each call is one HTTP request, never
        retried, so a refusal there is this request's.
        """
        return isinstance(error, etcd3gw.exceptions.ConnectionFailedError) and self._refused(error)
