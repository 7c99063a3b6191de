"""HashiCorp Serf (SWIM gossip): the membership view is the data.

Each agent's view of every member comes through Serf's RPC interface
(`serfclient`), reached on the agent's published 127.0.0.1 port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from serfclient import SerfClient

from chaos import engine
from chaos.history import Observation
from chaos.systems.base import Client, System

if TYPE_CHECKING:
    from chaos.cluster import Cluster

PROFILES = ("lan", "wan", "local")


class Serf(System):
    name = "serf"
    family = "gossip"
    protocol = "SWIM"
    image = "serf"
    client_port = 7373
    ready_timeout = 60.0
    # Serf exposes memberlist's probe interval only through its profiles:
    # lan probes every 1 s (500 ms timeout), wan 5 s (3 s), local 1 s (200 ms).
    defaults: ClassVar[dict[str, Any]] = {"profile": "lan"}

    def compose_env(self) -> dict[str, str]:
        if self.settings["profile"] not in PROFILES:
            raise ValueError(f"serf profile must be one of {PROFILES}")
        return {"SERF_PROFILE": self.settings["profile"]}

    def view(self, cluster: Cluster, node: str, timeout: float = 1.0) -> dict[str, str]:
        """Member name → Serf status (alive, failed, left, leaving) as `node` sees it."""
        host, port = cluster.client_address(node)
        client = SerfClient(host=host, port=port, timeout=timeout)
        try:
            members = client.members().body["Members"]
        finally:
            client.close()
        return {_text(m["Name"]): _text(m["Status"]) for m in members}

    def client(self, cluster: Cluster, node: str | None, timeout: float) -> Client:
        return SerfMembershipClient(self, cluster, node or cluster.names[0], timeout)

    def driver_settings(self) -> dict[str, Any]:
        return {"driver": "serfclient (Serf RPC)", "operation": "members"}

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
        container = engine.client().containers.get(cluster.nodes[0].container)
        return container.exec_run(["serf", "version"]).output.decode().splitlines()[0]


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
        """A refused connection: every read connects afresh, and serfclient raises its
        SerfConnectionError from the refusal before sending anything. A reset once
        connected (Docker's port proxy accepts for a killed agent until the port is
        removed) or a timeout (SerfTimeout) leaves the outcome unknown."""
        return self._refused(error)
