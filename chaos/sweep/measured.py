"""Which run folders of a sweep measured which point, and which are set aside (and why).

A run counts for a point when its experiment.yaml is the point's experiment (same content
key), the settings its run.json recorded are what the system's model makes of the point's,
it was measured and can be trusted (held, slo-failed or unknown: not unhealthy, an error, an
interruption, or a run still going or killed), and it ran the sweep's version of the system.
The sweep's version is the one its newest counted run recorded, unless the caller knows the
version that runs now; a folder never pools two versions. Resumption and the summary both
read the folder this way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from chaos.artefacts import read_run, read_verdicts
from chaos.compare.runs import RunSummary, read_summary
from chaos.errors import ArtefactError, ExperimentError
from chaos.experiment import load_run_experiment
from chaos.sweep.plan import Plan, Point, content_key

# As a baseline night counts them: an unhealthy run (the cluster changed from outside, not whole
# at the end, or the machine too slow to keep the workload's schedule) measured something else.
MEASURED = frozenset({"held", "slo-failed", "unknown"})
UNTRUSTED = "measured, not trusted"


@dataclass(frozen=True)
class SetAside:
    """A run folder that counts for no point, and why."""

    run_dir: Path
    status: str
    why: str
    point: str | None = None


@dataclass(frozen=True)
class Ledger:
    """The runs that count for each point (by content key, oldest first), and the others."""

    counted: dict[str, tuple[RunSummary, ...]]
    set_aside: tuple[SetAside, ...]
    version: str | None

    def runs_of(self, point: Point) -> tuple[RunSummary, ...]:
        return self.counted.get(point.key, ())

    def missing(self, plan: Plan) -> list[tuple[Point, int]]:
        """Each run still to make, as (point, repeat index): a point short of the plan's
        repeats gets the lowest repeat indices its runs have not used (each draws its own
        schedule)."""
        todo = []
        for point in plan.points:
            runs = self.runs_of(point)
            used = {run.run.repeat for run in runs}
            free = (index for index in itertools.count() if index not in used)
            todo += [(point, next(free)) for _ in range(plan.repeats - len(runs))]
        return todo

    @property
    def measured(self) -> int:
        return sum(len(runs) for runs in self.counted.values())


def run_folders(folder: Path) -> list[Path]:
    """The run folders inside a sweep folder, oldest first (run ids sort by time)."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "run.json").is_file())


def sort_runs(folder: Path, plan: Plan, version: str | None = None) -> Ledger:
    """Every run folder of `folder` counted for its point or set aside; `version`: the one the
    sweep runs now, where known."""
    points = {point.key: point for point in plan.points}
    candidates: list[tuple[Point, RunSummary]] = []
    aside: list[SetAside] = []
    for run_dir in run_folders(folder):
        found = _candidate(run_dir, points)
        if isinstance(found, SetAside):
            aside.append(found)
        else:
            candidates.append(found)
    newest = max(candidates, key=lambda c: (c[1].run.started, c[1].run_id), default=None)
    version = version or (newest[1].version if newest else None)
    counted: dict[str, list[RunSummary]] = {}
    for point, summary in candidates:
        if summary.version != version:
            why = f"ran {summary.system} {summary.version}; the sweep's runs ran {version}"
            aside.append(SetAside(summary.run_dir, summary.status, why, point.label))
        else:
            counted.setdefault(point.key, []).append(summary)
    ordered = {
        key: tuple(sorted(runs, key=lambda r: (r.run.started, r.run_id)))
        for key, runs in counted.items()
    }
    return Ledger(ordered, tuple(sorted(aside, key=lambda a: a.run_dir.name)), version)


def _candidate(run_dir: Path, points: dict[str, Point]) -> tuple[Point, RunSummary] | SetAside:
    try:
        run = read_run(run_dir)
        verdicts = read_verdicts(run_dir)
    except ArtefactError as unreadable:
        return SetAside(run_dir, "unreadable", str(unreadable))
    status = verdicts.status if verdicts else run.status
    try:
        key = content_key(load_run_experiment(run_dir / "experiment.yaml"))
    except (ExperimentError, OSError):
        return SetAside(run_dir, status, "its experiment.yaml is missing or no longer valid")
    point = points.get(key)
    if point is None:
        why = "not a point of this sweep (another experiment, value or seed)"
        return SetAside(run_dir, status, why)
    if status not in MEASURED:
        error = f": {verdicts.error}" if verdicts and verdicts.error else ""
        what = UNTRUSTED if status == "unhealthy" else "not measured"
        return SetAside(run_dir, status, f"{what} ({status}{error})", point.label)
    try:
        summary = read_summary(run_dir)
    except ArtefactError as unreadable:
        return SetAside(run_dir, status, str(unreadable), point.label)
    if summary.settings != point.settings:
        why = f"recorded settings {summary.settings}, not the point's {point.settings}"
        return SetAside(run_dir, status, why, point.label)
    return point, summary
