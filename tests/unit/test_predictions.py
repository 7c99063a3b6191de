"""Warnings from a system's own model, before anything starts: a fault that heals before the
system could notice it measures the heal, not the failure detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.experiment import Experiment, review_paths
from chaos.experiment.predictions import early_heals


def experiment(system: str, fault: dict[str, Any], **cluster: Any) -> Experiment:
    workload = {"kind": "membership" if system == "serf" else "unique-writes"}
    data = {"title": "t", "system": system, "workload": workload, "faults": [fault]}
    return Experiment.model_validate(data | ({"cluster": cluster} if cluster else {}))


def test_a_cassandra_kill_shorter_than_phi_conviction_is_warned_of() -> None:
    (line,) = early_heals(experiment("cassandra", {"kind": "kill", "target": "n3", "at": 5,
                                                   "duration": 10}))  # fmt: skip
    assert line.startswith("faults[0]: kill heals after 10s, before cassandra's own model")
    assert early_heals(experiment("cassandra", {"kind": "kill", "at": 5, "duration": 30})) == []


def test_a_heal_inside_the_band_may_come_first() -> None:
    pause = {"kind": "pause", "target": "leader", "at": 5, "duration": 10}
    # syncLimit 5 x tickTime 2000 ms: the followers drop a silent leader after 10-12 s.
    (line,) = early_heals(experiment("zookeeper", pause, settings={"sync_limit": 5}))
    assert "possibly before zookeeper's own model detects it (10.00-12.00 s" in line
    assert early_heals(experiment("zookeeper", pause | {"duration": 12},
                                  settings={"sync_limit": 5})) == []  # fmt: skip


def test_the_band_follows_the_settings() -> None:
    kill = {"kind": "kill", "target": "leader", "at": 5, "duration": 3}
    assert early_heals(experiment("etcd", kill)) == []
    assert early_heals(experiment("etcd", kill, settings={"election_timeout_ms": 4000}))


def test_a_random_duration_is_judged_by_its_shortest_draw() -> None:
    fault = {"kind": "kill", "target": "n2", "random": {"at": [5, 6], "duration": [5, 40]}}
    assert early_heals(experiment("cassandra", fault))


@pytest.mark.parametrize("system", ["etcd", "zookeeper"])
def test_a_fault_off_the_leader_of_a_consensus_system_predicts_no_detection(system) -> None:
    fault = {"kind": "kill", "target": "follower", "at": 5, "duration": 1}
    assert early_heals(experiment(system, fault)) == []


def test_only_the_flapping_partitions_of_gossip_systems_heal_early_in_the_catalogue() -> None:
    review = review_paths()
    assert review.errors == []
    warned = {Path(line.split(":")[0]) for line in review.warnings}
    assert {(p.parent.name, p.stem) for p in warned} == {
        (system, "flapping-partition") for system in ("cassandra", "redis", "serf")
    }


def test_validate_warns_with_the_file_and_refuses_nothing_for_it(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text(
        "title: t\nsystem: cassandra\nworkload: {kind: unique-writes}\n"
        "faults:\n  - {kind: kill, target: n2, at: 5s, duration: 10s}\n"
    )
    review = review_paths([path])
    assert review.errors == []
    assert review.warnings == [
        f"{path}: faults[0]: kill heals after 10s, before cassandra's own model detects it "
        "(17.42-19.42 s at these settings)"
    ]
