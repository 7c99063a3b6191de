"""Run folders as a comparison reads them: who ran, what was injected, what was measured.

Built only from the files the runs left behind (never Docker); metrics of an
older schema are recomputed from the run's history (see chaos.artefacts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaos.artefacts import load_metrics, read_json
from chaos.compare.statistics import NEVER
from chaos.errors import ComparisonError

# The figures compared, as docs/metrics.md defines and names them.
MEASURES = {
    "time_to_detect_s": "time to detect (the system's own verdict)",
    "unavailability_s": "worst shard unavailable",
    "blackout_s": "whole-cluster blackout",
    "throughput_recovered_s": "throughput recovered",
    "recovery_after_heal_s": "recovery after heal",
}


@dataclass(frozen=True)
class RunSummary:
    """One run as the comparison sees it: who ran, what was injected, what was measured.

    `values` maps a measure to seconds (NEVER where it never happened); a
    measure is absent when no fault took effect in the run.
    """

    run_dir: Path
    run: dict[str, Any]
    run_id: str
    system: str
    family: str
    protocol: str
    version: str
    title: str
    faults: tuple[dict[str, Any], ...]
    metrics: dict[str, Any]
    status: str
    values: dict[str, float]

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the run recorded, and only those: a run that did not record one is
        not filled in from today's defaults, which may not be what it ran with."""
        return dict(self.run.get("settings") or {})

    @property
    def nodes(self) -> int:
        """Cluster size, which SWIM's suspicion timeout scales with."""
        return int(self.run.get("node_count") or len(self.run.get("nodes") or []) or 3)

    @property
    def scenario(self) -> str:
        """The title without its system prefix: 'Redis Cluster: leader crash' -> 'leader crash'."""
        _, colon, rest = self.title.partition(": ")
        return " ".join((rest if colon else self.title).split()).lower()

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return tuple(sorted({str(f.get("kind", "?")) for f in self.faults}))


def read_summary(run_dir: Path) -> RunSummary:
    """A run folder's files; its history only where its metrics predate today's figures."""
    try:
        run = read_json(run_dir / "run.json")
        verdicts = read_json(run_dir / "verdicts.json")
        path = run_dir / "experiment.yaml"
        experiment = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        experiment = experiment if isinstance(experiment, dict) else {}
        workload = experiment.get("workload") or {}
        register = isinstance(workload, dict) and workload.get("kind") == "register"
        metrics = load_metrics(run_dir, linearizability=register)
    except (ValueError, yaml.YAMLError) as exc:
        raise ComparisonError(f"{run_dir}: a run file is unreadable: {exc}") from None
    recovered = (metrics.get("recovery") or {}).get("faults") or []
    faults = tuple(f for f in experiment.get("faults") or [] if isinstance(f, dict)) or tuple(
        {"kind": item["fault"]["kind"]} for item in recovered
    )
    return RunSummary(
        run_dir=run_dir,
        run=run,
        run_id=str(run.get("run_id") or run_dir.name),
        system=str(run.get("system", "?")),
        family=str(run.get("family", "?")),
        protocol=str(run.get("protocol", "?")),
        version=str(run.get("version", "unknown version")),
        title=str(run.get("title") or experiment.get("title") or run_dir.name),
        faults=faults,
        metrics=metrics,
        status=str(verdicts.get("status", "error")),
        values=run_values(recovered),
    )


def run_values(recovered: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Each measure's worst over the faults that took effect; NEVER where one never happened.

    Detection is left out where the system's own view had nothing to show (a
    consensus system's follower): there it is not late, it does not apply.
    """
    took_effect = [item for item in recovered if item["fault"].get("effective_ns") is not None]
    values = {}
    for measure in MEASURES:
        applicable = [item for item in took_effect if _applies(item, measure)]
        if applicable:
            values[measure] = max(_fault_seconds(item, measure) for item in applicable)
    return values


def _applies(item: dict[str, Any], measure: str) -> bool:
    return measure != "time_to_detect_s" or bool((item.get("detection") or {}).get("observable"))


def _fault_seconds(item: dict[str, Any], measure: str) -> float:
    value = item.get(measure)
    return NEVER if value is None else float(value)


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Run folders in the order given; a folder holding runs (such as reports/) gives them all."""
    found: dict[Path, None] = {}
    for path in paths:
        if (path / "run.json").is_file():
            found[path.resolve()] = None
            continue
        inside = (
            sorted(p for p in path.iterdir() if (p / "run.json").is_file()) if path.is_dir() else []
        )
        if not inside:
            raise ComparisonError(f"{path}: not a run folder (no run.json) and holds no runs")
        found.update(dict.fromkeys(p.resolve() for p in inside))
    if not found:
        raise ComparisonError("no runs to compare: give run folders such as reports/<run-id>/")
    return list(found)
