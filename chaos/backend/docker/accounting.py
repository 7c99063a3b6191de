"""Traffic accounting in each node's network namespace: iptables counters by the other end.

Two chains of the **mangle** table count a node's packets: `chaos-traffic-in`, jumped to
from PREROUTING (everything that reaches the node's interfaces, before any fault's rule
can drop it: what arrived on the wire), and `chaos-traffic-out`, jumped to from
POSTROUTING (everything that leaves, after the faults' OUTPUT rules and the NFQUEUE
shaper have had their say: what went on the wire). Each holds one rule per peer address,
one for the gateway (the host's clients), and one for anything else off loopback; every
rule only counts (RETURN), so no packet's fate changes. Faults own the filter table, so
these chains never change the order of a fault's rules, and healing a fault never touches
them. A restarted node comes back in a new namespace without them: the next read installs
them again, at zero, and says so (`fresh`).

A read is one listing of the mangle table. Where the host sees the nodes' processes (a
Linux host, as root) it runs there, entering the node's namespace with `nsenter`: a few
milliseconds, nothing asked of the container engine but the node's pid. Elsewhere (Docker
Desktop) it is an exec into the node's toolbox helper, ~0.1 s of the engine's CPU each,
so the sampler reads far less often; such a read never re-creates a helper, since a stale
helper is how the nemesis learns to re-apply a restarted node's faults.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from typing import Protocol

from docker.errors import DockerException

from chaos.backend import Backend, Namespaces, Node, TrafficReading
from chaos.errors import NodeDown, ToolboxError
from chaos.parallel import at_once

TABLE = "mangle"
CHAINS = {"in": ("chaos-traffic-in", "PREROUTING"), "out": ("chaos-traffic-out", "POSTROUTING")}
ENDS = ("peer", "client", "other")
COUNTERS = tuple(
    f"{end}_{direction}_{unit}"
    for end in ENDS
    for direction in CHAINS
    for unit in ("bytes", "packets")
)
ANYWHERE = "0.0.0.0/0"
HOST_READS_PER_S = 20.0  # nsenter and one iptables listing: ~5 ms of CPU
HELPER_READS_PER_S = 2.0  # an exec through the container engine: ~0.1 s of its CPU
READ_TIMEOUT_S = 5.0


def _join(commands: Sequence[Sequence[str]]) -> str:
    return " && ".join(shlex.join(command) for command in commands)


def rules(direction: str, peers: Sequence[str], gateway: str) -> list[list[str]]:
    """The counting rules of one direction: by the address at the other end, then the rest."""
    match, interface = ("-s", "-i") if direction == "in" else ("-d", "-o")
    by_address = [[match, address, "-j", "RETURN"] for address in (*peers, gateway)]
    return [*by_address, ["!", interface, "lo", "-j", "RETURN"]]


def list_script(ipt: str) -> str:
    return shlex.join([ipt, "-w", "-t", TABLE, "-n", "-v", "-x", "-L"])


def remove_script(ipt: str) -> str:
    """Delete both chains and their jumps; a no-op where they are absent."""
    steps = []
    for chain, hook in CHAINS.values():
        present = shlex.join([ipt, "-w", "-t", TABLE, "-n", "-L", chain])
        undo = _join(
            [
                [ipt, "-w", "-t", TABLE, "-D", hook, "-j", chain],
                [ipt, "-w", "-t", TABLE, "-F", chain],
                [ipt, "-w", "-t", TABLE, "-X", chain],
            ]
        )
        steps.append(f"if {present} >/dev/null 2>&1; then {undo}; fi")
    return " && ".join(steps)


def install_script(ipt: str, peers: Sequence[str], gateway: str) -> str:
    """(Re)create both chains at zero, each jumped to first thing in its hook, then list."""
    commands: list[list[str]] = []
    for direction, (chain, hook) in CHAINS.items():
        commands.append([ipt, "-w", "-t", TABLE, "-N", chain])
        for rule in rules(direction, peers, gateway):
            commands.append([ipt, "-w", "-t", TABLE, "-A", chain, *rule])
        commands.append([ipt, "-w", "-t", TABLE, "-I", hook, "1", "-j", chain])
    return f"{remove_script(ipt)} && {_join(commands)} && {list_script(ipt)}"


def parse(output: str, peers: Sequence[str], gateway: str) -> dict[str, int] | None:
    """Counters by end and direction from `iptables -t mangle -nvxL`; None if either chain
    is missing (a new namespace).

    Each row of the two chains is matched by its address (the source column for `in`, the
    destination for `out`: the last two columns, whatever the iptables version prints
    before them)."""
    direction_of = {chain: direction for direction, (chain, _) in CHAINS.items()}
    counters = dict.fromkeys(COUNTERS, 0)
    seen: set[str] = set()
    direction = None
    for line in output.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "Chain":
            direction = direction_of.get(fields[1])
            if direction is not None:
                seen.add(direction)
        elif direction is not None and fields[0].isdigit() and len(fields) >= 4:
            address = (fields[-2] if direction == "in" else fields[-1]).removesuffix("/32")
            end = _end(address, peers, gateway)
            counters[f"{end}_{direction}_packets"] += int(fields[0])
            counters[f"{end}_{direction}_bytes"] += int(fields[1])
    return counters if seen == set(CHAINS) else None


def _end(address: str, peers: Sequence[str], gateway: str) -> str:
    if address in peers:
        return "peer"
    if address == gateway:
        return "client"
    if address == ANYWHERE:
        return "other"
    raise ValueError(f"a counting rule for {address}, which is no peer and not the gateway")


class Entry(Protocol):
    """How a script gets into a node's present network namespace."""

    reads_per_s: float

    def run(self, name: str, script: str) -> str | None:
        """The script's output; None where the node has no namespace to enter now."""


