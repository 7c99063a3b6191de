"""HTML reports rendered from run directories, with no Docker and no network.

The synthetic run kills the leader n1 of a two-client etcd run at 1.0 s: client 0 (on
n1) times out until the heal at 2.0 s, client 1 (on n2) is refused once at 1.1 s, so
nothing is served from 1.0 s to 1.305 s (a whole-cluster blackout); n2 leads from 1.4 s
(detection); a cas at 2.5 s is refused, the register holding another value.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs_version

from chaos.artefacts import Verdicts, read_metrics, write_json
from chaos.checks.availability import Window
from chaos.checks.base import Verdict
from chaos.checks.visibility import visibility
from chaos.experiment import load_experiment, load_run_experiment
from chaos.experiment.predictions import run_predictions
from chaos.history import (
    Clock,
    ExternalEvent,
    FaultEvent,
    History,
    HistoryWriter,
    Observation,
    Op,
    load_history,
)
from chaos.report import RECOVERY_HEADERS, write_index, write_run_report
from chaos.report.predictions import OUTSIDE
from chaos.runner import judge_run

SHARED_SRC = "<script data-library src='../assets/plotly.min.js'></script>"

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
  max_blackout: 0.1
  linearizable: true
"""
MS = 1_000_000
REFUSED_CAS_MS = 2500
RECORDED = Path(__file__).parents[1] / "fixtures" / "recorded-runs"


def _ops() -> list[Op]:
    """Two clients writing then reading key k every 100 ms, client p on node n(p+1)."""
    ops: list[Op] = []
    for n, start in enumerate(range(0, 3000, 100)):
        process = n % 2
        node = f"n{process + 1}"
        f, value = ("write", n) if n % 4 < 2 else ("read", None)
        if start == REFUSED_CAS_MS:
            f, value = "cas", [999, 1000]
        ops.append(Op("invoke", n, process, f, "k", value, start * MS, node))
        if process == 0 and 1000 <= start < 2000:  # its node is down until the heal
            ops.append(Op("info", n, process, f, "k", value, (start + 500) * MS, node, "timeout"))
        elif process == 1 and 1000 <= start < 1300:  # no leader yet
            ops.append(Op("fail", n, process, f, "k", value, (start + 5) * MS, node, "Unavailable"))
        elif f == "cas":  # the register holds another value: refused, a real answer
            ops.append(Op("fail", n, process, f, "k", value, (start + 5) * MS, node))
        else:
            done_value = value if f == "write" else _last_write(ops)
            ops.append(Op("ok", n, process, f, "k", done_value, (start + 5) * MS, node))
    return ops


def _last_write(ops: list[Op]) -> int | None:
    writes = [op.value for op in ops if op.type == "ok" and op.f == "write"]
    return writes[-1] if writes else None


def _observations() -> list[Observation]:
    """n2 sees n1 lead, then n1 down from 1.1 s and itself leading from 1.4 s; n1 answers
    before the fault and again after the heal."""
    seen = []
    for time_ms in range(0, 3000, 100):
        down = 1100 <= time_ms < 2000
        leader = "n2" if time_ms >= 1400 else None if time_ms >= 1000 else "n1"
        role = "leader" if leader == "n2" else "follower" if leader else "candidate"
        members = {"n1": "down" if down else "up", "n2": "up"}
        seen.append(Observation(time_ms * MS, "n2", role, leader, members))
        if time_ms < 1000 or time_ms >= 2200:
            role = "leader" if time_ms < 1000 else "follower"
            seen.append(Observation(time_ms * MS, "n1", role, leader, {"n1": "up", "n2": "up"}))
    return seen


