"""Experiments as pytest tests, so CI gets selection by marker and JUnit XML for free.

`pytest experiments/ -m chaos` (or one file, `pytest experiments/<system>/leader-crash.yaml`)
collects each experiment file as a test; each repetition is one item. Items
carry the markers `chaos`, `docker`, the system's name and each of the
file's tags, so `-m "chaos and <system>"` or `-m consensus` select.

Files are collected only when asked for: a file named on the command line,
or a `*.yaml` inside an `experiments/` folder that the command line points at
or into. `pytest` at the repository root (or `pytest .`) therefore never
starts a cluster.

The run happens in the item's setup and the judgement in its call, so the
three outcomes of `chaoslab run` stay distinct in pytest and in JUnit XML:
every SLO held is a pass, an SLO that did not hold is a failure, and a run
that could not be judged (the cluster never got ready, a fault failed) is an
error, like a broken fixture.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chaos import images
from chaos.errors import ChaosError
from chaos.experiment import Experiment, ExperimentError, load_experiment
from chaos.images import ImageSource
from chaos.report import write_index, write_run_report
from chaos.runner import REPORTS, Outcome, Run, RunInterrupted
from chaos.systems import SYSTEMS

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

EXPERIMENTS_FOLDER = "experiments"
MARKER = "chaos"
_ASKED = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaoslab experiments")
    group.addoption(
        "--chaos-repeat",
        type=_positive_int,
        metavar="N",
        help="repetitions of each experiment (default: the file's `repeats`)",
    )
    group.addoption("--chaos-seed", type=int, metavar="S", help="seed (default: the file's)")
    group.addoption(
        "--chaos-image-source",
        choices=images.IMAGE_SOURCES,
        help="local or official images (default: the file's)",
    )
    group.addoption(
        "--chaos-reports",
        type=Path,
        metavar="DIR",
        default=REPORTS,
        help=f"where run folders and the runs index go (default: {REPORTS})",
    )
    group.addoption(
        "--chaos-baseline",
        type=Path,
        metavar="DIR",
        help="a baseline folder (chaoslab baseline save): one more test per experiment file,"
        " its runs judged together against their baseline, failing on a regression",
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text!r}")
    return int(text)


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config, MARKER, "a chaoslab experiment on a real cluster")
    register_marker(config, "docker", "needs a Docker engine; brings real clusters up")
    for system in SYSTEMS:
        register_marker(config, system, f"chaoslab experiments on {system}")


def register_marker(config: pytest.Config, name: str, meaning: str) -> None:
    """Declare a marker once (so --strict-markers accepts it), unless the project already did."""
    if not any(
        line.split(":")[0].split("(")[0].strip() == name for line in config.getini("markers")
    ):
        config.addinivalue_line("markers", f"{name}: {meaning}")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ExperimentFile | None:
    if file_path.suffix == ".yaml" and asked_for(file_path, _command_line_paths(parent.config)):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


def asked_for(file: Path, given: list[Path]) -> bool:
    """Whether the command line asked for this file: named it, or points into its experiments/.

    Both `file` and `given` are absolute. A folder only counts when it is an
    `experiments/` folder or lies inside one, so `pytest .` does not collect
    the catalogue.
    """
    folders = [parent for parent in file.parents if parent.name == EXPERIMENTS_FOLDER]
    for path in given:
        if path == file:
            return True
        if path in file.parents and any(path.is_relative_to(folder) for folder in folders):
            return True
    return False


def _command_line_paths(config: pytest.Config) -> list[Path]:
    """The paths pytest was given (node ids cut at `::`), absolute; computed once.

    Made absolute as pytest makes collected paths (no symlinks resolved), so they compare.
    """
    if _ASKED not in config.stash:
        here = config.invocation_params.dir
        config.stash[_ASKED] = [
            Path(os.path.abspath(here / arg.split("::")[0])) for arg in config.args
        ]
    return config.stash[_ASKED]


def _shown_path(path: Path, config: pytest.Config) -> str:
    """A path as short as the validator's lines in `chaoslab validate` (relative when inside)."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


class ExperimentFile(pytest.File):
    """One experiment file: validated at collection, one item per repetition."""

    def collect(self) -> list[pytest.Item]:
        try:
            experiment = load_experiment(_shown_path(self.path, self.config))
        except ExperimentError as exc:
            raise self.CollectError(str(exc)) from None
        for tag in experiment.tags:
            register_marker(self.config, tag, f"chaoslab experiments tagged {tag}")
        repeats = self.config.getoption("chaos_repeat") or experiment.repeats
        runs = [
            ExperimentItem.from_parent(
                self,
                name=self.path.stem if repeats == 1 else f"{self.path.stem}[run{index + 1}]",
                experiment=experiment,
                repeat=index,
                label=experiment.title if repeats == 1 else f"{experiment.title} (run {index + 1})",
            )
            for index in range(repeats)
        ]
        if self.config.getoption("chaos_baseline") is None:
            return list(runs)
        name = f"{self.path.stem}[baseline]"
        against = BaselineItem.from_parent(self, name=name, experiment=experiment, runs=runs)
        return [*runs, against]


