"""Sweeps without Docker: `--over` parsing and validation, the cross product, the bounds and
the estimate, the summary from synthetic run folders shaped like the runner's, resumption, and
the predicted band beside each median."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from chaos.artefacts import Metrics
from chaos.checks.availability import Availability, ShardAvailability, Window
from chaos.checks.detection import Detection
from chaos.checks.recovery import FaultRecovery, RecoveryReport
from chaos.checks.safety import LostWritesResult, StaleReadsResult
from chaos.checks.windows import FaultWindow
from chaos.errors import ArtefactError, InputError
from chaos.experiment import Experiment, parse_experiment
from chaos.interrupts import Terminated
from chaos.runner import RunInterrupted
from chaos.sweep import (
    Bounds,
    OverError,
    PointError,
    Sweep,
    SweepTooLarge,
    make_plan,
    parse_over,
    run_seconds,
    summarize,
    write_summary,
)
from chaos.sweep.estimate import check_bounds, estimate, schedule_seconds
from chaos.sweep.plan import system_settings, write_plan
from chaos.sweep.summary import point_mechanism
from chaos.systems.serf.system import neighbour_table_problem

ETCD = """
title: "etcd: leader crash"
system: etcd
workload: {kind: register, clients: 6}
steady_state: {duration: 5s}
faults:
  - {kind: kill, target: leader, at: 5s, duration: 10s}
settle: 3s
repeats: 3
"""
SERF = """
title: "Serf: agent crash"
system: serf
workload: {kind: membership, clients: 6}
steady_state: {duration: 5s}
faults:
  - {kind: kill, target: n2, at: 5s, duration: 15s}
settle: 3s
"""
NS = 1_000_000_000
SERIAL = itertools.count()


def etcd() -> Experiment:
    return parse_experiment(ETCD)


def serf() -> Experiment:
    return parse_experiment(SERF)


def _recovery(detect: float | None, outage: float) -> FaultRecovery:
    """One fault's figures, as the checks would have computed them."""
    start = 5 * NS
    window = FaultWindow(
        fault_id=1,
        kind="kill",
        targets=("n1",),
        requested_ns=start,
        effective_ns=start + NS // 10,
        heal_requested_ns=start + 10 * NS,
        healed_ns=start + 10 * NS,
        scope_start_ns=0,
        scope_end_ns=start + 20 * NS,
        downed=("n1",),
    )
    longest = Window(start, start + int(outage * NS))
    shard = ShardAvailability("all", ("k0",), 1, longest)
    return FaultRecovery(
        fault=window,
        availability=Availability((shard,), (longest,), (), (), 0.06),
        detection=Detection("leader", True, first_s=detect),
        throughput_recovered_s=outage + 0.5,
        recovery_after_heal_s=0.4,
        phases=(),
    )


