"""A night judged against its experiment's baseline, as a verdict like an SLO's, and the file
that carries it into each of the night's run folders (`regression.json`), where the run
report shows it.

Outcomes: `first` (no baseline yet), `held`, `regressed` (some figure regressed: exit 1),
and `changed`: the night ran on another version, image source, settings, cluster size or
experiment body than its baseline. A change is reported as such, never as a regression:
each figure is still tested and shown, as having moved with the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from chaos.artefacts import write_json
from chaos.baseline.figures import BY_NAME, FIGURES
from chaos.baseline.files import read_file
from chaos.baseline.night import Night, Outcome, batches_of
from chaos.baseline.regression import Shift

VERDICT_FILE = "regression.json"
VERDICT_SCHEMA = 1


@dataclass(frozen=True)
class Judgement:
    """A night against its baseline (None: there is none yet), figure by figure."""

    night: Night
    baseline: Night | None
    shifts: tuple[Shift, ...]

    @property
    def changes(self) -> tuple[str, ...]:
        return self.night.changes_from(self.baseline) if self.baseline else ()

    @property
    def regressions(self) -> tuple[Shift, ...]:
        """The figures that regressed; none across a change, which explains any move."""
        return () if self.changes else tuple(s for s in self.shifts if s.regressed)

    @property
    def outcome(self) -> Outcome:
        if self.baseline is None:
            return "first"
        if self.changes:
            return "changed"
        return "regressed" if self.regressions else "held"

    @property
    def regressed(self) -> bool:
        return self.outcome == "regressed"

    def headline(self) -> str:
        name = self.night.experiment
        if self.baseline is None:
            return f"{name}: no baseline yet ({len(self.night.runs)} runs can become it)"
        against = f"the baseline of {self.baseline.started} ({len(self.baseline.runs)} runs)"
        if self.outcome == "changed":
            changes = "; ".join(self.changes)
            return f"{name}: changed since {against}: {changes}; not judged as a regression"
        if self.regressed:
            names = ", ".join(s.figure.label for s in self.regressions)
            return f"{name}: REGRESSION against {against}: {names}"
        return f"{name}: no regression against {against}"

    def lines(self) -> list[str]:
        """The headline, then one line per figure, marked as an SLO verdict is."""
        return [self.headline(), *(f"  {self.mark(s)}: {s.line()}" for s in self.shifts)]

    def mark(self, shift: Shift) -> str:
        """How the figure's line is marked: as an SLO's verdict, or across a change, whether
        it moved with it."""
        if shift.regressed:
            return "moved with the change" if self.changes else "REGRESSION"
        return shift.outcome

    def judged_night(self) -> Night:
        """The night as a baseline folder records it: with how it was judged."""
        return self.night.model_copy(
            update={
                "outcome": self.outcome,
                "regressed": tuple(s.figure.name for s in self.regressions),
                "changes": self.changes,
            }
        )

    def to_record(self) -> VerdictRecord:
        return VerdictRecord(
            night=self.night,
            baseline=self.baseline,
            tests=tuple(FigureTest(figure=s.figure.name, p=s.p) for s in self.shifts),
            outcome=self.outcome,
            lines=tuple(self.lines()),
        )


def judge(night: Night, baseline: Night | None) -> Judgement:
    """Every figure both nights measured, tested in docs/metrics.md's order."""
    if baseline is None:
        return Judgement(night, None, ())
    shifts = tuple(
        Shift.of(figure, baseline.values[figure.name], night.values[figure.name])
        for figure in FIGURES
        if baseline.values.get(figure.name) and night.values.get(figure.name)
    )
    return Judgement(night, baseline, shifts)


class FigureTest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    figure: str
    p: float | None


class VerdictRecord(BaseModel):
    """regression.json: the night, its baseline, each test's p-value, and the lines printed
    (for readers that are not the suite)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: int = VERDICT_SCHEMA
    kind: Literal["chaoslab-regression"] = "chaoslab-regression"
    night: Night
    baseline: Night | None
    tests: tuple[FigureTest, ...]
    outcome: Outcome
    lines: tuple[str, ...] = ()

    def judgement(self) -> Judgement:
        """The judgement again, its p-values as recorded (figures this suite does not know
        are left out)."""
        if self.baseline is None:
            return Judgement(self.night, None, ())
        shifts = tuple(
            Shift(BY_NAME[t.figure], before, after, t.p)
            for t in self.tests
            if t.figure in BY_NAME
            and (before := self.baseline.distribution(t.figure))
            and (after := self.night.distribution(t.figure))
        )
        return Judgement(self.night, self.baseline, shifts)


def read_verdict(run_dir: Path) -> VerdictRecord | None:
    """The run's regression.json; None where its night was not judged against a baseline."""
    return read_file(run_dir / VERDICT_FILE, "chaoslab-regression", VERDICT_SCHEMA, VerdictRecord)


def judge_runs(
    paths: Iterable[Path], baseline_of: Callable[[Night], Night | None], write: bool = True
) -> tuple[list[Judgement], list[str]]:
    """Each night among the run folders judged against the baseline `baseline_of` finds for
    it; with `write`, its verdict goes into every one of its run folders. Also a line for
    each folder that could not be read."""
    batches, unreadable = batches_of(paths)
    judgements = []
    for batch in batches:
        judgement = judge(batch.night, baseline_of(batch.night))
        judgements.append(judgement)
        if write:
            data = judgement.to_record().model_dump(mode="json")
            for folder in batch.folders:
                write_json(folder / VERDICT_FILE, data)
    return judgements, unreadable
