"""Targets by role, resolved at the moment of injection through the system's own view.

Pure: the system's view comes in as a callable (`leader_of`, the leader's or
primary's node name, or None while there is none) and randomness from a
seeded `random.Random`, so the same seed and the same view pick the same nodes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from chaos.faults.errors import TargetError

LeaderOf = Callable[[], str | None]
ROLES = ("leader", "follower", "random", "minority", "majority", "all-but-one", "all")
# Roles that draw among several nodes, so `count` can say how many: the others fix it.
COUNTED_ROLES = ("random", "follower")


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


def _pool(expr: str, names: Sequence[str], leader_of: LeaderOf | None) -> tuple[list[str], int]:
    """The nodes a role or name can stand for, and how many of them it strikes by default."""
    if expr in names:
        return [expr], 1
    if expr == "all":
        return list(names), len(names)
    if expr == "random":
        return list(names), 1
    if expr == "leader":
        return [_leader(names, leader_of)], 1
    if expr == "follower":
        leader = _leader(names, leader_of)
        return [n for n in names if n != leader], 1
    if expr == "minority":
        if minority_size(len(names)) == 0:
            raise TargetError(f"a cluster of {len(names)} has no minority")
        return list(names), minority_size(len(names))
    if expr == "majority":
        return list(names), len(names) // 2 + 1
    if expr == "all-but-one":
        return list(names), len(names) - 1
    raise TargetError(f"unknown node or role {expr!r}; nodes: {list(names)}, roles: {ROLES}")


def count_problem(target: object, count: int | None, n: int) -> str | None:
    """What is wrong with striking `count` nodes of `target` in a cluster of `n`, known
    before any container starts; None if nothing is."""
    if isinstance(target, Mapping):
        wanted = int(target["any"])
        if count is not None:
            return "give either {any: k} or count, not both"
        return None if wanted <= n else f"any: {wanted} asks for more than the {n} nodes"
    if count is None:
        return None
    if target not in COUNTED_ROLES:
        return f"count applies to the roles {' and '.join(COUNTED_ROLES)}, not {target!r}"
    pool = n - 1 if target == "follower" else n
    return None if count <= pool else f"{count} {target} node(s) asked for; there are {pool}"


def resolve_one(
    expr: str,
    names: Sequence[str],
    leader_of: LeaderOf | None,
    rng: random.Random,
    count: int | None = None,
) -> list[str]:
    """The nodes one role or name stands for (`count` of them where given), in cluster order;
    a choice among more is drawn from `rng`."""
    pool, default = _pool(expr, names, leader_of)
    wanted = default if count is None else count
    if wanted > len(pool):
        raise TargetError(f"{expr} stands for {len(pool)} node(s) here, not {wanted}")
    picked = set(pool if wanted == len(pool) else rng.sample(pool, wanted))
    return [n for n in names if n in picked]


def resolve(
    target: str | Sequence[str] | Mapping[str, int],
    names: Sequence[str],
    leader_of: LeaderOf | None,
    rng: random.Random,
    count: int | None = None,
) -> tuple[str, ...]:
    """The distinct nodes a target stands for: one role or name (`count` of them), a list of
    them, or `{any: k}` (k nodes drawn from `rng`)."""
    if isinstance(target, Mapping):
        return tuple(resolve_one("random", names, leader_of, rng, int(target["any"])))
    if isinstance(target, str):
        return tuple(resolve_one(target, names, leader_of, rng, count))
    chosen: list[str] = []
    for expr in target:
        chosen.extend(n for n in resolve_one(expr, names, leader_of, rng) if n not in chosen)
    return tuple(chosen)