def write_run(
    folder: Path,
    experiment: Experiment,
    repeat: int,
    detect: float | None,
    outage: float = 1.0,
    *,
    status: str = "held",
    version: str = "3.5.17",
    settings: dict[str, object] | None = None,
) -> Path:
    """One run folder as the runner leaves it (minus history and report)."""
    serial = next(SERIAL)
    run_id = f"{experiment.system}-20261124T{serial:06d}-{repeat:06x}"
    run_dir = folder / run_id
    run_dir.mkdir(parents=True)
    run = {
        "run_id": run_id,
        "title": experiment.title,
        "system": experiment.system,
        "family": "consensus" if experiment.system == "etcd" else "gossip",
        "protocol": "Raft" if experiment.system == "etcd" else "SWIM",
        "status": status,
        "version": version,
        "settings": settings or system_settings(experiment),
        "node_count": experiment.nodes,
        "rules": {"detection": "leader" if experiment.system == "etcd" else "membership"},
        "seed": experiment.seed,
        "repeat": repeat,
        "started": f"2026-11-24T{serial // 3600:02d}:{serial // 60 % 60:02d}:{serial % 60:02d}",
        "up_seconds": 2.0 + experiment.nodes / 10,
    }
    metrics = Metrics(
        operations=1000,
        success_rate=0.9,
        recovery=RecoveryReport(10.0, (_recovery(detect, outage),)),
        lost_writes=LostWritesResult((), ()),
        stale_reads=StaleReadsResult(100, ()),
        linearizability=None,
    ).to_json()
    error = "the cluster never came up" if status == "error" else None
    (run_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
    (run_dir / "experiment.yaml").write_text(experiment.model_dump_yaml(), encoding="utf-8")
    if status not in ("error", "interrupted"):
        (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    verdicts = {"status": status, "error": error, "verdicts": []}
    (run_dir / "verdicts.json").write_text(json.dumps(verdicts), encoding="utf-8")
    return run_dir


def raft_detect(experiment: Experiment, repeat: int) -> float:
    """Detection inside etcd's [T, 2T) election timeout, a little different per repeat."""
    timeout = experiment.cluster.settings.get("election_timeout_ms", 1000) / 1000
    return timeout * (1.2 + 0.2 * repeat)


def fake_runs(
    detect: Callable[[Experiment, int], float | None] = raft_detect,
    version: str = "3.5.17",
    interrupt_at: int | None = None,
    stop: BaseException | None = None,
) -> tuple[Callable[[Experiment, int, Path], Path], list[str]]:
    """A stand-in for a real run: writes a measured run folder; the `interrupt_at`-th call
    leaves an interrupted one and raises RunInterrupted (or raises `stop` before any run)."""
    made: list[str] = []

    def run_one(experiment: Experiment, repeat: int, folder: Path) -> Path:
        if interrupt_at is not None and len(made) == interrupt_at:
            if stop is not None:
                raise stop
            run_dir = write_run(folder, experiment, repeat, None, status="interrupted")
            raise RunInterrupted(run_dir, "SIGINT", 130, "cluster removed, nothing left")
        made.append(experiment.title)
        return write_run(folder, experiment, repeat, detect(experiment, repeat), version=version)

    return run_one, made


def quiet(line: str) -> None:
    """Progress lines are not what these tests look at."""


# -- --over ---------------------------------------------------------------------------------


def test_over_reads_nodes_settings_and_fault_durations_as_an_experiment_file_does() -> None:
    assert parse_over("nodes=3,5,7", etcd()).values == (3, 5, 7)
    timeouts = parse_over("election_timeout_ms=500, 1000,2000", etcd())
    assert (timeouts.kind, timeouts.values) == ("setting", (500, 1000, 2000))
    durations = parse_over("faults[0].duration=5s,500ms,12", etcd())
    assert (durations.kind, durations.fault, durations.values) == ("duration", 0, (5.0, 0.5, 12.0))
    assert durations.texts == ("5s", "500ms", "12")
    assert parse_over("profile=lan,wan", serf()).values == ("lan", "wan")


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ("election_timout_ms=1", "none of etcd's settings (election_timeout_ms, heartbeat"),
        ("nodes", "expected NAME=V1,V2,..."),
        ("=3,5", "expected NAME=V1,V2,..."),
        ("nodes=", "none of them empty"),
        ("nodes=3,,5", "none of them empty"),
        ("nodes=3,three", "three: expected a whole number of nodes"),
        ("nodes=3,true", "true: expected a whole number of nodes"),
        ("nodes=3,3", "3 given twice"),
        ("faults[1].duration=5s", "no faults[1] (its faults: faults[0])"),
        ("faults[0].duration=soon", "soon: expected a duration like 500ms, 5s or 2m"),
        ("faults[0].duration=0s", "longer than 0 s"),
    ],
)
def test_an_over_that_cannot_be_swept_is_refused_in_one_line(over: str, says: str) -> None:
    with pytest.raises(OverError) as refused:
        parse_over(over, etcd())
    assert says in str(refused.value)
    assert len(str(refused.value).splitlines()) == 1
    assert str(refused.value).startswith(f"--over {over}")


def test_a_parameter_swept_twice_or_no_parameter_is_refused() -> None:
    with pytest.raises(OverError, match="nodes: swept twice"):
        make_plan(etcd(), ["nodes=3,5", "nodes=7"])
    with pytest.raises(OverError, match="at least one --over"):
        make_plan(etcd(), [])


# -- the cross product and every point validated ---------------------------------------------


