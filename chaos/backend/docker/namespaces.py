"""The Docker backend's network namespaces: helper containers inside each node's namespace.

Official images ship neither iptables nor tc, so every network fault runs in a
long-lived toolbox container started with `--network container:<node>` and
NET_ADMIN: an exec into it answers in tens of milliseconds, where a fresh
`docker run` costs ~250 ms. A restarted node gets a new namespace while its
helper stays in the old one, so each call first checks the node's process id
and re-creates a stale helper (the nemesis then re-applies active faults).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from chaos.backend import LABEL_MANAGED, LABEL_RUN, Node
from chaos.errors import NodeDown, ToolboxError
from chaos.images import Image
from chaos.parallel import at_once

# The fault layer's own image: iptables, tc, the NFQUEUE shaper and the probe, for nodes
# whose images have none of them.
TOOLBOX = Image("toolbox", recipe=Path(__file__).parent / "toolbox")
TOOLBOX_IMAGE = TOOLBOX.local_tag
LABEL_HELPER = "io.chaoslab.nemesis-helper"

# Probes the iptables flavours in order and tc netem; prints key=value lines.
# nft first: it is Debian's default and what Docker on the host uses; legacy
# is the fallback for kernels without nf_tables.
_PROBE_BACKENDS = """
for ipt in iptables-nft iptables-legacy; do
  if $ipt -w -N chaos-probe 2>/dev/null \
     && $ipt -w -A chaos-probe -m statistic --mode random --probability 0.5 -j RETURN 2>/dev/null
  then found=$ipt; fi
  $ipt -w -F chaos-probe 2>/dev/null; $ipt -w -X chaos-probe 2>/dev/null
  [ -n "$found" ] && break
done
echo "iptables=$found"
if tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
  tc qdisc del dev lo root; echo netem=yes
