"""The Docker backend: clusters through Compose, faults through the docker SDK's fast calls.

`DockerBackend` is what the fault layer and the runner reach nodes through
(see chaos.backend for the interface and docs/backends.md for what another
backend would implement).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaos.backend import Namespaces, Node, NodeState, ProcessAction
from chaos.backend.docker import engine
from chaos.backend.docker.accounting import IptablesMeter, iptables_meter
from chaos.backend.docker.namespaces import TOOLBOX, Toolbox


class DockerBackend:
    """Process faults by the engine's API, namespaces by helper containers, logs by the engine."""

    def __init__(self, toolbox_image: str = TOOLBOX.local_tag) -> None:
        self.client = engine.client()
        self.toolbox_image = toolbox_image

    def act(self, node: Node, action: ProcessAction, grace: float = 10.0) -> None:
        api = self.client.api
        if action == "kill":
            api.kill(node.container, signal="SIGKILL")
        elif action == "stop":
            api.stop(node.container, timeout=int(grace))
        elif action == "restart":
            api.restart(node.container, timeout=int(grace))
        else:
            getattr(api, action)(node.container)

    def state(self, node: Node) -> NodeState:
        found = self.client.api.inspect_container(node.container)
        state = found["State"]
        return NodeState(
            running=bool(state["Running"]),
            paused=bool(state["Paused"]),
            pid=int(state["Pid"]),
            started_at=str(state["StartedAt"]),
            exit_code=int(state["ExitCode"]),
            status=str(state["Status"]),
            identity=str(found["Id"]),
        )

    def sees_process(self, node: Node, pid: int) -> bool:
        """Whether /proc/<pid> here is the node's process (its cgroup names the container),
        so another namespace's pid is never mistaken (not so on Docker Desktop)."""
        try:
            return self.state(node).identity in Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return False

    def process_alive(self, pid: int) -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):  # gone, or going while we read
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only unreaped

    def namespaces(self, nodes: Sequence[Node], run_id: str) -> Toolbox:
        return Toolbox(self.client, tuple(nodes), run_id, self.toolbox_image)

    def traffic_meter(self, namespaces: Namespaces, nodes: Sequence[Node]) -> IptablesMeter:
        """Counting chains in each node's namespace, read from the host where it can enter
        the namespaces, else through the helpers `namespaces` (the nemesis's own) keeps."""
        return iptables_meter(self, namespaces, nodes)

    def logs(self, node: Node) -> bytes:
        """Everything the node's process wrote, across its restarts."""
        return bytes(self.client.api.logs(node.container, stdout=True, stderr=True))
