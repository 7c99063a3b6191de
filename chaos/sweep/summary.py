"""A sweep's summary from its folder alone: per figure of docs/metrics.md, the median of each
point's runs with the order-statistic interval for it, beside the band the system's own
`mechanism()` predicts at that point, and whether the median lies inside it.

Written as `sweep.json` (for readers that are not the suite) and `index.html` (chaos.sweep.page)
next to the runs by `chaos.sweep.write_summary`; `chaoslab sweep --summarize DIR` rebuilds both
from plan.json and the run folders, never from Docker.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chaos.compare.runs import MEASURES, RunSummary
from chaos.compare.statistics import Distribution
from chaos.experiment.predictions import fault_mechanism
from chaos.sweep.axes import Axis
from chaos.sweep.measured import Ledger, sort_runs
from chaos.sweep.plan import Plan, Point, read_plan
from chaos.systems.prediction import Band, Mechanism

SUMMARY_SCHEMA = 1
# The figures a sweep draws, as docs/metrics.md names them.
FIGURES = MEASURES


@dataclass(frozen=True)
class PointFigure:
    """One figure at one point: the runs' distribution and the band predicted there."""

    distribution: Distribution | None
    band: Band | None

    @property
    def inside(self) -> bool | None:
        """Whether the median lies in the predicted band (allowing for the view's sampling);
        None where there is no band or no measurement."""
        if self.band is None or self.distribution is None:
            return None
        return self.band.holds(self.distribution.median)

    def to_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution.to_dict() if self.distribution else None,
            "band": None
            if self.band is None
            else {"low_s": self.band.low_s, "high_s": self.band.high_s},
            "inside": self.inside,
        }


@dataclass(frozen=True)
class PointSummary:
    """A point, the runs that measured it and what they show against the prediction."""

    point: Point
    runs: tuple[RunSummary, ...]
    mechanism: Mechanism

    def figure(self, name: str) -> PointFigure:
        values = [run.values[name] for run in self.runs if name in run.values]
        distribution = Distribution(tuple(sorted(values))) if values else None
        return PointFigure(distribution, self.mechanism.band(name))

    @property
    def up_seconds(self) -> float | None:
        """The median time from `compose up` to ready, where the runs recorded it."""
        ups = [r.run.up_seconds for r in self.runs if r.run.up_seconds is not None]
        return Distribution(tuple(sorted(ups))).median if ups else None

    def to_dict(self, figures: tuple[str, ...]) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for run in self.runs:
            statuses[run.status] = statuses.get(run.status, 0) + 1
        return {
            "label": self.point.label,
            "values": self.point.by_name,
            "key": self.point.key,
            "nodes": self.point.experiment.nodes,
            "settings": self.point.settings,
            "runs": [run.run_id for run in self.runs],
            "statuses": statuses,
            "up_s": None if self.up_seconds is None else round(self.up_seconds, 3),
            "figures": {name: self.figure(name).to_dict() for name in figures},
            "prediction": {"detects": self.mechanism.detects, "serves": self.mechanism.serves},
        }


@dataclass(frozen=True)
class Curve:
    """The points of one value of every axis but the first, in the first axis's order."""

    fixed: tuple[tuple[Axis, Any], ...]
    points: tuple[PointSummary, ...]

    @property
    def varied(self) -> tuple[tuple[Axis, Any], ...]:
        """The fixed values that tell this curve from the others (an axis of one value is the
        same for every curve)."""
        return tuple((axis, value) for axis, value in self.fixed if len(axis.values) > 1)

    @property
    def label(self) -> str:
        if not self.varied:
            return "measured"
        return ", ".join(f"{a.name}={a.texts[a.values.index(v)]}" for a, v in self.varied)


