"""HTML reports rendered from a synthetic run directory, with no Docker and no network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaos.experiment import load_experiment
from chaos.history import Clock, FaultEvent, HistoryWriter, Observation, Op, load_history
from chaos.report import write_index, write_run_report
from chaos.runner import judge_run

EXPERIMENT = """\
title: 'etcd: <leader> crash & recovery'
description: SIGKILL the leader, then start it again.
system: etcd
cluster:
  image_source: local
workload:
  kind: register
  clients: 2
  rate: 10.0
  timeout: 0.5
  keys: 1
steady_state:
  duration: 1.0
  min_success_rate: 0.5
faults:
- kind: kill
  at: 1.0
  duration: 1.0
  target: leader
settle: 1.0
expect:
  max_unavailability: 10.0
  lost_writes: 0
  linearizable: true
"""
MS = 1_000_000


def _ops() -> list[Op]:
    """Two clients writing then reading key k every 100 ms; client 1 times out in the fault."""
    ops: list[Op] = []
    for n, start in enumerate(range(0, 3000, 100)):
        process = n % 2
        in_fault = 1000 <= start < 2000 and process == 1
        f, value = ("write", n) if n % 4 < 2 else ("read", None)
        ops.append(Op("invoke", n, process, f, "k", value, start * MS, f"n{process + 1}"))
        if in_fault:
            ops.append(Op("info", n, process, f, "k", value, (start + 500) * MS, "n2", "timeout"))
        else:
            done_value = value if f == "write" else _last_write(ops)
            ops.append(Op("ok", n, process, f, "k", done_value, (start + 5) * MS, "n1"))
    return ops


def _last_write(ops: list[Op]) -> int | None:
    writes = [op.value for op in ops if op.type == "ok" and op.f == "write"]
    return writes[-1] if writes else None


def build_run(reports: Path) -> Path:
    """A judged run directory under `reports`, as the runner would leave it (minus the report)."""
    run_dir = reports / "etcd-20261124T000000-abcdef"
    run_dir.mkdir(parents=True)
    (run_dir / "experiment.yaml").write_text(EXPERIMENT, encoding="utf-8")
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "run_id": run_dir.name,
                "title": "etcd: <leader> crash & recovery",
                "system": "etcd",
                "family": "consensus",
                "protocol": "Raft",
                "version": "3.4.99-test",
                "images": {"etcd": "chaoslab/etcd:local"},
                "settings": {"election_timeout_ms": 1000},
                "driver": {"driver": "etcd3gw"},
                "nodes": [{"name": "n1", "ip": "10.0.0.2"}, {"name": "n2", "ip": "10.0.0.3"}],
                "started": "2026-11-24T00:00:00+0000",
            }
        ),
        encoding="utf-8",
    )
    writer = HistoryWriter(run_dir / "history.jsonl", Clock(), {"run_id": run_dir.name})
    for op in _ops():
        writer.write(op)
    for time_ms, stage in ((1000, "requested"), (1010, "effective"), (2000, "healed")):
        writer.write(FaultEvent(time_ms * MS, 1, "kill", stage, ("n1",), "docker"))
    for time_ms in range(0, 3000, 250):
        leader = "n2" if time_ms >= 1500 else "n1"
        down = {"n1": "down"} if 1000 <= time_ms < 2000 else {"n1": "up"}
        writer.write(Observation(time_ms * MS, "n2", "follower", leader, {**down, "n2": "up"}))
    writer.close()
    experiment = load_experiment(run_dir / "experiment.yaml")
    judge_run(run_dir, experiment, load_history(run_dir / "history.jsonl"))
    return run_dir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return build_run(tmp_path / "reports")


def test_run_report_shows_verdict_slos_and_version(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert f"badge {verdicts['status']}" in html
    for verdict in verdicts["verdicts"]:
        assert verdict["slo"] in html
    assert "3.4.99-test" in html
    assert "kill n1" in html


def test_run_report_is_self_contained(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*\bhref=['\"]?https?:", html)
    assert html.count("Plotly.newPlot") == 1
    assert len(re.findall(r"<script type='application/json' data-figure=", html)) == 3


def test_run_report_escapes_text_from_the_run(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "etcd: &lt;leader&gt; crash &amp; recovery" in html
    assert "<leader>" not in html


def test_index_lists_runs_and_links_only_built_reports(run_dir: Path) -> None:
    reports = run_dir.parent
    bare = reports / "serf-20261125T000000-123456"
    bare.mkdir()
    (bare / "run.json").write_text(
        json.dumps({"system": "serf", "version": "0.10.1", "started": "2026-11-25T00:00:00+0000"}),
        encoding="utf-8",
    )
    write_run_report(run_dir)
    html = write_index(reports).read_text(encoding="utf-8")
    assert f"href='{run_dir.name}/index.html'" in html
    assert f"href='{bare.name}/index.html'" not in html
    assert html.index(bare.name) < html.index(run_dir.name)  # newest first
    assert "badge error" in html  # a run without verdicts
    assert "0.10.1" in html and "3.4.99-test" in html
