"""What the suite needs to know about one product, and nothing more.

A system is a package `chaos/systems/<name>/` that owns everything about its
product: this class (its nodes for any cluster size, its typed settings with
their ranges, readiness and its own view through its client), its image
recipes, its workloads and consistency levels, and the model of what its
settings predict for recovery. The suite finds it through the
`chaoslab.systems` entry point; the runner, faults, checks and reports never
name it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from chaos.backend import ClusterView as Cluster
from chaos.backend import NodeSpec
from chaos.errors import InputError, NotReady
from chaos.fields import Strict
from chaos.history import Observation
from chaos.systems.prediction import FaultShape, Mechanism
from chaos.workload import WorkloadKind

if TYPE_CHECKING:
    from chaos.images import Image

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


class Settings(Strict):
    """A system's own settings: typed, documented, with the ranges the product accepts.

    Each system subclasses it; `validate`, `run` and `up --set` all check a
    file's or a command line's settings against it.
    """


class System(ABC):
    """One distributed system under test."""

    name: ClassVar[str]
    family: ClassVar[Family]
    protocol: ClassVar[str]
    client_port: ClassVar[int]
    Settings: ClassVar[type[Settings]]
    # The images a cluster of this system runs, by image source (see chaos.images).
    images: ClassVar[tuple[Image, ...]]
    image_sources: ClassVar[tuple[str, ...]] = ("local", "official")
    workloads: ClassVar[tuple[WorkloadKind, ...]] = ("register", "unique-writes")
    # Consistency levels a client may choose per operation; () where it cannot.
    consistency_levels: ClassVar[tuple[str, ...]] = ()
    # How a client may ask for its reads to be served (etcd: linearizable, serializable);
    # the first is the default and the strongest. () where reads have no such choice.
    read_modes: ClassVar[tuple[str, ...]] = ()
    ready_timeout: ClassVar[float] = 90.0
    # Seconds to come up to ready on a loaded 2-core machine, (fixed, per node): what a
    # sweep's estimate counts; None means half the ready timeout and a second a node.
    startup_s: ClassVar[tuple[float, float] | None] = None
    default_nodes: ClassVar[int] = 3
    node_range: ClassVar[tuple[int, int]] = (3, 3)
    # A node's memory limit, and what one needs in use (to check a cluster fits the machine).
    memory_mib: ClassVar[int] = 256
    need_mib: ClassVar[int] = 64
    # How the system's own view shows a fault: a new leader, or peers marking a node
    # down (see chaos.checks.detection).
    detection: ClassVar[Literal["leader", "membership"]] = "membership"
    # Whether keys live on different shards (slots, token ranges) or the cluster
    # serves every key as one group.
    sharded: ClassVar[bool] = False
    # How to read runs recorded before run.json said whether a refused cas is a
    # real answer (a client that refused from an unsynced read sets False).
    legacy_refusals_are_service: ClassVar[bool] = True
    # Files inside a node (besides its output) worth keeping with the run's logs.
    log_files: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: dict[str, Any] | None = None, nodes: int | None = None) -> None:
        self.config = self.parse_settings(settings or {})
        self.settings: dict[str, Any] = self.config.model_dump()
        self.node_count = nodes or self.default_nodes
        problem = self.size_problem(self.node_count, self.settings)
        if problem:
            raise InputError(problem)

    @classmethod
    def size_problem(cls, nodes: int, settings: dict[str, Any]) -> str | None:
        """Why a cluster of `nodes` cannot run with these settings, or None."""
        low, high = cls.node_range
        if not low <= nodes <= high:
            odd = " (odd sizes are what users run)" if cls.family == "consensus" else ""
            return f"{cls.name} runs {low} to {high} nodes here{odd}, not {nodes}"
        return None

    @classmethod
    def parse_settings(cls, settings: dict[str, Any]) -> Settings:
        """The settings as the system's model reads them; raises pydantic's ValidationError."""
        return cls.Settings.model_validate(settings)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return cls.Settings().model_dump()

    @classmethod
    def node_names(cls, nodes: int | None = None) -> tuple[str, ...]:
        """The nodes a cluster of this system has: n1, n2..."""
        return tuple(f"n{index}" for index in range(1, (nodes or cls.default_nodes) + 1))

    @property
    def names(self) -> tuple[str, ...]:
        return self.node_names(self.node_count)

    @abstractmethod
    def node_specs(self, image: str) -> list[NodeSpec]:
        """Every node of a cluster of `self.node_count`, as a backend is to run them."""

    @classmethod
    def version_note(cls, versions: Sequence[str]) -> str | None:
        """A warning for readers about the versions that ran, where the product needs one."""
        return None

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """How this system notices such a fault, what stops meanwhile and how a node rejoins,
        with what the settings predict; the base knows nothing of any product."""
        return Mechanism("", "", "")

    def start(self, cluster: Cluster) -> None:
        """Start every node; systems that must join one at a time override this."""
        cluster.start_nodes(self.names)

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
    def client(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        consistency: str | None = None,
        read_mode: str | None = None,
    ) -> Client:
        """A workload client bound to `node`, or to the whole cluster through the
        driver's own balancing when `node` is None; at `consistency` where it can choose.

        `read_mode` is one of `read_modes`, or for a system with consistency levels the
        level its reads run at (else `consistency`); None: the strongest. The workload
        passes it only when the experiment chose one, so a system without read modes
        need not take it."""

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
