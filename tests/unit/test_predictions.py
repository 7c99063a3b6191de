"""What a system's own model predicts, known before anything starts: warnings of a fault that
heals before the system could notice it (such a run measures the heal, not the failure
detector), and the bands every run records in run.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.artefacts import RunRecord, read_run
from chaos.experiment import Experiment, review_paths
from chaos.experiment.predictions import early_heals, run_predictions
from chaos.runner import Run

RECORDED = Path(__file__).parents[1] / "fixtures" / "recorded-runs"


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


def test_each_fault_of_a_run_records_its_bands_at_the_settings_that_ran() -> None:
    pause = {"kind": "pause", "target": "leader", "at": 5, "duration": 20}
    follower = {"kind": "kill", "target": "follower", "at": 30, "duration": 5}
    exp = Experiment.model_validate(
        {
            "title": "t",
            "system": "zookeeper",
            "workload": {"kind": "register"},
            "faults": [pause, follower],
        }
    )
    # The settings that ran, not the file's: syncLimit 3 x tickTime 1000 ms.
    leader, other = run_predictions(exp, {"sync_limit": 3, "tick_time_ms": 1000}, 5)
    assert (leader["fault"], leader["kind"]) == (0, "pause")
    assert leader["detect"] == {"low_s": 3.0, "high_s": 4.0}
    assert leader["unavailable"]["low_s"] == 3.0 and leader["unavailable"]["high_s"] > 4.0
    assert "3 x 1000 ms = 3 s" in leader["detects"]
    assert other["fault"] == 1 and other["detect"] is None and other["unavailable"] is None


def test_the_recorded_band_follows_the_cluster_size() -> None:
    kill = {"kind": "kill", "target": "n2", "at": 5, "duration": 30}
    exp = experiment("serf", kill)
    (small,) = run_predictions(exp, {}, 3)
    (large,) = run_predictions(exp, {}, 64)
    assert large["detect"]["low_s"] > small["detect"]["low_s"]  # 4 x log10 N intervals


def test_run_json_maps_each_injection_to_its_faults_prediction(tmp_path: Path) -> None:
    exp = experiment("etcd", {"kind": "kill", "target": "leader", "at": 5, "duration": 5})
    facts = {
        "run_id": "etcd-x",
        "system": "etcd",
        "schedule": [
            {"fault": 0, "kind": "kill", "start_s": 5, "heal_s": 10},
            {"fault": 0, "kind": "kill", "start_s": 20, "heal_s": 25},
        ],
        "predictions": run_predictions(exp, {"election_timeout_ms": 500}, 3),
    }
    (tmp_path / "run.json").write_text(json.dumps(facts))
    run = read_run(tmp_path)
    first, second = run.prediction(1), run.prediction(2)
    assert first is not None and first == second and first.detect is not None
    assert (first.detect.low_s, first.detect.high_s) == (0.4, 1.1)
    assert run.prediction(3) is None


def test_an_old_run_json_has_its_predictions_unrecorded_not_empty() -> None:
    run = read_run(RECORDED / "zookeeper-leader-pause")
    assert run.predictions is None and run.prediction(1) is None


def test_the_runner_records_the_bands_of_the_settings_and_size_it_runs(tmp_path: Path) -> None:
    kill = {"kind": "kill", "target": "leader", "at": 5, "duration": 5}
    exp = experiment("etcd", kill, nodes=5, settings={"election_timeout_ms": 2000})
    record = RunRecord.model_validate(Run(exp, reports=tmp_path)._facts())
    (prediction,) = record.predictions or []
    assert prediction.detect is not None
    assert (prediction.detect.low_s, prediction.detect.high_s) == (1.9, 4.1)  # [T, 2T) + beat
    assert "election_timeout_ms=2000" in prediction.detects
