"""etcd (Raft) through etcd3gw, the maintained client over etcd's grpc-gateway.

Why etcd3gw: it is maintained, pure HTTP (no gRPC stubs to match the server,
unlike the unmaintained `etcd3`, which no longer imports with current
protobuf), synchronous, and every call takes a timeout, which is what a
workload with a per-operation deadline needs. Reads through it are
linearizable (etcd's default, confirmed with the leader), unless a run asks
for `serializable` reads: the range request then carries `"serializable":
true` (etcd3gw's `serializable=True`) and the member answers from its own
store, leader or not, possibly stale.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Self

import etcd3gw
from pydantic import model_validator

from chaos.backend import NodeSpec
from chaos.fields import Bounded, invalid
from chaos.history import Observation
from chaos.images import Image
from chaos.systems.base import Client, Cluster, Settings, System
from chaos.systems.prediction import Band, FaultShape, Mechanism

PEER_PORT = 2380


class EtcdSettings(Settings):
    """Raft's two timers, as etcd's flags name them (milliseconds)."""

    election_timeout_ms: Annotated[int, Bounded("integer", ge=10, le=60_000)] = 1000
    heartbeat_interval_ms: Annotated[int, Bounded("integer", ge=1, le=10_000)] = 100

    @model_validator(mode="after")
    def _election_outlasts_heartbeats(self) -> Self:
        """etcd refuses to start unless the election timeout is at least five heartbeats."""
        if self.election_timeout_ms < 5 * self.heartbeat_interval_ms:
            raise invalid(
                f"election_timeout_ms ({self.election_timeout_ms}) must be at least 5 x "
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}): etcd refuses less"
            )
        return self


class Etcd(System):
    name = "etcd"
    family = "consensus"
    protocol = "Raft"
    client_port = 2379
    Settings = EtcdSettings
    images = (
        Image(
            "etcd",
            recipe=Path(__file__).parent / "image",
            official="gcr.io/etcd-development/etcd:v3.5.17",
        ),
    )
    ready_timeout = 60.0
    startup_s = (4.0, 1.0)
    node_range = (1, 9)
    memory_mib = 256
    need_mib = 40
    detection = "leader"
    read_modes = ("linearizable", "serializable")

    def __init__(self, settings: dict[str, Any] | None = None, nodes: int | None = None) -> None:
        super().__init__(settings, nodes)
        self._member_names: dict[str, str] = {}

    def node_specs(self, image: str) -> list[NodeSpec]:
        initial = ",".join(f"{n}=http://{n}:{PEER_PORT}" for n in self.names)
        return [
            NodeSpec(
                name=node,
                image=image,
                memory_mib=self.memory_mib,
                ports=(self.client_port,),
                command=("etcd",),
                environment={
                    "ETCD_NAME": node,
                    "ETCD_INITIAL_CLUSTER": initial,
                    "ETCD_INITIAL_CLUSTER_STATE": "new",
                    "ETCD_INITIAL_CLUSTER_TOKEN": "chaoslab",
                    "ETCD_INITIAL_ADVERTISE_PEER_URLS": f"http://{node}:{PEER_PORT}",
                    "ETCD_ADVERTISE_CLIENT_URLS": f"http://{node}:{self.client_port}",
                    "ETCD_LISTEN_PEER_URLS": f"http://0.0.0.0:{PEER_PORT}",
                    "ETCD_LISTEN_CLIENT_URLS": f"http://0.0.0.0:{self.client_port}",
                    "ETCD_DATA_DIR": "/var/lib/etcd/data",
                    "ETCD_HEARTBEAT_INTERVAL": str(self.settings["heartbeat_interval_ms"]),
                    "ETCD_ELECTION_TIMEOUT": str(self.settings["election_timeout_ms"]),
                },
            )
            for node in self.names
        ]

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """Raft: a follower that misses heartbeats for its election timeout, drawn from
        [T, 2T), campaigns; the last heartbeat may have come up to one interval before the
        fault, and the vote takes a round trip."""
        timeout, beat = settings["election_timeout_ms"], settings["heartbeat_interval_ms"]
        low, high = timeout / 1000, 2 * timeout / 1000 + beat / 1000
        on_leader = shape.on_leader and shape.silences
        return Mechanism(
            detects=(
                f"a follower that hears no heartbeat (sent every heartbeat_interval_ms={beat})"
                " for its election timeout, randomised between 1x and 2x election_timeout_ms="
                f"{timeout} ({low:g}-{2 * timeout / 1000:g} s), starts an election"
            ),
            serves=(
                "nothing commits without a leader, so the whole cluster waits for the election;"
                " losing a follower needs none, as a majority still commits"
            ),
            rejoins=(
                "a restarted member rejoins as a follower and catches up from the leader's log"
            ),
            detect=Band(low - beat / 1000, high) if on_leader else None,
            unavailable=Band(low - beat / 1000, high + 0.5) if on_leader else None,
        )

    def driver(self, cluster: Cluster, node: str, timeout: float = 1.0) -> etcd3gw.Etcd3Client:
        host, port = cluster.client_address(node)
        return etcd3gw.Etcd3Client(host=host, port=port, timeout=timeout, api_path="/v3/")

    def client(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        consistency: str | None = None,
        read_mode: str | None = None,
    ) -> Client:
        """etcd3gw does no balancing: a cluster-bound client rotates over every member."""
        nodes = [node] if node else cluster.names
        drivers = [self.driver(cluster, n, timeout) for n in nodes]
        return EtcdClient(drivers, serializable=read_mode == "serializable")

    def driver_settings(self) -> dict[str, Any]:
        return {
            "driver": "etcd3gw",
            "retries": 0,
            "reads": "read_mode linearizable: etcd's default, confirmed with the leader; "
            "serializable: the member's own store (serializable: true in the range request)",
        }

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
    """Registers under `r/`, unique-value sets as one key per value under `s/<set>/`.

    `serializable` serves register reads from the member's own store; `read_all`
    and the compare of a cas stay linearizable.
    """

    def __init__(self, drivers: list[etcd3gw.Etcd3Client], serializable: bool = False) -> None:
        self._drivers = itertools.cycle(drivers)
        self._serializable = serializable

    def read(self, key: str) -> int | None:
        # etcd3gw sends `serializable` only when it is not None: None keeps etcd's default.
        values = next(self._drivers).get(f"r/{key}", serializable=self._serializable or None)
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
