"""Who got no service during a fault, and for how long: per shard, whole cluster, per client.

Definitions (docs/metrics.md says the same in prose):

- An operation is *served* when the system gave a real answer: `ok`, or a
  refused compare-and-set (the register held another value), unless the run
  records that its refusals came from an unsynced local read.
- An **unavailability window** of a set of operations opens at the invocation
  of one of them that was not served (at the fault's request, if that
  operation was already in flight) and closes at the first completion that
  served an operation of the set invoked at or after that opening. The next
  window can only open at an invocation after that close. A window that never
  closes has `end_ns` None.
- A **shard's unavailability** is the longest window of the operations on its
  keys (a key's hash slot or token range, where the system shards its keys;
  a system serving every key as one group has one shard, "all"). The headline
  figure is the worst shard.
- A **whole-cluster blackout** is a window of all operations in which every
  shard and every client had an operation that was not served: nothing,
  anywhere, was served. Every one in the fault's scope is reported. A
  blackout shorter than one client's interval between operations cannot be
  seen: that interval is the figure's resolution.
- A **client's windows** are those of its own operations. Clients bound to a
  node the fault took down (killed, stopped, paused, or cut off from its
  clients) are reported as that node's downtime, never as the cluster's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from chaos.checks.windows import FaultWindow
from chaos.history import Op, served

OpPair = tuple[Op, Op | None]
ONE_GROUP = "all"
INF = float("inf")


@dataclass(frozen=True)
class Window:
    """A stretch without service, on the run's clock.

    `end_ns` None: service had not come back when the fault's scope ended
    (`open_until_ns`), so its duration is unknown: at least that long.
    """

    start_ns: int
    end_ns: int | None
    open_until_ns: int | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e9

    @property
    def at_least_s(self) -> float:
        """Its duration, or for a window still open, how long it had lasted at the scope's end."""
        end = self.end_ns if self.end_ns is not None else self.open_until_ns or self.start_ns
        return (end - self.start_ns) / 1e9

    def offset_s(self, origin_ns: int) -> float:
        """When it started, in seconds after `origin_ns` (the fault's request)."""
        return (self.start_ns - origin_ns) / 1e9


@dataclass(frozen=True)
class ShardAvailability:
    """One shard's windows during a fault: how many, and the longest."""

    shard: str
    keys: tuple[str, ...]
    windows: int
    longest: Window | None


@dataclass(frozen=True)
class ClientAvailability:
    """One client's windows during a fault (`node`: the node it is bound to, if any)."""

    process: int
    node: str | None
    windows: int
    longest: Window | None


@dataclass(frozen=True)
class NodeDowntime:
    """How long the clients bound to a downed node got nothing from it, and how soon after
    the heal was issued they were served again (`back_after_heal_s`)."""

    node: str
    processes: tuple[int, ...]
    longest: Window | None
    back_after_heal_s: float | None = None


@dataclass(frozen=True)
class Availability:
    """Everything a fault did to service; see the module docstring for each definition."""

    shards: tuple[ShardAvailability, ...]
    blackouts: tuple[Window, ...]
    clients: tuple[ClientAvailability, ...]
    node_downtime: tuple[NodeDowntime, ...]
    resolution_s: float | None

    @property
    def worst_shard(self) -> ShardAvailability | None:
        """The shard with the longest window (an open one ranked by how long it had lasted)."""
        hit = [s for s in self.shards if s.longest is not None]
        return max(hit, key=lambda s: _length(s.longest), default=None)

    @property
    def unavailability_s(self) -> float | None:
        """The worst shard's longest window in seconds; 0 with none; None: never back."""
        worst = self.worst_shard
        return 0.0 if worst is None or worst.longest is None else worst.longest.duration_s

    @property
    def longest_blackout(self) -> Window | None:
        return max(self.blackouts, key=_length, default=None)

    @property
    def blackout_s(self) -> float | None:
        """The longest whole-cluster blackout in seconds; 0 with none; None: never back."""
        longest = self.longest_blackout
        return 0.0 if longest is None else longest.duration_s


def _length(window: Window | None) -> float:
    """How a window ranks: by how long it lasted, an open one by how long it had lasted."""
    return -1.0 if window is None else window.at_least_s


