"""What the suite needs to know about one product, and nothing more.

A system names its compose file and images, turns its settings into the
compose environment, proves readiness through its own client, and reports
its own view of the cluster (leader, membership). Adding a product is one
module implementing this class; the cluster, faults, checks and reports do
not change.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from chaos.history import Observation

if TYPE_CHECKING:
    from chaos.cluster import Cluster

Family = Literal["consensus", "gossip"]


class UnsupportedOperation(RuntimeError):
    """The system has no such operation (Serf stores no data; Cassandra 1.2 has no cas)."""


class Client:
    """One workload client's connection, through the system's own driver.

    Register operations read, write and compare-and-set small integers on a
    few keys; `add` writes a value that is never written twice, into a set
    that `read_all` returns at the strongest consistency the system offers.
    An operation that returns completed; a raised exception is classified
    by `definitely_failed`. A system implements the operations it offers;
    the others raise `UnsupportedOperation`.
    """

    def _unsupported(self, operation: str) -> UnsupportedOperation:
        return UnsupportedOperation(f"{type(self).__name__} has no {operation} operation")

    def read(self, key: str) -> int | None:
        raise self._unsupported("read")

    def write(self, key: str, value: int) -> None:
        raise self._unsupported("write")

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        """Set `key` to `new` if it holds `expected`; False when it did not."""
        raise self._unsupported("cas")

    def add(self, key: str, value: int) -> None:
        raise self._unsupported("add")

    def read_all(self, key: str) -> list[int]:
        raise self._unsupported("read_all")

    def definitely_failed(self, error: Exception) -> bool:
        """True only when the error proves the operation was not applied.

        The safe default is False: a timeout or a broken connection leaves
        the outcome unknown (`info`).
        """
        return isinstance(error, ConnectionRefusedError)

    @staticmethod
    def _refused(error: BaseException) -> bool:
        """Whether `error` is a refused TCP connection, or a driver's error raised from one.

        Drivers wrap the refusal in their own class (etcd3gw in requests' and urllib3's,
        serfclient in SerfConnectionError) and keep it as the cause or context. It proves
        nothing was sent only for a driver that makes one connection attempt per operation:
        one that contacts other nodes while handling a failure (redis-py's cluster client
        refreshes its slot map) can chain their refusal onto a request it did send.
        """
        seen: set[int] = set()
        cause: BaseException | None = error
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, ConnectionRefusedError):
                return True
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        return False

    def close(self) -> None:
        """Release the connection."""


class Closeable(Protocol):
    def close(self) -> None: ...


class NotReady(RuntimeError):
    """The cluster did not become ready in time; the message says what was last seen."""


class System(ABC):
    """One distributed system under test."""

    name: ClassVar[str]
    family: ClassVar[Family]
    protocol: ClassVar[str]
    image: ClassVar[str]
    client_port: ClassVar[int]
    ready_timeout: ClassVar[float] = 90.0
    defaults: ClassVar[dict[str, Any]] = {}
    default_nodes: ClassVar[int] = 3
    # How the system's own view shows a fault: a new leader, or peers marking a node
    # down (see chaos.checks.detection).
    detection: ClassVar[Literal["leader", "membership"]] = "membership"
    # Whether keys live on different shards (slots, token ranges) or the cluster
    # serves every key as one group.
    sharded: ClassVar[bool] = False
    # How to read runs recorded before run.json said whether a refused cas is a
    # real answer (a client that refused from an unsynced read sets False).
    legacy_refusals_are_service: ClassVar[bool] = True

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        unknown = set(settings or {}) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"unknown {self.name} setting(s) {sorted(unknown)}; "
                f"expected any of {sorted(self.defaults)}"
            )
        self.settings = {**self.defaults, **(settings or {})}

    @classmethod
    def node_names(cls) -> tuple[str, ...]:
        """The nodes a cluster of this system has: n1, n2..."""
        return tuple(f"n{index}" for index in range(1, cls.default_nodes + 1))

    @property
    def compose_file(self) -> str:
        return f"{self.name}.yml"

    @abstractmethod
    def compose_env(self) -> dict[str, str]:
        """Variables the compose file reads for this run's settings."""

    def start(self, cluster: Cluster) -> None:
        """Start every node; systems that must join one at a time override this."""
        cluster.compose.compose.up(detach=True, quiet=True)

    def bootstrap(self, cluster: Cluster) -> None:  # noqa: B027 (an optional hook)
        """One-time set-up once all nodes run (e.g. forming a Redis Cluster)."""

    @abstractmethod
    def readiness(self, cluster: Cluster) -> str | None:
        """None when ready, proven through the system's client; else what is missing."""

    @abstractmethod
    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        """`node`'s own view of the cluster, stamped with `now()`; raises if it cannot answer."""

    def observe(self, cluster: Cluster, now: Callable[[], int]) -> list[Observation]:
        """Each reachable node's view; a dead, paused or cut-off node has none to give."""
        observations = []
        for node in cluster.names:
            try:
                observations.append(self.observe_node(cluster, node, now))
            except Exception:
                continue
        return observations

    @abstractmethod
    def client(self, cluster: Cluster, node: str | None, timeout: float) -> Client:
        """A workload client bound to `node`, or to the whole cluster through the
        driver's own balancing when `node` is None."""

    def watch_driver(
        self, cluster: Cluster, now: Callable[[], int], record: Callable[[Observation], None]
    ) -> Closeable | None:
        """Record the client driver's own host up/down verdicts as observations by "driver",
        until closed; None where the driver keeps no such view."""
        return None

    def driver_settings(self) -> dict[str, Any]:
        """The driver's retry and timeout behaviour, recorded with every run."""
        return {}

    def shard_names(self, keys: Sequence[str]) -> dict[str, str]:
        """A label per workload key naming the shard it lives on (a Redis hash slot)."""
        return {}

    def rules(self, keys: Sequence[str]) -> dict[str, Any]:
        """How the checks read this system's runs, recorded in run.json."""
        return {
            "detection": self.detection,
            "sharded": self.sharded,
            "shard_names": self.shard_names(keys) if self.sharded else {},
            "refusals_are_service": True,
        }

    def leader(self, cluster: Cluster) -> str | None:
        """The node most observers name as leader (a master for Redis), if any."""
        votes: dict[str, int] = {}
        for observation in self.observe(cluster, time.monotonic_ns):
            if observation.leader:
                votes[observation.leader] = votes.get(observation.leader, 0) + 1
        return max(votes, key=votes.__getitem__) if votes else None

    def version(self, cluster: Cluster) -> str:
        """The product version that ran, as the system reports it."""
        return "unknown"

    def _silent_node(self, cluster: Cluster) -> str | None:
        """The first node that cannot give its own view, named, so that "not ready" and
        "not whole" say which node it is."""
        for node in cluster.names:
            try:
                self.observe_node(cluster, node, time.monotonic_ns, timeout=1.0)
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                return f"{node} does not answer ({why})"
        return None

    def wait_ready(self, cluster: Cluster, timeout: float | None = None) -> float:
        """Poll readiness until it holds; returns seconds waited. Never a bare sleep."""
        started = time.monotonic()
        deadline = started + (timeout or self.ready_timeout)
        reason = "not checked yet"
        while time.monotonic() < deadline:
            try:
                reason = self._silent_node(cluster) or self.readiness(cluster)
            except Exception as exc:  # a node still starting refuses or times out
                reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                return time.monotonic() - started
            time.sleep(0.2)
        raise NotReady(
            f"{self.name} not ready after {timeout or self.ready_timeout:.0f} s: {reason}"
        )
