"""Issue 13's table re-measured: the suite's recovery figures beside the true ones.

The true figures were measured independently (plain scripts, a 10 ms
open-loop client, clocks started when the fault was issued; see
`../shared/fixtures/recorded-runs/README.md`). This script runs each row's
experiment a few times on fresh clusters, one `chaoslab run` per hold of the
heavy lock, and prints, per figure, the median and range of the repeats
beside the truth and their ratio. Rows use the catalogue file; where its
settings differ from the measured run, a copy with the row's overrides is
written to a temporary folder and run instead.

    python benchmarks/remeasure/truth_table.py run [--repeats 3] [--only zk-pause,...]
    python benchmarks/remeasure/truth_table.py table

`run` appends each run folder to `<reports>/truth-runs.json`; `table` reads
only that manifest and the runs' `metrics.json`, so it can be printed again.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
LOCK = "/tmp/heavy.lock"
NS = 1e9
RUN_LINE = re.compile(r"^  [a-z-]+: (\S+)/index\.html$", re.MULTILINE)

Fault = dict[str, Any]
Extract = Callable[[Fault], float | None]


def _span_s(window: dict[str, Any] | None) -> float | None:
    """A window's duration; None for one never closed."""
    if not window or window.get("end_ns") is None:
        return None
    return (window["end_ns"] - window["start_ns"]) / NS


def _longest_blackout_start_s(fault: Fault) -> float | None:
    """When the longest whole-cluster blackout opened, in seconds after the fault's request."""
    blackouts = [b for b in fault["availability"]["blackouts"] if _span_s(b) is not None]
    if not blackouts:
        return None
    longest = max(blackouts, key=lambda b: _span_s(b) or 0.0)
    return (longest["start_ns"] - fault["fault"]["requested_ns"]) / NS


def _node_downtime_s(fault: Fault) -> float | None:
    spans = [_span_s(node["longest"]) for node in fault["availability"]["node_downtime"]]
    known = [span for span in spans if span is not None]
    return max(known) if known else None


def _node_back_after_heal_s(fault: Fault) -> float | None:
    backs = [node["back_after_heal_s"] for node in fault["availability"]["node_downtime"]]
    known = [back for back in backs if back is not None]
    return max(known) if known else None


def _heal_command_s(fault: Fault) -> float | None:
    """How long the heal command itself took: from its request to its return (`healed`)."""
    window = fault["fault"]
    if window.get("healed_ns") is None or window.get("heal_requested_ns") is None:
        return None
    return (window["healed_ns"] - window["heal_requested_ns"]) / NS


def _shortest_client_window_s(fault: Fault) -> float | None:
    """The shortest of the clients' own longest windows: when even the luckiest got service."""
    spans = [_span_s(client["longest"]) for client in fault["availability"]["clients"]]
    known = [span for span in spans if span is not None]
    return min(known) if known else None


def _field(name: str) -> Extract:
    return lambda fault: fault.get(name)


def _detection(name: str) -> Extract:
    return lambda fault: fault["detection"].get(name)


@dataclass(frozen=True)
class Figure:
    """One figure of a row: the suite's name for it, how to read it, and the truth."""

    label: str
    extract: Extract
    truth: float


@dataclass(frozen=True)
class Row:
    """One row of the issue's table: an experiment and the figures it is judged on."""

    key: str
    title: str
    catalogue: str
    figures: tuple[Figure, ...]
    overrides: dict[str, Any] = field(default_factory=dict)


ROWS: tuple[Row, ...] = (
    Row(
        "zk-pause",
        "ZooKeeper leader paused 20 s (tickTime 2000, syncLimit 5)",
        "experiments/zookeeper/pause.yaml",
        (
            Figure(
                "worst shard unavailable (`unavailability_s`)", _field("unavailability_s"), 10.41
            ),
            Figure("shortest client window", _shortest_client_window_s, 10.37),
            Figure("node downtime, the paused leader's clients", _node_downtime_s, 21.1),
            Figure("time to detect (new leader)", _field("time_to_detect_s"), 10.42),
        ),
        {
            "description": "Freeze the ZAB leader (docker pause) for 20 s: alive but silent.",
            "cluster": {"settings": {"tick_time_ms": 2000, "sync_limit": 5}},
            "faults": [{"duration": "20s"}],
        },
    ),
    Row(
        "redis-kill",
        "Redis master SIGKILLed (node timeout 3000)",
        "experiments/redis/leader-crash.yaml",
        (
            Figure("whole-cluster blackout (`blackout_s`)", _field("blackout_s"), 1.06),
            Figure("blackout start after request", _longest_blackout_start_s, 4.31),
            Figure(
                "worst shard unavailable (`unavailability_s`)", _field("unavailability_s"), 5.37
            ),
            Figure("time to detect (FAIL flag)", _field("time_to_detect_s"), 4.36),
        ),
        {"cluster": {"settings": {"cluster_node_timeout_ms": 3000}}},
    ),
    Row(
        "cassandra-kill",
        "Cassandra node SIGKILLed (phi 8)",
        "experiments/cassandra/leader-crash.yaml",
        (
            Figure(
                "time to detect, first peer (`detection.first_s`)", _detection("first_s"), 18.14
            ),
            Figure("time to detect, all peers (`detection.all_s`)", _detection("all_s"), 18.44),
        ),
    ),
    Row(
        "serf-restart",
        "Serf agent restarted after a kill",
        "experiments/serf/leader-crash.yaml",
        (
            Figure(
                "recovery after heal (`recovery_after_heal_s`)",
                _field("recovery_after_heal_s"),
                0.487,
            ),
            # The recorded run (fixture serf-agent-kill): `docker start` returned 0.231 s after
            # it was issued, n1 served its clients 0.041 s later, every view all up at 0.487 s.
            Figure("node back after heal (`back_after_heal_s`)", _node_back_after_heal_s, 0.272),
            Figure(
                "of which the restart command (heal-requested to healed)", _heal_command_s, 0.231
            ),
        ),
    ),
    Row(
        "zk-kill",
        "ZooKeeper leader SIGKILLed (catalogue leader-crash)",
        "experiments/zookeeper/leader-crash.yaml",
        (Figure("time to detect (new leader)", _field("time_to_detect_s"), 0.48),),
    ),
    Row(
        "etcd-kill",
        "etcd leader kill with per-node clients",
        "experiments/etcd/leader-crash.yaml",
        (
            Figure("worst shard unavailable (`unavailability_s`)", _field("unavailability_s"), 1.1),
            Figure("node downtime (`node_downtime`)", _node_downtime_s, 10.2),
        ),
    ),
)


