"""A run never passes over a broken cluster, and an interrupted run says so and leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from chaos import runner
from chaos.backend.docker import engine
from chaos.backend.docker.cluster import LABEL_RUN, LABEL_SERVICE, leftovers, remove_labelled
from chaos.experiment import CATALOGUE, Experiment
from chaos.history import load_history
from chaos.runner import Run

pytestmark = pytest.mark.docker
NOTHING = {"containers": [], "networks": [], "volumes": []}


def short_leader_crash() -> dict:
    data = yaml.safe_load((CATALOGUE / "etcd" / "leader-crash.yaml").read_text())
    data["steady_state"] = {"duration": "3s"}
    data["faults"][0].update({"at": "3s", "duration": "4s"})
    data["settle"] = "10s"
    return data


def wait_for_stage(run_dir: Path, stage: str, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    history = run_dir / "history.jsonl"
    while time.monotonic() < deadline:
        if history.exists() and f'"stage": "{stage}"' in history.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {stage} event within {deadline_s:.0f} s")


def test_a_member_killed_from_outside_after_the_heal_makes_the_run_unhealthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "HEALTH_TIMEOUT_S", 10.0)
    run = Run(Experiment.model_validate(short_leader_crash()), reports=tmp_path)

    killed: list[str] = []

    def kill_a_follower_after_the_heal() -> None:
        wait_for_stage(run.run_dir, "healed-verified")
        history = (run.run_dir / "history.jsonl").read_text()
        leader = next(node for node in ("n1", "n2", "n3") if f'"targets": ["{node}"]' in history)
        victim = next(node for node in ("n1", "n2", "n3") if node != leader)
        time.sleep(1.0)
        filters = {"label": [f"{LABEL_RUN}={run.run_id}", f"{LABEL_SERVICE}={victim}"]}
        (container,) = engine.client().containers.list(filters=filters)
        container.kill()
        killed.append(victim)

    killer = threading.Thread(target=kill_a_follower_after_the_heal, daemon=True)
    killer.start()
    outcome = run.execute()
    killer.join(timeout=5)

    (victim,) = killed
    assert outcome.status == "unhealthy", (outcome.error, [v.line() for v in outcome.verdicts])
    assert runner.EXIT_CODES[outcome.status] == 1
    assert f"{victim}: die" in (outcome.error or "")
    assert f"{victim} does not answer" in (outcome.error or "")
    history = load_history(outcome.run_dir / "history.jsonl")
    assert {(e.node, e.action) for e in history.externals} >= {(victim, "die")}
    # The nemesis' own kill and restart of the leader are not external.
    leader = next(e.targets[0] for e in history.faults if e.stage == "effective")
    assert leader not in {e.node for e in history.externals}
    record = json.loads((outcome.run_dir / "run.json").read_text())
    assert record["final_health"]["whole"] is False
    assert leftovers(f"{LABEL_RUN}={run.run_id}") == NOTHING


@pytest.mark.parametrize(
    ("signum", "name", "code"),
    [(signal.SIGTERM, "SIGTERM", 143), (signal.SIGINT, "SIGINT", 130)],
    ids=["SIGTERM", "SIGINT"],
)
def test_an_interrupted_run_exits_with_the_signal_says_one_line_and_leaves_nothing(
    tmp_path: Path, signum: int, name: str, code: int
) -> None:
    experiment = tmp_path / "leader-crash.yaml"
    experiment.write_text(yaml.safe_dump(short_leader_crash()))
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos.cli", "run", str(experiment), "--reports", str(reports)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell without job control starts background jobs with SIGINT ignored, and the
        # suite rightly keeps an inherited ignore: the run the test starts must not inherit it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    run_dir: Path | None = None
    try:
        deadline = time.monotonic() + 120
        while run_dir is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started"
            found = [p for p in reports.glob("etcd-*") if p.is_dir()] if reports.exists() else []
            run_dir = found[0] if found else None
            time.sleep(0.1)
        wait_for_stage(run_dir, "effective")  # the leader is down: a fault is in force
        os.kill(process.pid, signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # the test itself failed: leave nothing behind either
            process.kill()
            process.wait()
        if run_dir is not None:
            remove_labelled(f"{LABEL_RUN}={run_dir.name}")
    assert process.returncode == code, (out, err)
    assert "Traceback" not in out + err
    last = out.strip().splitlines()[-1]
    assert last == (
        f"interrupted by {name}: run folder {run_dir}; cluster removed, nothing left"
    ), out
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert json.loads((run_dir / "verdicts.json").read_text())["status"] == "interrupted"
    assert (run_dir / "index.html").exists()
    assert leftovers(f"{LABEL_RUN}={run_dir.name}") == NOTHING
