"""Running a sweep: the runs its points still need, one after another into the sweep folder,
with the summary rewritten after each, so that whatever stops it leaves a summary of what was
measured.

The folder says what is already measured (chaos.sweep.measured), so running the same sweep
into it again continues where it stopped. Ctrl-C and SIGTERM stop it as they stop `run`: the
run in progress heals and tears down (`RunInterrupted`), the summary of what exists is written,
and the exit code is 130 or 143.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from chaos.artefacts import read_run
from chaos.compare.runs import MEASURES, read_summary
from chaos.compare.statistics import secs
from chaos.errors import ArtefactError, InputError
from chaos.experiment import Experiment
from chaos.images import ImageSource
from chaos.interrupts import Terminated, shielded, signals_raise
from chaos.sweep.estimate import Bounds, Estimate, check_bounds, estimate
from chaos.sweep.measured import Ledger, sort_runs
from chaos.sweep.plan import (
    PLAN_FILE,
    Plan,
    Point,
    end_session,
    read_plan,
    same_sweep,
    start_session,
    write_plan,
)

# One run of an experiment (with its repeat index) into a folder; returns the run's folder and
# raises chaos.runner.RunInterrupted when a signal stopped it.
RunOne = Callable[[Experiment, int, Path], Path]
Say = Callable[[str], None]


def default_folder(reports: Path) -> Path:
    """Where a sweep goes unless told: reports/sweep-<timestamp>/, its runs inside it."""
    return reports / f"sweep-{time.strftime('%Y%m%dT%H%M%S')}"


def open_folder(plan: Plan, folder: Path) -> Plan:
    """The plan to run into `folder`: a new folder, or one holding this same sweep (its
    sessions kept); another sweep's folder, or a folder of something else, is refused."""
    if (folder / PLAN_FILE).exists():
        recorded = read_plan(folder)
        why = same_sweep(recorded, plan)
        if why:
            raise InputError(f"{folder}: {why}; give another folder with --out")
        return replace(plan, sessions=recorded.sessions)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: exists and holds no sweep ({PLAN_FILE}); give another --out")
    return plan


def unfinished_sweeps(reports: Path, plan: Plan) -> list[Path]:
    """Sweep folders under `reports` of this experiment and parameters, for a hint."""
    found = []
    for candidate in sorted(reports.glob("sweep-*/" + PLAN_FILE)):
        try:
            recorded = read_plan(candidate.parent)
        except ArtefactError:
            continue
        if same_sweep(recorded, plan) is None:
            found.append(candidate.parent)
    return found


@dataclass(frozen=True)
class SweepResult:
    folder: Path
    page: Path
    made: int
    errors: int
    already: int
    signal: str | None = None
    exit_code: int = 0


