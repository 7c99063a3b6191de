"""The baseline folder: per experiment, one file of its nights and which of them is the
baseline, so the folder alone (restored from a cache or the previous night's artefact)
judges tonight and draws the trend.

`<folder>/<system>-<scenario>.json` (the title "<System>: leader crash" gives
`<system>-leader-crash.json`):

    {"schema_version": 1, "kind": "chaoslab-baseline", "system": "<system>",
     "experiment": "<title>", "baseline": "<night id>", "baselines": ["<night id>", ...],
     "nights": [<Night>, ...]}

A night is keyed by experiment (system and title), version, image source, settings,
cluster size and experiment body, and holds each figure's values (chaos.baseline.night).
Each such configuration keeps its own baseline (`baselines`; `baseline` is the latest
one): a night is judged against its configuration's, so going back to a setting after
trying another is judged against that setting's nights, and only a configuration never
seen is judged, as a change, against the latest baseline. Every saved night is recorded,
whatever its verdict, so the trend shows it; it becomes its configuration's baseline only
when it did not regress and counted enough runs to judge the next one (`MIN_RUNS`). A
file keeps its last `MAX_NIGHTS` nights, and always its baselines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from chaos.artefacts import write_json
from chaos.baseline.files import read_file
from chaos.baseline.night import Night, batches_of
from chaos.baseline.regression import MIN_RUNS
from chaos.baseline.verdict import Judgement, judge
from chaos.errors import ArtefactError

STORE_SCHEMA = 1
MAX_NIGHTS = 90


class ExperimentRecord(BaseModel):
    """One experiment's file: its nights, oldest first, the id of its latest baseline, and
    those of every configuration's (a file written before there were several: none)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: int = STORE_SCHEMA
    kind: Literal["chaoslab-baseline"] = "chaoslab-baseline"
    system: str
    experiment: str
    baseline: str | None = None
    baselines: tuple[str, ...] = ()
    nights: tuple[Night, ...] = ()

    def night(self, night_id: str | None) -> Night | None:
        return next((n for n in self.nights if n.id == night_id), None)

    def baseline_nights(self) -> list[Night]:
        """Every configuration's baseline, the latest last."""
        ids = [i for i in self.baselines if i != self.baseline] + [self.baseline]
        return [night for i in ids if (night := self.night(i)) is not None]

    def baseline_for(self, night: Night) -> Night | None:
        """The baseline of the night's configuration; else the latest, which it changed from."""
        found = self.baseline_nights()
        same = [b for b in found if not night.changes_from(b)]
        return (same or found or [None])[-1]

    def adopting(self, night: Night) -> ExperimentRecord:
        """The record with `night` as the baseline of its configuration, and the latest."""
        others = [b.id for b in self.baseline_nights() if night.changes_from(b)]
        return self.model_copy(update={"baseline": night.id, "baselines": (*others, night.id)})


@dataclass(frozen=True)
class Saved:
    """What saving one night did: how it was judged, and whether it is now the baseline."""

    judgement: Judgement
    adopted: bool
    recorded: bool = True

    def line(self) -> str:
        night = self.judgement.night
        name, runs = night.experiment, len(night.runs)
        if not self.recorded:
            return f"{name}: the night of {night.started} is recorded already"
        if self.adopted:
            return f"{name}: the baseline of {night.describe()} is now these {runs} runs"
        baseline = self.judgement.baseline
        kept = f"the baseline of {baseline.started} stays" if baseline else "no baseline yet"
        if self.judgement.regressed:
            return f"{name}: night recorded; {kept}: this night regressed"
        return f"{name}: night recorded; {kept}: {runs} runs counted, a baseline needs {MIN_RUNS}"


class Store:
    """A baseline folder; one that does not exist yet holds no baselines."""

    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise ArtefactError(f"{folder}: not a folder: a baseline folder holds one file each")
        self.folder = folder

    def path(self, night: Night) -> Path:
        slug = _slug(night.experiment)
        system = _slug(night.system)
        return self.folder / f"{slug if slug.startswith(system) else f'{system}-{slug}'}.json"

    def record(self, night: Night) -> ExperimentRecord | None:
        """The file of the night's experiment, checked to be that experiment's."""
        path = self.path(night)
        record = read_record(path)
        if record and (record.system, record.experiment) != (night.system, night.experiment):
            held = f"{record.system} {record.experiment!r}"
            raise ArtefactError(f"{path}: holds the baseline of {held}, not {night.experiment!r}")
        return record

    def baseline(self, night: Night) -> Night | None:
        """What the night is judged against (ExperimentRecord.baseline_for)."""
        record = self.record(night)
        return record.baseline_for(night) if record else None

    def records(self) -> list[ExperimentRecord]:
        if not self.folder.is_dir():
            return []
        found = (read_record(path) for path in sorted(self.folder.glob("*.json")))
        return [record for record in found if record is not None]

    def save(self, paths: Iterable[Path]) -> tuple[list[Saved], list[str]]:
        """Record each night the run folders hold, oldest first, judged against the baseline
        of its moment; one that did not regress and counted `MIN_RUNS` runs becomes it.
        Also a line for each folder that could not be read."""
        batches, unreadable = batches_of(paths)
        return [self._save(batch.night) for batch in batches], unreadable

    def _save(self, night: Night) -> Saved:
        record = self.record(night) or ExperimentRecord(
            system=night.system, experiment=night.experiment
        )
        if record.night(night.id):
            return Saved(Judgement(night, None, ()), adopted=False, recorded=False)
        judgement = judge(night, record.baseline_for(night))
        adopted = not judgement.regressed and len(night.runs) >= MIN_RUNS
        nights = (*record.nights, judgement.judged_night())
        updated = record.model_copy(update={"nights": nights})
        if adopted:
            updated = updated.adopting(night)
        kept = {b.id for b in updated.baseline_nights()}
        recent = tuple(
            n for index, n in enumerate(nights) if index >= len(nights) - MAX_NIGHTS or n.id in kept
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        trimmed = updated.model_copy(update={"nights": recent})
        write_json(self.path(night), trimmed.model_dump(mode="json"))
        return Saved(judgement, adopted)


def read_record(path: Path) -> ExperimentRecord | None:
    """One experiment's file; None where it does not exist."""
    return read_file(path, "chaoslab-baseline", STORE_SCHEMA, ExperimentRecord)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"
