"""A throwaway cluster of toolbox containers, for the fault tests and benchmark (test code:
it does not ship with the suite).

Three `sleep infinity` containers on a private bridge network are enough to
prove every fault: the toolbox image carries netprobe and netcat, so effects
are measured from the nodes themselves. Everything is labelled with the run
id and removed on exit, whatever the way out.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

import docker
from docker.errors import ImageNotFound

from chaos.backend.docker.cluster import LABEL_MANAGED, LABEL_RUN, Node
from chaos.backend.docker.namespaces import TOOLBOX, TOOLBOX_IMAGE

TOOLBOX_DIR = TOOLBOX.recipe


def ensure_toolbox(client: docker.DockerClient, base: str = "chaoslab/base:bookworm") -> None:
    """Build the toolbox image from its Dockerfile if it is missing (legacy builder)."""
    with contextlib.suppress(ImageNotFound):
        client.images.get(TOOLBOX_IMAGE)
        return
    subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", TOOLBOX_IMAGE,
         str(TOOLBOX_DIR)],
        check=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )  # fmt: skip


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Containers and networks still labelled with the run id."""
    labelled = {"label": f"{LABEL_RUN}={run_id}"}
    containers = client.containers.list(all=True, filters=labelled)
    networks = client.networks.list(filters=labelled)
    return [c.name for c in containers] + [n.name for n in networks]


@contextlib.contextmanager
def toolbox_cluster(
    client: docker.DockerClient, run_id: str, size: int = 3
) -> Iterator[tuple[Node, ...]]:
    """`size` nodes n1..nN on their own network, removed (with any helper) on exit."""
    labels = {LABEL_MANAGED: "true", LABEL_RUN: run_id}
    network = client.networks.create(f"{run_id}-net", labels=labels)
    try:
        nodes = []
        for i in range(1, size + 1):
            container = client.containers.run(
                TOOLBOX_IMAGE, ["sleep", "infinity"], name=f"{run_id}-n{i}", detach=True,
                init=True, network=network.name, labels=labels,
            )  # fmt: skip
            attrs = client.api.inspect_container(container.id)
            ip = attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            nodes.append(Node(f"n{i}", container.name, ip))
        yield tuple(nodes)
    finally:
        for container in client.containers.list(
            all=True, filters={"label": f"{LABEL_RUN}={run_id}"}
        ):
            container.remove(force=True)
        network.remove()
