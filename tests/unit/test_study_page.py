"""The study page built from real recorded runs (tests/fixtures/recorded-runs): the claims
table leads, each verdict is what its rule makes of those runs' figures, every run is linked,
and a verdict resting on an old Cassandra says so."""

from __future__ import annotations

import json
from pathlib import Path

from test_report import recorded_run

from chaos.experiment import load_run_experiment
from chaos.study import write_report
from chaos.study.model import load_study

# Catalogue name for each recorded run: its experiment becomes that catalogue file.
RECORDED = {
    "zookeeper-leader-kill-race": "zookeeper/leader-crash",
    "zookeeper-leader-pause": "zookeeper/pause",
    "serf-agent-kill": "serf/leader-crash",
    "redis-master-kill": "redis/leader-crash",
    "cassandra-node-kill-phi8": "cassandra/leader-crash",
    "redis-master-isolation": "redis/leader-isolation",
}

STUDY = """\
title: "recorded runs, studied"
catalogue: catalogue
profiles:
  quick: {repeats: 1, max_hours: 0.5}
claims:
  - name: recovery-time
    family: consensus
    claim: "Recovery can be slower."
    question: "Does a consensus cluster take longer to notice a crashed leader?"
    experiments: [zookeeper/leader-crash, serf/leader-crash, redis/leader-crash,
                  cassandra/leader-crash]
    figures: [time_to_detect_s]
    rule:
      kind: compare
      side: higher
      margin: 0.2
      cases:
        - {label: "detect a crashed leader", experiment: leader-crash, figure: time_to_detect_s}
  - name: robustness
    family: gossip
    claim: "Highly resilient to node failures and network partitions."
    question: "Is an acknowledged write ever lost?"
    experiments: [redis/leader-isolation, redis/leader-crash, cassandra/leader-crash]
    figures: [lost_writes, blackout_s]
    rule:
      kind: bound
      cases:
        - {label: "isolated master: no write lost", experiment: leader-isolation,
           figure: lost_writes, at_most: 0}
        - {label: "a crash: no whole-cluster blackout over 0.5 s", experiment: leader-crash,
           figure: blackout_s, at_most: 0.5}
"""


def recorded_study(root: Path) -> tuple[Path, Path]:
    """A study over the recorded runs: the study file, and the reports folder holding them."""
    reports = root / "reports"
    for name, entry in RECORDED.items():
        run_dir = recorded_run(name, reports)
        path = root / "catalogue" / f"{entry}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(load_run_experiment(run_dir / "experiment.yaml").model_dump_yaml())
    study = root / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    return study, reports


def test_the_page_leads_with_the_claims_and_computes_each_verdict(tmp_path: Path) -> None:
    study, reports = recorded_study(tmp_path)
    folder = reports / "study-x"
    page, summary = write_report(load_study(study), folder, [reports])
    verdicts = {c["name"]: c for c in summary["claims"]}
    # ZooKeeper elects in ~0.5 s; Serf, Redis and Cassandra take 4-18 s to mark a node failed.
    assert verdicts["recovery-time"]["verdict"] == "contradicted"
    assert len(verdicts["recovery-time"]["runs"]) == 4
    # Redis lost 122 acknowledged writes from its isolated master.
    # Redis lost 122 writes and stopped whole for ~1 s; Cassandra's blackout stayed under 0.5 s.
    robustness = verdicts["robustness"]
    assert robustness["verdict"] == "depends"
    holds, _, fails = robustness["condition"].partition("Not for:")
    assert "cassandra" in holds and "redis" in fails
    assert "redis 122" in " ".join(robustness["numbers"])
    html = page.read_text(encoding="utf-8")
    assert html.index("The claims, each tested") < html.index("recovery-time: Recovery")
    assert "not 5.0" in html  # the Cassandra 1.2 caveat, beside the verdicts it touches
    for run_id in ("serf-agent-kill", "redis-master-isolation", "zookeeper-leader-kill-race"):
        assert f"../{run_id}/index.html" in html
    assert "src='assets/plotly.min.js'" in html  # the study folder's copy, its runs' too
    assert json.loads((folder / "study.json").read_text())["versions"]["cassandra"] == "1.2.0"


def test_the_page_shows_the_band_the_settings_predict(tmp_path: Path) -> None:
    study, reports = recorded_study(tmp_path)
    page, _ = write_report(load_study(study), reports / "study-x", [reports])
    html = page.read_text(encoding="utf-8")
    assert "predicted band" in html  # a chart trace
    assert "predicted " in html.split("recovery-time: Recovery")[1]  # the cases table
