"""Targets by role, resolved through the system's view and a seeded generator."""

from __future__ import annotations

import random
import re

import pytest

from chaos.faults.errors import TargetError
from chaos.faults.roles import count_problem, resolve

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


def test_count_draws_that_many_distinct_nodes_of_the_role():
    followers = [resolve("follower", NODES, lambda: "n3", random.Random(s), 2) for s in range(40)]
    assert all(len(set(f)) == 2 and "n3" not in f for f in followers)
    assert len(set(followers)) > 1, "the seed decides which followers"
    assert resolve("follower", NODES, lambda: "n3", random.Random(0), 4) == ("n1", "n2", "n4", "n5")


def test_any_k_and_all_but_one():
    drawn = {pick({"any": 3}, seed=s) for s in range(40)}
    assert all(len(set(d)) == 3 for d in drawn) and len(drawn) > 1
    assert all(len(pick("all-but-one", seed=s)) == 4 for s in range(10))


@pytest.mark.parametrize(
    ("target", "count", "n", "message"),
    [("follower", 3, 3, "there are 2"), ("random", 4, 3, "there are 3"),
     ("leader", 2, 5, "not 'leader'"), ("minority", 1, 5, "not 'minority'"),
     (["n1", "n2"], 1, 5, "not \\['n1', 'n2'\\]"), ({"any": 6}, None, 5, "more than the 5"),
     ({"any": 2}, 2, 5, "not both")],
)  # fmt: skip
def test_count_problems_are_known_before_anything_starts(target, count, n, message):
    assert re.search(message, count_problem(target, count, n))


@pytest.mark.parametrize(
    ("target", "count", "n"), [("follower", 2, 3), ("random", 3, 3), ({"any": 5}, None, 5),
                               ("leader", None, 3), (["n1"], None, 3)]
)  # fmt: skip
def test_counts_the_cluster_can_give_have_no_problem(target, count, n):
    assert count_problem(target, count, n) is None


def test_a_count_beyond_the_role_fails_at_injection_too():
    with pytest.raises(TargetError, match="stands for 4 node"):
        resolve("follower", NODES, lambda: "n3", random.Random(0), 5)
