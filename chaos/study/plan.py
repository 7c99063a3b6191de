"""A study's cells (one experiment at one size and settings), which run folders measured them,
and the runs still needed.

A cell is an experiment of the catalogue as a profile runs it: as written, or at one point of
a sweep (`chaos.sweep.make_plan` makes the point's experiment). A run counts for a cell when

- its experiment.yaml has the cell's key (`measured_key`: a hash of what the experiment
  runs, system, size, settings, workload, faults and seed, its title left out, so that a
  sweep's point at the file's own values counts for the file as written);
- the settings its run.json recorded are the cell's (see `same_settings`);
- it was measured (not an error or an interruption);
- its `study-cell.json` (written beside the runs the study makes) holds the cell key of this
  suite version and of the system version the run recorded;
- it ran the version of the system the newest counted run of that system ran: a study never
  pools two versions of one system.

Runs made outside the study (a plain `chaoslab run`, a sweep) carry no `study-cell.json`:
they count by the other rules, their suite version unrecorded (the page says how many).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from chaos.artefacts import read_run, read_verdicts, write_json
from chaos.compare.runs import RunSummary, read_summary
from chaos.errors import ArtefactError, ExperimentError
from chaos.experiment import Experiment, load_run_experiment
from chaos.study.model import LoadedStudy
from chaos.sweep import make_plan
from chaos.sweep.estimate import Estimate, estimate
from chaos.sweep.measured import MEASURED
from chaos.sweep.plan import system_settings
from chaos.systems import system_class

CELL_FILE = "study-cell.json"
SCAN_DEPTH = 3  # reports/<run>, reports/<sweep>/<run>, reports/<study>/<run>


def suite_version() -> str:
    try:
        return version("chaoslab")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Cell:
    """One experiment at one point, and the claims that weigh it."""

    name: str  # SYSTEM/NAME of the catalogue
    point: str  # the sweep point's label ("nodes=16"), "" as written
    experiment: Experiment

    @property
    def system(self) -> str:
        return self.experiment.system

    @property
    def stem(self) -> str:
        return self.name.split("/", 1)[1]

    @property
    def nodes(self) -> int:
        return self.experiment.nodes

    @property
    def key(self) -> str:
        return measured_key(self.experiment)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.point})" if self.point else self.name

    def cell_key(self, system_version: str) -> str:
        """The key a run folder of this cell stores: the experiment as run, the settings as
        the system reads them, this suite's version and the system's."""
        parts = [self.key, system_settings(self.experiment), suite_version(), system_version]
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# What names an experiment without changing what runs: a sweep point titled with its values
# measures what the file as written measures, when its values are the file's.
UNMEASURED_FIELDS = frozenset({"title", "description", "tags"})


def measured_key(experiment: Experiment) -> str:
    """A hash of what an experiment runs (system, size, settings, workload, faults, seed), its
    names left out and its settings as the system fills them in (a setting left out is its
    default): how a run folder is recognised as a measurement of a cell."""
    data = experiment.model_dump(mode="json", exclude_none=True, exclude=set(UNMEASURED_FIELDS))
    data["cluster"]["settings"] = system_settings(experiment)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_cells(loaded: LoadedStudy, profile: str | None) -> list[Cell]:
    """Every cell the profile runs (None: every cell of the file), each once however many
    claims weigh it: in the profile's order where it lists experiments (the most telling
    first, so that a study cut short has answered most), else in file order; sweeps last."""
    listed = loaded.study.profiles[profile].experiments if profile else None  # type: ignore[index]
    names = (
        listed if listed is not None else [n for c in loaded.study.claims for n in c.experiments]
    )
    cells: dict[str, Cell] = {}
    for name in names:
        cell = Cell(name, "", loaded.experiments[name])
        cells.setdefault(cell.key, cell)
    for claim in loaded.study.claims:
        for ref in claim.sweeps:
            if profile is not None and profile not in ref.profiles:
                continue
            plan = make_plan(loaded.experiments[ref.experiment], ref.over_texts(), 1)
            for point in plan.points:
                cell = Cell(ref.experiment, point.label, point.experiment)
                cells.setdefault(cell.key, cell)
    return list(cells.values())


def all_cells(loaded: LoadedStudy) -> list[Cell]:
    """Every cell of every profile: what a report built from existing runs looks for."""
    return plan_cells(loaded, None)


@dataclass(frozen=True)
class Counted:
    """A run that counts for a cell, and whether the study made it."""

    summary: RunSummary
    by_study: bool


@dataclass(frozen=True)
class Ledger:
    """The runs that count for each cell (by cell key, oldest first), and how many run
    folders were looked at and set aside."""

    counted: dict[str, tuple[Counted, ...]]
    set_aside: int
    versions: dict[str, str]

    def runs_of(self, cell: Cell) -> tuple[Counted, ...]:
        return self.counted.get(cell.key, ())

    def missing(self, cells: Sequence[Cell], repeats: int) -> list[tuple[Cell, int]]:
        """Each run still to make, as (cell, repeat index), lowest unused indices first."""
        todo = []
        for cell in cells:
            used = {c.summary.run.repeat for c in self.runs_of(cell)}
            free = (i for i in range(10_000) if i not in used)
            todo += [(cell, next(free)) for _ in range(repeats - len(self.runs_of(cell)))]
        return todo


def run_folders(roots: Iterable[Path]) -> list[Path]:
    """Run folders under each root, down to SCAN_DEPTH levels, each once."""
    found: dict[Path, None] = {}
    for root in roots:
        level = [root] if root.is_dir() else []
        for _ in range(SCAN_DEPTH):
            below = []
            for folder in level:
                if (folder / "run.json").is_file():
                    found[folder.resolve()] = None
                    continue
                try:
                    below += sorted(p for p in folder.iterdir() if p.is_dir())
                except OSError:
                    continue
            level = below
    return list(found)


def _cell_file(run_dir: Path) -> dict[str, Any] | None:
    """The study's mark in a run folder it made; None in a run made outside the study."""
    try:
        data = json.loads((run_dir / CELL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _candidate(run_dir: Path, cells: dict[str, Cell]) -> tuple[Cell, Counted] | None:
    try:
        run = read_run(run_dir)
        verdicts = read_verdicts(run_dir)
        key = measured_key(load_run_experiment(run_dir / "experiment.yaml"))
    except (ArtefactError, ExperimentError, OSError):
        return None
    cell = cells.get(key)
    status = verdicts.status if verdicts else run.status
    if cell is None or status not in MEASURED:
        return None
    mark = _cell_file(run_dir)
    if mark is not None and mark.get("cell_key") != cell.cell_key(run.version):
        return None  # another suite version, or settings the cell no longer has
    try:
        summary = read_summary(run_dir)
    except ArtefactError:
        return None
    if not same_settings(summary.settings, cell):
        return None
    return cell, Counted(summary, by_study=mark is not None)


def same_settings(recorded: dict[str, Any], cell: Cell) -> bool:
    """Whether a run's recorded settings are the cell's. A run of an older suite may lack a
    setting added since (it ran at that setting's default, the only value there was) or hold
    one since moved elsewhere (ignored); every setting both name must agree."""
    wanted = system_settings(cell.experiment)
    defaults = system_class(cell.system).defaults()
    return all(recorded[k] == v for k, v in wanted.items() if k in recorded) and all(
        v == defaults.get(k) for k, v in wanted.items() if k not in recorded
    )


def sort_runs(roots: Iterable[Path], cells: Sequence[Cell]) -> Ledger:
    """Every run folder under `roots` counted for its cell, or set aside."""
    by_key = {cell.key: cell for cell in cells}
    folders = run_folders(roots)
    candidates = [found for d in folders if (found := _candidate(d, by_key)) is not None]
    newest: dict[str, RunSummary] = {}
    for _, counted in candidates:
        run = counted.summary
        if run.system not in newest or (run.run.started, run.run_id) > (
            newest[run.system].run.started,
            newest[run.system].run_id,
        ):
            newest[run.system] = run
    versions = {system: run.version for system, run in newest.items()}
    counted_by: dict[str, list[Counted]] = defaultdict(list)
    for cell, counted in candidates:
        if counted.summary.version == versions[cell.system]:
            counted_by[cell.key].append(counted)
    ordered = {
        key: tuple(sorted(runs, key=lambda c: (c.summary.run.started, c.summary.run_id)))
        for key, runs in counted_by.items()
    }
    kept = sum(len(runs) for runs in ordered.values())
    return Ledger(ordered, len(folders) - kept, versions)


def mark_cell(run_dir: Path, cell: Cell) -> None:
    """Write `study-cell.json` into a run folder the study made: its cell and key."""
    run = read_run(run_dir)
    data: dict[str, Any] = {
        "cell": cell.label,
        "content_key": cell.key,
        "cell_key": cell.cell_key(run.version),
        "suite_version": suite_version(),
        "system_version": run.version,
        "settings": system_settings(cell.experiment),
    }
    write_json(run_dir / CELL_FILE, data)


def planned(todo: Sequence[tuple[Cell, int]]) -> Estimate:
    return estimate([cell.experiment for cell, _ in todo])
