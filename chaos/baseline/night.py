"""One night of one experiment: the runs of one batch, what they ran on, and each figure's
distribution, read from the run folders through chaos.artefacts (never Docker).

Runs form one night when they ran the same experiment (system and title) on the same
version, image source, settings, cluster size and experiment body (workload, steady state,
faults, settle: a digest of each, so an edited file is told apart from a slower system).
A run that failed, was interrupted or found its cluster changed from outside measured
something other than the system's recovery: it is named and left out of the figures.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from chaos.baseline.figures import FIGURES, run_figures
from chaos.compare.runs import RunSummary, find_runs, read_summary
from chaos.compare.statistics import NEVER, Distribution
from chaos.errors import ArtefactError, ChaosError
from chaos.report import show

COUNTED = frozenset({"held", "slo-failed", "unknown"})
SHAPED_BY = ("workload", "steady_state", "faults", "settle")
Outcome = Literal["first", "held", "regressed", "changed"]


def _never_in(value: Any) -> Any:
    return NEVER if value == "never" else value


def _never_out(value: float) -> float | str:
    return "never" if value == NEVER else value


# A figure's value as files hold it: seconds, milliseconds or a count; "never" for NEVER.
Value = Annotated[float, BeforeValidator(_never_in), PlainSerializer(_never_out)]


class Night(BaseModel):
    """What one batch measured, and once it is saved, how it was judged against the
    baseline of its day (`outcome`, the figures that `regressed`, the `changes`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    system: str
    experiment: str
    started: str
    runs: Annotated[tuple[str, ...], Field(min_length=1)]
    version: str
    image_source: str
    settings: dict[str, Any]
    nodes: int
    shape: dict[str, str]
    values: dict[str, tuple[Value, ...]]
    left_out: tuple[str, ...] = ()
    outcome: Outcome | None = None
    regressed: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Its first run's id: run ids are unique, so a night is never recorded twice."""
        return self.runs[0]

    def distribution(self, figure: str) -> Distribution | None:
        values = self.values.get(figure)
        return Distribution(tuple(sorted(values))) if values else None

    def changes_from(self, baseline: Night) -> tuple[str, ...]:
        """What this night ran differently from `baseline`, one line each."""
        changes = []
        if self.version != baseline.version:
            changes.append(f"version {baseline.version} → {self.version}")
        if self.image_source != baseline.image_source:
            changes.append(f"image source {baseline.image_source} → {self.image_source}")
        moved = {
            key: (baseline.settings.get(key, "unset"), self.settings.get(key, "unset"))
            for key in sorted({*baseline.settings, *self.settings})
            if baseline.settings.get(key) != self.settings.get(key)
        }
        if moved:
            shown = ", ".join(f"{key} {old} → {new}" for key, (old, new) in moved.items())
            changes.append(f"settings {shown}")
        if self.nodes != baseline.nodes:
            changes.append(f"cluster size {baseline.nodes} → {self.nodes}")
        edited = [part for part in SHAPED_BY if self.shape.get(part) != baseline.shape.get(part)]
        if edited:
            changes.append(f"the experiment's {', '.join(edited)} edited")
        return tuple(changes)

    def describe(self) -> str:
        return f"{self.version} ({self.image_source}), {show(self.settings)}, {self.nodes} nodes"


@dataclass(frozen=True)
class Batch:
    """A night and the run folders it was read from (those left out of it too)."""

    night: Night
    folders: tuple[Path, ...]


def batches_of(paths: Iterable[Path]) -> tuple[list[Batch], list[str]]:
    """The nights the run folders (or folders of runs) hold, oldest first, and one line for
    each folder that could not be read."""
    groups: dict[tuple[Any, ...], list[RunSummary]] = defaultdict(list)
    unreadable = []
    for run_dir in find_runs(paths):
        try:
            summary = read_summary(run_dir)
            shape = _shape(run_dir)
        except ChaosError as exc:
            unreadable.append(" ".join(str(exc).split()))
            continue
        groups[_key(summary, shape)].append(summary)
    batches = [
        Batch(night, tuple(r.run_dir for r in runs))
        for key, runs in groups.items()
        if (night := _night(runs, dict(key[-1]))) is not None
    ]
    return sorted(batches, key=lambda b: b.night.started), unreadable


def _key(run: RunSummary, shape: dict[str, str]) -> tuple[Any, ...]:
    settings = json.dumps(run.settings, sort_keys=True, default=str)
    recorded = run.run
    identity = (recorded.system, run.title, recorded.version, recorded.image_source, settings)
    return (*identity, recorded.size, tuple(sorted(shape.items())))


def _night(runs: list[RunSummary], shape: dict[str, str]) -> Night | None:
    """The batch's night; None when none of its runs measured anything to keep."""
    runs = sorted(runs, key=lambda r: (r.run.started, r.run_id))
    counted = [r for r in runs if r.status in COUNTED and r.metrics is not None]
    if not counted:
        return None
    per_run = [run_figures(r) for r in counted]
    values = {
        figure.name: tuple(v[figure.name] for v in per_run if figure.name in v)
        for figure in FIGURES
        if any(figure.name in v for v in per_run)
    }
    first, ids = runs[0], {r.run_id for r in counted}
    return Night(
        system=first.system,
        experiment=first.title,
        started=first.run.started,
        runs=tuple(r.run_id for r in counted),
        version=first.version,
        image_source=first.run.image_source,
        settings=first.settings,
        nodes=first.nodes,
        shape=shape,
        values=values,
        left_out=tuple(f"{r.run_id}: {r.status}" for r in runs if r.run_id not in ids),
    )


def _shape(run_dir: Path) -> dict[str, str]:
    """A digest of each part of experiment.yaml that shapes the figures."""
    path = run_dir / "experiment.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ArtefactError(f"{path}: unreadable: {exc}") from None
    data = data if isinstance(data, dict) else {}
    return {part: _digest(data.get(part)) for part in SHAPED_BY}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