def test_the_cross_product_runs_every_combination_with_its_values_in_the_experiment() -> None:
    plan = make_plan(etcd(), ["nodes=3,5,7", "election_timeout_ms=500,1000,2000"], repeats=5)
    assert len(plan.points) == 9 and plan.runs == 45
    assert [p.label for p in plan.points[:4]] == [
        "nodes=3, election_timeout_ms=500",
        "nodes=3, election_timeout_ms=1000",
        "nodes=3, election_timeout_ms=2000",
        "nodes=5, election_timeout_ms=500",
    ]
    point = plan.points[5]
    assert point.experiment.nodes == 5
    assert point.settings == {"election_timeout_ms": 2000, "heartbeat_interval_ms": 100}
    assert point.experiment.title == "etcd: leader crash (nodes=5, election_timeout_ms=2000)"
    assert len({p.key for p in plan.points}) == 9
    assert plan.describe().endswith("= 9 points x 5 repeats = 45 runs")


def test_a_fault_duration_and_the_seed_reach_the_points_experiment() -> None:
    plan = make_plan(etcd(), ["faults[0].duration=2s,20s"], seed=7)
    assert [p.experiment.faults[0].duration for p in plan.points] == [2.0, 20.0]
    assert {p.experiment.seed for p in plan.points} == {7}
    assert plan.repeats == 3  # the file's


def test_every_point_that_cannot_run_is_refused_with_one_line_naming_it() -> None:
    with pytest.raises(PointError) as refused:
        make_plan(etcd(), ["nodes=3,11", "election_timeout_ms=200,1000"])
    lines = str(refused.value).splitlines()
    assert lines == [
        "point nodes=3, election_timeout_ms=200: cluster.settings: election_timeout_ms (200)"
        " must be at least 5 x heartbeat_interval_ms (100): etcd refuses less",
        "point nodes=11, election_timeout_ms=200: cluster.settings: election_timeout_ms (200)"
        " must be at least 5 x heartbeat_interval_ms (100): etcd refuses less",
        "point nodes=11, election_timeout_ms=1000: cluster.nodes: etcd runs 1 to 9 nodes here"
        " (odd sizes are what users run), not 11",
    ]


def test_a_fault_duration_that_breaks_the_schedule_is_refused_at_its_point() -> None:
    flapping = parse_experiment(
        ETCD.replace(
            "{kind: kill, target: leader, at: 5s, duration: 10s}",
            "{kind: kill, target: leader, at: 5s, duration: 2s, repeat: {times: 2, every: 5s}}",
        )
    )
    with pytest.raises(PointError) as refused:
        make_plan(flapping, ["faults[0].duration=1s,6s"])
    (line,) = str(refused.value).splitlines()
    assert line.startswith("point faults[0].duration=6s: faults[0].repeat.every: expected more")


# -- the estimate and the bounds ---------------------------------------------------------------


def test_a_run_lasts_its_schedule_plus_start_up_and_tear_down() -> None:
    experiment = etcd()
    assert schedule_seconds(experiment) == 5 + 10 + 3  # fault at 5 s for 10 s, then settle
    # etcd: 4 s + 1 s a node to come up; 8 s + 0.5 s a node after the settle
    assert run_seconds(experiment) == pytest.approx(18 + 7 + 9.5)
    big = make_plan(serf(), ["nodes=64"]).points[0].experiment
    assert run_seconds(big) == pytest.approx((5 + 15 + 3) + (2 + 0.8 * 64) + (8 + 0.5 * 64))


def test_a_fault_drawn_at_random_counts_at_its_latest_heal() -> None:
    drawn = parse_experiment(
        ETCD.replace("at: 5s, duration: 10s", "random: {at: [5s, 9s], duration: [1s, 4s]}")
    )
    assert schedule_seconds(drawn) == 9 + 4 + 3


def test_a_sweep_over_the_bound_of_runs_is_refused_saying_the_count_and_the_estimate() -> None:
    plan = make_plan(etcd(), ["nodes=3,5,7", "election_timeout_ms=500,1000,2000"], repeats=7)
    planned = estimate([p.experiment for p in plan.points for _ in range(plan.repeats)])
    with pytest.raises(SweepTooLarge) as refused:
        check_bounds(planned, Bounds())
    message = str(refused.value)
    each = planned.seconds / 63
    assert message.startswith(
        f"the sweep would make 63 runs, estimated {planned.seconds / 60:.0f} min (about "
        f"{each:.0f} s a run)"
    )
    assert "more than the bound of 60 runs; give --max-runs 63 to run it anyway" in message
    check_bounds(planned, Bounds(max_runs=63))


