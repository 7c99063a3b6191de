"""A system from a package outside the suite is found through its entry point alone: `list`,
`validate` and `compare` know it, and no file under chaos/ names it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from test_compare import ETCD, _fault, write_run

TOY = Path(__file__).resolve().parents[1] / "toy"
CHAOS = Path(__file__).resolve().parents[2] / "chaos"


def chaoslab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process that sees the toy distribution on its path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOY), str(CHAOS.parent)])}
    return subprocess.run(
        [sys.executable, "-m", "chaos.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


TOY_EXPERIMENT = {
    "title": "toy: peer crash",
    "system": "toy",
    "cluster": {"nodes": 5, "settings": {"patience_s": 3}},
    "workload": {"kind": "membership"},
    "faults": [{"kind": "kill", "target": "n4", "at": "5s", "duration": "5s"}],
    "expect": {"max_time_to_detect": "10s"},
}


def test_the_toy_system_is_listed_and_validated_like_a_built_in_one(tmp_path: Path) -> None:
    listed = chaoslab("list", str(tmp_path / "none"), cwd=tmp_path)
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(TOY_EXPERIMENT))
    bad = {**TOY_EXPERIMENT, "cluster": {"nodes": 5, "settings": {"patience_s": 99}}}
    big = {**TOY_EXPERIMENT, "cluster": {"nodes": 9, "settings": {"patience_s": 3}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(big))
    good = chaoslab("validate", "good.yaml", cwd=tmp_path)
    refused = chaoslab("validate", "bad.yaml", "big.yaml", cwd=tmp_path)

    assert "toy" in chaoslab("list", "good.yaml", cwd=tmp_path).stdout
    assert "no such file" in listed.stdout + listed.stderr
    assert good.returncode == 0, good.stdout + good.stderr
    assert refused.returncode == 2
    lines = refused.stdout.splitlines()
    assert any(
        "cluster.settings.patience_s: expected an integer from 1 to 60, got 99" in x for x in lines
    )
    assert any("toy runs 3 to 7 nodes here, not 9" in x for x in lines)


def test_a_comparison_explains_the_toy_by_its_own_model(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    etcd = write_run(reports, ETCD, 0, [(1.5, 1.6, 2.0, 0.5)])
    toy = write_run(
        reports,
        {
            "title": "toy: leader crash",
            "system": "toy",
            "family": "gossip",
            "protocol": "toy gossip",
            "version": "0.1",
            "settings": {"patience_s": 3},
        },
        1,
        [(3.4, 0.0, 0.0, 1.0)],
    )
    out = tmp_path / "out"
    compared = chaoslab("compare", str(etcd), str(toy), "--out", str(out), cwd=tmp_path)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    data = json.loads((out / "comparison.json").read_text())
    (group,) = data["groups"]
    toy_series = next(s for s in group["series"] if s["system"] == "toy")
    assert "patience_s=3" in toy_series["explanation"]
    assert toy_series["predicted_time_to_detect_s"] == [3, 4]
    assert _fault  # the run folder is built as the runner leaves one


def test_no_module_of_the_suite_names_a_system() -> None:
    """What a system is lives in its package: nothing else in chaos/ spells a product's name."""
    names = ("etcd", "zookeeper", "serf", "redis", "cassandra", "toy")
    offenders = []
    for path in CHAOS.rglob("*.py"):
        if "systems" in path.relative_to(CHAOS).parts[:1]:
            continue
        text = path.read_text().lower()
        offenders += [f"{path.relative_to(CHAOS)}: {n}" for n in names if n in text]
    assert offenders == []