class ExperimentItem(pytest.Item):
    """One repetition of one experiment: run in setup, judged in the call."""

    def __init__(self, *, experiment: Experiment, repeat: int, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment
        self.repeat = repeat
        self.label = label
        self.outcome: Outcome | None = None
        mark(self, experiment)

    def setup(self) -> None:
        if self.config.getoption("setuponly") or self.config.getoption("setupplan"):
            return
        self.outcome = self._execute()
        self.user_properties.append(("run_dir", str(self.outcome.run_dir)))
        self.user_properties.append(("report", str(self.outcome.run_dir / "index.html")))
        for verdict in self.outcome.verdicts:
            print(verdict.line())
        message = failure_message(self.outcome)
        if message and self.outcome.status == "error":
            pytest.fail(message, pytrace=False)

    def _execute(self) -> Outcome:
        source: ImageSource | None = self.config.getoption("chaos_image_source")
        reports = self.config.invocation_params.dir / self.config.getoption("chaos_reports")
        try:
            outcome = Run(
                self.experiment,
                repeat=self.repeat,
                image_source=source,
                seed=self.config.getoption("chaos_seed"),
                reports=reports.resolve(),
            ).execute()
        except ChaosError as exc:  # a user can fix it; anything else is a bug
            pytest.fail(f"run failed: {exc}", pytrace=False)
        except RunInterrupted as stop:
            pytest.exit(str(stop), returncode=stop.exit_code)
        write_run_report(outcome.run_dir)
        write_index(outcome.run_dir.parent)
        return outcome

    def runtest(self) -> None:
        assert self.outcome is not None, "setup ran the experiment"
        message = failure_message(self.outcome)
        if message:
            raise SLOFailed(message)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, SLOFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.label


def mark(item: pytest.Item, experiment: Experiment) -> None:
    """The markers `-m` selects an experiment's items by: chaos, docker, its system, its tags."""
    for name in (MARKER, "docker", experiment.system, *experiment.tags):
        item.add_marker(name)


class BaselineItem(pytest.Item):
    """An experiment file's runs judged together against their baseline (`--chaos-baseline`),
    after them: a regression is a failure, with each figure's verdict line and p-value."""

    def __init__(
        self, *, experiment: Experiment, runs: list[ExperimentItem], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment
        self.runs = runs
        mark(self, experiment)

    def runtest(self) -> None:
        from chaos.baseline.store import Store
        from chaos.baseline.verdict import judge_runs

        folders = [item.outcome.run_dir for item in self.runs if item.outcome is not None]
        if not folders:
            pytest.skip("no run of this experiment finished: nothing to judge")
        store = Store(self.config.invocation_params.dir / self.config.getoption("chaos_baseline"))
        try:
            judgements, unreadable = judge_runs(folders, store.baseline)
        except ChaosError as exc:
            pytest.fail(f"not judged against the baseline: {exc}", pytrace=False)
        for run_dir in folders:
            write_run_report(run_dir)
        self.user_properties.append(("baseline", str(store.folder)))
        # A change is no failure, but JUnit readers see it beside the pass: first, held,
        # regressed or changed, with the headline that says against what.
        for judgement in judgements:
            self.user_properties.append(("baseline_outcome", judgement.outcome))
            self.user_properties.append(("baseline_verdict", judgement.headline()))
        lines = [*unreadable, *(line for j in judgements for line in j.lines())]
        for line in lines:
            print(line)
        if any(judgement.regressed for judgement in judgements):
            pytest.fail("\n".join([*lines, f"baseline: {store.folder}"]), pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.experiment.title} against its baseline"


class SLOFailed(AssertionError):
    """An SLO did not hold; the message says which, by how much, and where the run is."""


def failure_message(outcome: Outcome) -> str | None:
    """What a test report says about a run: None when every SLO held.

    A failed run says "run failed: why"; a judged run lists each SLO that did
    not hold as measured against expected. Both end with the run's folder.
    """
    if outcome.status == "error":
        return f"run failed: {outcome.error}\nrun dir: {outcome.run_dir}"
    if outcome.status == "held":
        return None
    if outcome.status == "unhealthy":
        return f"cluster unhealthy: {outcome.error}\nrun dir: {outcome.run_dir}"
    failed = [verdict for verdict in outcome.verdicts if not verdict.held]
    # The first line alone is what pytest's short summary shows.
    names = ", ".join(verdict.slo for verdict in failed)
    head = f"{len(failed)} SLO{'s' if len(failed) != 1 else ''} failed: {names}"
    lines = [head, *(f"  {verdict.line()}" for verdict in failed), f"run dir: {outcome.run_dir}"]
    return "\n".join(lines)