def build_run(
    reports: Path,
    *,
    run_facts: dict[str, Any] | None = None,
    externals: tuple[ExternalEvent, ...] = (),
    ops: tuple[Op, ...] = (),
    name: str = "etcd-20261124T000000-abcdef",
) -> Path:
    """A judged run directory under `reports`, as the runner would leave it (minus the report)."""
    run_dir = reports / name
    run_dir.mkdir(parents=True)
    (run_dir / "experiment.yaml").write_text(EXPERIMENT, encoding="utf-8")
    facts = {
        "run_id": run_dir.name,
        "title": "etcd: <leader> crash & recovery",
        "system": "etcd",
        "family": "consensus",
        "protocol": "Raft",
        "version": "3.4.99-test",
        "images": {"etcd": "chaoslab/etcd:local"},
        "settings": {"election_timeout_ms": 1000},
        "driver": {"driver": "etcd3gw"},
        "rules": {"detection": "leader", "sharded": False, "refusals_are_service": True},
        "nodes": [{"name": "n1", "ip": "10.0.0.2"}, {"name": "n2", "ip": "10.0.0.3"}],
        "started": "2026-11-24T00:00:00+0000",
        "status": "running",
        **(run_facts or {}),
    }
    (run_dir / "run.json").write_text(json.dumps(facts), encoding="utf-8")
    writer = HistoryWriter(run_dir / "history.jsonl", Clock(), {"run_id": run_dir.name})
    for op in sorted([*_ops(), *ops], key=lambda op: op.time):
        writer.write(op)
    stages = (
        (1000, "requested"),
        (1020, "effective"),
        (2000, "heal-requested"),
        (2300, "healed"),
        (2400, "healed-verified"),
    )
    for time_ms, stage in stages:
        writer.write(FaultEvent(time_ms * MS, 1, "kill", stage, ("n1",), "docker"))  # type: ignore[arg-type]
    for observation in _observations():
        writer.write(observation)
    for event in externals:
        writer.write(event)
    writer.close()
    experiment = load_experiment(run_dir / "experiment.yaml")
    judge_run(run_dir, experiment, load_history(run_dir / "history.jsonl"))
    return run_dir


def recorded_run(name: str, reports: Path) -> Path:
    """One of the recorded real runs, judged afresh as `chaoslab report` would."""
    run_dir = reports / name
    shutil.copytree(RECORDED / name, run_dir)
    packed = run_dir / "history.jsonl.gz"
    (run_dir / "history.jsonl").write_bytes(gzip.decompress(packed.read_bytes()))
    packed.unlink()
    experiment = load_run_experiment(run_dir / "experiment.yaml")
    judge_run(run_dir, experiment, load_history(run_dir / "history.jsonl"))
    return run_dir


def figure(html: str, name: str) -> dict[str, Any]:
    """The Plotly figure embedded in a page under `name`, as JSON."""
    found = re.search(rf"<script type='application/json' data-figure='{name}'>(.*?)</script>", html)
    assert found, f"no figure {name}"
    return json.loads(found.group(1).replace("<\\/", "</"))