def test_a_sweep_over_the_bound_of_hours_is_refused_with_the_option_that_allows_it() -> None:
    plan = make_plan(serf(), ["nodes=32,64", "faults[0].duration=5m"], repeats=20)
    planned = estimate([p.experiment for p in plan.points for _ in range(plan.repeats)])
    assert planned.hours > 4
    with pytest.raises(SweepTooLarge) as refused:
        check_bounds(planned, Bounds())
    message = str(refused.value)
    assert f"{planned.runs} runs, estimated {planned.hours:.1f} h" in message
    wanted = float(message.rsplit("--max-hours ", 1)[1].split()[0])
    assert wanted >= planned.hours
    check_bounds(planned, Bounds(max_hours=wanted))


def test_the_sweep_checks_its_bounds_before_anything_starts(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=40)
    run_one, made = fake_runs()
    job = Sweep(plan, tmp_path / "sweep", run_one, Bounds(max_runs=60), say=quiet)
    with pytest.raises(SweepTooLarge, match="80 runs"):
        job.execute()
    assert made == [] and not (tmp_path / "sweep").exists()


# -- the summary ---------------------------------------------------------------------------------


def _measured_etcd(folder: Path, detects: dict[int, list[float]]) -> None:
    """Runs of an etcd timeout sweep, each with the detection given, per timeout."""
    plan = make_plan(etcd(), [f"election_timeout_ms={','.join(map(str, detects))}"])
    for point, timeout in zip(plan.points, detects, strict=True):
        for repeat, detect in enumerate(detects[timeout]):
            write_run(folder, point.experiment, repeat, detect)


def _sweep_folder(tmp_path: Path, over: list[str], experiment: Experiment | None = None) -> Path:
    """A sweep folder holding its plan and no runs yet."""
    folder = tmp_path / "sweep"
    write_plan(folder, make_plan(experiment or etcd(), over))
    return folder


def test_the_summary_puts_each_median_and_its_interval_beside_the_predicted_band(
    tmp_path: Path,
) -> None:
    folder = _sweep_folder(tmp_path, ["election_timeout_ms=500,1000,2000"])
    _measured_etcd(folder, {500: [0.7, 0.6, 0.9], 1000: [1.3, 1.6, 1.1], 2000: [5.5, 6.0, 5.2]})
    write_summary(folder)
    data = json.loads((folder / "sweep.json").read_text())
    detect = [p["figures"]["time_to_detect_s"] for p in data["points"]]
    assert [d["distribution"]["median"] for d in detect] == [0.7, 1.3, 5.5]
    assert detect[1]["distribution"]["median_interval"] == {
        "low": 1.1,
        "high": 1.6,
        "coverage": 0.75,
    }
    # Raft: [T - heartbeat, 2T + heartbeat] from the election timeout T
    assert [d["band"] for d in detect] == [
        {"low_s": 0.4, "high_s": 1.1},
        {"low_s": 0.9, "high_s": 2.1},
        {"low_s": 1.9, "high_s": 4.1},
    ]
    assert [d["inside"] for d in detect] == [True, True, False]
    assert data["points"][2]["figures"]["unavailability_s"]["band"] == {
        "low_s": 1.9,
        "high_s": 4.6,
    }
    assert data["points"][0]["figures"]["blackout_s"]["band"] is None  # no prediction for it
    assert data["runs_counted"] == 9 and data["version"] == "3.5.17"
    html = (folder / "index.html").read_text()
    assert "median outside the predicted band" in html
    assert "1.90-4.10 s" in html and "Plotly" in html


def test_two_swept_parameters_give_one_curve_per_value_of_the_second(tmp_path: Path) -> None:
    over = ["nodes=3,5", "election_timeout_ms=500,1000"]
    folder = _sweep_folder(tmp_path, over)
    plan = make_plan(etcd(), over)
    for point in plan.points:
        write_run(folder, point.experiment, 0, raft_detect(point.experiment, 0))
    summary = summarize(folder)
    curves = summary.curves()
    assert [c.label for c in curves] == ["election_timeout_ms=500", "election_timeout_ms=1000"]
    assert [[p.point.experiment.nodes for p in c.points] for c in curves] == [[3, 5], [3, 5]]
    figure = curves[0].points[0].figure("time_to_detect_s")
    assert figure.distribution is not None and figure.distribution.interval is None  # one run


