"""A real cluster of one system in Docker: up to ready, then gone without a trace.

Compose (through python-on-whales) starts the nodes under a project name
unique to the run; every container and network carries the run's label, so
tear-down, and `chaoslab clean` after a killed run, find everything by label
with the docker SDK. Tear-down runs on every path out: success, exception,
Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from docker.errors import APIError, NotFound
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from chaos import engine, images
from chaos.images import ImageSource
from chaos.interrupts import shielded, signals_raise
from chaos.systems.base import System

LABEL_MANAGED = "io.chaoslab.managed"
LABEL_RUN = "io.chaoslab.run"
LABEL_SERVICE = "com.docker.compose.service"
COMPOSE_DIR = images.ROOT / "compose"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Node:
    """One cluster member as the suite sees it.

    `name` is the compose service (n1, n2...), `container` the container's
    name, `ip` its address on the cluster network, `ports` maps a container
    port to the host port published on 127.0.0.1.
    """

    name: str
    container: str
    ip: str
    ports: dict[int, int] = field(default_factory=dict)


def free_ports(system: System) -> list[tuple[str, int]]:
    """A free 127.0.0.1 port per service, fixed for the run.

    Ports Docker picks itself change when a killed container starts again,
    which would cut clients off from a node that is back; ports chosen here
    stay, and two runs on one machine still never share one.
    """
    compose = yaml.safe_load((COMPOSE_DIR / system.compose_file).read_text())
    sockets = []
    try:
        for _ in compose["services"]:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [
            (s, sock.getsockname()[1]) for s, sock in zip(compose["services"], sockets, strict=True)
        ]
    finally:
        for sock in sockets:
            sock.close()


def new_run_id(system: str) -> str:
    """Sortable and unique: two runs on one machine never share a project or label."""
    return f"{system}-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


class Cluster:
    """A cluster owned by one run: its compose project, its nodes, its system."""

    def __init__(self, system: System, run_id: str, image_refs: dict[str, str]) -> None:
        self.system = system
        self.run_id = run_id
        self.project = f"chaoslab-{run_id}".lower()
        self.image_refs = image_refs
        self._env_dir = tempfile.TemporaryDirectory(prefix="chaoslab-env-")
        env_file = Path(self._env_dir.name) / "compose.env"
        env = {
            "CHAOS_RUN_ID": run_id,
            **{f"{service.upper()}_PORT": str(port) for service, port in free_ports(system)},
            **{f"{name.upper()}_IMAGE": ref for name, ref in image_refs.items()},
            **system.compose_env(),
        }
        env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        self.compose = DockerClient(
            compose_files=[COMPOSE_DIR / system.compose_file],
            compose_project_name=self.project,
            compose_env_files=[env_file],
        )
        self.nodes: list[Node] = []
        self.up_seconds = 0.0

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
        self._env_dir.cleanup()
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


@contextmanager
def running(
    system: System,
    image_source: ImageSource = "local",
    run_id: str | None = None,
    keep: bool = False,
    progress: Progress = print,
) -> Iterator[Cluster]:
    """A ready cluster for the duration of the block, torn down on every path out."""
    engine.ensure_compose()
    refs = images.ensure([system.image], image_source, progress)
    with signals_raise():
        cluster = Cluster(system, run_id or new_run_id(system.name), refs)
        try:
            cluster.up(progress)
            yield cluster
        finally:
            with shielded(progress):
                if keep:
                    progress(f"kept {cluster.project}; remove it with `chaoslab down`")
                else:
                    progress(f"removed {cluster.project} in {cluster.down(progress):.1f} s")