class Sweep:
    """One invocation of a sweep into its folder; `at_most` runs of it, where given (a long
    sweep spread over several invocations, each continuing the folder)."""

    def __init__(
        self,
        plan: Plan,
        folder: Path,
        run_one: RunOne,
        bounds: Bounds | None = None,
        say: Say = print,
        at_most: int | None = None,
    ) -> None:
        self.plan = open_folder(plan, folder)
        self.folder = folder
        self.run_one = run_one
        self.bounds = bounds or Bounds()
        self.say = say
        self.at_most = at_most
        self.ledger: Ledger = sort_runs(folder, self.plan) if folder.exists() else _empty()
        self.todo = self.ledger.missing(self.plan)

    @property
    def planned(self) -> Estimate:
        return estimate([point.experiment for point, _ in self.todo])

    def check(self) -> Estimate:
        """The estimate of what is left, refused past the bounds before anything starts."""
        planned = self.planned
        check_bounds(planned, self.bounds)
        return planned

    def execute(self) -> SweepResult:
        from chaos.runner import RunInterrupted
        from chaos.sweep import write_summary

        planned = self.check()
        queue = list(self.todo)
        now = len(queue) if self.at_most is None else min(len(queue), self.at_most)
        self.say(
            f"sweep {self.plan.describe()}; {self.ledger.measured} already measured here, "
            f"{planned.text()}{f', {now} of them now' if now < len(queue) else ''}; "
            f"folder {self.folder}"
        )
        self.plan = start_session(self.plan)
        write_plan(self.folder, self.plan)
        made = errors = 0
        signal, code, outcome = None, 0, "complete"
        version = self.ledger.version if self.ledger.measured else None
        try:
            with signals_raise():
                while queue and (self.at_most is None or made < self.at_most):
                    point, repeat = queue.pop(0)
                    done = self.ledger.measured + made
                    self.say(
                        f"-- {point.label} (repeat {repeat + 1}; run {done + 1} of "
                        f"{done + 1 + len(queue)})"
                    )
                    run_dir = self.run_one(point.experiment, repeat, self.folder)
                    made += 1
                    status, ran = self._report(run_dir)
                    errors += status == "error"
                    if ran not in (None, "unknown") and ran != version:
                        queue = self._version_changed(version, ran, queue)
                        version = ran
                    with shielded(self.say):
                        write_summary(self.folder, self.plan, version)
                if queue:
                    outcome = "stopped"
                    self.say(f"stopped after {made} runs (--at-most); {len(queue)} still to make")
        except RunInterrupted as stop:
            made += 1
            signal, code, outcome = stop.signal_name, stop.exit_code, "interrupted"
            self.say(f"interrupted by {signal}: run folder {stop.run_dir}; {stop.cleanup}")
        except (KeyboardInterrupt, Terminated) as stop:
            signal, code = ("SIGTERM", 143) if isinstance(stop, Terminated) else ("SIGINT", 130)
            outcome = "interrupted"
            self.say(f"interrupted by {signal} between runs")
        except BaseException:
            outcome = "failed"
            raise
        finally:
            with shielded(self.say):
                self.plan = end_session(self.plan, made, outcome)
                write_plan(self.folder, self.plan)
                page = write_summary(self.folder, self.plan, version)
        if not code and errors:
            code = 2
        return SweepResult(self.folder, page, made, errors, self.ledger.measured, signal, code)

    def _report(self, run_dir: Path) -> tuple[str, str | None]:
        """One line on the run just made; its status and the version it ran."""
        try:
            summary = read_summary(run_dir)
        except ArtefactError as unreadable:
            self.say(f"   {run_dir.name}: {unreadable}")
            return "error", None
        figures = ", ".join(
            f"{MEASURES[name]} {secs(value)}" for name, value in summary.values.items()
        )
        self.say(f"   {summary.status}: {run_dir.name}" + (f" ({figures})" if figures else ""))
        try:
            return summary.status, read_run(run_dir).version
        except ArtefactError:
            return summary.status, None

    def _version_changed(
        self, version: str | None, ran: str, queue: list[tuple[Point, int]]
    ) -> list[tuple[Point, int]]:
        """The first run made here ran another version than the runs already in the folder:
        those are set aside and their points measured again, within the bounds."""
        if version is None:
            return queue
        self.ledger = sort_runs(self.folder, self.plan, ran)
        again = self.ledger.missing(self.plan)
        self.say(
            f"the images now run {self.plan.base.system} {ran}, the runs already here ran "
            f"{version}: those are set aside and {len(again)} runs made at {ran}"
        )
        check_bounds(estimate([p.experiment for p, _ in again]), self.bounds, "the sweep now")
        return again


def _empty() -> Ledger:
    return Ledger({}, (), None)


def run_in_docker(image_source: ImageSource | None = None) -> RunOne:
    """One real run (chaos.runner.Run) of the experiment into the folder."""

    def run_one(experiment: Experiment, repeat: int, folder: Path) -> Path:
        from chaos.runner import Run

        outcome = Run(experiment, repeat=repeat, image_source=image_source, reports=folder)
        return outcome.execute().run_dir

    return run_one
