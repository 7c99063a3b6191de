"""Comparisons built from synthetic run folders shaped like the runner's, with no Docker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from chaos.artefacts import Metrics
from chaos.checks.availability import Availability, ShardAvailability, Window
from chaos.checks.detection import Detection
from chaos.checks.linearizability import LinearizabilityResult
from chaos.checks.recovery import FaultRecovery, RecoveryReport
from chaos.checks.safety import LostWrites, LostWritesResult, StaleReadsResult
from chaos.checks.windows import FaultWindow
from chaos.compare import (
    NEVER,
    TOO_FEW,
    ComparisonError,
    Distribution,
    median_interval,
    write_comparison,
)
from chaos.history import Op
from chaos.report import write_index

ETCD = {
    "title": "etcd: leader crash",
    "system": "etcd",
    "family": "consensus",
    "protocol": "Raft",
    "version": "3.5.99-test",
    "settings": {"election_timeout_ms": 1500, "heartbeat_interval_ms": 150},
}
REDIS = {
    "title": "Redis Cluster: leader crash",
    "system": "redis",
    "family": "gossip",
    "protocol": "Redis Cluster bus",
    "version": "7.2.99-test",
    "settings": {"cluster_node_timeout_ms": 3000},
}
CASSANDRA = {
    "title": "Cassandra: leader crash",
    "system": "cassandra",
    "family": "gossip",
    "protocol": "gossip + phi accrual",
    "version": "1.2.0",
    "settings": {"phi_convict_threshold": 8, "consistency": "QUORUM"},
}
# Per repeat, per fault: detect, cluster outage (None: no outage; "never": never ended),
# recover, recover after heal. Redis repeat 0 has a second, milder fault (the worst counts)
# and one that never took effect (ignored).
ETCD_FAULTS = [
    [(1.9, 2.0, 11.0, 0.3)],
    [(1.2, None, 12.0, 0.2)],
    [(1.5, 2.5, 13.0, 0.4)],
]
REDIS_FAULTS = [
    [(4.0, 1.0, 8.0, 0.2), (2.0, 0.5, 7.0, 0.1), ("ineffective", 99.0, 99.0, 99.0)],
    [(3.6, 1.2, 9.0, None)],
    [(4.4, 0.8, 8.5, 0.1)],
]
NS = 1_000_000_000


def _fault(fault_id: int, values: tuple[Any, ...]) -> FaultRecovery:
    """One fault's figures, as the checks would have computed them."""
    detect, outage, recover, after_heal = values
    effective = detect != "ineffective"
    start = (5 + 20 * fault_id) * NS
    window = FaultWindow(
        fault_id=fault_id,
        kind="kill",
        targets=("n1",),
        requested_ns=start,
        effective_ns=start + NS // 100 if effective else None,
        heal_requested_ns=start + 10 * NS,
        healed_ns=start + 10 * NS,
        scope_start_ns=0,
        scope_end_ns=start + 20 * NS,
        downed=("n1",),
    )
    if outage is None:
        longest = None
    elif outage == "never":
        longest = Window(start, None, start + 20 * NS)
    else:
        longest = Window(start, start + int(outage * NS))
    shard = ShardAvailability("all", ("k0",), 0 if longest is None else 1, longest)
    blackouts = () if longest is None else (longest,)
    return FaultRecovery(
        fault=window,
        availability=Availability((shard,), blackouts, (), (), 0.06),
        detection=Detection("new leader", True, first_s=detect if effective else 99.0),
        throughput_recovered_s=recover,
        recovery_after_heal_s=after_heal,
        phases=(),
    )


def _lost(count: int) -> LostWritesResult:
    """`count` acknowledged adds missing from a final read of set s0."""
    adds = tuple(
        (Op("invoke", n, 0, "add", "s0", n, n), Op("ok", n, 0, "add", "s0", n, n + 1))
        for n in range(count)
    )
    final = (
        Op("invoke", 99, -1, "final-read", "s0", None, 99),
        Op("ok", 99, -1, "final-read", "s0", [], 100),
    )
    return LostWritesResult((LostWrites("s0", count, adds, 0, 0, (), final),), ())


