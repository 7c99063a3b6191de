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
    with pytest.raises(ValueError, match=r"unknown etcd setting.*election_timeout_ms"):
        make_system("etcd", {"election_timeout": 5})


def test_unknown_system_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSystem, match="expected one of: etcd, zookeeper"):
        make_system("consul")


def test_settings_reach_the_compose_environment() -> None:
    env = make_system("etcd", {"election_timeout_ms": 3000}).compose_env()
    assert env["ETCD_ELECTION_TIMEOUT"] == "3000"
    assert make_system("redis").compose_env() == {"REDIS_CLUSTER_NODE_TIMEOUT": "5000"}