def test_a_parameter_given_one_value_fixes_it_without_naming_a_curve(tmp_path: Path) -> None:
    over = ["nodes=3,5", "faults[0].duration=12s"]
    folder = _sweep_folder(tmp_path, over)
    plan = make_plan(etcd(), over)
    for point in plan.points:
        write_run(folder, point.experiment, 0, raft_detect(point.experiment, 0))
    [curve] = summarize(folder).curves()
    assert curve.label == "measured"
    assert [p.point.experiment.faults[0].duration for p in curve.points] == [12.0, 12.0]


def test_only_the_figures_the_runs_measured_are_summarised(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path, ["election_timeout_ms=500,1000"])
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"])
    run_dir = write_run(folder, plan.points[0].experiment, 0, 0.8)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["recovery"]["faults"][0]["detection"]["observable"] = False  # a follower's fault
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    summary = summarize(folder)
    assert "time_to_detect_s" not in summary.figures
    assert "unavailability_s" in summary.figures


def test_serf_detection_is_set_beside_swims_suspicion_timeout(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path, ["nodes=3,64"], serf())
    plan = make_plan(serf(), ["nodes=3,64"])
    for point, detects in zip(plan.points, ([5.0, 4.6, 5.3], [9.0, 8.2, 30.0]), strict=True):
        for repeat, detect in enumerate(detects):
            write_run(folder, point.experiment, repeat, detect, 0.0, version="0.8.2-dev")
    data = summarize(folder).to_json()
    detect = [p["figures"]["time_to_detect_s"] for p in data["points"]]
    # lan: ack timeout 0.5 s + 4 x max(1, log10 N) x 1 s, and up to 3 probe intervals more
    assert detect[0]["band"] == {"low_s": 4.5, "high_s": 7.5}
    assert detect[1]["band"]["low_s"] == pytest.approx(0.5 + 4 * 1.80618, abs=1e-4)
    assert [d["distribution"]["median"] for d in detect] == [5.0, 9.0]
    assert [d["inside"] for d in detect] == [True, True]
    assert data["points"][1]["up_s"] == pytest.approx(8.4)


def test_several_faults_get_a_band_only_where_each_of_them_has_one() -> None:
    """A run's figure is its worst fault's: two leader kills keep the band of one, a follower
    kill (which Raft's model puts no band on) leaves the worst of them unpredicted."""
    one = point_mechanism(make_plan(etcd(), ["election_timeout_ms=1000"]).points[0])
    twice = ETCD.replace("settle: 3s", "  - {kind: kill, target: leader, at: 20s, duration: 5s}")
    two = point_mechanism(
        make_plan(parse_experiment(twice), ["election_timeout_ms=1000"]).points[0]
    )
    assert (two.detect, two.unavailable) == (one.detect, one.unavailable) != (None, None)
    mixed = twice.replace("target: leader, at: 20s", "target: follower, at: 20s")
    three = point_mechanism(
        make_plan(parse_experiment(mixed), ["election_timeout_ms=1000"]).points[0]
    )
    assert (three.detect, three.unavailable) == (None, None)


def test_a_median_that_never_happened_is_outside_every_band(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path, ["election_timeout_ms=500"])
    plan = make_plan(etcd(), ["election_timeout_ms=500"])
    for repeat in range(3):
        write_run(folder, plan.points[0].experiment, repeat, None if repeat else 0.8)
    figure = summarize(folder).points[0].figure("time_to_detect_s")
    assert figure.inside is False
    assert "never" in json.dumps(figure.to_dict())
    write_summary(folder)
    assert "median never happened" in (folder / "index.html").read_text()


