"""A real cluster of one system in Docker: up to ready, then gone without a trace.

Compose (through python-on-whales) starts the nodes under a project name
unique to the run; every container and network carries the run's label, so
tear-down, and `chaoslab clean` after a killed run, find everything by label
with the docker SDK. Tear-down runs on every path out: success, exception,
Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from docker.errors import APIError, NotFound
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from chaos.backend import LABEL_MANAGED, LABEL_RUN, Node, NodeSpec
from chaos.backend.docker import build as images
from chaos.backend.docker import engine
from chaos.images import ImageSource
from chaos.interrupts import shielded, signals_raise
from chaos.systems.base import System

LABEL_SERVICE = "com.docker.compose.service"
LABEL_OWNER = "io.chaoslab.owner"

Progress = Callable[[str], None]

__all__ = ["LABEL_MANAGED", "LABEL_RUN", "LABEL_SERVICE", "Cluster", "Node", "running"]


def free_ports(count: int) -> list[int]:
    """`count` free 127.0.0.1 ports, fixed for the run.

    Ports Docker picks itself change when a killed container starts again,
    which would cut clients off from a node that is back; ports chosen here
    stay, and two runs on one machine still never share one.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def compose_document(
    specs: Sequence[NodeSpec], run_id: str, host_ports: dict[tuple[str, int], int], owner: str
) -> dict[str, Any]:
    """The Compose file for a run: each node as its system describes it, with what every
    container of the suite carries (the run's labels, an init process, loopback ports)."""
    labels = {LABEL_MANAGED: "true", LABEL_RUN: run_id, LABEL_OWNER: owner}
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for spec in specs:
        service: dict[str, Any] = {
            "image": spec.image,
            "init": True,
            "hostname": spec.name,
            "mem_limit": f"{spec.memory_mib}m",
            "labels": labels,
            "ports": [f"127.0.0.1:{host_ports[spec.name, p]}:{p}" for p in spec.ports],
        }
        if spec.command:
            service["command"] = list(spec.command)
        if spec.entrypoint:
            service["entrypoint"] = list(spec.entrypoint)
        if spec.environment:
            service["environment"] = dict(spec.environment)
        mounts = [f"{source}:{target}:ro" for source, target in spec.mounts]
        for index, path in enumerate(spec.data):
            # Named and labelled, unlike an image's anonymous volume, so a leftover is found.
            name = f"{spec.name}-data{index}"
            volumes[name] = {"labels": labels}
            mounts.append(f"{name}:{path}")
        if mounts:
            service["volumes"] = mounts
        services[spec.name] = service
    document: dict[str, Any] = {"services": services, "networks": {"default": {"labels": labels}}}
    if volumes:
        document["volumes"] = volumes
    return document


def new_run_id(system: str) -> str:
    """Sortable and unique: two runs on one machine never share a project or label."""
    return f"{system}-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


class Cluster:
    """A cluster owned by one run: its compose project, its nodes, its system."""

    def __init__(
        self, system: System, run_id: str, image_refs: dict[str, str], owner: str = ""
    ) -> None:
        self.system = system
        self.run_id = run_id
        self.project = f"chaoslab-{run_id}".lower()
        self.image_refs = image_refs
        self.specs = system.node_specs(next(iter(image_refs.values())))
        wanted = [(spec.name, port) for spec in self.specs for port in spec.ports]
        host_ports = dict(zip(wanted, free_ports(len(wanted)), strict=True))
        self._dir = tempfile.TemporaryDirectory(prefix="chaoslab-compose-")
        compose_file = Path(self._dir.name) / "compose.yml"
        compose_file.write_text(
            yaml.safe_dump(
                compose_document(self.specs, run_id, host_ports, owner or this_process()),
                sort_keys=False,
            )
        )
        self.compose = DockerClient(compose_files=[compose_file], compose_project_name=self.project)
        self.nodes: list[Node] = []
        self.up_seconds = 0.0

    def start_nodes(self, names: Sequence[str]) -> None:
        self.compose.compose.up(services=list(names), detach=True, quiet=True)

    def exec(self, node: str, argv: Sequence[str]) -> tuple[int, str]:
        """Run a command inside a node; its exit code and output."""
        container = engine.client().containers.get(self.node(node).container)
        result = container.exec_run(list(argv))
        return result.exit_code, result.output.decode(errors="replace")

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in {self.project}; nodes: {self.names}")

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def client_address(self, name: str, port: int | None = None) -> tuple[str, int]:
        """The 127.0.0.1 address where the host reaches `port` of node `name`."""
        return "127.0.0.1", self.node(name).ports[port or self.system.client_port]

    def refresh(self) -> list[Node]:
        """Re-read nodes from Docker: addresses and host ports after (re)starts."""
        network = f"{self.project}_default"
        found = []
        for container in engine.client().containers.list(
            all=True, filters={"label": f"{LABEL_RUN}={self.run_id}"}
        ):
            service = container.labels.get(LABEL_SERVICE)
            if service is None:  # a fault helper, not a node
                continue
            settings = container.attrs["NetworkSettings"]
            ip = settings["Networks"].get(network, {}).get("IPAddress", "")
            ports = {
                int(spec.split("/")[0]): int(bindings[0]["HostPort"])
                for spec, bindings in (settings.get("Ports") or {}).items()
                if bindings
            }
            found.append(Node(service, container.name, ip, ports))
        self.nodes = sorted(found, key=lambda n: (len(n.name), n.name))
        return self.nodes

    def up(self, progress: Progress) -> float:
        """Start every node and wait until the system's own client proves it ready."""
        started = time.monotonic()
        progress(f"starting {self.system.name} as {self.project}")
        self.system.start(self)
        self.refresh()
        self.system.bootstrap(self)
        progress(f"waiting for {self.system.name} to be ready through its client")
        self.system.wait_ready(self)
        self.up_seconds = time.monotonic() - started
        return self.up_seconds

    def down(self, progress: Progress) -> float:
        """Remove every container, network and volume of the run; returns seconds taken."""
        started = time.monotonic()
        try:
            self.compose.compose.down(volumes=True, remove_orphans=True, timeout=2, quiet=True)
        except DockerException as exc:
            progress(f"compose down failed ({exc}); removing by label")
        remove_labelled(f"{LABEL_RUN}={self.run_id}")
        self._dir.cleanup()
        return time.monotonic() - started


