"""ZooKeeper (Zab) through kazoo; each server's mode through the `srvr` four-letter word."""

from __future__ import annotations

import logging
import re
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError
from kazoo.interfaces import IAsyncResult

from chaos.backend import NodeSpec
from chaos.fields import Bounded
from chaos.history import Observation
from chaos.images import Image
from chaos.systems.base import Client, Cluster, Settings, System
from chaos.systems.prediction import Band, FaultShape, Mechanism


def four_letter_word(address: tuple[str, int], word: str, timeout: float = 0.5) -> str:
    """Send a ZooKeeper four-letter command and read the whole reply."""
    with socket.create_connection(address, timeout=timeout) as conn:
        conn.sendall(word.encode())
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


SESSION_TIMEOUT = 10.0
# kazoo logs every dropped connection as a warning; during a fault that is the
# expected state, already recorded in the history, so it stays off the screen.
KAZOO_LOG = logging.getLogger("chaoslab.kazoo")
KAZOO_LOG.addHandler(logging.NullHandler())
KAZOO_LOG.propagate = False


class NotConnected(ConnectionError):
    """kazoo had no server connection, so the request was never queued: nothing was sent."""


class ZooKeeperClient(Client):
    """Registers as znodes under /chaoslab/r, sets as children of /chaoslab/s/<set>.

    Every call goes through kazoo's asynchronous API so each operation has a
    deadline: without one, kazoo queues requests while disconnected and an
    outage shows up as slow successes instead of errors. Reads `sync()`
    first, because a plain ZooKeeper read may be served stale by a follower;
    with `sync_reads` False (read mode `local`) a register read is that plain
    read. `read_all` and the cas always sync.

    A request is only handed to kazoo while it is connected. kazoo wakes its
    connection thread with one byte on a socketpair per request and drains it
    only while connected; an open-loop workload facing a dead server fills that
    buffer within a few hundred requests, and every later call then blocks in
    `send()` past any deadline (runs hung after their final read). Refused
    early, such a request is a definite failure instead.
    """

    def __init__(self, hosts: str, timeout: float, sync_reads: bool = True) -> None:
        self.timeout = timeout
        self.sync_reads = sync_reads
        self.kazoo = KazooClient(
            hosts=hosts, timeout=SESSION_TIMEOUT, randomize_hosts=False, logger=KAZOO_LOG
        )
        self.kazoo.start(timeout=10)
        self.kazoo.ensure_path("/chaoslab/r")

    def _await(self, *calls: Callable[[], IAsyncResult]) -> Any:
        """Run calls in turn within one operation deadline; returns the last result."""
        deadline = time.monotonic() + self.timeout
        result = None
        for call in calls:
            if not self.kazoo.connected:
                raise NotConnected("no connection to a ZooKeeper server; the request was not sent")
            result = call().get(timeout=max(deadline - time.monotonic(), 0.001))
        return result

    def definitely_failed(self, error: Exception) -> bool:
        return isinstance(error, NotConnected) or super().definitely_failed(error)

    def read(self, key: str) -> int | None:
        path = f"/chaoslab/r/{key}"
        calls: list[Callable[[], IAsyncResult]] = [lambda: self.kazoo.get_async(path)]
        if self.sync_reads:
            calls.insert(0, lambda: self.kazoo.sync_async(path))
        try:
            data, _ = self._await(*calls)
        except NoNodeError:
            return None
        return int(data)

    def write(self, key: str, value: int) -> None:
        path, data = f"/chaoslab/r/{key}", str(value).encode()
        try:
            self._await(lambda: self.kazoo.set_async(path, data))
        except NoNodeError:
            try:
                self._await(lambda: self.kazoo.create_async(path, data))
            except NodeExistsError:
                self._await(lambda: self.kazoo.set_async(path, data))

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        """`sync()`, read, then a set conditional on the version read.

        The sync makes the read see every write committed before the cas was
        invoked, so a refusal is a real answer: the register held another
        value. Without it a follower refuses from its own possibly stale copy,
        which proves nothing (it did so in runs before this was fixed).
        """
        path, data = f"/chaoslab/r/{key}", str(new).encode()
        try:
            if expected is None:
                self._await(lambda: self.kazoo.create_async(path, data))
                return True
            current, stat = self._await(
                lambda: self.kazoo.sync_async(path), lambda: self.kazoo.get_async(path)
            )
            if int(current) != expected:
                return False
            self._await(lambda: self.kazoo.set_async(path, data, version=stat.version))
        except (NodeExistsError, NoNodeError, BadVersionError):
            return False
        return True

    def add(self, key: str, value: int) -> None:
        path = f"/chaoslab/s/{key}/{value}"
        self._await(lambda: self.kazoo.create_async(path, b"", makepath=True))

    def read_all(self, key: str) -> list[int]:
        path = f"/chaoslab/s/{key}"
        try:
            children = self._await(
                lambda: self.kazoo.sync_async(path), lambda: self.kazoo.get_children_async(path)
            )
        except NoNodeError:
            return []
        return [int(child) for child in children]

    def close(self) -> None:
        self.kazoo.stop()
        self.kazoo.close()


