"""Targets by role, resolved at the moment of injection through the system's own view.

Pure: the system's view comes in as a callable (`leader_of`, the leader's or
primary's node name, or None while there is none) and randomness from a
seeded `random.Random`, so the same seed and the same view pick the same nodes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from chaos.faults.errors import TargetError

LeaderOf = Callable[[], str | None]
ROLES = ("leader", "follower", "random", "minority", "majority", "all")


def minority_size(n: int) -> int:
    """The largest group that is not a majority of `n` nodes (1 of 3, 2 of 5, 1 of 4)."""
    return (n - 1) // 2


def _leader(names: Sequence[str], leader_of: LeaderOf | None) -> str:
    if leader_of is None:
        raise TargetError("role `leader` needs the system's leader view; this system has none")
    leader = leader_of()
    if leader is None:
        raise TargetError("no leader right now: the system reports none")
    if leader not in names:
        raise TargetError(f"the system names {leader!r} as leader, which is not a cluster node")
    return leader


def resolve_one(
    expr: str, names: Sequence[str], leader_of: LeaderOf | None, rng: random.Random
) -> list[str]:
    """The nodes one role or name stands for, in cluster order where there is a choice."""
    if expr in names:
        return [expr]
    if expr == "all":
        return list(names)
    if expr == "random":
        return [rng.choice(list(names))]
    if expr == "leader":
        return [_leader(names, leader_of)]
    if expr == "follower":
        leader = _leader(names, leader_of)
        return [rng.choice([n for n in names if n != leader])]
    if expr in ("minority", "majority"):
        size = minority_size(len(names)) if expr == "minority" else len(names) // 2 + 1
        if size == 0:
            raise TargetError(f"a cluster of {len(names)} has no minority")
        picked = set(rng.sample(list(names), size))
        return [n for n in names if n in picked]
    raise TargetError(f"unknown node or role {expr!r}; nodes: {list(names)}, roles: {ROLES}")


def resolve(
    target: str | Sequence[str],
    names: Sequence[str],
    leader_of: LeaderOf | None,
    rng: random.Random,
) -> tuple[str, ...]:
    """The distinct nodes a target (one role or name, or a list of them) stands for."""
    exprs = [target] if isinstance(target, str) else list(target)
    chosen: list[str] = []
    for expr in exprs:
        chosen.extend(n for n in resolve_one(expr, names, leader_of, rng) if n not in chosen)
    return tuple(chosen)
