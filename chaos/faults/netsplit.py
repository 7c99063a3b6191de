"""The partition fault: a grudge (see partition.py) applied through the helpers, and proven.

Proof, per node that drops peers: connection attempts from it to each peer it
drops get no answer (its own rule eats the reply), while one pair the shape
leaves connected still answers, and the host still reaches the nodes that
keep their clients (and no longer reaches those cut from them).
"""

from __future__ import annotations

from typing import Any

from chaos.faults import iptables, partition, probe
from chaos.faults.base import Applied, Context, Evidence, NotYet
from chaos.faults.namespaced import NamespaceFault
from chaos.faults.roles import minority_size
from chaos.faults.spec import CutSpec, GroupsSpec, OneWaySpec

_SILENCE_MS = 100  # no reset within this on a local bridge (answers take <1 ms) means dropped
_ANSWER_MS = 1000  # generous: answers come back in well under a millisecond


class PartitionFault(NamespaceFault):
    def __init__(
        self, spec: CutSpec | GroupsSpec | OneWaySpec, fault_id: int, ctx: Context
    ) -> None:
        super().__init__(spec.kind, fault_id, ctx)
        self.spec = spec
        self.grudge: partition.Grudge = {}
        self.rules: dict[str, list[list[str]]] = {}
        self.probes = partition.ProbePlan({}, None)
        self.no_clients: frozenset[str] = frozenset()

    def _shape(self) -> tuple[partition.Grudge, dict[str, Any]]:
        spec, ctx, names = self.spec, self.ctx, self.ctx.names
        if isinstance(spec, GroupsSpec):
            groups = [list(group) for group in spec.groups]
            return partition.groups(names, groups), {"groups": groups}
        if isinstance(spec, OneWaySpec):
            senders, receivers = ctx.resolve(spec.source), ctx.resolve(spec.destination)
            drawn = {"from": list(senders), "to": list(receivers)}
            return partition.one_way(names, senders, receivers), drawn
        if spec.kind == "isolate":
            isolated = ctx.resolve(spec.target, spec.count)
            return partition.isolate(names, isolated), {"isolated": list(isolated)}
        if spec.kind == "majority-minority":
            forced = list(ctx.resolve(spec.target))[: minority_size(len(names))]
            rest = [n for n in names if n not in forced]
            extra = max(0, minority_size(len(names)) - len(forced))
            minority = forced + ctx.rng.sample(rest, extra)
            return partition.majority_minority(names, minority), {"minority": minority}
        (middle,) = ctx.resolve(spec.target)[:1]
        return partition.bridge(names, middle), {"bridge": middle}

    def plan(self) -> Applied:
        self.grudge, drawn = self._shape()
        ips = {node.name: node.ip for node in self.ctx.nodes}
        gateway = None
        if self.spec.clients == "cut":
            self.no_clients = partition.cut_from_clients(self.grudge)
            gateway = self.ctx.toolbox.helper(next(iter(self.no_clients))).gateway
        self.rules = partition.drop_rules(self.grudge, ips, gateway)
        self.nodes = tuple(self.rules)
        self.probes = partition.probe_plan(self.ctx.names, self.grudge)
        grudge = {n: sorted(peers) for n, peers in self.grudge.items() if peers}
        detail = {
            "shape": self.spec.kind,
            **drawn,
            "grudge": grudge,
            "clients": self.spec.clients,
            "rule_nodes": list(self.nodes),
        }
        backend = f"iptables:{self.ctx.toolbox.backends().iptables}"
        # The targets are the nodes the partition strikes (the isolated node, the
        # minority...), not every node that holds a rule: the checks judge detection
        # by whether the others notice *them*.
        struck = partition.cut_from_clients(self.grudge)
        return Applied(tuple(n for n in self.ctx.names if n in struck), backend, detail)

    def probe_nodes(self) -> tuple[str, ...]:
        linked = self.probes.must_succeed
        extra = (linked[0],) if linked and linked[0] not in self.nodes else ()
        return self.nodes + extra

    def apply_script(self, node: str) -> str:
        if node not in self.rules:
            return "true"
        return iptables.install(self._ipt, self.fault_id, "INPUT", self.rules[node])

    def undo_script(self, node: str) -> str:
        return iptables.remove(self._ipt, self.fault_id, "INPUT")

    @property
    def _ipt(self) -> str:
        return self.ctx.toolbox.backends().iptables

    def _peers(self, node: str) -> list[str]:
        peers = list(self.probes.must_fail.get(node, ()))
        if self.probes.must_succeed and self.probes.must_succeed[0] == node:
            peers.append(self.probes.must_succeed[1])
        return peers

    def probe_script(self, node: str, healed: bool) -> str:
        peers = self._peers(node)
        if not peers:
            return ""
        ips = [self.ctx.node(peer).ip for peer in peers]
        return probe.tcp_command(ips, _ANSWER_MS if healed else _SILENCE_MS)

    def judge(self, outputs: dict[str, str], healed: bool) -> Evidence:
        silent: list[tuple[str, str]] = []
        answered: list[tuple[str, str]] = []
        for node, output in outputs.items():
            reach = probe.parse_tcp(output)
            for peer in self._peers(node):
                pair = (node, peer)
                if self.ctx.node(peer).ip not in reach:  # the probe died (a node restarting)
                    raise NotYet(f"no probe answer from {node} towards {peer}")
                (answered if reach[self.ctx.node(peer).ip].reached else silent).append(pair)
        cut = {(n, p) for n, peers in self.probes.must_fail.items() for p in peers}
        if healed and silent:
            raise NotYet(f"still cut after heal: {silent}")
        if not healed and [pair for pair in answered if pair in cut]:
            raise NotYet(f"still connected: {[pair for pair in answered if pair in cut]}")
        if not healed and [pair for pair in silent if pair not in cut]:
            raise NotYet(f"cut although the shape keeps them connected: {silent}")
        return {"silent": silent, "answered": answered, **self._clients(healed)}

    def _clients(self, healed: bool) -> Evidence:
        """The host's view: every node answers unless (before heal) cut from clients."""
        if not self.ctx.host_routes:
            return {"clients": "not checked: this host does not route to container addresses"}
        cut = frozenset() if healed else self.no_clients
        ips = {node.ip: node.name for node in self.ctx.nodes if self.ctx.toolbox.running(node.name)}
        timeout = (_SILENCE_MS if cut else _ANSWER_MS) / 1000
        answers = {ips[ip]: ok for ip, ok in probe.from_host(list(ips), timeout).items()}
        wrong = sorted(n for n, ok in answers.items() if ok == (n in cut))
        if wrong:
            raise NotYet(f"clients' path wrong for {wrong}: answers {answers}, cut {sorted(cut)}")
        return {"clients_reach": sorted(n for n, ok in answers.items() if ok)}