def remove_labelled(label: str) -> dict[str, int]:
    """Remove containers (with their anonymous volumes), networks and volumes by label.

    Repeats until a pass finds nothing, because a container whose creation
    was under way when its creator was killed can appear a moment later.
    """
    sdk = engine.client()
    removed = {"containers": 0, "networks": 0, "volumes": 0}
    for _ in range(10):
        found = leftovers(label)
        if not any(found.values()):
            break
        for name in found["containers"]:
            with contextlib.suppress(NotFound):
                container = sdk.containers.get(name)
                if container.status == "paused":
                    container.unpause()
                container.remove(force=True, v=True)
                removed["containers"] += 1
        for name in found["networks"]:
            with contextlib.suppress(NotFound, APIError):
                sdk.networks.get(name).remove()
                removed["networks"] += 1
        for name in found["volumes"]:
            with contextlib.suppress(NotFound):
                sdk.volumes.get(name).remove(force=True)
                removed["volumes"] += 1
        time.sleep(0.3)
    return removed


def leftovers(label: str) -> dict[str, list[str]]:
    """Names of whatever still carries `label`: what a clean tear-down must leave empty."""
    sdk = engine.client()
    filters = {"label": label}
    # One listing call: the high-level list inspects each container afterwards,
    # and fails on one removed in between (a run being torn down meanwhile).
    containers = sdk.api.containers(all=True, filters=filters)
    return {
        "containers": [c["Names"][0].lstrip("/") for c in containers],
        "networks": [n.name for n in sdk.networks.list(filters=filters)],
        "volumes": [v.name for v in sdk.volumes.list(filters=filters)],
    }


def this_process() -> str:
    """Who owns a run's containers: this process, as `clean` can later check it is alive."""
    return f"{os.getpid()}@{socket.gethostname()}"


@contextmanager
def running(
    system: System,
    image_source: ImageSource = "local",
    run_id: str | None = None,
    keep: bool = False,
    progress: Progress = print,
    owner: str | None = None,
) -> Iterator[Cluster]:
    """A ready cluster for the duration of the block, torn down on every path out.

    `owner` labels every container: this process, or "kept" for a cluster meant to outlive
    it (`up`), so `clean` removes only what a killed run left.
    """
    with engine.translated():
        engine.ensure_compose()
        refs = images.ensure([image.name for image in system.images], image_source, progress)
        memory_problem = engine.memory_problem(system)
        if memory_problem:
            raise engine.BackendError(memory_problem)
    with signals_raise():
        cluster = Cluster(system, run_id or new_run_id(system.name), refs, owner or this_process())
        try:
            with engine.translated():
                cluster.up(progress)
            yield cluster
        finally:
            with shielded(progress):
                if keep:
                    progress(
                        f"kept {cluster.project}; remove it with `chaoslab down {cluster.run_id}`"
                    )
                else:
                    progress(f"removed {cluster.project} in {cluster.down(progress):.1f} s")


def run_exists(run_id: str) -> bool:
    return any(leftovers(f"{LABEL_RUN}={run_id}").values())


def orphaned_runs() -> tuple[list[str], list[tuple[str, str]]]:
    """Runs whose owning process is gone, and the others with their owner (alive or kept)."""
    owners: dict[str, str] = {}
    for container in engine.client().api.containers(
        all=True, filters={"label": f"{LABEL_MANAGED}=true"}
    ):
        labels = container.get("Labels") or {}
        run = labels.get(LABEL_RUN)
        if run and (labels.get(LABEL_OWNER) or run not in owners):
            owners[run] = labels.get(LABEL_OWNER, "")
    orphans, alive = [], []
    for run, owner in sorted(owners.items()):
        (alive if _alive(owner) else orphans).append((run, owner))
    return [run for run, _ in orphans], [(run, _describe(owner)) for run, owner in alive]


def _alive(owner: str) -> bool:
    """Whether the owner still holds its run: kept on purpose, or its process still runs."""
    if owner == "kept":
        return True
    pid, _, host = owner.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return bool(owner)  # another machine's run (or an unlabelled one): not ours to judge
    return Path(f"/proc/{pid}").exists()


def _describe(owner: str) -> str:
    return "kept by `chaoslab up`" if owner == "kept" else f"run by process {owner}, still alive"
