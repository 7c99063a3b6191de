"""The fault interface: inject, verify, heal, verify-healed; and what faults share.

Like a Jepsen nemesis, a fault is four small steps, each of which the nemesis
records as a FaultEvent. `verify` and `verify_healed` must observe the effect
from outside (a connection that fails, a container state, a measured round
trip), not trust that a command returned 0: they raise `NotYet` until the
effect shows, and the nemesis retries them up to a deadline.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.backend import Backend, Namespaces, Node
from chaos.faults.errors import FaultNotEffective
from chaos.faults.roles import LeaderOf, resolve

Evidence = dict[str, Any]


class NotYet(Exception):
    """Raised by a verification while the effect is not (yet) observable."""


@dataclass(frozen=True)
class Applied:
    """What an injection did: the nodes it resolved to, the backend, the choices drawn."""

    targets: tuple[str, ...]
    backend: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Everything a fault may use: the cluster, its backend, the nodes' network namespaces
    and the system's view (for roles), and the seeded generator for random choices."""

    backend: Backend
    nodes: tuple[Node, ...]
    toolbox: Namespaces
    leader_of: LeaderOf | None
    rng: random.Random
    # Whether this host routes to container addresses (not so on Docker Desktop):
    # only then can verification check the clients' path from the host.
    host_routes: bool = True
    # The run's clock (nanoseconds), on which a fault records the times in its evidence.
    now: Callable[[], int] = time.monotonic_ns

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def resolve(
        self, target: str | Sequence[str] | Mapping[str, int], count: int | None = None
    ) -> tuple[str, ...]:
        return resolve(target, self.names, self.leader_of, self.rng, count)


class Fault(ABC):
    """One fault on chosen nodes. `lasting` faults hold until healed; the others
    (start, restart, unpause) are over once verified and have nothing to heal."""

    lasting = True

    def __init__(self, kind: str, fault_id: int, ctx: Context) -> None:
        self.kind = kind
        self.fault_id = fault_id
        self.ctx = ctx

    @abstractmethod
    def inject(self) -> Applied:
        """Resolve the targets and cause the fault."""

    @abstractmethod
    def verify(self) -> Evidence:
        """Observe the effect; raise NotYet while it does not show."""

    @abstractmethod
    def heal(self) -> None:
        """Undo the fault; safe to call again, and after a partial injection."""

    @abstractmethod
    def verify_healed(self) -> Evidence:
        """Observe that the effect is gone; raise NotYet while it is not."""

    def namespace_nodes(self) -> tuple[str, ...]:
        """Nodes whose network namespace holds this fault's state (rules, qdiscs)."""
        return ()

    def reapply(self, node: str) -> None:  # noqa: B027 - optional hook, most faults hold no namespace state
        """Put the fault back on a node whose namespace was replaced (a restart)."""


def prove(check: Callable[[], Evidence], timeout: float, interval: float = 0.01) -> Evidence:
    """Run `check` until it returns evidence; FaultNotEffective after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            return {**check(), "attempts": attempts}
        except NotYet as pending:
            if time.monotonic() >= deadline:
                raise FaultNotEffective(f"{pending} (after {attempts} attempts)") from None
        time.sleep(interval)
