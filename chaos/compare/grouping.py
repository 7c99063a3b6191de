"""Runs grouped by scenario and by system, version and settings, and what explains the
differences: each system's own model of its recovery (its package's `mechanism`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaos.compare.runs import MEASURES, RunSummary
from chaos.compare.statistics import NEVER, Distribution, secs
from chaos.report import show
from chaos.systems import SYSTEMS
from chaos.systems.prediction import FaultShape, Mechanism

FAMILY_ORDER = {"consensus": 0, "gossip": 1}


@dataclass(frozen=True)
class Series:
    """The runs of one system, version and settings in one scenario."""

    label: str
    runs: tuple[RunSummary, ...]

    @property
    def first(self) -> RunSummary:
        return self.runs[0]

    def samples(self, measure: str) -> list[tuple[str, float]]:
        """(run id, seconds) of every run that measured `measure`."""
        return [(r.run_id, r.values[measure]) for r in self.runs if measure in r.values]

    def distribution(self, measure: str) -> Distribution | None:
        values = [value for _, value in self.samples(measure)]
        return Distribution(tuple(sorted(values))) if values else None

    def safety(self) -> dict[str, Any]:
        """Data safety summed over the runs that were checked, and the SLO outcomes."""
        checked = [r.metrics for r in self.runs if r.metrics]
        lost = [len(m.lost_writes.lost) for m in checked]
        return {
            "runs_checked": len(checked),
            "lost_writes": sum(lost),
            "runs_with_lost_writes": sum(1 for count in lost if count),
            "stale_reads": sum(len(m.stale_reads.stale) for m in checked),
            "reads_checked": sum(m.stale_reads.reads_checked for m in checked),
            "linearizability": dict(
                Counter(
                    m.linearizability.verdict if m.linearizability else "not checked"
                    for m in checked
                )
            ),
            "slo_status": dict(Counter(r.status for r in self.runs)),
        }


@dataclass(frozen=True)
class Group:
    """One scenario's series, consensus systems first."""

    scenario: str
    fault_kinds: tuple[str, ...]
    series: tuple[Series, ...]


def group_runs(runs: Sequence[RunSummary]) -> list[Group]:
    """Scenarios by name; inside each, one series per system, version and settings."""
    grouped: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], list[RunSummary]]] = (
        defaultdict(lambda: defaultdict(list))
    )
    for run in runs:
        key = (
            FAMILY_ORDER.get(run.family, len(FAMILY_ORDER)),
            run.system,
            run.version,
            json.dumps(run.settings, sort_keys=True, default=str),
        )
        grouped[(run.scenario, run.fault_kinds)][key].append(run)
    groups = []
    for (scenario, kinds), by_series in sorted(grouped.items()):
        names = Counter((key[1], key[2]) for key in by_series)
        series = []
        for key, members in sorted(by_series.items()):
            label = f"{key[1]} {key[2]}"
            if names[(key[1], key[2])] > 1:
                label += f" ({show(members[0].settings)})"
            ordered = sorted(members, key=lambda r: (r.run.started, r.run_id))
            series.append(Series(label, tuple(ordered)))
        groups.append(Group(scenario, kinds, tuple(series)))
    return groups


def mechanism(series: Series) -> Mechanism:
    """The model of the series' system at the settings it recorded; a plain note where the
    system is not installed here or the run did not record the settings its model needs."""
    run = series.first
    shape = FaultShape.of((str(f.get("kind")), f.get("target")) for f in run.faults)
    if run.system in SYSTEMS:
        system = SYSTEMS[run.system]
        try:
            return system.mechanism(shape, run.settings, run.nodes)
        except (KeyError, TypeError, ValueError):
            pass
    unknown = f"no model of {run.system} at {show(run.settings)} here"
    return Mechanism(detects=unknown, serves=unknown, rejoins=unknown)


def explain_series(series: Series) -> str:
    """What the series' settings predict, and how its measured median compares."""
    model = mechanism(series)
    parts = [
        f"{series.label} ({series.first.family}, {series.first.protocol}): {model.detects}.",
        f"{_capital(model.serves)}. {_capital(model.rejoins)}.",
    ]
    if model.detail:
        parts.append(model.detail)
    detect = series.distribution("time_to_detect_s")
    if model.detect is not None and detect is not None:
        parts.append(_against(detect.median, (model.detect.low_s, model.detect.high_s)))
    return " ".join(parts)


def _against(median: float, predicted: tuple[float, float]) -> str:
    low, high = predicted
    window = f"the {low:.1f}-{high:.1f} s these settings predict"
    if median == NEVER:
        return f"The median run never detected the fault, against {window}."
    if median < low:
        return (
            f"Median time to detect {secs(median)}: faster than {window}; something other"
            " than the timeout noticed first."
        )
    if median > high:
        return (
            f"Median time to detect {secs(median)}: slower than {window}; the rest is time"
            " the settings do not govern (the election or gossip spreading the news, and how"
            " often each node's view is sampled)."
        )
    return f"Median time to detect {secs(median)}: within {window}."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def explain_differences(group: Group) -> list[str]:
    """Per measure: every series' median, by family, the gap, and the clause behind each."""
    lines = []
    for measure, name in MEASURES.items():
        present = [(s, d) for s in group.series if (d := s.distribution(measure)) is not None]
        if len(present) < 2:
            continue
        by_family: dict[str, list[str]] = defaultdict(list)
        for series, dist in present:
            by_family[series.first.family].append(f"{series.label} {secs(dist.median)}")
        listing = "; ".join(f"{family}: {', '.join(v)}" for family, v in by_family.items())
        (fast, fast_d), (slow, slow_d) = (
            min(present, key=lambda p: p[1].median),
            max(present, key=lambda p: p[1].median),
        )
        if slow_d.median == fast_d.median:
            gap = "No difference in the medians"
        elif slow_d.median == NEVER:
            gap = f"{slow.label} never got there in {slow_d.never} of {slow_d.n} runs"
        elif fast_d.median > 0:
            gap = f"{slow.label} took {slow_d.median / fast_d.median:.1f}x as long as {fast.label}"
        else:
            gap = f"{fast.label} measured none, {slow.label} {secs(slow_d.median)}"
        why = "; ".join(f"{s.label}: {mechanism(s).clause(measure)}" for s, _ in present)
        lines.append(f"{_capital(name)} (median) — {listing}. {gap}. Why: {why}.")
    return lines
