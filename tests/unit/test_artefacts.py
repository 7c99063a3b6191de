"""Run folders as typed, versioned models: old ones stay readable and never show their old
figures; a newer or damaged one is refused in one line naming the file and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaos.artefacts import (
    SCHEMA,
    ArtefactError,
    read_metrics,
    read_run,
    read_verdicts,
    rules_of,
)
from chaos.compare import read_summary

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded-runs"


def old_run(name: str, tmp_path: Path) -> Path:
    """A recorded run as its suite left it: run.json and metrics.json of schema 1."""
    run_dir = tmp_path / name
    shutil.copytree(RECORDED / name, run_dir)
    (run_dir / "metrics-as-reported.json").rename(run_dir / "metrics.json")
    return run_dir


def test_old_metrics_are_recomputed_from_the_history_and_left_untouched(tmp_path: Path) -> None:
    run_dir = old_run("redis-master-kill", tmp_path)
    before = (run_dir / "metrics.json").read_bytes()
    metrics = read_metrics(run_dir)
    assert metrics is not None and metrics.schema_version == SCHEMA
    (fault,) = metrics.recovery.faults
    assert fault.blackout_s == pytest.approx(1.06, abs=0.1)  # the old file said 0.012
    assert (run_dir / "metrics.json").read_bytes() == before


def test_metrics_written_today_read_back_as_the_same_typed_results(tmp_path: Path) -> None:
    run_dir = old_run("redis-master-isolation", tmp_path)
    recomputed = read_metrics(run_dir)
    assert recomputed is not None
    (run_dir / "metrics.json").write_text(json.dumps(recomputed.to_json()))
    assert read_metrics(run_dir) == recomputed
    assert len(recomputed.lost_writes.lost) == 122


def test_a_comparison_of_an_old_run_shows_todays_figures(tmp_path: Path) -> None:
    summary = read_summary(old_run("cassandra-node-kill-phi8", tmp_path))
    assert summary.values["time_to_detect_s"] == pytest.approx(18.14, abs=0.15)  # not 0.32


def test_files_from_a_newer_suite_are_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": 5, "run_id": "x"}))
    with pytest.raises(ArtefactError, match=r"run\.json: written by schema 5; this suite reads up"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "x", "system": "etcd"}))
    (tmp_path / "metrics.json").write_text(json.dumps({"schema_version": 9}))
    with pytest.raises(ArtefactError, match=r"metrics\.json: written by schema 9"):
        read_metrics(tmp_path)


def test_old_metrics_without_a_history_are_not_shown(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "x", "system": "etcd"}))
    (tmp_path / "metrics.json").write_text(json.dumps({"operations": 3}))
    with pytest.raises(ArtefactError, match=r"no history\.jsonl to recompute them from"):
        read_metrics(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("garbage{", "run.json: not readable JSON"),
        ("[1, 2]", "run.json: expected a JSON object, found list"),
        ('{"run_id": "x", "system": "etcd", "nodes": 5}', "run.json: nodes: Input should be"),
        ('{"system": "etcd", "schema_version": "two"}', "schema_version: expected an integer"),
        (
            '{"run_id": "x", "system": "etcd", "predictions": [{"fault": 0, "detect": 2}]}',
            "run.json: predictions.0.detect: Input should be",
        ),
    ],
)
def test_a_damaged_run_record_is_one_line_naming_the_file_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(ArtefactError, match=message) as raised:
        read_run(tmp_path)
    assert "\n" not in str(raised.value)


def test_a_damaged_metrics_file_is_refused_not_half_read(tmp_path: Path) -> None:
    run_dir = old_run("serf-agent-kill", tmp_path)
    good = read_metrics(run_dir)
    assert good is not None
    broken = good.to_json()
    broken["recovery"]["faults"][0]["fault"] = "kill"
    (run_dir / "metrics.json").write_text(json.dumps(broken))
    with pytest.raises(ArtefactError, match=r"metrics.json: recovery\.faults\.0\.fault"):
        read_metrics(run_dir)


def test_old_verdicts_read_with_their_outcome(tmp_path: Path) -> None:
    verdict = {"slo": "lost_writes", "expected": 0, "measured": 3, "held": False}
    (tmp_path / "verdicts.json").write_text(
        json.dumps({"status": "slo-failed", "verdicts": [verdict]})
    )
    (read,) = read_verdicts(tmp_path).items()  # type: ignore[union-attr]
    assert (read.outcome, read.measured) == ("failed", 3)


def test_old_zookeeper_runs_do_not_count_their_refusals_as_service(tmp_path: Path) -> None:
    run = read_run(old_run("zookeeper-leader-pause", tmp_path))
    rules = rules_of(run)
    assert (rules.detection, rules.refusals_are_service, rules.sharded) == ("leader", False, False)
    assert run.size == 3


def test_sharded_systems_are_read_per_key(tmp_path: Path) -> None:
    rules = rules_of(read_run(old_run("redis-master-kill", tmp_path)))
    assert rules.sharded and rules.detection == "membership"


def test_a_key_with_a_newline_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    """Found by the fuzz test: a damaged run.json's key went into the message as written."""
    shutil.copytree(RECORDED / "redis-master-kill", tmp_path, dirs_exist_ok=True)
    run = json.loads((tmp_path / "run.json").read_text())
    run["nodes"][0]["ports"] = {"63\n79": 1}
    (tmp_path / "run.json").write_text(json.dumps(run))
    with pytest.raises(ArtefactError) as refused:
        read_run(tmp_path)
    assert "\n" not in str(refused.value)
    assert "63\\x0a79" in str(refused.value)
