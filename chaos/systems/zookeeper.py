"""ZooKeeper (Zab) through kazoo; each server's mode through the `srvr` four-letter word."""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from kazoo.client import KazooClient

from chaos.history import Observation
from chaos.systems.base import System

if TYPE_CHECKING:
    from chaos.cluster import Cluster


def four_letter_word(address: tuple[str, int], word: str, timeout: float = 0.5) -> str:
    """Send a ZooKeeper four-letter command and read the whole reply."""
    with socket.create_connection(address, timeout=timeout) as conn:
        conn.sendall(word.encode())
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


class ZooKeeper(System):
    name = "zookeeper"
    family = "consensus"
    protocol = "Zab"
    image = "zookeeper"
    client_port = 2181
    ready_timeout = 120.0
    defaults: ClassVar[dict[str, Any]] = {"tick_time_ms": 2000, "init_limit": 5, "sync_limit": 2}

    def compose_env(self) -> dict[str, str]:
        return {
            "ZOO_TICK_TIME": str(self.settings["tick_time_ms"]),
            "ZOO_INIT_LIMIT": str(self.settings["init_limit"]),
            "ZOO_SYNC_LIMIT": str(self.settings["sync_limit"]),
        }

    def hosts(self, cluster: Cluster, nodes: list[str] | None = None) -> str:
        """A kazoo connection string of published 127.0.0.1 ports."""
        addresses = map(cluster.client_address, nodes or cluster.names)
        return ",".join(f"{host}:{port}" for host, port in addresses)

    def mode(self, cluster: Cluster, node: str, timeout: float = 0.5) -> str:
        reply = four_letter_word(cluster.client_address(node), "srvr", timeout)
        match = re.search(r"^Mode: (\S+)", reply, re.MULTILINE)
        return match.group(1) if match else "looking"

    def readiness(self, cluster: Cluster) -> str | None:
        modes = {node: self.mode(cluster, node) for node in cluster.names}
        if sorted(modes.values()) != ["follower"] * (len(modes) - 1) + ["leader"]:
            return f"modes {modes}"
        client = KazooClient(hosts=self.hosts(cluster), timeout=5.0)
        client.start(timeout=10)
        try:
            path, token = f"/chaoslab-ready-{secrets.token_hex(4)}", secrets.token_bytes(8)
            client.create(path, token)
            value, _ = client.get(path)
            client.delete(path)
        finally:
            client.stop()
            client.close()
        return None if value == token else "kazoo did not read back its own write"

    def observe(self, cluster: Cluster, now: Callable[[], int]) -> list[Observation]:
        observations = []
        for node in cluster.names:
            try:
                mode = self.mode(cluster, node, timeout=0.3)
            except OSError:  # down, paused or cut off: no view to report
                continue
            observations.append(self.observation(node, mode, now()))
        return observations

    @staticmethod
    def observation(node: str, mode: str, time: int) -> Observation:
        """A server knows its own mode; only the leader can name the leader."""
        return Observation(
            time=time, observer=node, role=mode, leader=node if mode == "leader" else None
        )

    def version(self, cluster: Cluster) -> str:
        reply = four_letter_word(cluster.client_address(cluster.names[0]), "srvr")
        match = re.search(r"version: ([^,\s-]+)", reply)
        return match.group(1) if match else "unknown"
