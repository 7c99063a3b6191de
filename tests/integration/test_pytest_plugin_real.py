"""The pytest plugin end to end: one real catalogue experiment, run by pytest, read back as JUnit.

This is what the nightly workflow does, scaled down to one file: a separate
pytest process collects the experiment, runs a real Serf cluster through it
and writes JUnit XML, whose testcase must pass and link the run's folder.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaos.backend.docker.cluster import LABEL_RUN, leftovers
from chaos.experiment import CATALOGUE

pytestmark = pytest.mark.docker
pytest_plugins = ["pytester"]

# Serf's leader crash is the quickest experiment in the catalogue (about 30 s).
EXPERIMENT = "serf/leader-crash.yaml"


def test_real_experiment_passes_in_junit_with_its_run_dir(pytester: pytest.Pytester) -> None:
    target = pytester.path / "experiments" / EXPERIMENT
    target.parent.mkdir(parents=True)
    shutil.copy(CATALOGUE / EXPERIMENT, target)
    reports = pytester.path / "reports"

    result = pytester.runpytest_subprocess(
        "-p",
        "chaos.pytest_plugin",
        "-m",
        "chaos and serf",
        f"--chaos-reports={reports}",
        f"--junitxml={reports / 'junit.xml'}",
        "experiments",
        timeout=300,
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    (case,) = suite.iter("testcase")
    assert (case.get("classname"), case.get("name")) == (
        "experiments.serf.leader-crash.yaml",
        "leader-crash",
    )
    assert [child.tag for child in case] == ["properties"], "no failure, error or skip"
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    run_dir = Path(properties["run_dir"] or "")
    assert run_dir.parent == reports
    assert properties["report"] == str(run_dir / "index.html")
    assert (run_dir / "index.html").is_file()
    assert json.loads((run_dir / "verdicts.json").read_text())["status"] == "held"
    assert leftovers(f"{LABEL_RUN}={run_dir.name}") == {
        "containers": [],
        "networks": [],
        "volumes": [],
    }
