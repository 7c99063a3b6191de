"""Targets by role, resolved through the system's view and a seeded generator."""

from __future__ import annotations

import random

import pytest

from chaos.faults.errors import TargetError
from chaos.faults.roles import resolve

NODES = ("n1", "n2", "n3", "n4", "n5")


def pick(target, leader="n3", seed=0):
    return resolve(target, NODES, lambda: leader, random.Random(seed))


def test_leader_is_what_the_system_says_at_the_moment_of_asking():
    views = iter(["n2", "n5"])
    rng = random.Random(0)
    assert resolve("leader", NODES, lambda: next(views), rng) == ("n2",)
    assert resolve("leader", NODES, lambda: next(views), rng) == ("n5",)


def test_follower_is_never_the_leader():
    assert all(pick("follower", seed=s) != ("n3",) for s in range(50))


def test_minority_and_majority_sizes():
    assert len(pick("minority")) == 2
    assert len(pick("majority")) == 3


def test_named_nodes_lists_and_all():
    assert pick("n4") == ("n4",)
    assert pick(["n4", "leader", "n4"]) == ("n4", "n3")
    assert pick("all") == NODES


def test_the_same_seed_picks_the_same_random_nodes():
    assert [pick("random", seed=9) for _ in range(3)] == [pick("random", seed=9)] * 3
    assert {pick("random", seed=s) for s in range(30)} == {(n,) for n in NODES}


@pytest.mark.parametrize(
    ("target", "leader", "message"),
    [("leader", None, "no leader right now"), ("n9", "n1", "unknown node or role"),
     ("leader", "x", "not a cluster node")],
)  # fmt: skip
def test_unresolvable_targets_say_why(target, leader, message):
    with pytest.raises(TargetError, match=message):
        pick(target, leader=leader)


def test_leader_needs_a_leader_view():
    with pytest.raises(TargetError, match="leader view"):
        resolve("leader", NODES, None, random.Random(0))