class HostEntry:
    """`nsenter` from the host into the namespace of the node's present process, which is
    looked up again afterwards: a node restarted meanwhile gives no output, not the old
    namespace's."""

    reads_per_s = HOST_READS_PER_S

    def __init__(self, backend: Backend, nodes: Sequence[Node]) -> None:
        self.backend = backend
        self.nodes = {node.name: node for node in nodes}

    def _pid(self, name: str) -> int | None:
        state = self.backend.state(self.nodes[name])
        return state.pid if state.running and state.pid else None

    def run(self, name: str, script: str) -> str | None:
        pid = self._pid(name)
        if pid is None:
            return None
        done = subprocess.run(
            ["nsenter", "-t", str(pid), "-n", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=READ_TIMEOUT_S,
            check=False,
        )
        if self._pid(name) != pid:
            return None
        if done.returncode != 0:
            raise ToolboxError(f"in {name}'s namespace, `{script}` failed: {done.stderr.strip()}")
        return done.stdout

    def works(self, ipt: str) -> bool:
        """Whether this host can enter a node's namespace and list it with its own `ipt`."""
        if shutil.which("nsenter") is None or shutil.which(ipt) is None:
            return False
        for name, node in self.nodes.items():
            pid = self._pid(name)
            if pid is None or not self.backend.sees_process(node, pid):
                continue
            with contextlib.suppress(ToolboxError, OSError, subprocess.SubprocessError):
                return self.run(name, list_script(ipt)) is not None
            return False
        return False


class HelperEntry:
    """An exec into the node's toolbox helper, only where it already sits in the node's
    present namespace (`Namespaces.run_current`)."""

    reads_per_s = HELPER_READS_PER_S

    def __init__(self, namespaces: Namespaces) -> None:
        self.namespaces = namespaces

    def run(self, name: str, script: str) -> str | None:
        return self.namespaces.run_current(name, script)


class IptablesMeter:
    """The Docker backend's TrafficMeter: the chains above in each node (by name, with its
    address), read through `entry` with the `ipt` flavour the faults use."""

    def __init__(self, entry: Entry, ips: dict[str, str], ipt: str, gateway: str) -> None:
        self.entry, self.ips, self.ipt, self.gateway = entry, ips, ipt, gateway
        self.reads_per_s = entry.reads_per_s

    def peers(self, name: str) -> list[str]:
        return [ip for node, ip in self.ips.items() if node != name]

    def read(self, name: str, reset: bool = False) -> TrafficReading | None:
        peers = self.peers(name)
        if not reset:
            output = self.entry.run(name, list_script(self.ipt))
            if output is None:
                return None
            counters = parse(output, peers, self.gateway)
            if counters is not None:
                return TrafficReading(counters, fresh=False)
        output = self.entry.run(name, install_script(self.ipt, peers, self.gateway))
        if output is None:
            return None
        counters = parse(output, peers, self.gateway)
        if counters is None:
            raise ToolboxError(f"{name}: the counting chains were installed but not listed")
        return TrafficReading(counters, fresh=True)

    def close(self) -> None:
        def remove(name: str, _: str) -> None:
            with contextlib.suppress(ToolboxError, NodeDown, DockerException, OSError):
                self.entry.run(name, remove_script(self.ipt))

        at_once(self.ips, remove)


def iptables_meter(
    backend: Backend, namespaces: Namespaces, nodes: Sequence[Node]
) -> IptablesMeter:
    """A meter by the cheapest entry this host offers, built once the nemesis has started
    every helper. The gateway is the network's (every node of a run is on one network),
    taken from the first node running."""
    ipt = namespaces.backends().iptables
    host = HostEntry(backend, nodes)
    entry: Entry = host if host.works(ipt) else HelperEntry(namespaces)
    ips = {node.name: node.ip for node in nodes}
    return IptablesMeter(entry, ips, ipt, _gateway(namespaces, list(ips)))


def _gateway(namespaces: Namespaces, names: Sequence[str]) -> str:
    for name in names:
        with contextlib.suppress(NodeDown):
            return namespaces.helper(name).gateway
    raise NodeDown("no node is running: no gateway to tell the clients' traffic by")
