"""Baselines from synthetic run folders shaped like the runner's, with no Docker: what a night
reads from them, how the baseline folder records nights and adopts baselines, its files when
damaged, the verdict in regression.json, the run report, the CLI, JUnit and the trend page."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import scipy.stats  # noqa: F401  (loaded once here: pytester's in-process runs cannot reload it)
import yaml
from test_compare import _fault, _lost
from test_report import figure
from typer.testing import CliRunner

from chaos import cli, pytest_plugin
from chaos.artefacts import Metrics
from chaos.baseline.night import batches_of
from chaos.baseline.store import MIN_RUNS, Store
from chaos.baseline.trend import write_trend
from chaos.baseline.verdict import VERDICT_FILE, judge_runs, read_verdict
from chaos.checks.linearizability import LinearizabilityResult
from chaos.checks.recovery import PhaseStats, RecoveryReport
from chaos.checks.safety import LostWritesResult, StaleReadsResult
from chaos.errors import ArtefactError
from chaos.experiment import CATALOGUE, Experiment
from chaos.report import write_run_report
from chaos.runner import Outcome

pytest_plugins = ["pytester"]

NS = 1_000_000_000
DEFAULTS = {"election_timeout_ms": 1000, "heartbeat_interval_ms": 100}
SLOWER = {"election_timeout_ms": 3000, "heartbeat_interval_ms": 100}
FAST = [1.50, 1.55, 1.58, 1.60, 1.62, 1.65, 1.70, 1.52]
SLOW = [3.5, 3.6, 3.71, 3.8, 3.9, 3.65, 3.75, 3.55]
WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "nightly-chaos.yml"
PLUGIN = ("-p", "chaos.pytest_plugin", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def write_run(
    reports: Path,
    night: int,
    index: int,
    detect: float,
    *,
    settings: dict[str, Any] = DEFAULTS,
    status: str = "held",
    lost: int | None = None,
    after_heal: float | None = 1.3,
) -> Path:
    """One judged etcd leader-crash run as the runner leaves it (minus history and report):
    blackout and worst shard 0.1 s under detection, p99 during the fault 100x detection."""
    run_id = f"etcd-2026120{night}T0223{index:02d}-{night:02d}{index:04x}"
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    during = PhaseStats("during", 0, 10 * NS, 100, 90, 0.9, (), (), 10.0, 50.0, detect * 100)
    fault = replace(_fault(1, (detect, detect - 0.1, 3.0, after_heal)), phases=(during,))
    metrics = Metrics(
        operations=1000,
        success_rate=0.99,
        recovery=RecoveryReport(10.0, (fault,)),
        lost_writes=LostWritesResult((), ()) if lost is None else _lost(lost),
        stale_reads=StaleReadsResult(100, ()),
        linearizability=LinearizabilityResult("linearizable", ()),
    )
    run = {
        "run_id": run_id,
        "title": "etcd: leader crash",
        "system": "etcd",
        "family": "consensus",
        "protocol": "Raft",
        "status": status,
        "version": "3.4.23",
        "settings": settings,
        "nodes": [{"name": f"n{i}"} for i in (1, 2, 3)],
        "started": f"2026-12-0{night}T02:23:{index:02d}+0000",
    }
    experiment = {
        "title": "etcd: leader crash",
        "system": "etcd",
        "workload": {"kind": "register", "clients": 6},
        "faults": [{"kind": "kill", "at": 5.0, "duration": 10.0, "target": "leader"}],
    }
    (run_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump(experiment), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(metrics.to_json()), encoding="utf-8")
    verdicts = {"status": status, "error": "boom" if status == "error" else None, "verdicts": []}
    (run_dir / "verdicts.json").write_text(json.dumps(verdicts), encoding="utf-8")
    return run_dir


def write_night(reports: Path, night: int, detects: list[float], **options: Any) -> list[Path]:
    return [write_run(reports, night, i, d, **options) for i, d in enumerate(detects)]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "baselines")


def test_a_night_reads_every_figure_from_its_run_folders(tmp_path: Path) -> None:
    runs = write_night(tmp_path / "reports", 1, [1.5, 1.6, 1.7], lost=2)
    failed = write_run(tmp_path / "reports", 1, 9, 1.8, status="error")
    (batch,), unreadable = batches_of([tmp_path / "reports"])
    night = batch.night
    assert unreadable == []
    assert night.runs == tuple(r.name for r in runs)
    assert night.left_out == (f"{failed.name}: error",)
    assert night.values["time_to_detect_s"] == (1.5, 1.6, 1.7)
    assert night.values["blackout_s"] == night.values["unavailability_s"]
    assert night.values["blackout_s"] == pytest.approx((1.4, 1.5, 1.6))
    assert night.values["latency_p99_during_ms"] == pytest.approx((150.0, 160.0, 170.0))
    assert night.values["lost_writes"] == (2.0, 2.0, 2.0)
    assert len(batch.folders) == 4, "the run left out is one of the night's folders too"


def test_a_register_workload_keeps_no_lost_writes_figure(tmp_path: Path) -> None:
    write_night(tmp_path / "reports", 1, [1.5, 1.6])
    (batch,), _ = batches_of([tmp_path / "reports"])
    assert "lost_writes" not in batch.night.values


def test_runs_at_other_settings_are_another_night(tmp_path: Path) -> None:
    write_night(tmp_path / "reports", 1, FAST[:5])
    write_night(tmp_path / "reports", 2, SLOW[:5], settings=SLOWER)
    first, second = (b.night for b in batches_of([tmp_path / "reports"])[0])
    assert first.settings == DEFAULTS and second.settings == SLOWER
    assert second.changes_from(first) == ("settings election_timeout_ms 1000 → 3000",)


def test_the_first_night_becomes_the_baseline_in_a_versioned_file(
    tmp_path: Path, store: Store
) -> None:
    runs = write_night(tmp_path / "r1", 1, FAST)
    shutil.rmtree(runs[0])
    write_run(tmp_path / "r1", 1, 0, 1.5, after_heal=None)
    (saved,), _ = store.save([tmp_path / "r1"])
    assert saved.adopted and saved.judgement.outcome == "first"
    data = json.loads((store.folder / "etcd-leader-crash.json").read_text(encoding="utf-8"))
    assert (data["kind"], data["schema_version"]) == ("chaoslab-baseline", 1)
    assert data["baseline"] == runs[0].name
    (night,) = data["nights"]
    assert night["values"]["recovery_after_heal_s"][0] == "never"
    assert store.baseline(saved.judgement.night) == saved.judgement.judged_night()


def test_a_regressed_night_is_recorded_but_the_baseline_stays(tmp_path: Path, store: Store) -> None:
    store.save(write_night(tmp_path / "r1", 1, FAST))
    (slow,), _ = store.save(write_night(tmp_path / "r2", 2, SLOW))
    assert slow.judgement.regressed and not slow.adopted
    assert "this night regressed" in slow.line()
    (clean,), _ = store.save(write_night(tmp_path / "r3", 3, FAST))
    assert clean.judgement.outcome == "held" and clean.adopted
    record = store.records()[0]
    assert [n.outcome for n in record.nights] == ["first", "regressed", "held"]
    assert record.nights[1].regressed[0] == "time_to_detect_s"
    assert record.baseline == record.nights[2].id


def test_each_setting_is_judged_against_its_own_baseline(tmp_path: Path, store: Store) -> None:
    """1000 ms, then 3000 ms (a change, its slower detection shown as moved with it), then
    1000 ms again: held against the first night, not a change back from the second."""
    store.save(write_night(tmp_path / "r1", 1, FAST))
    (slower,), _ = store.save(write_night(tmp_path / "r2", 2, SLOW, settings=SLOWER))
    assert slower.judgement.outcome == "changed" and slower.adopted
    assert slower.judgement.lines()[1].startswith("  moved with the change: time to detect")
    (back,), _ = store.save(write_night(tmp_path / "r3", 3, [v + 0.01 for v in FAST]))
    assert back.judgement.outcome == "held" and back.adopted
    assert back.judgement.baseline is not None
    assert back.judgement.baseline.settings == DEFAULTS
    (again,), _ = store.save(write_night(tmp_path / "r4", 4, SLOW, settings=SLOWER))
    assert again.judgement.outcome == "held"
    record = store.records()[0]
    assert [n.outcome for n in record.nights] == ["first", "changed", "held", "held"]
    assert record.baseline == record.nights[3].id
    assert set(record.baselines) == {record.nights[2].id, record.nights[3].id}


def test_a_file_from_before_per_setting_baselines_still_judges(
    tmp_path: Path, store: Store
) -> None:
    store.save(write_night(tmp_path / "r1", 1, FAST))
    path = store.folder / "etcd-leader-crash.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["baselines"]
    path.write_text(json.dumps(data), encoding="utf-8")
    (slow,), _ = store.save(write_night(tmp_path / "r2", 2, SLOW))
    assert slow.judgement.regressed and not slow.adopted
    assert store.records()[0].baseline == data["baseline"]


def test_a_night_of_too_few_runs_is_recorded_but_not_adopted(tmp_path: Path, store: Store) -> None:
    write_night(tmp_path / "r1", 1, FAST[: MIN_RUNS - 1])
    (saved,), _ = store.save([tmp_path / "r1"])
    assert not saved.adopted
    assert f"a baseline needs {MIN_RUNS}" in saved.line()
    assert store.records()[0].baseline is None


def test_saving_the_same_runs_twice_records_one_night(tmp_path: Path, store: Store) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    store.save([tmp_path / "r1"])
    before = (store.folder / "etcd-leader-crash.json").read_text(encoding="utf-8")
    (again,), _ = store.save([tmp_path / "r1"])
    assert not again.recorded and "recorded already" in again.line()
    assert (store.folder / "etcd-leader-crash.json").read_text(encoding="utf-8") == before


def test_a_damaged_baseline_file_is_one_line_naming_file_and_field(
    tmp_path: Path, store: Store
) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    store.save([tmp_path / "r1"])
    path = store.folder / "etcd-leader-crash.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["nights"][0]["values"]["time_to_detect_s"][2] = "slow"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtefactError) as refused:
        store.records()
    message = str(refused.value)
    assert message.startswith(f"{path}: nights.0.values.time_to_detect_s.2: ")
    assert "\n" not in message


def test_a_baseline_file_of_a_newer_schema_is_refused(tmp_path: Path, store: Store) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    store.save([tmp_path / "r1"])
    path = store.folder / "etcd-leader-crash.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "schema_version": 2}), encoding="utf-8")
    with pytest.raises(ArtefactError, match=r"schema_version: 2; this suite reads 1$"):
        store.records()


def test_a_baseline_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "baselines").write_text("", encoding="utf-8")
    with pytest.raises(ArtefactError, match="not a folder"):
        Store(tmp_path / "baselines")


def test_the_verdict_lands_in_every_run_folder_and_its_report(tmp_path: Path, store: Store) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    store.save([tmp_path / "r1"])
    runs = write_night(tmp_path / "r2", 2, SLOW)
    (judgement,), _ = judge_runs(runs, store.baseline)
    assert judgement.regressed
    for run_dir in runs:
        assert read_verdict(run_dir) is not None
    record = read_verdict(runs[3])
    assert record is not None
    assert record.outcome == "regressed" and record.lines == tuple(judgement.lines())
    assert record.judgement().lines() == judgement.lines(), "p-values as recorded"
    html = write_run_report(runs[3]).read_text(encoding="utf-8")
    assert "Against the baseline" in html
    row = re.search(r"<tr><td>time to detect</td>(.*?)</tr>", html)
    assert row, "a row per figure"
    assert re.findall(r"<td>(.*?)</td>", row.group(1))[2:] == [
        "+131 %",
        "p &lt; 0.001",
        "REGRESSION",
    ]
    assert "REGRESSION against the baseline of 2026-12-01T02:23:00+0000 (8 runs)" in html


def test_a_run_not_judged_against_a_baseline_has_no_such_section(tmp_path: Path) -> None:
    (run_dir,) = write_night(tmp_path / "r1", 1, [1.5])
    assert "Against the baseline" not in write_run_report(run_dir).read_text(encoding="utf-8")
    (run_dir / VERDICT_FILE).write_text("{]", encoding="utf-8")
    html = write_run_report(run_dir).read_text(encoding="utf-8")
    assert "Against the baseline" in html and "not readable JSON" in html


def test_the_trend_marks_the_change_and_highlights_the_regression(
    tmp_path: Path, store: Store
) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    write_night(tmp_path / "r2", 2, [v + 0.02 for v in FAST])
    write_night(tmp_path / "r3", 3, SLOW)
    write_night(tmp_path / "r4", 4, SLOW, settings=SLOWER)
    for night in ("r1", "r2", "r3", "r4"):
        store.save([tmp_path / night])
    out = write_trend(store, tmp_path / "reports" / "trend.html")
    html = out.read_text(encoding="utf-8")
    assert "src='assets/plotly.min.js'" in html
    assert (tmp_path / "reports" / "assets" / "plotly.min.js").exists()
    chart = figure(html, "trend-0")
    detect = chart["data"][0]
    assert detect["x"] == [0, 1, 2, 2.5, 3]
    assert detect["y"][3] is None, "no line across the change"
    assert detect["marker"]["color"][2] == "#d62728", "the regressed night is red"
    assert detect["marker"]["color"][1] == "#1f5fbf"
    assert detect["marker"]["color"][4] == "#e07b00", "the changed night is orange"
    assert detect["y"][2] == pytest.approx(3.68)
    shapes = chart["layout"]["shapes"]
    assert any(s.get("line", {}).get("dash") == "dash" and s["x0"] == 2.5 for s in shapes)
    assert any(s["type"] == "rect" and s["x0"] == pytest.approx(1.6) for s in shapes)
    notes = [a["text"] for a in chart["layout"]["annotations"]]
    assert "settings election_timeout_ms 1000 → 3000" in notes
    assert html.count("badge failed") == 1 and "changed</span>" in html


def test_an_empty_baseline_folder_gives_a_page_that_says_so(store: Store, tmp_path: Path) -> None:
    html = write_trend(store, tmp_path / "trend.html").read_text(encoding="utf-8")
    assert "No night is recorded" in html and "data-figure" not in html


def test_cli_compare_against_a_baseline_exits_1_on_a_regression(
    tmp_path: Path, store: Store
) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    slow = write_night(tmp_path / "r2", 2, SLOW)
    write_night(tmp_path / "r3", 3, [v + 0.01 for v in FAST])

    def chaoslab(*args: Path | str) -> Any:
        return CliRunner().invoke(cli.app, [str(arg) for arg in args])

    saved = chaoslab("baseline", "save", tmp_path / "r1", "--to", store.folder)
    assert saved.exit_code == 0 and "is now these 8 runs" in saved.output
    against = ("--baseline", store.folder)
    regressed = chaoslab("compare", tmp_path / "r2", "--out", tmp_path / "c2", *against)
    assert regressed.exit_code == 1, regressed.output
    assert "REGRESSION: time to detect 1.59 s → 3.68 s, +131 %" in regressed.output
    assert not any((run_dir / VERDICT_FILE).exists() for run_dir in slow), "compare only reads"
    held = chaoslab("compare", tmp_path / "r3", "--out", tmp_path / "c3", *against)
    assert held.exit_code == 0 and "no regression against" in held.output
    trend = chaoslab("baseline", "trend", store.folder, "--out", tmp_path / "trend.html")
    assert trend.exit_code == 0 and (tmp_path / "trend.html").exists()


class SlowRuns:
    """Stands in for `chaos.runner.Run`: each run leaves a synthetic folder of the given speed."""

    def __init__(self, root: Path, detects: list[float]) -> None:
        self.root, self.detects, self.made = root, detects, 0

    def __call__(self, experiment: Experiment, **options: Any) -> SlowRuns:
        return self

    def execute(self) -> Outcome:
        run_dir = write_run(self.root, 2, self.made, self.detects[self.made])
        self.made += 1
        return Outcome(run_dir, "held", [], None)


@pytest.mark.parametrize(("detects", "passes"), [(SLOW, False), (FAST, True)])
def test_the_plugin_judges_the_runs_in_junit(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    store: Store,
    detects: list[float],
    passes: bool,
) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    store.save([tmp_path / "r1"])
    monkeypatch.setattr(pytest_plugin, "Run", SlowRuns(tmp_path / "reports", detects))
    monkeypatch.setattr(pytest_plugin, "write_index", lambda reports: reports)
    target = pytester.path / "experiments" / "etcd" / "leader-crash.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(CATALOGUE / "etcd" / "leader-crash.yaml", target)
    result = pytester.runpytest(
        *PLUGIN,
        "--junitxml=junit.xml",
        "--chaos-repeat=8",
        f"--chaos-baseline={store.folder}",
        "experiments",
    )
    cases = list(ET.parse(pytester.path / "junit.xml").getroot().iter("testcase"))
    assert [c.get("name") for c in cases][-1] == "leader-crash[baseline]"
    failure = cases[-1].find("failure")
    properties = {p.get("name"): p.get("value") for p in cases[-1].iter("property")}
    assert properties["baseline_outcome"] == ("held" if passes else "regressed")
    if passes:
        assert result.ret == pytest.ExitCode.OK and failure is None
        return
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failure is not None
    assert "REGRESSION against the baseline" in (failure.get("message") or "")
    line = "REGRESSION: time to detect 1.59 s → 3.68 s, +131 %, p < 0.001, 8 vs 8 runs"
    assert line in (failure.text or "")
    assert all(c.find("failure") is None for c in cases[:-1]), "every run held its SLOs"


def test_the_trend_marks_a_change_back_to_an_earlier_setting(tmp_path: Path, store: Store) -> None:
    write_night(tmp_path / "r1", 1, FAST)
    write_night(tmp_path / "r2", 2, SLOW, settings=SLOWER)
    write_night(tmp_path / "r3", 3, FAST)
    for night in ("r1", "r2", "r3"):
        store.save([tmp_path / night])
    chart = figure(
        write_trend(store, tmp_path / "trend.html").read_text(encoding="utf-8"), "trend-0"
    )
    dashed = {s["x0"] for s in chart["layout"]["shapes"] if s.get("line", {}).get("dash")}
    assert dashed == {0.5, 1.5}, "a line where each configuration starts"
    notes = [a["text"] for a in chart["layout"]["annotations"]]
    assert "settings election_timeout_ms 3000 → 1000" in notes
    detect = chart["data"][0]
    assert detect["x"] == [0, 0.5, 1, 1.5, 2], "no line across either change"
    drawn = [c for c, y in zip(detect["marker"]["color"], detect["y"], strict=True) if y]
    assert drawn == ["#1f5fbf", "#e07b00", "#1f5fbf"], "only the night judged as a change is"


def test_the_nightly_matrix_is_every_system_the_catalogue_runs() -> None:
    listed = CliRunner().invoke(cli.app, ["baseline", "matrix"])
    assert listed.exit_code == 0, listed.output
    folders = {path.parent.name for path in CATALOGUE.glob("*/*.yaml")}
    assert json.loads(listed.output) == sorted(folders)
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    listing = " ".join(str(step.get("run", "")) for step in workflow["systems"]["steps"])
    assert "chaoslab baseline matrix" in listing
    matrix = workflow["chaos"]["strategy"]["matrix"]["system"]
    assert matrix == "${{ fromJSON(needs.systems.outputs.systems) }}"


def test_the_matrix_of_a_damaged_experiment_names_it_on_each_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: x\nsystem: nosuch\n", encoding="utf-8")
    listed = CliRunner().invoke(cli.app, ["baseline", "matrix", str(broken)])
    assert listed.exit_code != 0
    lines = listed.output.strip().splitlines()
    assert lines and all(f"{broken}:" in line for line in lines)
    assert "system: unknown system" in listed.output