def write_run(
    reports: Path,
    system: dict[str, Any],
    repeat: int,
    faults: list[tuple[Any, ...]],
    lost: int = 0,
    verdict: str = "linearizable",
) -> Path:
    """One run folder as the runner leaves it (minus history and report)."""
    run_id = f"{system['system']}-20261124T00000{repeat}-{repeat:06x}"
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    nodes = [{"name": f"n{i}", "ip": f"10.0.0.{i + 1}"} for i in (1, 2, 3)]
    run = {
        "run_id": run_id,
        **system,
        "image_source": "local",
        "images": {system["system"]: f"chaoslab/{system['system']}:local"},
        "driver": {"driver": "test"},
        "nodes": nodes,
        "seed": 0,
        "repeat": repeat,
        "up_seconds": 2.0,
        "started": f"2026-11-24T00:00:0{repeat}+0000",
    }
    experiment = {
        "title": system["title"],
        "system": system["system"],
        "faults": [{"kind": "kill", "at": 5.0, "duration": 10.0, "target": "leader"}],
        "repeats": 3,
    }
    metrics = Metrics(
        operations=1000,
        success_rate=0.9,
        recovery=RecoveryReport(10.0, tuple(_fault(i + 1, v) for i, v in enumerate(faults))),
        lost_writes=_lost(lost),
        stale_reads=StaleReadsResult(100, ()),
        linearizability=None if verdict == "not checked" else LinearizabilityResult(verdict, ()),
    ).to_json()
    verdicts = {"status": "held" if lost == 0 else "slo-failed", "error": None, "verdicts": []}
    (run_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump(experiment), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run_dir / "verdicts.json").write_text(json.dumps(verdicts), encoding="utf-8")
    return run_dir


def build_runs(reports: Path) -> list[Path]:
    """Three etcd and three Redis Cluster repeats of a leader crash; one Redis run lost writes."""
    etcd = [write_run(reports, ETCD, i, f) for i, f in enumerate(ETCD_FAULTS)]
    redis = [
        write_run(reports, REDIS, i, f, lost=2 if i == 1 else 0, verdict="not checked")
        for i, f in enumerate(REDIS_FAULTS)
    ]
    return etcd + redis


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return build_runs(tmp_path / "reports")


def _compare(run_dirs: list[Path], out: Path) -> tuple[dict[str, Any], str]:
    page = write_comparison(run_dirs, out)
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    return data, page.read_text(encoding="utf-8")


def _series(data: dict[str, Any], system: str) -> dict[str, Any]:
    (group,) = data["groups"]
    return next(s for s in group["series"] if s["system"] == system)


def test_runs_of_one_scenario_are_grouped_across_title_prefixes(
    runs: list[Path], tmp_path: Path
) -> None:
    data, _ = _compare(runs, tmp_path / "out")
    (group,) = data["groups"]
    assert group["scenario"] == "leader crash"
    assert group["fault_kinds"] == ["kill"]
    assert [s["system"] for s in group["series"]] == ["etcd", "redis"]  # consensus first
    assert [s["family"] for s in group["series"]] == ["consensus", "gossip"]
    assert all(len(s["runs"]) == 3 for s in group["series"])


def test_statistics_match_hand_computed_values(runs: list[Path], tmp_path: Path) -> None:
    data, _ = _compare(runs, tmp_path / "out")
    etcd = _series(data, "etcd")["measures"]
    detect = etcd["time_to_detect_s"]
    assert detect["values"] == [1.2, 1.5, 1.9]
    assert (detect["median"], detect["p95"], detect["min"], detect["max"]) == (1.5, 1.9, 1.2, 1.9)
    assert detect["median_interval"] == {"low": 1.2, "high": 1.9, "coverage": 0.75}
    # A fault with no cluster outage counts as 0 s unavailable.
    assert etcd["unavailability_s"]["values"] == [0.0, 2.0, 2.5]
    assert etcd["unavailability_s"]["median"] == 2.0
    assert etcd["recovery_after_heal_s"]["median"] == 0.3


def test_worst_fault_of_a_run_counts_and_a_fault_that_never_took_effect_does_not(
    runs: list[Path], tmp_path: Path
) -> None:
    data, _ = _compare(runs, tmp_path / "out")
    redis = _series(data, "redis")["measures"]
    assert redis["time_to_detect_s"]["values"] == [3.6, 4.0, 4.4]
    assert redis["throughput_recovered_s"]["max"] == 9.0


def test_a_recovery_that_never_happened_ranks_last(runs: list[Path], tmp_path: Path) -> None:
    data, _ = _compare(runs, tmp_path / "out")
    after_heal = _series(data, "redis")["measures"]["recovery_after_heal_s"]
    assert after_heal["values"] == [0.1, 0.2, "never"]
    assert after_heal["never"] == 1
    assert (after_heal["median"], after_heal["p95"], after_heal["max"]) == (0.2, "never", "never")
    assert after_heal["median_interval"]["high"] == "never"


def test_fewer_than_three_runs_get_no_interval(runs: list[Path], tmp_path: Path) -> None:
    data, html = _compare(runs[:2], tmp_path / "out")
    detect = _series(data, "etcd")["measures"]["time_to_detect_s"]
    assert detect["n"] == 2
    assert detect["median"] == pytest.approx(1.55)
    assert detect["median_interval"] is None
    assert detect["interval_note"] == TOO_FEW
    assert TOO_FEW in html


