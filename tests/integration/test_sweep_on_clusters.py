"""A real sweep: Serf at two sizes, one short run each, into one folder with its summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.backend.docker.cluster import LABEL_RUN, leftovers
from chaos.cli import app
from chaos.experiment import parse_experiment
from chaos.sweep import Sweep, make_plan, run_in_docker

pytestmark = pytest.mark.docker

SERF_KILL = """
title: "Serf: agent kill (sweep test)"
system: serf
workload: {kind: membership, clients: 3}
steady_state: {duration: 3s}
faults:
  - {kind: kill, target: n2, at: 3s, duration: 9s}
settle: 2s
"""


def test_a_tiny_serf_sweep_leaves_its_runs_and_summary_in_one_folder(tmp_path: Path) -> None:
    plan = make_plan(parse_experiment(SERF_KILL), ["nodes=3,4"], repeats=1)
    folder = tmp_path / "sweep"
    result = Sweep(plan, folder, run_in_docker(), say=print).execute()

    assert (result.made, result.errors, result.exit_code) == (2, 0, 0)
    runs = sorted(p for p in folder.iterdir() if (p / "run.json").is_file())
    assert len(runs) == 2
    for run_dir in runs:
        run = json.loads((run_dir / "run.json").read_text())
        assert run["version"] not in ("", "unknown")
        assert leftovers(f"{LABEL_RUN}={run['run_id']}") == {
            "containers": [],
            "networks": [],
            "volumes": [],
        }
    data = json.loads((folder / "sweep.json").read_text())
    assert data["runs_counted"] == 2 and data["set_aside"] == []
    assert [p["nodes"] for p in data["points"]] == [3, 4]
    for point in data["points"]:
        detect = point["figures"]["time_to_detect_s"]
        assert detect["distribution"]["n"] == 1
        assert detect["band"]["low_s"] == pytest.approx(4.5)  # lan: 0.5 s + 4 x 1 s
        assert isinstance(detect["inside"], bool)
    assert "predicted band" in (folder / "index.html").read_text()

    # The same sweep again makes nothing; the summary rebuilds from the folder alone.
    again = Sweep(plan, folder, run_in_docker(), say=print)
    assert again.todo == []
    (folder / "sweep.json").unlink()
    rebuilt = CliRunner().invoke(app, ["sweep", "--summarize", str(folder)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads((folder / "sweep.json").read_text())["points"] == data["points"]