@dataclass(frozen=True)
class SweepSummary:
    plan: Plan
    ledger: Ledger
    points: tuple[PointSummary, ...]

    @property
    def x_axis(self) -> Axis:
        return self.plan.axes[0]

    @property
    def figures(self) -> tuple[str, ...]:
        """The figures some run measured, in docs/metrics.md's order."""
        return tuple(
            name for name in FIGURES if any(name in r.values for p in self.points for r in p.runs)
        )

    def curves(self) -> list[Curve]:
        """One curve per combination of the other axes' values (one in all for one axis)."""
        first, others = self.x_axis, self.plan.axes[1:]
        by_values = {p.point.values: p for p in self.points}
        order = sorted(first.values) if first.numeric else list(first.values)
        curves = []
        for rest in itertools.product(*(axis.values for axis in others)):
            members = tuple(by_values[(x, *rest)] for x in order if (x, *rest) in by_values)
            curves.append(Curve(tuple(zip(others, rest, strict=True)), members))
        return curves

    @property
    def wall_seconds(self) -> float:
        """The sweep's sessions end to end (one still open counts until now)."""
        total = 0.0
        for session in self.plan.sessions:
            if "wall_s" in session:
                total += float(session["wall_s"])
            elif "t0" in session:
                total += time.time() - float(session["t0"])
        return total

    def to_json(self) -> dict[str, Any]:
        figures = self.figures
        return {
            "schema_version": SUMMARY_SCHEMA,
            "title": self.plan.base.title,
            "system": self.plan.base.system,
            "file": self.plan.file,
            "axes": [
                {"name": a.name, "values": list(a.values), "texts": list(a.texts)}
                for a in self.plan.axes
            ],
            "repeats": self.plan.repeats,
            "version": self.ledger.version,
            "wall_s": round(self.wall_seconds, 1),
            "sessions": [{k: v for k, v in s.items() if k != "t0"} for s in self.plan.sessions],
            "runs_counted": self.ledger.measured,
            "runs_planned": self.plan.runs,
            "figures": {name: MEASURES[name] for name in figures},
            "points": [p.to_dict(figures) for p in self.points],
            "curves": [
                {
                    "label": curve.label,
                    "fixed": {a.name: v for a, v in curve.fixed},
                    "x": self.x_axis.name,
                    "points": [p.point.label for p in curve.points],
                }
                for curve in self.curves()
            ],
            "set_aside": [
                {"run": a.run_dir.name, "status": a.status, "point": a.point, "why": a.why}
                for a in self.ledger.set_aside
            ],
            "method": METHOD,
        }


METHOD = {
    "median": "per point, the median over the runs that counted for it; a run's value is the "
    "worst over its faults that took effect; a figure that never happened ranks last "
    "('never')",
    "interval": "the distribution-free order-statistic interval for the median, [x(k), "
    "x(n-k+1)], the narrowest whose coverage reaches 95 %; 3 to 5 runs get min-max with its "
    "lower coverage (75 %, 87.5 %, 93.75 %); fewer than 3 get none",
    "band": "what the system's own settings predict at the point (its mechanism()): detection "
    "and unavailability; a median outside it, allowing 100 ms for the sampling of each node's "
    "view, is flagged",
    "counted": "a run counts for a point when its experiment is the point's, its recorded "
    "settings are the point's, it was measured (not an error or an interruption) and can be "
    "trusted (not unhealthy), and it ran the sweep's version; others are listed as set aside",
}


def point_mechanism(point: Point) -> Mechanism:
    """The system's own model of the point's faults (`fault_mechanism`, what `validate` warns
    from), an empty one where it has none. A run's figure is its worst fault's, so with several
    faults the band is [highest low, highest high], and none unless every fault has one."""
    experiment = point.experiment
    try:
        models = [fault_mechanism(experiment, fault) for fault in experiment.faults]
    except (KeyError, TypeError, ValueError):
        return Mechanism("", "", "")
    if not models:
        return Mechanism("", "", "")
    return replace(
        models[0],
        detect=_worst([m.detect for m in models]),
        unavailable=_worst([m.unavailable for m in models]),
    )


def _worst(bands: list[Band | None]) -> Band | None:
    """Where the largest of several figures lies, each within its own band."""
    known = [band for band in bands if band is not None]
    if not known or len(known) < len(bands):
        return None
    return Band(max(b.low_s for b in known), max(b.high_s for b in known))


def summarize(folder: Path, plan: Plan | None = None, version: str | None = None) -> SweepSummary:
    """The summary of a sweep folder from its files alone."""
    plan = plan or read_plan(folder)
    ledger = sort_runs(folder, plan, version)
    points = tuple(PointSummary(p, ledger.runs_of(p), point_mechanism(p)) for p in plan.points)
    return SweepSummary(plan, ledger, points)