def test_runs_that_do_not_count_are_set_aside_with_the_reason(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path, ["election_timeout_ms=500,1000"])
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"])
    first = plan.points[0].experiment
    write_run(folder, first, 0, 0.8)
    write_run(folder, first, 1, None, status="error")
    write_run(folder, first, 2, None, status="interrupted")
    write_run(folder, first, 3, 0.8, settings={"election_timeout_ms": 500})
    write_run(folder, first, 4, 0.8, status="unhealthy")
    other = parse_experiment(ETCD.replace("settle: 3s", "settle: 4s"))
    write_run(folder, other, 0, 0.8)
    summary = summarize(folder)
    assert summary.ledger.measured == 1
    reasons = sorted(a.why.split(" (")[0] for a in summary.ledger.set_aside)
    assert reasons == [
        "measured, not trusted",
        "not a point of this sweep",
        "not measured",
        "not measured",
        "recorded settings {'election_timeout_ms': 500}, not the point's "
        "{'election_timeout_ms': 500, 'heartbeat_interval_ms': 100}",
    ]
    write_summary(folder)
    assert "Runs set aside" in (folder / "index.html").read_text()


def test_the_summary_is_rebuilt_from_the_folder_alone(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=2)
    run_one, _ = fake_runs()
    folder = tmp_path / "sweep"
    Sweep(plan, folder, run_one, say=quiet).execute()
    written = json.loads((folder / "sweep.json").read_text())
    (folder / "sweep.json").unlink()
    (folder / "index.html").unlink()
    write_summary(folder)
    rebuilt = json.loads((folder / "sweep.json").read_text())
    assert rebuilt["points"] == written["points"]
    assert rebuilt["sessions"][0]["runs"] == 4


def test_a_folder_that_is_not_a_sweep_cannot_be_summarised(tmp_path: Path) -> None:
    with pytest.raises(ArtefactError, match=r"no plan\.json: not a sweep folder"):
        summarize(tmp_path)
    (tmp_path / "plan.json").write_text('{"kind": "chaoslab-sweep", "schema_version": 1}')
    with pytest.raises(ArtefactError, match="cannot be read"):
        summarize(tmp_path)


# -- running and resuming --------------------------------------------------------------------------


def test_a_sweep_makes_every_run_into_its_folder_and_summarises_them(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000,2000"], repeats=2)
    run_one, made = fake_runs()
    result = Sweep(plan, tmp_path / "sweep", run_one, say=quiet).execute()
    assert (result.made, result.errors, result.already, result.exit_code) == (6, 0, 0, 0)
    assert len(made) == 6
    folder = tmp_path / "sweep"
    assert sorted(p.name for p in folder.iterdir() if not p.is_dir()) == [
        "index.html",
        "plan.json",
        "sweep.json",
    ]
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 6
    assert json.loads((folder / "sweep.json").read_text())["runs_counted"] == 6


def test_running_the_same_sweep_again_skips_the_points_already_measured(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=2)
    folder = tmp_path / "sweep"
    Sweep(plan, folder, fake_runs()[0], say=quiet).execute()
    again, made = fake_runs()
    result = Sweep(
        make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=2), folder, again, say=quiet
    ).execute()
    assert (result.made, result.already, made) == (0, 4, [])
    more = Sweep(
        make_plan(etcd(), ["election_timeout_ms=500,1000,2000"], repeats=3),
        folder,
        again,
        say=quiet,
    )
    assert [(p.label, r) for p, r in more.todo] == [
        ("election_timeout_ms=500", 2),
        ("election_timeout_ms=1000", 2),
        ("election_timeout_ms=2000", 0),
        ("election_timeout_ms=2000", 1),
        ("election_timeout_ms=2000", 2),
    ]


def test_at_most_makes_that_many_runs_and_the_next_invocation_continues(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=2)
    folder = tmp_path / "sweep"
    lines: list[str] = []
    first, made = fake_runs()
    result = Sweep(plan, folder, first, say=lines.append, at_most=3).execute()
    assert (result.made, result.exit_code, len(made)) == (3, 0, 3)
    assert "4 runs" in lines[0] and "3 of them now" in lines[0]
    assert lines[-1] == "stopped after 3 runs (--at-most); 1 still to make"
    recorded = json.loads((folder / "plan.json").read_text())["sessions"]
    assert [s["outcome"] for s in recorded] == ["stopped"]
    rest, made = fake_runs()
    result = Sweep(plan, folder, rest, say=quiet, at_most=3).execute()
    assert (result.made, result.already, len(made)) == (1, 3, 1)
    data = json.loads((folder / "sweep.json").read_text())
    assert data["runs_counted"] == 4
    assert [s["outcome"] for s in data["sessions"]] == ["stopped", "complete"]


