"""Partition shapes as a "grudge": for each node, the peers whose packets it drops.

As in Jepsen, every shape reduces to one map node -> set of peers it no longer
hears, applied as DROP rules on INPUT matching the peers' addresses only.
Client traffic from the host arrives from the network's gateway, not from a
peer, so it keeps flowing unless the fault cuts clients too. Dropping on input
(not output) keeps the sender's kernel unaware, as on a real cut cable.
Pure: names in, names and rules out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaos.faults.errors import TargetError
from chaos.faults.iptables import drop_from

Grudge = dict[str, frozenset[str]]


def _complete(nodes: Sequence[str], components: Iterable[Iterable[str]]) -> Grudge:
    """Each node drops every node outside its own component."""
    grudge: Grudge = {node: frozenset() for node in nodes}
    for component in map(frozenset, components):
        for node in component:
            grudge[node] = frozenset(n for n in nodes if n not in component)
    return grudge


def isolate(nodes: Sequence[str], targets: Iterable[str]) -> Grudge:
    """Cut each target from every other node; the rest stay together."""
    isolated = list(dict.fromkeys(targets))
    rest = [n for n in nodes if n not in isolated]
    return _complete(nodes, [*([t] for t in isolated), rest])


def groups(nodes: Sequence[str], components: Sequence[Sequence[str]]) -> Grudge:
    """Explicit groups, e.g. [[n1], [n2, n3]]: every node in exactly one group."""
    seen = [n for group in components for n in group]
    unknown = sorted(set(seen) - set(nodes))
    if unknown:
        raise TargetError(f"partition groups name unknown nodes {unknown}; nodes: {list(nodes)}")
    if len(seen) != len(set(seen)):
        raise TargetError(f"partition groups overlap: {components}")
    missing = [n for n in nodes if n not in seen]
    if missing:
        raise TargetError(f"partition groups leave out {missing}: name every node once")
    return _complete(nodes, components)


def majority_minority(nodes: Sequence[str], minority: Iterable[str]) -> Grudge:
    """Two sides: the given minority (fewer than half the nodes) and the rest."""
    small = list(dict.fromkeys(minority))
    if not small or 2 * len(small) >= len(nodes):
        raise TargetError(f"{small} is not a minority of {len(nodes)} nodes")
    return _complete(nodes, [small, [n for n in nodes if n not in small]])


def bridge(nodes: Sequence[str], middle: str) -> Grudge:
    """Two halves that cannot see each other, and one node that sees both.

    The others are split in cluster order: for n1..n5 with middle n3,
    [n1, n2] and [n4, n5], as in Jepsen's bridge.
    """
    others = [n for n in nodes if n != middle]
    if len(others) < 2:
        raise TargetError("a bridge needs at least three nodes")
    half = len(others) // 2
    left, right = others[:half], others[half:]
    grudge: Grudge = {node: frozenset() for node in nodes}
    for side, opposite in ((left, right), (right, left)):
        for node in side:
            grudge[node] = frozenset(opposite)
    return grudge


def one_way(nodes: Sequence[str], senders: Iterable[str], receivers: Iterable[str]) -> Grudge:
    """Senders' packets still reach receivers; receivers' packets no longer reach senders."""
    deaf, unheard = list(senders), list(receivers)
    if set(deaf) & set(unheard):
        raise TargetError(f"one-way: {sorted(set(deaf) & set(unheard))} on both sides")
    grudge: Grudge = {node: frozenset() for node in nodes}
    for node in deaf:
        grudge[node] = frozenset(unheard)
    return grudge


def cut(grudge: Mapping[str, frozenset[str]], a: str, b: str) -> bool:
    """Whether a TCP exchange between a and b fails: either side drops the other."""
    return b in grudge.get(a, frozenset()) or a in grudge.get(b, frozenset())


@dataclass(frozen=True)
class ProbePlan:
    """Connection attempts that prove a grudge: from each node to peers that must
    stay silent, plus one pair that must still answer (when the shape has one)."""

    must_fail: dict[str, tuple[str, ...]]
    must_succeed: tuple[str, str] | None


def probe_plan(nodes: Sequence[str], grudge: Mapping[str, frozenset[str]]) -> ProbePlan:
    """Probe from every dropping node to what it drops: its own rule drops the
    answer, so each node's rules are proven from that node alone."""
    must_fail = {n: tuple(p for p in nodes if p in grudge[n]) for n in nodes if grudge[n]}
    linked = [(a, b) for a in nodes for b in nodes if a != b and not cut(grudge, a, b)]
    return ProbePlan(must_fail, linked[0] if linked else None)


def cut_from_clients(grudge: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The nodes `clients: cut` also cuts from the host: those that lose the most
    peers (the isolated nodes, the minority, the smaller groups, both halves of a
    bridge). The host stays with the best-connected side, as a client would."""
    most = max((len(peers) for peers in grudge.values()), default=0)
    return frozenset(n for n, peers in grudge.items() if most and len(peers) == most)


def drop_rules(
    grudge: Mapping[str, frozenset[str]],
    ips: Mapping[str, str],
    gateway: str | None = None,
) -> dict[str, list[list[str]]]:
    """INPUT rules per node: drop its grudged peers' addresses and, when `gateway`
    is given (clients cut), the host's too on the nodes cut from clients.
    A node with nothing to drop gets no rules."""
    no_clients = cut_from_clients(grudge) if gateway else frozenset()
    rules: dict[str, list[list[str]]] = {}
    for node, peers in grudge.items():
        sources = [ips[p] for p in sorted(peers)] + (
            [gateway] if gateway and node in no_clients else []
        )
        if sources:
            rules[node] = drop_from(sources)
    return rules