def trace(fig: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(t for t in fig["data"] if str(t.get("name", "")).startswith(prefix))


def section_of(html: str, title: str) -> str:
    """The section of the page titled `title`."""
    start = html.index(f"<h2>{escape(title)}</h2>")
    return html[start : html.index("</section>", start)]


def recovery(html: str) -> str:
    """The recovery section, its figures' units unbroken spaces turned back into spaces."""
    return section_of(html, "Recovery per fault").replace("&nbsp;", " ")


def header(html: str) -> str:
    return html[html.index("<header") : html.index("</header>")]


def safety_rows(html: str) -> dict[str, str]:
    """The safety table's rows by check name (its cells' HTML)."""
    safety = section_of(html, "Safety")
    return dict(re.findall(r"<tr><td><span title='[^']*'>([^<]+)</span></td>(.*?)</tr>", safety))


def page_text(html: str) -> str:
    """The page without its scripts (Plotly's code and the figures)."""
    return html[: html.index("<script")] if "<script" in html else html


def metrics(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return build_run(tmp_path / "reports")


def test_run_report_shows_verdict_slos_and_version(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["status"] == "slo-failed"  # the 0.305 s blackout is over max_blackout 0.1
    assert "badge slo-failed" in header(html)
    for verdict in verdicts["verdicts"]:
        assert verdict["slo"] in html
    assert "max_blackout</code> measured 305 ms" in header(html)
    assert "3.4.99-test" in html
    assert "kill n1" in html


def test_run_report_loads_the_folders_copy_of_plotly_and_nothing_remote(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\bsrc=[^>]*>", html) == [SHARED_SRC.removesuffix("</script>")]
    assert (run_dir.parent / "assets" / "plotly.min.js").is_file()
    assert not re.search(r"<link[^>]*\bhref=['\"]?https?:", html)
    assert "plotly.js v" not in html  # not inlined
    assert html.count("Plotly.newPlot") == 1
    assert len(re.findall(r"<script type='application/json' data-figure=", html)) == 3


def test_pages_of_one_folder_share_one_copy_of_plotly(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    runs = [build_run(reports, name=f"etcd-20261124T00000{i}-abcdef") for i in range(3)]
    pages = [write_run_report(run).read_text(encoding="utf-8") for run in runs]
    assets = reports / "assets"
    assert sorted(p.name for p in assets.iterdir()) == ["plotly.min.js", "plotly.min.js.version"]
    assert (assets / "plotly.min.js.version").read_text().strip() == get_plotlyjs_version()
    assert all(SHARED_SRC in html and len(html) < 500_000 for html in pages)
    assert [p.name for p in reports.rglob("*.js")] == ["plotly.min.js"]


def test_the_shared_copy_is_written_once_and_replaced_when_stale(run_dir: Path) -> None:
    write_run_report(run_dir)
    script = run_dir.parent / "assets" / "plotly.min.js"
    stamp = run_dir.parent / "assets" / "plotly.min.js.version"
    written = script.stat().st_mtime_ns
    write_run_report(run_dir)
    assert script.stat().st_mtime_ns == written  # current: left alone
    stamp.write_text("1.58.5\n", encoding="utf-8")
    script.write_text("/* plotly.js v1.58.5 */", encoding="utf-8")
    write_run_report(run_dir)
    assert stamp.read_text().strip() == get_plotlyjs_version()
    assert f"plotly.js v{get_plotlyjs_version()}" in script.read_text(encoding="utf-8")


def test_single_file_page_inlines_plotly_and_loads_nothing(run_dir: Path) -> None:
    html = write_run_report(run_dir, single_file=True).read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert html.count(f"plotly.js v{get_plotlyjs_version()}") == 1
    assert html.count("Plotly.newPlot") == 1
    assert len(re.findall(r"<script type='application/json' data-figure=", html)) == 3
    assert not (run_dir.parent / "assets").exists()


def test_summary_comes_before_the_charts(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    titles = re.findall(r"<h2>([^<]+)</h2>", html)
    assert titles[:3] == ["Recovery per fault", "Service level objectives", "Safety"]
    assert html.index("</header>") < html.index("Recovery per fault") < html.index("div class=plot")


def test_run_report_escapes_text_from_the_run(tmp_path: Path) -> None:
    external = ExternalEvent(2600 * MS, "n2", "<b>die</b>", {"exitCode": 137})
    run_dir = build_run(tmp_path / "reports", externals=(external,))
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "etcd: &lt;leader&gt; crash &amp; recovery" in html
    assert "<leader>" not in html
    assert "&lt;b&gt;die&lt;/b&gt;" in header(html)
    assert "<b>die</b>" not in html  # neither in the page nor in a chart's label


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("held", "held"),
        ("slo-failed", "SLO failed"),
        ("unknown", "unknown: an SLO could not be decided"),
        ("unhealthy", "unhealthy cluster"),
        ("error", "run error"),
        ("interrupted", "interrupted — measured, not judged"),
    ],
)
def test_each_status_has_its_own_badge(run_dir: Path, status: str, label: str) -> None:
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    (run_dir / "verdicts.json").write_text(
        json.dumps({**verdicts, "status": status, "error": f"why {status}"}), encoding="utf-8"
    )
    top = header(write_run_report(run_dir).read_text(encoding="utf-8"))
    assert f"<span class='badge {status}'>{label}</span>" in top
    assert f"why {status}" in top


def test_interrupted_run_shows_no_failed_slo(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "reports", run_facts={"status": "interrupted"})
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["status"] == "interrupted"
    assert not all(v["held"] for v in verdicts["verdicts"])  # as measured, max_blackout fails
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "interrupted — measured, not judged" in header(html)
    assert "badge failed" not in html
    assert "badge held" not in html
    assert "SLO failed" not in html
    assert not re.search(r"class='?error", header(html))  # nothing in red
    assert "measured, not judged</span>" in html


def test_unhealthy_run_lists_its_problems_and_marks_external_events(tmp_path: Path) -> None:
    external = ExternalEvent(2600 * MS, "n2", "die", {"exitCode": 137})
    run_dir = build_run(tmp_path / "reports", externals=(external,))
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["status"] == "unhealthy"
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "badge unhealthy" in header(html)
    for problem in verdicts["problems"]:
        assert f"<li>{problem}</li>" in header(html)
    timeline = figure(html, "timeline")
    marks = [s for s in timeline["layout"]["shapes"] if s.get("name") == "external container event"]
    assert [m["x0"] for m in marks] == [pytest.approx(2.6)]


def test_recorded_lost_writes_not_judged_are_named_in_the_header_neutrally(
    tmp_path: Path,
) -> None:
    # Redis Cluster documents that it can lose acknowledged writes: no SLO judges them.
    run_dir = recorded_run("redis-master-isolation", tmp_path / "reports")
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert "lost_writes" not in {v["slo"] for v in verdicts["verdicts"]}
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "<span class='badge measured'>122 acknowledged writes lost, not judged</span>" in header(
        html
    )
    lost_row = safety_rows(html)["lost writes"]
    assert "122 of" in lost_row
    assert "measured, not judged" in lost_row and "badge held" not in lost_row
    lost = trace(figure(html, "timeline"), "lost write")
    assert len(lost["x"]) == 122


def test_refused_cas_is_served_and_not_in_the_error_rate(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    refused = trace(figure(html, "timeline"), "cas refused (served)")
    assert refused["x"] == [pytest.approx(REFUSED_CAS_MS / 1000)]
    throughput = figure(html, "throughput")
    bucket = throughput["data"][0]["x"].index(pytest.approx(2.55))
    assert trace(throughput, "cas refused (served)")["y"][bucket] == 1
    assert trace(throughput, "error rate")["y"][bucket] == 0
    assert trace(throughput, "error rate")["y"][11] == 100  # 1.1 s: refused, Unavailable


def test_refusals_count_as_errors_where_the_run_says_they_prove_nothing(tmp_path: Path) -> None:
    rules = {"detection": "leader", "sharded": False, "refusals_are_service": False}
    run_dir = build_run(tmp_path / "reports", run_facts={"rules": rules})
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "rules.refusals_are_service</code> is false" in html
    throughput = figure(html, "throughput")
    bucket = throughput["data"][0]["x"].index(pytest.approx(2.55))
    assert trace(throughput, "error rate")["y"][bucket] == 100
    assert trace(figure(html, "timeline"), "cas refused (not served")


def test_timeline_marks_blackout_detection_worst_shard_and_the_fault(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    layout = figure(html, "timeline")["layout"]
    shapes = {}
    for shape in layout["shapes"]:
        shapes.setdefault(shape.get("name"), shape)
    fault = shapes["fault (request → heal request)"]
    assert (fault["x0"], fault["x1"]) == (pytest.approx(1.0), pytest.approx(2.0))
    assert shapes["fault proven"]["x0"] == pytest.approx(1.02)
    blackout = shapes["whole-cluster blackout"]
    assert (blackout["x0"], blackout["x1"]) == (pytest.approx(1.0), pytest.approx(1.305))
    assert shapes["detected (the system's own view)"]["x0"] == pytest.approx(1.4)
    assert shapes["worst shard's longest window"]["x1"] == pytest.approx(1.305)
    labels = [a["text"] for a in layout["annotations"]]
    assert "detected by n2 +400 ms" in labels
    assert "blackout 305 ms" in labels
    assert layout["yaxis"]["ticktext"] == ["1 ms", "10 ms", "100 ms", "1 s"]  # not 2e+3


def test_recovery_table_names_every_figure_with_its_definition(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    for name in RECOVERY_HEADERS:
        assert re.search(rf"<th title='[^']+'>{re.escape(escape(name))}</th>", html), name
    table = recovery(html)
    assert "1.00 s → +20 ms" in table  # issued → effective
    assert "400 ms by n2" in table and "all peers 400 ms" in table
    assert "rule: new leader" in table
    assert "305 ms" in table and "from +0 s" in table  # the blackout
    assert "n1: 1.00 s" in table  # node downtime, never the cluster's
    assert "heal clock late" not in table  # heal-requested is recorded


def test_recovery_table_says_what_was_not_seen_or_never_ended(run_dir: Path) -> None:
    measured = read_metrics(run_dir)
    assert measured is not None
    (fault,) = measured.recovery.faults
    availability = fault.availability
    worst = availability.worst_shard
    assert worst is not None and worst.longest is not None
    never_back = Window(worst.longest.start_ns, None, 3_000 * MS)
    shards = tuple(replace(s, longest=never_back) if s == worst else s for s in availability.shards)
    fault = replace(
        fault,
        fault=replace(fault.fault, heal_issued_recorded=False),  # from before heal-requested
        detection=replace(
            fault.detection,
            observable=False,
            first_s=None,
            client_noticed_s=0.05,
            note="no leader was seen",
        ),
        availability=replace(availability, shards=shards),
    )
    recovered = replace(measured.recovery, faults=(fault,))
    write_json(run_dir / "metrics.json", replace(measured, recovery=recovered).to_json())
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    table = recovery(html)
    assert "not observable: no leader was seen" in table
    assert "never served again (≥ 2.00 s)" in table
    assert "heal clock late:<br>recorded before heal-requested" in table
    shapes = {s.get("name") for s in figure(html, "timeline")["layout"]["shapes"]}
    assert "the client noticed" in shapes
    assert "detected (the system's own view)" not in shapes


def test_safety_badges_are_held_only_where_an_slo_judged_them(run_dir: Path) -> None:
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    rows = safety_rows(html)
    assert "badge held" in rows["linearizability"]  # linearizable: true is an SLO here
    assert "badge held" not in rows["lost writes"]  # a register workload loses no sets
    assert "measured, not judged" in rows["stale reads"]  # no SLO: never a green "held"


def test_old_schema_metrics_are_recomputed_from_the_history(run_dir: Path) -> None:
    old = {
        "operations": 30,
        "recovery": {
            "faults": [
                {
                    "fault": {"fault_id": 1, "kind": "kill", "targets": ["n1"], "start_ns": 1},
                    "cluster_outage": {"duration_s": 0.012},
                    "client_outages": [{"duration_s": 0.012}],
                    "time_to_recover_s": 77.7,
                    "time_to_recover_after_heal_s": 88.8,
                }
            ]
        },
    }
    (run_dir / "metrics.json").write_text(json.dumps(old), encoding="utf-8")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "recomputed" in header(html)
    assert "SLO failed, judged on old figures" in header(html)  # not a red badge
    assert "badge failed" not in html and "badge slo-failed" not in html
    table = recovery(html)
    assert "whole-cluster blackouts" in table and "305 ms" in table
    assert "77.7" not in page_text(html) and "88.8" not in page_text(html)
    assert json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")) == old  # untouched


def test_old_schema_metrics_without_a_history_are_not_shown(run_dir: Path) -> None:
    (run_dir / "metrics.json").write_text(json.dumps({"time_to_recover_s": 77.7}), "utf-8")
    (run_dir / "history.jsonl").unlink()
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "no history.jsonl to recompute them from" in html
    assert "77.7" not in page_text(html)
    assert "data-figure=" not in html


def test_recorded_redis_kill_shows_its_blackout_and_worst_shard(tmp_path: Path) -> None:
    run_dir = recorded_run("redis-master-kill", tmp_path / "reports")
    fault = metrics(run_dir)["recovery"]["faults"][0]
    assert fault["blackout_s"] == pytest.approx(1.06, abs=0.1)
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    table = recovery(html)
    assert "1.05 s" in table and "from +4.32 s" in table  # the whole-cluster blackout
    assert "5.38 s" in table and "shard s2" in table  # the worst shard: n1's slots
    assert "heal clock late" in table  # recorded before heal-requested existed
    labels = [a["text"] for a in figure(html, "timeline")["layout"]["annotations"]]
    assert "blackout 1.05 s" in labels
    assert "shard s2 unavailable 5.38 s" in labels


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


def test_throughput_and_view_mark_where_throughput_and_the_views_recovered(
    tmp_path: Path,
) -> None:
    run_dir = recorded_run("redis-master-kill", tmp_path / "reports")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    (fault,) = metrics(run_dir)["recovery"]["faults"]
    requested, heal = (
        fault["fault"]["requested_ns"] / 1e9,
        fault["fault"]["heal_requested_ns"] / 1e9,
    )
    throughput = figure(html, "throughput")["layout"]
    recovered = next(s for s in throughput["shapes"] if s.get("name") == "throughput recovered")
    assert recovered["x0"] == pytest.approx(requested + fault["throughput_recovered_s"])
    labels = [a["text"] for a in throughput["annotations"]]
    assert "throughput recovered +5.30 s" in labels
    assert "90 % of the pre-fault rate: 9.0 served per 100 ms" in labels
    view = figure(html, "view")["layout"]
    after_heal = next(s for s in view["shapes"] if s.get("name") == "recovery after heal")
    assert after_heal["x0"] == pytest.approx(heal + fault["recovery_after_heal_s"])
    labels = [a["text"] for a in view["annotations"]]
    assert "detected by n3 +4.36 s" in labels and "recovery after heal +414 ms" in labels


def test_an_undecided_slo_makes_an_amber_unknown_run(run_dir: Path) -> None:
    undecided = Verdict("linearizable", True, "unknown", "unknown", "search ran out of time")
    verdicts = Verdicts.model_validate_json((run_dir / "verdicts.json").read_text("utf-8"))
    kept = [v for v in verdicts.items() if v.slo != "linearizable" and v.held]
    rewritten = Verdicts(status="unknown", verdicts=[v.to_dict() for v in [*kept, undecided]])
    write_json(run_dir / "verdicts.json", rewritten.model_dump(mode="json"))
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    top = header(html)
    assert "<span class='badge unknown'>unknown: an SLO could not be decided</span>" in top
    assert "SLO not decided: <code>linearizable</code>" in top and "ran out of time" in top
    assert "badge failed" not in html and "SLO failed" not in top
    slos = section_of(html, "Service level objectives")
    assert "<span class='badge unknown'>unknown</span>" in slos
    assert "badge unknown" in safety_rows(html)["linearizability"]
    assert re.search(r"\.badge\.unknown\{background:#f2b134", html)  # amber, not red


@pytest.mark.parametrize(
    ("file", "content", "why"),
    [
        ("run.json", "{not json", "run.json: not readable JSON"),
        ("run.json", '{"system": "etcd", "run_id": 7}', "run.json: run_id: Input should be"),
        ("verdicts.json", "[]", "verdicts.json: expected a JSON object, found list"),
        ("verdicts.json", '{"status": "held", "verdicts": [{}]}', "verdict 0 names no SLO"),
        ("verdicts.json", '{"status": "fine"}', "verdicts.json: status: Input should be"),
    ],
)
def test_a_folder_whose_run_or_verdicts_cannot_be_read_gets_a_page_saying_why(
    run_dir: Path, file: str, content: str, why: str
) -> None:
    (run_dir / file).write_text(content, encoding="utf-8")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "<span class='badge damaged'>damaged run folder</span>" in header(html)
    assert why in header(html)
    assert "data-figure" not in html and "Recovery per fault" not in html  # no figure at all
    assert f"href='{file}'" in html  # the raw file, to look at


def test_unreadable_metrics_hide_the_figures_not_the_charts(run_dir: Path) -> None:
    (run_dir / "metrics.json").write_text('{"schema_version": 2, "operations": "many"}', "utf-8")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "metrics.json: operations: Input should be a valid integer" in header(html)
    assert "Not shown: " in recovery(html) and "worst shard unavailable" not in recovery(html)
    assert "badge slo-failed" in header(html)  # verdicts.json is fine
    assert figure(html, "timeline")  # drawn from the history, with no figure marked


def test_an_unreadable_history_is_named_and_nothing_is_drawn(run_dir: Path) -> None:
    with (run_dir / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write('{"record": "op", "type": "ok"}\n')
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert re.search(rf"Not shown: {re.escape(str(run_dir))}/history\.jsonl[:\d]*: ", header(html))
    assert "Not drawn: " in section_of(html, "Charts")
    assert "data-figure" not in html
    assert "305 ms" in recovery(html)  # metrics.json is today's: its figures stand


def test_a_folder_named_like_a_run_without_files_gets_a_page(tmp_path: Path) -> None:
    empty = tmp_path / "reports" / "etcd-20261124T000000-0a0a0a"
    empty.mkdir(parents=True)
    html = write_run_report(empty).read_text(encoding="utf-8")
    assert "no run.json: not a run folder" in header(html)


DAMAGES = {
    "run.json not JSON": ("run.json", "{", "run.json: not readable JSON"),
    "verdicts.json a list": ("verdicts.json", "[1, 2]", "expected a JSON object, found list"),
    "no files": (None, "", "no run.json: not a run folder"),
    "run.json of a newer schema": ("run.json", '{"schema_version": 9}', "written by schema 9"),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_index_shows_a_damaged_run_folder_as_a_row_saying_why(
    run_dir: Path, damage: tuple[str | None, str, str]
) -> None:
    file, content, why = damage
    folder = run_dir.parent / "etcd-20261125T000000-0b0b0b"
    folder.mkdir()
    if file:
        (folder / "run.json").write_text('{"system": "etcd", "run_id": "x"}', encoding="utf-8")
        (folder / file).write_text(content, encoding="utf-8")
    html = write_index(run_dir.parent).read_text(encoding="utf-8")
    row = next(r for r in html.split("<tr>") if folder.name in r)
    assert re.search(rf"<span class=damaged>damaged: [^<]*{re.escape(why)}", row)
    assert "3.4.99-test" in html and "badge slo-failed" in html  # the good run still listed


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "no comparison.json: not a comparison folder"),
        ("{", "comparison.json: not readable JSON"),
        ('{"groups": {"scenario": 1}}', "comparison.json: groups: Input should be a valid list"),
        ('[{"created": "now"}]', "expected a JSON object, found list"),
    ],
)
def test_index_shows_a_damaged_comparison_as_a_row_saying_why(
    run_dir: Path, content: str | None, why: str
) -> None:
    folder = run_dir.parent / "compare-20261124T000000"
    folder.mkdir()
    if content is not None:
        (folder / "comparison.json").write_text(content, encoding="utf-8")
    html = write_index(run_dir.parent).read_text(encoding="utf-8")
    comparisons = section_of(html, "Comparisons")
    assert folder.name in comparisons and f"damaged: {folder}" in comparisons
    assert why in comparisons
    assert folder.name not in section_of(html, "Runs")


def test_a_comparison_in_the_reports_folder_shares_its_copy_of_plotly(tmp_path: Path) -> None:
    from test_compare import build_runs

    from chaos.compare import write_comparison

    reports = tmp_path / "reports"
    comparison = write_comparison(build_runs(reports), reports / "compare-20261124T000000")
    assert "plotly.js v" in comparison.read_text(encoding="utf-8")  # as chaos.compare writes it
    write_index(reports)
    html = comparison.read_text(encoding="utf-8")
    assert SHARED_SRC in html and "plotly.js v" not in html
    assert html.count("Plotly.newPlot") == 1
    write_index(reports)  # again: nothing left to change
    assert comparison.read_text(encoding="utf-8") == html


def test_old_metrics_with_an_unreadable_history_are_not_recomputed_nor_shown(
    run_dir: Path,
) -> None:
    (run_dir / "metrics.json").write_text(json.dumps({"time_to_recover_s": 77.7}), "utf-8")
    (run_dir / "history.jsonl").write_text("not json\n", encoding="utf-8")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "of schema 1, whose figures are not shown, and history.jsonl" in recovery(html)
    assert re.search(rf"Not shown: {re.escape(str(run_dir))}/history\.jsonl[:\d]*: ", header(html))
    assert "77.7" not in page_text(html) and "data-figure" not in html


def record_predictions(run_dir: Path, **settings: Any) -> None:
    """run.json with the predictions the runner records for its experiment, at the settings
    that ran (changed by `settings`)."""
    facts = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    experiment = load_run_experiment(run_dir / "experiment.yaml")
    ran = facts["settings"] | settings
    facts["predictions"] = run_predictions(experiment, ran, len(facts["nodes"]))
    (run_dir / "run.json").write_text(json.dumps(facts), encoding="utf-8")


def test_a_recorded_run_shows_its_predicted_band_beside_each_measurement(tmp_path: Path) -> None:
    run_dir = recorded_run("zookeeper-leader-pause", tmp_path / "reports")
    record_predictions(run_dir)  # syncLimit 5 x tickTime 2000 ms: a silent leader goes at 10-12 s
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    (fault,) = metrics(run_dir)["recovery"]["faults"]
    table = recovery(html)
    assert f"{fault['time_to_detect_s']:.2f} s by" in table and "predicted 10.00-12.00 s" in table
    model = table[table.index("Against the system's own model") :]
    assert "syncLimit x tickTime = 5 x 2000 ms = 10 s" in model
    assert OUTSIDE not in html


def test_a_measurement_outside_its_band_is_flagged_and_judges_nothing(tmp_path: Path) -> None:
    run_dir = recorded_run("zookeeper-leader-pause", tmp_path / "reports")
    verdicts = (run_dir / "verdicts.json").read_text(encoding="utf-8")
    record_predictions(run_dir, sync_limit=2)  # as if it ran at 2 ticks: 4-6 s
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    (fault,) = metrics(run_dir)["recovery"]["faults"]
    flag = f"time to detect of #1 {fault['time_to_detect_s']:.2f} s, {OUTSIDE} 4.00-6.00 s"
    assert f"<span class='badge measured'>{flag}</span>" in header(html)
    assert f"predicted 4.00-6.00 s</small><br><span class='badge measured'>{OUTSIDE}" in recovery(
        html
    )
    assert (run_dir / "verdicts.json").read_text(encoding="utf-8") == verdicts  # no SLO judged


def test_a_recorded_unavailability_short_of_its_band_is_flagged(tmp_path: Path) -> None:
    # A master cut off with its clients kept serves them until it notices it is alone:
    # its slots' worst window is shorter than a promotion takes.
    run_dir = recorded_run("redis-master-isolation", tmp_path / "reports")
    record_predictions(run_dir)
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    (fault,) = metrics(run_dir)["recovery"]["faults"]
    assert fault["unavailability_s"] < 3.5
    flags = re.findall(r"<span class='badge measured'>([^<]*)</span>", header(html))
    assert [f for f in flags if OUTSIDE in f] == [
        f"worst shard unavailable of #1 {fault['unavailability_s']:.2f} s, {OUTSIDE} 3.50-6.50 s"
    ]


def test_an_old_run_without_predictions_renders_them_as_not_recorded(tmp_path: Path) -> None:
    run_dir = recorded_run("serf-agent-kill", tmp_path / "reports")
    assert "predictions" not in json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "Not recorded: this run's run.json predates the predictions" in recovery(html)
    assert "predicted " not in recovery(html) and OUTSIDE not in html


def recovery_cells(html: str) -> list[str]:
    """The cells of the recovery table's first row."""
    body = recovery(html).split("<tbody>")[1]
    return re.findall(r"<td>(.*?)</td>", body[: body.index("</tr>")])


def test_views_converged_is_shown_apart_from_recovery_after_heal(tmp_path: Path) -> None:
    run_dir = recorded_run("zookeeper-leader-kill-race", tmp_path / "reports")
    (fault,) = metrics(run_dir)["recovery"]["faults"]
    assert fault["views_converged_s"] < fault["recovery_after_heal_s"]
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    cells = recovery_cells(html)
    at = RECOVERY_HEADERS.index("recovery after heal")
    after_heal, converged = cells[at], cells[at + 1]
    assert after_heal.startswith(f"{fault['recovery_after_heal_s']:.2f} s")
    assert converged.startswith(f"{fault['views_converged_s'] * 1000:.0f} ms")
    labels = [a["text"] for a in figure(html, "view")["layout"]["annotations"]]
    assert f"views converged +{fault['views_converged_s'] * 1000:.0f} ms" in labels


def test_metrics_written_before_views_converged_say_it_was_not_recorded(run_dir: Path) -> None:
    data = metrics(run_dir)
    del data["recovery"]["faults"][0]["views_converged_s"]
    write_json(run_dir / "metrics.json", data)
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert recovery_cells(html)[-1] == "not recorded"


def test_stale_reads_are_counted_and_sized_by_mode_and_node(tmp_path: Path) -> None:
    # Client 1 on n2 reads the first value written long after it was overwritten.
    old = (Op("invoke", 100, 1, "read", "k", None, 2950 * MS, "n2", mode="serializable"),
           Op("ok", 100, 1, "read", "k", 0, 2955 * MS, "n2"))  # fmt: skip
    run_dir = build_run(tmp_path / "reports", ops=old)
    measured = metrics(run_dir)["staleness"]
    assert measured["stale_count"] >= 1
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    table = section_of(html, "Staleness of reads")
    stalest = measured["stalest"][0]
    assert f"max {measured['overall']['versions_behind_max']}" in table
    assert f"max {measured['overall']['stale_ms_max']:.0f} ms" in table
    assert "<td>mode serializable</td><td>1 of 1</td>" in table
    assert f"{stalest['versions_behind']} versions behind" in table


def test_a_run_without_register_reads_has_no_staleness_section(tmp_path: Path) -> None:
    run_dir = recorded_run("serf-agent-kill", tmp_path / "reports")
    assert "Staleness of reads" not in write_run_report(run_dir).read_text(encoding="utf-8")


def test_reads_none_of_which_were_stale_take_one_line(run_dir: Path) -> None:
    reads = metrics(run_dir)["staleness"]["reads_checked"]
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    section = section_of(html, "Staleness of reads")
    assert f"0 of {reads} register reads were stale" in section and "<table" not in section


def probe_history(visible_after_ms: int = 25) -> History:
    """n1 writes a new value every 200 ms (acknowledged 5 ms later); n2 reads every 10 ms
    and sees a write only `visible_after_ms` after its acknowledgement."""
    ops, op_id = [], 0
    for value in range(10):
        at = value * 200
        ops += [Op("invoke", op_id, 0, "write", "v", value, at * MS, "n1"),
                Op("ok", op_id, 0, "write", "v", value, (at + 5) * MS, "n1")]  # fmt: skip
        op_id += 1
    for at in range(10, 2000, 10):
        seen = max((v for v in range(10) if v * 200 + 5 + visible_after_ms <= at), default=None)
        ops += [Op("invoke", op_id, 1, "read", "v", None, at * MS, "n2"),
                Op("ok", op_id, 1, "read", "v", seen, (at + 1) * MS, "n2")]  # fmt: skip
        op_id += 1
    return History.from_records(sorted(ops, key=lambda op: op.time))


def test_t_visibility_is_drawn_per_phase_and_tabulated_where_measured(run_dir: Path) -> None:
    measured = read_metrics(run_dir)
    assert measured is not None and measured.visibility is None  # a register run: no probe
    probe = visibility(probe_history(visible_after_ms=25))
    write_json(run_dir / "metrics.json", replace(measured, visibility=probe).to_json())
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    chart = figure(html, "visibility")
    assert chart["layout"]["xaxis"]["title"]["text"] == "ms since the write was acknowledged"
    shown = trace(chart, "at rest, every reader: ≥ 99 % fresh from 20 ms")
    assert shown["x"][:4] == [0, 10, 20, 30] and shown["y"][:4] == [0, 0, 1, 1]
    assert trace(chart, "at rest, n2")["visible"] == "legendonly"
    table = section_of(html, "t-visibility")
    row = next(r for r in table.split("<tr>") if "<td>every reader</td>" in r)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[3:6] == [f"{p}<br><small>10</small>" for p in ("0%", "0%", "100%")]
    assert cells[-2:] == ["20 ms", "0"]
