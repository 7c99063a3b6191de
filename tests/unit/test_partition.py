"""Partition shapes to grudges to rules: the pure half of the partition fault."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.backend import Node
from chaos.faults import iptables, partition
from chaos.faults.base import Context, NotYet
from chaos.faults.errors import TargetError
from chaos.faults.netsplit import PartitionFault
from chaos.faults.spec import CutSpec

NODES = ["n1", "n2", "n3", "n4", "n5"]
IPS = {n: f"10.0.0.{i}" for i, n in enumerate(NODES, 1)}


def pairs_cut(grudge: partition.Grudge) -> set[frozenset[str]]:
    return {frozenset((a, b)) for a in grudge for b in grudge if partition.cut(grudge, a, b)}


def test_isolate_cuts_the_target_from_everyone_and_keeps_the_rest_together():
    grudge = partition.isolate(NODES, ["n2"])
    assert grudge["n2"] == {"n1", "n3", "n4", "n5"}
    assert all(grudge[n] == {"n2"} for n in NODES if n != "n2")
    assert pairs_cut(grudge) == {frozenset(("n2", n)) for n in NODES if n != "n2"}


def test_isolating_two_nodes_cuts_them_from_each_other_too():
    grudge = partition.isolate(NODES, ["n1", "n2"])
    assert partition.cut(grudge, "n1", "n2")
    assert not partition.cut(grudge, "n3", "n5")


def test_groups_give_each_node_every_node_outside_its_group():
    grudge = partition.groups(NODES, [["n1"], ["n2", "n3"], ["n4", "n5"]])
    assert grudge["n1"] == {"n2", "n3", "n4", "n5"}
    assert grudge["n2"] == {"n1", "n4", "n5"}
    assert not partition.cut(grudge, "n4", "n5")


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([["n1"], ["n2", "n9"]], "unknown"),
        ([["n1", "n2"], ["n2", "n3", "n4", "n5"]], "overlap"),
        ([["n1"], ["n2", "n3"]], "leave out"),
    ],
)
def test_groups_must_name_every_node_exactly_once(components, message):
    with pytest.raises(TargetError, match=message):
        partition.groups(NODES, components)


def test_majority_minority_splits_two_sides():
    grudge = partition.majority_minority(NODES, ["n4", "n1"])
    assert grudge["n1"] == grudge["n4"] == {"n2", "n3", "n5"}
    assert grudge["n3"] == {"n1", "n4"}


def test_a_minority_must_be_smaller_than_half():
    with pytest.raises(TargetError, match="not a minority"):
        partition.majority_minority(["n1", "n2", "n3", "n4"], ["n1", "n2"])


def test_bridge_node_sees_both_halves_which_cannot_see_each_other():
    grudge = partition.bridge(NODES, "n3")
    assert grudge["n3"] == frozenset()
    assert grudge["n1"] == grudge["n2"] == {"n4", "n5"}
    assert grudge["n4"] == grudge["n5"] == {"n1", "n2"}
    assert not partition.cut(grudge, "n3", "n1") and not partition.cut(grudge, "n3", "n5")


def test_bridge_of_three_leaves_one_node_on_each_side():
    grudge = partition.bridge(["n1", "n2", "n3"], "n1")
    assert pairs_cut(grudge) == {frozenset(("n2", "n3"))}


def test_one_way_drops_only_at_the_sender_so_its_packets_still_arrive():
    grudge = partition.one_way(NODES, ["n1"], ["n2"])
    assert grudge["n1"] == {"n2"}
    assert grudge["n2"] == frozenset()  # n2 still hears n1
    rules = partition.drop_rules(grudge, IPS)
    assert rules == {"n1": [["-s", IPS["n2"], "-j", "DROP"]]}


def test_one_way_rejects_a_node_on_both_sides():
    with pytest.raises(TargetError, match="both sides"):
        partition.one_way(NODES, ["n1", "n2"], ["n2"])


def test_rules_drop_only_peer_addresses_so_clients_keep_reaching_nodes():
    grudge = partition.isolate(NODES, ["n1"])
    rules = partition.drop_rules(grudge, IPS)
    sources = {node: [rule[1] for rule in node_rules] for node, node_rules in rules.items()}
    assert sources["n1"] == [IPS[n] for n in NODES[1:]]
    assert sources["n3"] == [IPS["n1"]]
    assert all("10.0.0.254" not in s for s in sources.values())


def test_cutting_clients_drops_the_gateway_on_the_nodes_that_lose_most():
    grudge = partition.majority_minority(NODES, ["n1", "n2"])
    assert partition.cut_from_clients(grudge) == {"n1", "n2"}
    rules = partition.drop_rules(grudge, IPS, gateway="10.0.0.254")
    assert ["-s", "10.0.0.254", "-j", "DROP"] in rules["n1"]
    assert ["-s", "10.0.0.254", "-j", "DROP"] not in rules["n3"]


def test_probe_plan_probes_each_dropping_node_and_one_connected_pair():
    grudge = partition.isolate(["n1", "n2", "n3"], ["n1"])
    plan = partition.probe_plan(["n1", "n2", "n3"], grudge)
    assert plan.must_fail == {"n1": ("n2", "n3"), "n2": ("n1",), "n3": ("n1",)}
    assert plan.must_succeed == ("n2", "n3")


def test_a_two_way_split_of_two_nodes_has_no_pair_left_to_succeed():
    grudge = partition.groups(["n1", "n2"], [["n1"], ["n2"]])
    assert partition.probe_plan(["n1", "n2"], grudge).must_succeed is None


def test_install_script_recreates_the_fault_chain_and_jumps_to_it_first():
    script = iptables.install("iptables-nft", 7, "INPUT", [["-s", "10.0.0.2", "-j", "DROP"]])
    assert script.startswith("if iptables-nft -w -n -L chaos-7-in")  # removes any stale chain
    assert "iptables-nft -w -N chaos-7-in" in script
    assert "iptables-nft -w -A chaos-7-in -s 10.0.0.2 -j DROP" in script
    assert script.endswith("iptables-nft -w -I INPUT 1 -j chaos-7-in")


def test_remove_script_is_a_no_op_without_the_chain():
    script = iptables.remove("iptables-legacy", 3, "OUTPUT")
    assert script.startswith("if iptables-legacy -w -n -L chaos-3-out >/dev/null 2>&1; then")
    assert "-D OUTPUT -j chaos-3-out" in script and script.endswith("fi")


def test_rule_count_reads_the_first_rule_of_a_listing():
    listing = (
        "Chain chaos-4-out (1 references)\n"
        "    pkts      bytes target     prot opt in     out     source   destination\n"
        "      22     1320 RETURN     0    --  *      *       0.0.0.0/0 0.0.0.0/0  mark match\n"
        "      40     2400 NFQUEUE    0    --  *      *       0.0.0.0/0 10.0.0.3\n"
    )
    assert iptables.rule_count(listing) == 22


@st.composite
def split(draw: st.DrawFn) -> list[list[str]]:
    """A random split of a random cluster into non-empty groups."""
    nodes = [f"n{i}" for i in range(draw(st.integers(2, 9)))]
    labels = draw(st.lists(st.integers(0, 3), min_size=len(nodes), max_size=len(nodes)))
    groups: dict[int, list[str]] = {}
    for node, label in zip(nodes, labels, strict=True):
        groups.setdefault(label, []).append(node)
    return list(groups.values())


@given(split())
def test_groups_cut_exactly_the_pairs_in_different_groups(components):
    nodes = [n for group in components for n in group]
    grudge = partition.groups(nodes, components)
    side = {n: i for i, group in enumerate(components) for n in group}
    for a in nodes:
        assert a not in grudge[a]
        for b in nodes:
            assert partition.cut(grudge, a, b) == (side[a] != side[b])
            assert (b in grudge[a]) == (a in grudge[b])  # complete grudges are symmetric


@given(split())
def test_probe_plan_proves_every_rule_and_never_expects_a_cut_pair_to_answer(components):
    nodes = [n for group in components for n in group]
    grudge = partition.groups(nodes, components)
    plan = partition.probe_plan(nodes, grudge)
    assert {(n, p) for n, ps in plan.must_fail.items() for p in ps} == {
        (n, p) for n in nodes for p in grudge[n]
    }
    if plan.must_succeed:
        assert not partition.cut(grudge, *plan.must_succeed)
    else:
        assert all(len(group) == 1 for group in components)


def test_a_probe_that_gave_no_answer_is_not_yet_evidence() -> None:
    """A node restarting under the partition may print nothing: the proof tries again."""
    nodes = tuple(Node(f"n{i}", f"c{i}", f"10.0.0.{i}") for i in (1, 2, 3))
    ctx = Context(backend=None, nodes=nodes, toolbox=None, leader_of=None, rng=random.Random(0))  # type: ignore[arg-type]
    fault = PartitionFault(CutSpec(kind="isolate", target="n3"), 1, ctx)
    fault.probes = partition.ProbePlan({"n1": ("n3",), "n3": ("n1",)}, None)
    silent = "10.0.0.1:9 reached=0 lost=1 median_us=-1\n"
    with pytest.raises(NotYet, match="no probe answer from n1 towards n3"):
        fault.judge({"n1": "", "n3": silent}, healed=False)
    fault._clients = lambda healed: {}  # type: ignore[method-assign]  # no host to probe here
    both = {"n1": "10.0.0.3:9 reached=0 lost=1 median_us=-1\n", "n3": silent}
    assert fault.judge(both, healed=False)["silent"] == [("n1", "n3"), ("n3", "n1")]
