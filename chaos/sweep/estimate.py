"""How long a sweep will take, and the bounds it must stay within unless told otherwise.

A run lasts its schedule (the steady state, then every fault until its last heal, then the
settle) plus what surrounds it: the cluster coming up to ready, and the final read, the check
that the cluster is whole, the logs and the tear-down after. The start-up allowance is the
system's own `startup_s`, measured on a loaded 2-core machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.errors import InputError
from chaos.experiment import Experiment
from chaos.systems import system_class

MAX_RUNS = 60
MAX_HOURS = 4.0
# Seconds after the settle: stop the workload, final read, whole-cluster check, logs, down.
AFTER_S = (8.0, 0.5)


class SweepTooLarge(InputError):
    """A sweep past its bound of runs or hours; the message gives the count and estimate."""


@dataclass(frozen=True)
class Bounds:
    max_runs: int = MAX_RUNS
    max_hours: float = MAX_HOURS


def schedule_seconds(experiment: Experiment) -> float:
    """The workload's length: steady state, faults to their latest heal, then the settle (a
    fault drawn at random counts at its latest; one never healed, from its start)."""
    end = experiment.steady_state.duration
    for fault in experiment.faults:
        start, heal = fault.envelope()
        end = max(end, start if heal == float("inf") else heal)
    return end + experiment.settle


def startup_seconds(experiment: Experiment) -> float:
    system = system_class(experiment.system)
    fixed, per_node = system.startup_s or (system.ready_timeout / 2, 1.0)
    return fixed + per_node * experiment.nodes


def run_seconds(experiment: Experiment) -> float:
    """One run, cluster up to cluster gone."""
    fixed, per_node = AFTER_S
    after = fixed + per_node * experiment.nodes
    return startup_seconds(experiment) + schedule_seconds(experiment) + after


@dataclass(frozen=True)
class Estimate:
    runs: int
    seconds: float

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def text(self) -> str:
        each = self.seconds / self.runs if self.runs else 0.0
        return f"{self.runs} runs, estimated {_span(self.seconds)} (about {each:.0f} s a run)"


def estimate(experiments: Sequence[Experiment]) -> Estimate:
    """The runs to make, one experiment per run."""
    return Estimate(len(experiments), sum(run_seconds(e) for e in experiments))


def check_bounds(planned: Estimate, bounds: Bounds, what: str = "the sweep") -> None:
    """Refuse a sweep past a bound, saying the count, the estimate and the option to give."""
    if planned.runs > bounds.max_runs:
        raise SweepTooLarge(
            f"{what} would make {planned.text()}: more than the bound of {bounds.max_runs} "
            f"runs; give --max-runs {planned.runs} to run it anyway"
        )
    if planned.hours > bounds.max_hours:
        wanted = -(-planned.seconds // 360) / 10  # hours, rounded up to a tenth
        raise SweepTooLarge(
            f"{what} would make {planned.text()}: more than the bound of "
            f"{bounds.max_hours:g} h; give --max-hours {wanted:g} to run it anyway"
        )


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
