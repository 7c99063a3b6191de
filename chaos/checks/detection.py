"""When the system itself noticed a fault: its own verdict, never a client's.

Each system names its rule (its module's `detection`, recorded in run.json):

- `leader` (consensus systems): a fault on the leader is detected when a node
  other than the old leader and the fault's targets is seen leading. The old
  leader is the one the observers named in their last answers *before the
  fault was issued*. These systems' own views say nothing about a follower's
  health, so a fault elsewhere has no detection to observe.
- `membership` (gossip systems): detected when a peer (a node that is not a
  target) marks a target down in its own view (a member declared failed, a
  FAIL flag, a conviction by a phi-accrual detector). A peer's suspicion
  (a view's `suspect`) is reported apart.

Both report the first peer and all peers. The client driver's own host-down
events (observer `driver`) are reported as "the client noticed": a driver
notices a dead socket in milliseconds, which says nothing about the protocol.

Every time is seconds after the fault's request. Observers poll every 100 ms,
so each detection also carries `not_before_s`: the same observer's previous
answer, which did not show it yet. The true moment lies in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from chaos.checks.windows import FaultWindow
from chaos.history import DRIVER_OBSERVER, Observation

DetectionRule = Literal["leader", "membership"]
SETTLED_ROLES = frozenset({"leader", "follower"})


@dataclass(frozen=True)
class Detection:
    """The system's own verdict on one fault; None where it was never seen.

    `first_s`: the first peer showing it (for `leader`: the new leader first
    seen); `all_s`: every peer that answered during the fault showing it;
    `suspected_s`: a peer first suspecting a target (`suspect` in its view);
    `client_noticed_s`: the client driver's first host-down event for a target.
    """

    rule: str
    observable: bool
    first_s: float | None = None
    first_by: str | None = None
    not_before_s: float | None = None
    all_s: float | None = None
    peers: tuple[str, ...] = ()
    suspected_s: float | None = None
    old_leader: str | None = None
    new_leader: str | None = None
    client_noticed_s: float | None = None
    note: str = ""


def detect(
    observations: Sequence[Observation], fault: FaultWindow, rule: DetectionRule
) -> Detection:
    """The detection of `fault` under `rule`, from observations sorted by time."""
    before = [o for o in observations if o.time < fault.requested_ns]
    during = [o for o in observations if fault.requested_ns <= o.time < fault.scope_end_ns]
    noticed = _first(
        o
        for o in during
        if o.observer == DRIVER_OBSERVER and any(o.members.get(t) == "down" for t in fault.targets)
    )
    client = _since(noticed, fault)
    during = [o for o in during if o.observer != DRIVER_OBSERVER]
    peers = tuple(sorted({o.observer for o in during} - set(fault.targets)))
    if rule == "leader":
        return _new_leader(before, during, fault, peers, client)
    return _marked_down(before, during, fault, peers, client)


def _first(observations: Iterable[Observation]) -> Observation | None:
    return next(iter(observations), None)


def _since(observation: Observation | None, fault: FaultWindow) -> float | None:
    if observation is None:
        return None
    return (observation.time - fault.requested_ns) / 1e9


def _not_before(found: Observation, everything: Sequence[Observation], fault: FaultWindow) -> float:
    """The same observer's answer just before `found`: the fault was not yet seen then."""
    earlier = [o.time for o in everything if o.observer == found.observer and o.time < found.time]
    return max((max(earlier, default=fault.requested_ns) - fault.requested_ns) / 1e9, 0.0)


def _old_leader(before: Sequence[Observation]) -> str | None:
    latest = {o.observer: o for o in before if o.observer != DRIVER_OBSERVER}
    votes = Counter(o.leader for o in latest.values() if o.leader)
    return votes.most_common(1)[0][0] if votes else None


def _new_leader(
    before: Sequence[Observation],
    during: Sequence[Observation],
    fault: FaultWindow,
    peers: tuple[str, ...],
    client: float | None,
) -> Detection:
    old = _old_leader(before)
    rule = "new leader"
    if old is None or old not in fault.targets:
        note = (
            "no leader was seen before the fault"
            if old is None
            else f"the fault did not strike the leader ({old}); this system's own view "
            "reports no verdict on other nodes"
        )
        return Detection(rule, False, old_leader=old, client_noticed_s=client, note=note)
    excluded = {old, *fault.targets}
    found = _first(o for o in during if o.leader and o.leader not in excluded)
    if found is None:
        return Detection(rule, True, peers=peers, old_leader=old, client_noticed_s=client)
    new = found.leader
    later = [o for o in during if o.time >= found.time]
    return Detection(
        rule,
        True,
        first_s=_since(found, fault),
        first_by=found.observer,
        not_before_s=_not_before(found, [*before, *during], fault),
        all_s=_all_peers(
            later,
            peers,
            fault,
            lambda o: o.leader == new or (o.leader is None and o.role == "follower"),
        ),
        peers=peers,
        old_leader=old,
        new_leader=new,
        client_noticed_s=client,
    )


def _all_peers(
    observations: Sequence[Observation],
    peers: tuple[str, ...],
    fault: FaultWindow,
    shows: Callable[[Observation], bool],
) -> float | None:
    """Seconds from the request until every peer has shown it once; None if one never did."""
    first: dict[str, int] = {}
    for o in observations:
        if o.observer in peers and shows(o):
            first.setdefault(o.observer, o.time)
    if not peers or first.keys() < set(peers):
        return None
    return (max(first.values()) - fault.requested_ns) / 1e9


def _marked_down(
    before: Sequence[Observation],
    during: Sequence[Observation],
    fault: FaultWindow,
    peers: tuple[str, ...],
    client: float | None,
) -> Detection:
    rule = "peers mark it down"
    from_peers = [o for o in during if o.observer in peers]
    found = _first(o for o in from_peers if any(o.members.get(t) == "down" for t in fault.targets))
    suspected = _first(
        o for o in from_peers if any(o.members.get(t) in ("down", "suspect") for t in fault.targets)
    )
    return Detection(
        rule,
        True,
        first_s=_since(found, fault),
        first_by=found.observer if found else None,
        not_before_s=_not_before(found, [*before, *during], fault) if found else None,
        all_s=_all_peers(
            from_peers,
            peers,
            fault,
            lambda o: all(o.members.get(t) == "down" for t in fault.targets),
        ),
        peers=peers,
        suspected_s=_since(suspected, fault),
        client_noticed_s=client,
    )
