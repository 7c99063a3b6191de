"""The seam between the suite and where clusters run: what systems and faults may ask for.

Systems describe their nodes (`NodeSpec`) and reach a running cluster only
through `ClusterView`; faults act on nodes only through `Backend`. Docker
(`chaos.backend.docker`) is the one implementation today; docs/backends.md
says what a Kubernetes one (with Chaos Mesh injecting the faults) implements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


class ContainerState(Protocol):
    """A node's process as its backend reports it."""

    running: bool
    paused: bool
    pid: int
    started_at: str
    exit_code: int
    status: str


class Namespace(Protocol):
    """A place to run network commands inside one node's network namespace."""

    gateway: str
    device: str

    def run(self, script: str, timeout: float = 30.0) -> str: ...


class Backend(Protocol):
    """What the fault layer and the runner ask of wherever the cluster runs."""

    def act(self, node: Node, action: ProcessAction, grace: float = 10.0) -> None: ...

    def state(self, node: Node) -> ContainerState: ...

    def process_visible(self, node: Node, pid: int) -> bool: ...

    def namespace(self, node: Node) -> Namespace: ...

    def events(self, run_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]: ...

    def logs(self, node: Node) -> bytes: ...


Progress = Callable[[str], None]
