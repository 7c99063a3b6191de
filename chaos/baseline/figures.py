"""The figures a baseline keeps, each as docs/metrics.md defines it, and one run's value of each.

A run's value is the worst over its faults that took effect, as the comparison and the SLOs
take it (`chaos.compare.runs.run_values`). Every figure is worse when larger, so one one-sided
test fits them all. Each carries a floor: the smallest growth of its median that counts as a
regression whatever the statistics say (the observers poll every 100 ms, so two polls; a
latency step a client would not notice; one lost write).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chaos.compare.runs import RunSummary
from chaos.compare.statistics import NEVER

Unit = Literal["s", "ms", "writes"]


@dataclass(frozen=True)
class Figure:
    """One figure as a baseline keeps it: its name in metrics.json, its label, its unit, and
    the smallest growth of its median (in its unit) that can count as a regression."""

    name: str
    label: str
    unit: Unit
    floor: float

    def show(self, value: float) -> str:
        if value == NEVER:
            return "never"
        if self.unit == "s":
            return f"{value:.2f} s"
        if self.unit == "ms":
            return f"{value:.0f} ms"
        return f"{value:g}"


FIGURES = (
    Figure("time_to_detect_s", "time to detect", "s", 0.2),
    Figure("blackout_s", "whole-cluster blackout", "s", 0.2),
    Figure("unavailability_s", "worst shard unavailable", "s", 0.2),
    Figure("recovery_after_heal_s", "recovery after heal", "s", 0.2),
    Figure("lost_writes", "lost writes", "writes", 1.0),
    Figure("latency_p99_during_ms", "p99 latency during the fault", "ms", 50.0),
)
BY_NAME = {figure.name: figure for figure in FIGURES}


def run_figures(run: RunSummary) -> dict[str, float]:
    """The run's value of each figure it measured.

    Lost writes count only where the workload wrote sets a final read checked (a register
    workload has none to lose); p99 latency only where some operation was served during a
    fault.
    """
    values = {name: run.values[name] for name in BY_NAME if name in run.values}
    metrics = run.metrics
    if metrics is None:
        return values
    if metrics.lost_writes.keys:
        values["lost_writes"] = float(len(metrics.lost_writes.lost))
    during = [
        phase.latency_p99_ms
        for item in metrics.recovery.faults
        if item.fault.effective
        for phase in item.phases
        if phase.phase == "during" and phase.latency_p99_ms is not None
    ]
    if during:
        values["latency_p99_during_ms"] = max(during)
    return values
