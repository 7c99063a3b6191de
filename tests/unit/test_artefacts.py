"""Run folders written by older suites stay readable, and never show their old figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaos.artefacts import METRICS_SCHEMA, ArtefactError, load_metrics, rules_of
from chaos.compare import read_summary

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded-runs"


def old_run(name: str, tmp_path: Path) -> Path:
    """A recorded run as its suite left it: metrics.json in the old schema."""
    run_dir = tmp_path / name
    shutil.copytree(RECORDED / name, run_dir)
    (run_dir / "metrics-as-reported.json").rename(run_dir / "metrics.json")
    return run_dir


def test_old_metrics_are_recomputed_from_the_history_and_left_untouched(tmp_path: Path) -> None:
    run_dir = old_run("redis-master-kill", tmp_path)
    before = (run_dir / "metrics.json").read_bytes()
    metrics = load_metrics(run_dir, linearizability=False)
    assert metrics["schema_version"] == METRICS_SCHEMA
    (fault,) = metrics["recovery"]["faults"]
    assert fault["blackout_s"] == pytest.approx(1.06, abs=0.1)  # the old file said 0.012
    assert (run_dir / "metrics.json").read_bytes() == before


def test_a_comparison_of_an_old_run_shows_todays_figures(tmp_path: Path) -> None:
    summary = read_summary(old_run("cassandra-node-kill-phi8", tmp_path))
    assert summary.values["time_to_detect_s"] == pytest.approx(18.14, abs=0.15)  # not 0.32


def test_metrics_from_a_newer_suite_are_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"schema_version": 5}))
    with pytest.raises(ArtefactError, match="written by schema 5; this suite reads up to 2"):
        load_metrics(tmp_path, linearizability=False)


def test_old_metrics_without_a_history_are_not_shown(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"operations": 3}))
    with pytest.raises(ArtefactError, match=r"no history\.jsonl to recompute them from"):
        load_metrics(tmp_path, linearizability=False)


def test_old_zookeeper_runs_do_not_count_their_refusals_as_service() -> None:
    run = json.loads((RECORDED / "zookeeper-leader-pause" / "run.json").read_text())
    assert "rules" not in run
    rules = rules_of(run)
    assert (rules.detection, rules.refusals_are_service, rules.sharded) == ("leader", False, False)
    assert rules_of({**run, "rules": {"detection": "leader"}}).refusals_are_service


def test_sharded_systems_are_read_per_key() -> None:
    redis = json.loads((RECORDED / "redis-master-kill" / "run.json").read_text())
    assert rules_of(redis).sharded and rules_of(redis).detection == "membership"