def test_an_interrupted_sweep_keeps_what_it_measured_and_continues_where_it_stopped(
    tmp_path: Path,
) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=3)
    folder = tmp_path / "sweep"
    run_one, _ = fake_runs(interrupt_at=2)
    stopped = Sweep(plan, folder, run_one, say=quiet).execute()
    assert (stopped.signal, stopped.exit_code, stopped.made) == ("SIGINT", 130, 3)
    data = json.loads((folder / "sweep.json").read_text())
    assert data["runs_counted"] == 2
    assert [a["why"] for a in data["set_aside"]] == ["not measured (interrupted)"]
    assert data["sessions"][0]["outcome"] == "interrupted"
    resumed, made = fake_runs()
    result = Sweep(plan, folder, resumed, say=quiet).execute()
    assert (result.already, result.made, result.exit_code) == (2, 4, 0)
    assert made[0] == "etcd: leader crash (election_timeout_ms=500)"  # its third repeat
    assert summarize(folder).ledger.measured == 6


def test_sigterm_between_runs_stops_the_sweep_with_143_and_a_summary(tmp_path: Path) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=1)
    folder = tmp_path / "sweep"
    run_one, _ = fake_runs(interrupt_at=1, stop=Terminated("received signal SIGTERM"))
    result = Sweep(plan, folder, run_one, say=quiet).execute()
    assert (result.signal, result.exit_code, result.made) == ("SIGTERM", 143, 1)
    assert json.loads((folder / "sweep.json").read_text())["runs_counted"] == 1


def test_a_run_that_failed_makes_the_sweep_exit_2_and_is_made_again_next_time(
    tmp_path: Path,
) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500"], repeats=2)
    folder = tmp_path / "sweep"

    def failing(experiment: Experiment, repeat: int, into: Path) -> Path:
        return write_run(into, experiment, repeat, None, status="error")

    assert Sweep(plan, folder, failing, say=quiet).execute().exit_code == 2
    assert len(Sweep(plan, folder, failing, say=quiet).todo) == 2


def test_runs_of_another_version_are_set_aside_and_their_points_measured_again(
    tmp_path: Path,
) -> None:
    plan = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=1)
    folder = tmp_path / "sweep"
    Sweep(plan, folder, fake_runs(version="3.5.17")[0], say=quiet).execute()
    upgraded, made = fake_runs(version="3.5.18")
    bigger = make_plan(etcd(), ["election_timeout_ms=500,1000"], repeats=2)
    result = Sweep(bigger, folder, upgraded, say=quiet).execute()
    assert result.made == 4 and len(made) == 4  # one planned per point, then both again
    summary = summarize(folder)
    assert summary.ledger.version == "3.5.18" and summary.ledger.measured == 4
    assert {a.why for a in summary.ledger.set_aside} == {
        "ran etcd 3.5.17; the sweep's runs ran 3.5.18"
    }


def test_a_folder_holding_another_sweep_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    Sweep(make_plan(etcd(), ["nodes=3"], repeats=1), folder, fake_runs()[0], say=quiet).execute()
    with pytest.raises(InputError, match="it holds a sweep over nodes; give another folder"):
        Sweep(make_plan(etcd(), ["election_timeout_ms=500"]), folder, fake_runs()[0], say=quiet)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds no sweep"):
        Sweep(make_plan(etcd(), ["nodes=3"]), tmp_path / "other", fake_runs()[0], say=quiet)


# -- Serf at scale -------------------------------------------------------------------------------


def test_serf_names_the_kernels_neighbour_table_when_it_is_too_small(tmp_path: Path) -> None:
    cap = tmp_path / "gc_thresh3"
    cap.write_text("1024\n")
    problem = neighbour_table_problem(64, cap)
    assert problem is not None
    assert "64 agents need about 4096 neighbour (ARP) entries and this kernel keeps 1024" in (
        problem
    )
    assert "sysctl -w net.ipv4.neigh.default.gc_thresh2=4096" in problem
    assert neighbour_table_problem(16, cap) is None
    assert neighbour_table_problem(64, tmp_path / "absent") is None
