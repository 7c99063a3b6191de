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

from chaos.artefacts import Metrics, RunRecord, read_metrics, read_run, read_verdicts
from chaos.checks.recovery import FaultRecovery
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
    measure is absent when no fault took effect in the run, or it does not
    apply (detection where the system's own view shows nothing).
    """

    run_dir: Path
    run: RunRecord
    title: str
    faults: tuple[dict[str, Any], ...]
    metrics: Metrics | None
    status: str
    values: dict[str, float]

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def system(self) -> str:
        return self.run.system

    @property
    def family(self) -> str:
        return self.run.family

    @property
    def protocol(self) -> str:
        return self.run.protocol

    @property
    def version(self) -> str:
        return self.run.version

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the run recorded, and only those: a run that did not record one is
        not filled in from today's defaults, which may not be what it ran with."""
        return dict(self.run.settings)

    @property
    def nodes(self) -> int:
        """Cluster size, which SWIM's suspicion timeout scales with."""
        return self.run.size

    @property
    def scenario(self) -> str:
        """The title without its system prefix: 'B Cluster: leader crash' -> 'leader crash'."""
        _, colon, rest = self.title.partition(": ")
        return " ".join((rest if colon else self.title).split()).lower()

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return tuple(sorted({str(f.get("kind", "?")) for f in self.faults}))


def read_summary(run_dir: Path) -> RunSummary:
    """A run folder's files; its history only where its metrics predate today's figures."""
    try:
        run = read_run(run_dir)
        verdicts = read_verdicts(run_dir)
        path = run_dir / "experiment.yaml"
        experiment = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ComparisonError(f"{run_dir}: a run file is unreadable: {exc}") from None
    experiment = experiment if isinstance(experiment, dict) else {}
    metrics = read_metrics(run_dir)
    recovered = metrics.recovery.faults if metrics else ()
    faults = tuple(f for f in experiment.get("faults") or [] if isinstance(f, dict)) or tuple(
        {"kind": item.fault.kind} for item in recovered
    )
    return RunSummary(
        run_dir=run_dir,
        run=run,
        title=run.title or str(experiment.get("title") or run_dir.name),
        faults=faults,
        metrics=metrics,
        status=verdicts.status if verdicts else "error",
        values=run_values(recovered),
    )


def run_values(recovered: Sequence[FaultRecovery]) -> dict[str, float]:
    """Each measure's worst over the faults that took effect; NEVER where one never happened.

    Detection is left out where the system's own view had nothing to show (a
    consensus system's follower): there it is not late, it does not apply.
    """
    took_effect = [item for item in recovered if item.fault.effective]
    values = {}
    for measure in MEASURES:
        applicable = [item for item in took_effect if _applies(item, measure)]
        if applicable:
            values[measure] = max(_fault_seconds(item, measure) for item in applicable)
    return values


def _applies(item: FaultRecovery, measure: str) -> bool:
    return measure != "time_to_detect_s" or item.detection.observable


def _fault_seconds(item: FaultRecovery, measure: str) -> float:
    value = getattr(item, measure)
    return NEVER if value is None else float(value)


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Run folders in the order given; a folder holding runs (such as reports/) gives them all.

    A folder inside counts as a run when it has a run.json of any kind (a damaged one
    too: reading it says what is wrong); others (a comparison's own folder) are not runs.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if _has_run_file(path):
            found[path.resolve()] = None
            continue
        try:
            inside = sorted(p for p in path.iterdir() if _has_run_file(p)) if path.is_dir() else []
        except OSError as exc:
            raise ComparisonError(f"{path}: cannot read: {exc.strerror}") from None
        if not inside:
            raise ComparisonError(f"{path}: not a run folder (no run.json) and holds no runs")
        found.update(dict.fromkeys(p.resolve() for p in inside))
    if not found:
        raise ComparisonError("no runs to compare: give run folders such as reports/<run-id>/")
    return list(found)


def _has_run_file(folder: Path) -> bool:
    run_file = folder / "run.json"
    return run_file.exists() or run_file.is_symlink()