def windows(
    pairs: Sequence[OpPair], start_ns: int, end_ns: int, refusals: bool = True
) -> list[Window]:
    """The unavailability windows of `pairs` (sorted by invoke) that open in [start, end).

    Linear: the earliest served completion among the operations invoked at or
    after each one is computed once, from the end.
    """
    earliest: list[float] = [INF] * (len(pairs) + 1)
    for index in range(len(pairs) - 1, -1, -1):
        completion = pairs[index][1]
        here = completion.time if completion and served(completion, refusals) else INF
        earliest[index] = min(here, earliest[index + 1])
    found: list[Window] = []
    for index, (invoke, completion) in enumerate(pairs):
        if invoke.time >= end_ns:
            break
        if served(completion, refusals):
            continue
        if completion is not None and completion.time < start_ns:
            continue  # it failed before the fault: not this fault's doing
        if found and invoke.time < found[-1].end_ns:  # type: ignore[operator]
            continue  # inside the window just closed: it belongs to that one
        close = earliest[index]
        opened = max(invoke.time, start_ns)
        if close == INF:
            found.append(Window(opened, None, max(end_ns, opened)))
            break
        found.append(Window(opened, int(close)))
    return found


def _longest(found: Sequence[Window]) -> Window | None:
    return max(found, key=_length, default=None)


def availability(
    pairs: Sequence[OpPair],
    fault: FaultWindow,
    shard_of: Callable[[str | None], str],
    refusals: bool = True,
) -> Availability:
    """Shards, blackouts, clients and downed nodes' downtime for one fault.

    `pairs` are the workload's operations sorted by invoke time; `shard_of`
    names the shard of a key.
    """
    start, end = fault.start_ns, fault.scope_end_ns
    in_scope = [
        p for p in pairs if p[0].time < end and (p[1] is None or p[1].time >= fault.scope_start_ns)
    ]

    def over(selected: Sequence[OpPair]) -> list[Window]:
        return windows(selected, start, end, refusals)

    by_shard: dict[str, list[OpPair]] = defaultdict(list)
    by_process: dict[int, list[OpPair]] = defaultdict(list)
    for pair in in_scope:
        by_shard[shard_of(pair[0].key)].append(pair)
        by_process[pair[0].process].append(pair)
    shards = []
    for shard, selected in sorted(by_shard.items()):
        found = over(selected)
        keys = tuple(sorted({str(p[0].key) for p in selected}))
        shards.append(ShardAvailability(shard, keys, len(found), _longest(found)))
    clients, downed = [], defaultdict(list)
    for process, selected in sorted(by_process.items()):
        node = selected[0][0].node
        if node is not None and node in fault.downed:
            downed[node].append(process)
            continue
        found = over(selected)
        clients.append(ClientAvailability(process, node, len(found), _longest(found)))
    downtime = tuple(
        NodeDowntime(
            node,
            tuple(processes),
            _longest(over(own := [p for p in in_scope if p[0].process in processes])),
            _back_after(own, fault.heal_requested_ns, refusals),
        )
        for node, processes in sorted(downed.items())
    )
    return Availability(
        shards=tuple(shards),
        blackouts=tuple(_blackouts(in_scope, over(in_scope), shard_of, refusals)),
        clients=tuple(clients),
        node_downtime=downtime,
        resolution_s=_client_interval(by_process),
    )


def _back_after(pairs: Sequence[OpPair], heal_ns: int | None, refusals: bool) -> float | None:
    """Seconds from the heal's request to the first answer served for an operation invoked
    after it."""
    if heal_ns is None:
        return None
    served_at = [
        completion.time
        for invoke, completion in pairs
        if invoke.time >= heal_ns and completion is not None and served(completion, refusals)
    ]
    return (min(served_at) - heal_ns) / 1e9 if served_at else None


def _blackouts(
    pairs: Sequence[OpPair],
    candidates: Sequence[Window],
    shard_of: Callable[[str | None], str],
    refusals: bool,
) -> list[Window]:
    """The windows of all operations in which every shard and every client went unserved.

    Within a window of all operations nothing was served before it closed; it
    is a blackout when the unserved operations invoked in it reach every shard
    and every client.
    """
    shards = {shard_of(p[0].key) for p in pairs}
    processes = {p[0].process for p in pairs}
    invokes = [p[0].time for p in pairs]
    found = []
    for window in candidates:
        close = bisect_left(invokes, window.end_ns) if window.end_ns is not None else len(pairs)
        inside = [
            invoke
            for invoke, completion in pairs[bisect_left(invokes, window.start_ns) : close]
            if not served(completion, refusals)
        ]
        if {shard_of(op.key) for op in inside} >= shards and {
            op.process for op in inside
        } >= processes:
            found.append(window)
    return found


def _client_interval(by_process: Mapping[int, Sequence[OpPair]]) -> float | None:
    """The median gap between one client's invocations: how short a blackout can be seen."""
    gaps = sorted(
        later[0].time - earlier[0].time
        for ops in by_process.values()
        for earlier, later in pairwise(ops)
    )
    return gaps[len(gaps) // 2] / 1e9 if gaps else None
