"""The pure parts of each system module: parsing views and validating settings."""

from __future__ import annotations

import pytest

from chaos.systems import UnknownSystem, make_system
from chaos.systems.redis import Redis
from chaos.systems.serf import Serf
from chaos.systems.zookeeper import ZooKeeper

CLUSTER_NODES = {  # as redis-py parses `CLUSTER NODES`
    "172.18.0.2:6379": {"flags": "myself,master", "master_id": "-"},
    "172.18.0.3:6379": {"flags": "master,fail?", "master_id": "-"},
    "172.18.0.4:6379": {"flags": "master,fail", "master_id": "-"},
    "172.18.0.5:6379": {"flags": "slave", "master_id": "a1"},
}


def test_cluster_nodes_flags_become_up_suspect_and_down() -> None:
    names = {"172.18.0.2": "n1", "172.18.0.3": "n2", "172.18.0.4": "n3", "172.18.0.5": "n4"}
    view = Redis.observation("n1", CLUSTER_NODES, names, 7)
    assert view.role == "master"
    assert view.members == {"n1": "up", "n2": "suspect", "n3": "down", "n4": "up"}
    assert view.raw["flags"]["n3"] == ["fail", "master"]


def test_etcd_status_names_leader_by_member_id() -> None:
    etcd = make_system("etcd")
    etcd._member_names = {"11": "n1", "22": "n2"}
    status = {"header": {"member_id": "11"}, "leader": "22", "raftTerm": "4", "raftIndex": "9"}
    view = etcd.observation("n1", status, 5)
    assert (view.role, view.leader, view.raw) == ("follower", "n2", {"term": 4, "raft_index": 9})


def test_zookeeper_only_the_leader_names_the_leader() -> None:
    assert ZooKeeper.observation("n2", "leader", 1).leader == "n2"
    assert ZooKeeper.observation("n1", "follower", 1).leader is None


def test_serf_statuses_other_than_alive_are_down() -> None:
    view = Serf.observation("n1", {"n1": "alive", "n2": "failed", "n3": "left"}, 3)
    assert view.members == {"n1": "up", "n2": "down", "n3": "down"}


def test_unknown_setting_names_the_expected_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown field; expected one of election_timeout_ms"):
        make_system("etcd", {"election_timeout": 5})


def test_settings_are_checked_against_the_products_ranges() -> None:
    with pytest.raises(ValueError, match="expected an integer from 10 to 60000"):
        make_system("etcd", {"election_timeout_ms": -5})
    with pytest.raises(ValueError, match="must be at least 5 x heartbeat_interval_ms"):
        make_system("etcd", {"election_timeout_ms": 100, "heartbeat_interval_ms": 50})
    with pytest.raises(ValueError, match="'lan', 'wan' or 'local'"):
        make_system("serf", {"profile": "bogus"})


def test_unknown_system_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSystem, match=r"expected one of: .*etcd.*zookeeper"):
        make_system("consul")


def test_settings_reach_every_node() -> None:
    specs = make_system("etcd", {"election_timeout_ms": 3000}).node_specs("etcd:test")
    assert {spec.environment["ETCD_ELECTION_TIMEOUT"] for spec in specs} == {"3000"}
    (redis,) = {spec.command for spec in make_system("redis").node_specs("redis:test")}
    assert redis[redis.index("--cluster-node-timeout") + 1] == "5000"


@pytest.mark.parametrize(
    ("name", "nodes", "settings"),
    [("etcd", 5, {}), ("zookeeper", 1, {}), ("serf", 64, {}), ("redis", 12, {})],
)
def test_a_cluster_of_any_allowed_size_names_its_nodes_in_order(
    name: str, nodes: int, settings: dict
) -> None:
    specs = make_system(name, settings, nodes).node_specs("image")
    assert [spec.name for spec in specs] == [f"n{i}" for i in range(1, nodes + 1)]


def test_every_etcd_member_knows_the_whole_initial_cluster() -> None:
    specs = make_system("etcd", nodes=5).node_specs("etcd:test")
    initial = specs[4].environment["ETCD_INITIAL_CLUSTER"].split(",")
    assert initial == [f"n{i}=http://n{i}:2380" for i in range(1, 6)]


def test_a_zookeeper_ensemble_lists_every_server_and_one_runs_standalone() -> None:
    five = make_system("zookeeper", nodes=5).node_specs("zk")
    assert five[0].environment["ZOO_SERVERS"].count("server.") == 5
    assert [spec.environment["ZOO_MY_ID"] for spec in five] == ["1", "2", "3", "4", "5"]
    (alone,) = make_system("zookeeper", nodes=1).node_specs("zk")
    assert alone.environment["ZOO_STANDALONE_ENABLED"] == "true"


@pytest.mark.parametrize(
    ("name", "nodes", "settings", "message"),
    [
        ("etcd", 11, {}, "etcd runs 1 to 9 nodes here"),
        ("cassandra", 2, {}, "cassandra runs 3 to 5 nodes here"),
        ("redis", 7, {}, "7 nodes with 1 replicas per master is not 3 to 8 masters"),
        ("redis", 2, {"replicas_per_master": 0}, "not 3 to 8 masters"),
        ("serf", 65, {}, "serf runs 3 to 64 nodes here"),
    ],
)
def test_cluster_sizes_outside_the_systems_range_are_refused(
    name: str, nodes: int, settings: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_system(name, settings, nodes)
