"""End to end: real experiments from the catalogue, their artefacts and their verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaos.backend.docker.cluster import LABEL_RUN, leftovers
from chaos.experiment import CATALOGUE, Experiment, load_experiment
from chaos.history import load_history
from chaos.runner import Run

pytestmark = pytest.mark.docker

ARTEFACTS = {"experiment.yaml", "run.json", "history.jsonl", "metrics.json", "verdicts.json"}


@pytest.mark.parametrize("system", ["etcd", "zookeeper", "redis", "serf", "cassandra"])
def test_leader_crash_runs_end_to_end(system: str, tmp_path: Path) -> None:
    experiment = load_experiment(CATALOGUE / system / "leader-crash.yaml")
    outcome = Run(experiment, reports=tmp_path).execute()

    lines = [verdict.line() for verdict in outcome.verdicts]
    assert outcome.status == "held", (outcome.error, lines)
    assert {path.name for path in outcome.run_dir.iterdir()} >= ARTEFACTS
    history = load_history(outcome.run_dir / "history.jsonl")
    stages = [event.stage for event in history.faults]
    assert stages == ["requested", "effective", "heal-requested", "healed", "healed-verified"]
    assert history.faults[1].targets, "the role resolved to a node"
    assert {"invoke", "ok"} <= {op.type for op in history.ops}
    assert len({o.observer for o in history.observations}) >= 3
    run = json.loads((outcome.run_dir / "run.json").read_text())
    assert run["version"] not in ("", "unknown")
    verdicts = json.loads((outcome.run_dir / "verdicts.json").read_text())
    assert {v["slo"] for v in verdicts["verdicts"]} == {
        slo for slo, limit in experiment.expect.model_dump().items() if limit is not None
    }
    for node in run["nodes"]:  # every node's own output is kept with the run, killed ones too
        assert (outcome.run_dir / "logs" / f"{node['name']}.log").stat().st_size > 0
    assert leftovers(f"{LABEL_RUN}={run['run_id']}") == {
        "containers": [],
        "networks": [],
        "volumes": [],
    }


def _leader_kill(election_timeout_ms: int, tmp_path: Path) -> float:
    """Cluster unavailability when the etcd leader is SIGKILLed, in seconds."""
    data = yaml.safe_load((CATALOGUE / "etcd" / "leader-crash.yaml").read_text())
    data["cluster"] = {
        "settings": {
            "election_timeout_ms": election_timeout_ms,
            "heartbeat_interval_ms": election_timeout_ms // 10,
        }
    }
    data["steady_state"] = {"duration": "3s"}
    data["faults"][0].update({"at": "3s", "duration": "8s"})
    data["settle"] = "3s"
    data["expect"] = {}
    outcome = Run(Experiment.model_validate(data), reports=tmp_path).execute()
    assert outcome.status == "held", outcome.error
    metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
    (fault,) = metrics["recovery"]["faults"]
    return fault["unavailability_s"]


def test_longer_election_timeout_means_longer_leader_kill_outage(tmp_path: Path) -> None:
    short = _leader_kill(1000, tmp_path)
    long = _leader_kill(3000, tmp_path)
    assert long > short, (short, long)
