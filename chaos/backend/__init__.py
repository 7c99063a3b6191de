"""The seam between the suite and where clusters run: what systems and faults may ask for.

Systems describe their nodes (`NodeSpec`) and reach a running cluster only
through `ClusterView`; faults act on nodes only through `Backend`. Docker
(`chaos.backend.docker`) is the one implementation today; docs/backends.md
says what a Kubernetes one (with Chaos Mesh injecting the faults) implements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

ProcessAction = Literal["kill", "stop", "start", "restart", "pause", "unpause"]
LABEL_MANAGED = "io.chaoslab.managed"
LABEL_RUN = "io.chaoslab.run"


@dataclass(frozen=True)
class NodeSpec:
    """One node as a system describes it, for any backend to run.

    `ports` are the container ports clients reach, published on 127.0.0.1;
    the first is the client port, pinned for the run so a restarted node keeps
    it. `mounts` are read-only files from the suite (host path, node path);
    `data` are paths whose content must survive a restart and leave with the run.
    """

    name: str
    image: str
    memory_mib: int
    ports: tuple[int, ...]
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    mounts: tuple[tuple[Path, str], ...] = ()
    data: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """One running node as the suite reaches it: `container` names it in its backend, `ip`
    is its address on the cluster network, `ports` maps a node port to its 127.0.0.1 port."""

    name: str
    container: str
    ip: str
    ports: dict[int, int] = field(default_factory=dict)


class ClusterView(Protocol):
    """What a system may use of its running cluster."""

    nodes: list[Node]

    @property
    def names(self) -> list[str]: ...

    def node(self, name: str) -> Node: ...

    def client_address(self, name: str, port: int | None = None) -> tuple[str, int]: ...

    def refresh(self) -> list[Node]: ...

    def start_nodes(self, names: Sequence[str]) -> None: ...

    def exec(self, node: str, argv: Sequence[str]) -> tuple[int, str]: ...


@dataclass(frozen=True)
class NodeState:
    """A node's process as its backend reports it."""

    running: bool
    paused: bool
    pid: int
    started_at: str
    exit_code: int
    status: str
    identity: str = ""


class Handle(Protocol):
    """Where a node's network commands run: its interface and its gateway (the host)."""

    device: str
    gateway: str


class Namespaces(Protocol):
    """Network commands inside each node's network namespace (iptables, tc, the shaper)."""

    def helper(self, name: str) -> Handle: ...

    def run(self, name: str, script: str) -> str: ...

    def run_all(self, scripts: Mapping[str, str]) -> dict[str, str]: ...

    def backends(self) -> Any: ...

    def prepare(self) -> None: ...

    def close(self) -> None: ...

    def running(self, name: str) -> bool: ...

    def stale(self, name: str) -> bool: ...

    def current(self, name: str) -> bool: ...

    def run_current(self, name: str, script: str) -> str | None: ...


@dataclass(frozen=True)
class TrafficReading:
    """A node's traffic counters as its backend read them: `counters` by the names of
    `chaos.history.TrafficSample` (`peer_in_bytes`...), counted from zero since they were
    installed; `fresh` when this read installed them (a new network namespace)."""

    counters: dict[str, int]
    fresh: bool


class TrafficMeter(Protocol):
    """Counts what each node sends and receives on the cluster network, peers apart from
    the host's clients, without changing any fault's rules. `reads_per_s` is how many reads
    a second, across the cluster, it can afford without loading the machine it measures."""

    reads_per_s: float

    def read(self, name: str, reset: bool = False) -> TrafficReading | None:
        """The node's counters (`reset`: from zero now); None while it cannot be read."""

    def close(self) -> None:
        """Remove the counting from every node that is running."""


class Backend(Protocol):
    """What the fault layer and the runner ask of wherever the cluster runs."""

    def act(self, node: Node, action: ProcessAction, grace: float = 10.0) -> None: ...

    def state(self, node: Node) -> NodeState: ...

    def sees_process(self, node: Node, pid: int) -> bool: ...

    def process_alive(self, pid: int) -> bool: ...

    def namespaces(self, nodes: Sequence[Node], run_id: str) -> Namespaces: ...

    def traffic_meter(self, namespaces: Namespaces, nodes: Sequence[Node]) -> TrafficMeter: ...

    def logs(self, node: Node) -> bytes: ...


Progress = Callable[[str], None]