else echo netem=no; fi
"""


@dataclass(frozen=True)
class Backends:
    """What this kernel offers, probed once: the working iptables and whether netem exists."""

    iptables: str
    netem: bool


@dataclass
class Helper:
    container: Container
    target_pid: int
    device: str
    gateway: str


class Toolbox:
    """One helper per node, created on first use, re-created after the node restarts."""

    def __init__(
        self,
        client: docker.DockerClient,
        nodes: tuple[Node, ...],
        run_id: str,
        image: str = TOOLBOX_IMAGE,
    ) -> None:
        self.client = client
        self.nodes = {node.name: node for node in nodes}
        self.run_id = run_id
        self.image = image
        self._helpers: dict[str, Helper] = {}
        self._locks = {name: threading.Lock() for name in self.nodes}
        self._backends: Backends | None = None

    def _target_pid(self, name: str) -> int:
        state = self.client.api.inspect_container(self.nodes[name].container)["State"]
        if not state["Running"]:
            raise NodeDown(f"{name} is not running ({state['Status']}): no namespace to act in")
        return int(state["Pid"])

    def running(self, name: str) -> bool:
        try:
            self._target_pid(name)
        except NodeDown:
            return False
        return True

    def stale(self, name: str) -> bool:
        """Whether the node's helper sits in a namespace the running node left (a restart)."""
        helper = self._helpers.get(name)
        try:
            return helper is not None and helper.target_pid != self._target_pid(name)
        except NodeDown:
            return False

    def current(self, name: str) -> bool:
        """Whether the node runs and its helper sits in its present namespace."""
        helper = self._helpers.get(name)
        try:
            return helper is not None and helper.target_pid == self._target_pid(name)
        except NodeDown:
            return False

    def helper(self, name: str) -> Helper:
        with self._locks[name]:
            pid = self._target_pid(name)
            helper = self._helpers.get(name)
            if helper is None or helper.target_pid != pid:
                if helper is not None:
                    _remove(helper.container)
                helper = self._helpers[name] = self._start(name, pid)
            return helper

    def _start(self, name: str, pid: int) -> Helper:
        node = self.nodes[name]
        container_name = re.sub(r"[^a-zA-Z0-9_.-]", "-", f"chaoslab-nemesis-{self.run_id}-{name}")
        with contextlib.suppress(NotFound):
            _remove(self.client.containers.get(container_name))
        try:
            container = self.client.containers.run(
                self.image,
                ["sleep", "infinity"],
                name=container_name,
                detach=True,
                init=True,
                network_mode=f"container:{node.container}",
                cap_add=["NET_ADMIN"],
                labels={LABEL_MANAGED: "true", LABEL_RUN: self.run_id, LABEL_HELPER: name},
            )
        except APIError as error:
            raise ToolboxError(f"cannot start the fault helper for {name}: {error}") from error
        networks = self.client.api.inspect_container(node.container)["NetworkSettings"]["Networks"]
        gateway = next((n["Gateway"] for n in networks.values() if n["IPAddress"] == node.ip), "")
        device = _exec(
            container, name, f"ip -o -4 addr show | awk '$4 ~ /^{node.ip}\\// {{print $2}}'"
        )
        return Helper(container, pid, device.strip() or "eth0", gateway)

    def run(self, name: str, script: str) -> str:
        """Run a shell script in the node's namespace; its stdout, or ToolboxError."""
        return _exec(self.helper(name).container, name, script)

    def run_all(self, scripts: Mapping[str, str]) -> dict[str, str]:
        """Scripts on several nodes at once (one exec each), keyed by node."""
        return at_once(scripts, self.run)

    def run_current(self, name: str, script: str) -> str | None:
        """Run a script only where the node's helper already sits in its present namespace;
        None while the node is down, or restarted and its helper not yet re-created (or it
        restarted during the script: the output was the old namespace's). Never re-creates
        a helper: a stale one is how the nemesis learns to re-apply the faults a restart
        wiped, so a reader that is not the nemesis must leave it stale."""
        helper = self._helpers.get(name)
        if helper is None or not self._in_place(name, helper):
            return None
        output = _exec(helper.container, name, script)
        return output if self._in_place(name, helper) else None

    def _in_place(self, name: str, helper: Helper) -> bool:
        """Whether `helper` is still the node's, in the namespace the node now runs in."""
        try:
            return self._helpers.get(name) is helper and helper.target_pid == self._target_pid(name)
        except NodeDown:
            return False

    def backends(self) -> Backends:
        if self._backends is None:
            for name in self.nodes:
                try:
                    out = dict(
                        line.split("=", 1) for line in self.run(name, _PROBE_BACKENDS).split()
                    )
                except NodeDown:
                    continue
                if not out["iptables"]:
                    raise ToolboxError("neither iptables-nft nor iptables-legacy works here")
                self._backends = Backends(out["iptables"], out["netem"] == "yes")
                break
            else:
                raise NodeDown("no node is running: cannot probe the network backends")
        return self._backends

    def prepare(self) -> None:
        """Start every running node's helper now, so the first fault does not wait."""

        def start(name: str, _: Node) -> None:
            with contextlib.suppress(NodeDown):
                self.helper(name)

        at_once(self.nodes, start)
        self.backends()

    def close(self) -> None:
        """Remove this run's helpers, including ones a crashed earlier process left."""
        remove_helpers(self.client, self.run_id)
        self._helpers.clear()


def _exec(container: Container, name: str, script: str) -> str:
    code, (out, err) = container.exec_run(["sh", "-c", script], demux=True)
    stdout, stderr = (out or b"").decode(), (err or b"").decode()
    if code != 0:
        raise ToolboxError(f"in {name}'s namespace, `{script}` failed ({code}): {stderr or stdout}")
    return stdout


def _remove(container: Container) -> None:
    with contextlib.suppress(NotFound):
        container.remove(force=True)


def remove_helpers(client: docker.DockerClient, run_id: str) -> None:
    """Remove every helper container of a run (labelled with the run id)."""
    labels = [f"{LABEL_RUN}={run_id}", LABEL_HELPER]
    for container in client.containers.list(all=True, filters={"label": labels}):
        _remove(container)