@pytest.mark.parametrize(
    ("n", "expected"),
    [(2, None), (3, (1, 0.75)), (5, (1, 0.9375)), (6, (1, 0.96875)), (10, (2, 0.978515625))],
)
def test_median_interval_is_the_narrowest_order_statistic_interval_reaching_95(
    n: int, expected: tuple[int, float] | None
) -> None:
    assert median_interval(n) == expected


@given(st.lists(st.floats(0, 1e4) | st.just(NEVER), min_size=1, max_size=40))
def test_the_median_lies_in_its_interval_and_below_p95(values: list[float]) -> None:
    dist = Distribution(tuple(sorted(values)))
    assert dist.values[0] <= dist.median <= dist.p95 <= dist.values[-1]
    assert dist.p95 in dist.values
    if dist.interval is not None:
        low, high, coverage = dist.interval
        assert low <= dist.median <= high
        assert coverage >= (0.95 if dist.n >= 6 else 0.75)


def test_explanations_name_the_settings_the_runs_had(runs: list[Path], tmp_path: Path) -> None:
    data, html = _compare(runs, tmp_path / "out")
    etcd, redis = _series(data, "etcd"), _series(data, "redis")
    assert "election_timeout_ms=1500" in etcd["explanation"]
    assert "heartbeat_interval_ms=150" in etcd["explanation"]
    assert "1.5-3 s" in etcd["explanation"]  # randomised between 1x and 2x the timeout
    # [T, 2T) less one heartbeat (the last one came before the fault), plus one.
    assert etcd["predicted_time_to_detect_s"] == pytest.approx([1.35, 3.15])
    assert "within the 1.4-3.1 s these settings predict" in etcd["explanation"]
    assert "cluster_node_timeout_ms=3000" in redis["explanation"]
    assert redis["predicted_time_to_detect_s"] == pytest.approx([3.0, 5.5])
    (differences,) = [d for d in data["groups"][0]["differences"] if d.startswith("Time to det")]
    assert "redis 7.2.99-test took 2.7x as long as etcd 3.5.99-test" in differences
    assert (
        "election_timeout_ms=1500" in differences and "cluster_node_timeout_ms=3000" in differences
    )
    assert "election_timeout_ms=1500" in html


def test_data_safety_is_summed_per_system(runs: list[Path], tmp_path: Path) -> None:
    data, _ = _compare(runs, tmp_path / "out")
    etcd, redis = _series(data, "etcd")["safety"], _series(data, "redis")["safety"]
    assert etcd["linearizability"] == {"linearizable": 3}
    assert (etcd["lost_writes"], etcd["stale_reads"], etcd["reads_checked"]) == (0, 0, 300)
    assert (redis["lost_writes"], redis["runs_with_lost_writes"]) == (2, 1)
    assert redis["linearizability"] == {"not checked": 3}
    assert redis["slo_status"] == {"held": 2, "slo-failed": 1}


def test_page_is_self_contained_and_shows_every_version(runs: list[Path], tmp_path: Path) -> None:
    (runs[0] / "index.html").write_text("<html></html>", encoding="utf-8")
    _, html = _compare(runs, tmp_path / "out")
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*\bhref=['\"]?https?:", html)
    assert html.count("Plotly.newPlot") == 1
    assert len(re.findall(r"<script type='application/json' data-figure=", html)) == 1
    assert "3.5.99-test" in html and "7.2.99-test" in html
    assert f"href='../reports/{runs[0].name}/index.html'" in html
    assert f"href='../reports/{runs[1].name}/index.html'" not in html  # no report, no link


def test_cassandra_release_is_called_out_with_its_conviction_time(
    runs: list[Path], tmp_path: Path
) -> None:
    cassandra = write_run(tmp_path / "reports", CASSANDRA, 0, [(19.0, 0.5, 12.0, 30.0)])
    data, html = _compare([*runs, cassandra], tmp_path / "out")
    assert "Cassandra 1.2.0, not 5.0" in html
    explanation = _series(data, "cassandra")["explanation"]
    assert "phi_convict_threshold=8" in explanation
    assert "after about 18.4 s of silence" in explanation
    assert {s["system"]: s["version"] for s in data["systems"]}["cassandra"] == "1.2.0"


def test_a_folder_of_runs_stands_for_its_runs(runs: list[Path], tmp_path: Path) -> None:
    data, _ = _compare([runs[0].parent], tmp_path / "out")
    assert len(data["runs"]) == 6


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComparisonError, match="not a run folder"):
        write_comparison([tmp_path / "empty"], tmp_path / "out")


def test_index_lists_comparisons_next_to_runs(runs: list[Path]) -> None:
    reports = runs[0].parent
    write_comparison(runs, reports / "compare-20261124T000000")
    html = write_index(reports).read_text(encoding="utf-8")
    assert "href='compare-20261124T000000/index.html'" in html
    assert "leader crash" in html
    assert "compare-20261124T000000" not in html.split("Comparisons")[0]  # not listed as a run