class ZooKeeperSettings(Settings):
    """Zab's timing, as zoo.cfg names it: the tick, and how many ticks a follower may take to
    sync with a new leader (init) and may lag behind it (sync)."""

    tick_time_ms: Annotated[int, Bounded("integer", ge=100, le=60_000)] = 2000
    init_limit: Annotated[int, Bounded("integer", ge=1, le=100)] = 5
    sync_limit: Annotated[int, Bounded("integer", ge=1, le=100)] = 2


class ZooKeeper(System):
    name = "zookeeper"
    family = "consensus"
    protocol = "Zab"
    client_port = 2181
    Settings = ZooKeeperSettings
    images = (
        Image("zookeeper", recipe=Path(__file__).parent / "image", official="zookeeper:3.8.4"),
    )
    ready_timeout = 120.0
    startup_s = (6.0, 2.0)
    node_range = (1, 9)
    memory_mib = 512
    need_mib = 160
    detection = "leader"
    read_modes = ("sync", "local")
    # Runs before the cas synced first refused from a follower's own, possibly stale, copy.
    legacy_refusals_are_service = False

    def node_specs(self, image: str) -> list[NodeSpec]:
        servers = " ".join(
            f"server.{index}={node}:2888:3888;{self.client_port}"
            for index, node in enumerate(self.names, 1)
        )
        return [
            NodeSpec(
                name=node,
                image=image,
                memory_mib=self.memory_mib,
                ports=(self.client_port,),
                environment={
                    "ZOO_MY_ID": str(index),
                    "ZOO_SERVERS": servers,
                    "ZOO_TICK_TIME": str(self.settings["tick_time_ms"]),
                    "ZOO_INIT_LIMIT": str(self.settings["init_limit"]),
                    "ZOO_SYNC_LIMIT": str(self.settings["sync_limit"]),
                    "ZOO_4LW_COMMANDS_WHITELIST": "*",
                    "ZOO_ADMINSERVER_ENABLED": "false",
                    # A one-server ensemble runs standalone; more are a quorum.
                    "ZOO_STANDALONE_ENABLED": "true" if self.node_count == 1 else "false",
                    "JVMFLAGS": "-Xmx256m -Xms64m",
                },
            )
            for index, node in enumerate(self.names, 1)
        ]

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """Zab: a killed leader's sockets close, so its followers elect at once; a silent one
        is dropped after syncLimit ticks without hearing from it. Either way the new leader
        must sync a quorum within initLimit ticks before anything is served."""
        tick, sync, init = (
            settings["tick_time_ms"],
            settings["sync_limit"],
            settings["init_limit"],
        )
        sync_s, init_s, tick_s = tick * sync / 1000, tick * init / 1000, tick / 1000
        detect = unavailable = None
        if shape.on_leader and shape.silences:
            low, high = (0.0, init_s) if shape.kills else (sync_s, sync_s + tick_s)
            detect, unavailable = Band(low, high), Band(low, high + init_s)
        return Mechanism(
            detects=(
                "followers drop a leader they have not heard from for syncLimit x tickTime ="
                f" {sync} x {tick} ms = {sync_s:g} s"
                + (
                    "; a SIGKILLed leader's sockets close at once, so here the election starts"
                    " immediately"
                    if shape.kills
                    else ""
                )
            ),
            serves=(
                "the ensemble serves nothing until a new leader has synced a quorum, which must"
                f" happen within initLimit x tickTime = {init} x {tick} ms = {init_s:g} s"
            ),
            rejoins=(
                "a restarted server rejoins as a follower and syncs with the leader (within"
                f" initLimit x tickTime = {init_s:g} s) before it serves its clients"
            ),
            detect=detect,
            unavailable=unavailable,
        )

    def hosts(self, cluster: Cluster, nodes: list[str] | None = None) -> str:
        """A kazoo connection string of published 127.0.0.1 ports."""
        addresses = map(cluster.client_address, nodes or cluster.names)
        return ",".join(f"{host}:{port}" for host, port in addresses)

    def mode(self, cluster: Cluster, node: str, timeout: float = 0.5) -> str:
        reply = four_letter_word(cluster.client_address(node), "srvr", timeout)
        match = re.search(r"^Mode: (\S+)", reply, re.MULTILINE)
        return match.group(1) if match else "looking"

    def client(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        consistency: str | None = None,
        read_mode: str | None = None,
    ) -> Client:
        hosts = self.hosts(cluster, [node] if node else None)
        return ZooKeeperClient(hosts, timeout, sync_reads=read_mode != "local")

    def driver_settings(self) -> dict[str, Any]:
        return {
            "driver": "kazoo",
            "session_timeout_s": SESSION_TIMEOUT,
            "connection_retry": "kazoo default (unbounded, exponential back-off)",
            "reads": "read_mode sync: sync() then get (linearizable); local: a plain get from "
            "the connected server",
            "cas": "sync(), get, then a set conditional on the version read: a refusal is a "
            "real answer",
        }

    def readiness(self, cluster: Cluster) -> str | None:
        modes = {node: self.mode(cluster, node) for node in cluster.names}
        wanted = ["standalone"] if len(modes) == 1 else ["follower"] * (len(modes) - 1) + ["leader"]
        if sorted(modes.values()) != wanted:
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

    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        return self.observation(node, self.mode(cluster, node, timeout), now())

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