def _merge(base: Any, override: Any) -> Any:
    """The catalogue file with a row's overrides; a list overrides item by item."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return [
            _merge(item, override[i]) if i < len(override) else item for i, item in enumerate(base)
        ]
    return override


def experiment_file(row: Row, folder: Path) -> Path:
    """The catalogue file itself, or a copy of it with the row's overrides."""
    source = ROOT / row.catalogue
    if not row.overrides:
        return source
    data = _merge(yaml.safe_load(source.read_text()), row.overrides)
    data["title"] = f"{data['title']} ({row.key}, issue 13 settings)"
    target = folder / f"{row.key}.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def _manifest(reports: Path) -> dict[str, list[str]]:
    path = reports / "truth-runs.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _run_folder(output: str) -> str | None:
    """The run folder `chaoslab run` names on its last line (`  <status>: <folder>/index.html`)."""
    found = RUN_LINE.findall(output)
    return Path(found[-1]).name if found else None


def _record(reports: Path, key: str, folder: str) -> None:
    """Add a run folder to the manifest; locked, as two `run` batches may share it."""
    with (reports / "truth-runs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = _manifest(reports)
        manifest.setdefault(key, []).append(folder)
        (reports / "truth-runs.json").write_text(json.dumps(manifest, indent=1))


def run_rows(rows: list[Row], repeats: int, reports: Path) -> None:
    """Each row `repeats` times, one run per hold of the heavy lock; folders into the manifest."""
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="truth-table-") as scratch:
        for row in rows:
            file = experiment_file(row, Path(scratch))
            for _ in range(repeats):
                command = ["flock", LOCK, "chaoslab", "run", str(file), "--reports", str(reports)]
                done = subprocess.run(
                    command, cwd=ROOT, check=False, capture_output=True, text=True
                )
                print(done.stdout + done.stderr, end="")
                folder = _run_folder(done.stdout)
                print(f"{row.key}: exit {done.returncode}, run folder {folder}", flush=True)
                if folder:
                    _record(reports, row.key, folder)


def _fault(run_dir: Path) -> tuple[Fault | None, str]:
    """The run's first fault's figures and the run's status."""
    status = json.loads((run_dir / "run.json").read_text()).get("status", "?")
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.exists():
        return None, status
    faults = json.loads(metrics_path.read_text())["recovery"]["faults"]
    return (faults[0] if faults else None), status


def table(reports: Path) -> str:
    """The Markdown table: per figure, median [range] of the repeats, the truth, the ratio."""
    manifest = _manifest(reports)
    lines = [
        "| run | figure | runs | suite: median [min-max] s | truth s | median / truth |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        runs = [reports / name for name in manifest.get(row.key, [])]
        faults = [_fault(run) for run in runs]
        statuses = ", ".join(status for _, status in faults)
        for figure in row.figures:
            values = [figure.extract(fault) for fault, _ in faults if fault is not None]
            known = sorted(value for value in values if value is not None)
            missing = len(values) - len(known)
            if known:
                median = statistics.median(known)
                measured = f"{median:.2f} [{known[0]:.2f}-{known[-1]:.2f}]"
                ratio = f"{median / figure.truth:.2f}"
            else:
                measured, ratio = "-", "-"
            if missing:
                measured += f" ({missing} never)"
            lines.append(
                f"| {row.title} | {figure.label} | {len(values)} ({statuses}) | {measured}"
                f" | {figure.truth:.2f} | {ratio} |"
            )
    lines.append("")
    for row in ROWS:
        lines.append(f"- {row.key}: {', '.join(manifest.get(row.key, [])) or 'no runs'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "table"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated row keys")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "remeasure-13")
    args = parser.parse_args()
    keys = {key for key in args.only.split(",") if key}
    unknown = keys - {row.key for row in ROWS}
    if unknown:
        sys.exit(f"--only: unknown rows {', '.join(sorted(unknown))}; expected row keys")
    rows = [row for row in ROWS if not keys or row.key in keys]
    if args.action == "run":
        run_rows(rows, args.repeats, args.reports)
    print(table(args.reports))


if __name__ == "__main__":
    main()
