"""A claim's verdict, computed from measured figures by the rule its study file states.

Pure functions of samples (one figure of one run each): the study file holds the rule, the
runs hold the figures, and nothing else decides. Each rule weighs items (a system in a case,
or a pair of systems of the two families in a case) and the verdict follows from how many
hold: all of them, supported; none, contradicted; some, depends, with the condition naming
which case and system it holds for and which not. A rule with nothing measured says so and
gives no verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from chaos.compare.statistics import NEVER, Distribution
from chaos.study.figures import FIGURES, shown
from chaos.study.model import BoundRule, Case, Claim, CompareRule, ScalingRule

Outcome = Literal["supported", "contradicted", "depends", "not measured"]


@dataclass(frozen=True)
class Sample:
    """One figure of one run."""

    system: str
    family: str
    nodes: int
    run_id: str
    version: str
    value: float


@dataclass(frozen=True)
class Stat:
    """A case's figure over one system's runs at one size."""

    system: str
    family: str
    nodes: int
    samples: tuple[Sample, ...]

    @property
    def distribution(self) -> Distribution:
        return Distribution(tuple(sorted(s.value for s in self.samples)))

    @property
    def median(self) -> float:
        return self.distribution.median

    def text(self, unit: str) -> str:
        """`a 1.52 s [1.41 s-1.60 s] (5 runs)`: the median, its interval where runs allow."""
        dist = self.distribution
        interval = dist.interval
        bracket = f" [{shown(interval[0], unit)}-{shown(interval[1], unit)}]" if interval else ""
        runs = f"{dist.n} run{'s' * (dist.n != 1)}"
        return f"{self.system} {shown(dist.median, unit)}{bracket} ({runs})"


@dataclass(frozen=True)
class Item:
    """One thing a rule weighed and whether it held, in words."""

    case: int
    holds: bool
    text: str
    who: str  # the system, or the pair, alone: what the condition names


@dataclass(frozen=True)
class CaseResult:
    case: Case
    stats: tuple[Stat, ...]
    items: tuple[Item, ...]

    @property
    def measured(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True)
class ClaimVerdict:
    """The verdict, its condition, the deciding numbers and the runs behind them."""

    claim: str
    outcome: Outcome
    condition: str
    numbers: tuple[str, ...]
    cases: tuple[CaseResult, ...]
    rule: str

    @property
    def runs(self) -> tuple[str, ...]:
        """The run ids the weighed items rest on."""
        weighed = [c for c in self.cases if not c.case.contrast]
        return tuple(sorted({s.run_id for c in weighed for st in c.stats for s in st.samples}))

    @property
    def versions(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, set[str]] = defaultdict(set)
        for result in self.cases:
            for stat in result.stats:
                found[stat.system].update(s.version for s in stat.samples)
        return {system: tuple(sorted(v)) for system, v in sorted(found.items())}


def _stats(samples: Sequence[Sample]) -> tuple[Stat, ...]:
    grouped: dict[tuple[str, str, int], list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[(sample.family, sample.system, sample.nodes)].append(sample)
    return tuple(
        Stat(system, family, nodes, tuple(found))
        for (family, system, nodes), found in sorted(grouped.items())
    )


def judge(claim: Claim, samples: Mapping[int, Sequence[Sample]]) -> ClaimVerdict:
    """The claim's verdict from `samples[i]`, the runs' figure of the rule's i-th case (only
    the systems the case weighs: the claim's family, or for a contrast case the other)."""
    rule = claim.rule
    results = []
    for index, case in enumerate(rule.cases):
        stats = _stats(samples.get(index, ()))
        if isinstance(rule, CompareRule):
            items = _compare_items(index, case, stats, claim.family, rule)
        elif isinstance(rule, BoundRule):
            items = _bound_items(index, case, stats)
        else:
            items = _scaling_items(index, case, stats, rule)
        results.append(CaseResult(case, stats, tuple(items)))
    return _verdict(claim, tuple(results))


def _beyond(high: Stat, low: Stat, margin: float) -> bool:
    """`high`'s median above `low`'s by more than `margin`, their intervals apart where both
    have one."""
    if not high.median - low.median > margin:
        return False
    up, down = high.distribution.interval, low.distribution.interval
    return up is None or down is None or up[0] > down[1]


def _compare_items(
    index: int, case: Case, stats: Sequence[Stat], family: str, rule: CompareRule
) -> list[Item]:
    unit = FIGURES[case.figure].unit
    ours = [s for s in stats if s.family == family]
    theirs = [s for s in stats if s.family != family]
    items = []
    for mine in ours:
        for other in theirs:
            high, low = (mine, other) if rule.side == "higher" else (other, mine)
            holds = _beyond(high, low, rule.margin)
            sign = ">" if mine.median > other.median else "<" if mine.median < other.median else "="
            text = f"{mine.text(unit)} {sign} {other.text(unit)}"
            items.append(Item(index, holds, text, f"{mine.system} {sign} {other.system}"))
    return items


def _within(value: float, case: Case) -> bool:
    return (case.at_most is None or value <= case.at_most) and (
        case.at_least is None or value >= case.at_least
    )


def _bound_items(index: int, case: Case, stats: Sequence[Stat]) -> list[Item]:
    unit = FIGURES[case.figure].unit
    return [Item(index, _within(s.median, case), s.text(unit), s.system) for s in stats]


def _scaling_items(index: int, case: Case, stats: Sequence[Stat], rule: ScalingRule) -> list[Item]:
    unit = FIGURES[case.figure].unit
    by_system: dict[str, list[Stat]] = defaultdict(list)
    for stat in stats:
        by_system[stat.system].append(stat)
    items = []
    for system, sizes in sorted(by_system.items()):
        if len(sizes) < 2:
            continue
        small, large = min(sizes, key=lambda s: s.nodes), max(sizes, key=lambda s: s.nodes)
        ratio = _ratio(large.median, small.median)
        text = (
            f"{system} {shown(small.median, unit)} at {small.nodes} nodes, "
            f"{shown(large.median, unit)} at {large.nodes}: x{ratio:.2f}"
        )
        items.append(Item(index, ratio <= rule.at_most_ratio, text, f"{system} x{ratio:.2f}"))
    return items


def _ratio(large: float, small: float) -> float:
    if large == NEVER or small == NEVER:
        return 1.0 if large == small else NEVER
    if small <= 0:
        return 1.0 if large <= 0 else NEVER
    return large / small


def rule_text(claim: Claim) -> str:
    """The rule in words, as the page states it before the verdict."""
    rule = claim.rule
    other = "gossip" if claim.family == "consensus" else "consensus"
    if isinstance(rule, CompareRule):
        margin = f" by more than {rule.margin:g} (in the figure's unit)" if rule.margin else ""
        return (
            f"Supported when, in every case, each {claim.family} system's median is "
            f"{rule.side} than each {other} system's{margin} (and their intervals, where both "
            "have one, do not overlap); contradicted when no pair is; otherwise depends."
        )
    if isinstance(rule, BoundRule):
        return (
            f"Supported when every {claim.family} system's median holds every case's bound; "
            "contradicted when none does; otherwise depends. Contrast cases are shown, "
            "not weighed."
        )
    return (
        f"Supported when, for every case and system, the median at the largest cluster is at "
        f"most {rule.at_most_ratio:g} times the median at the smallest; contradicted when for "
        "none; otherwise depends. Needs runs at two sizes at least."
    )


def _verdict(claim: Claim, results: tuple[CaseResult, ...]) -> ClaimVerdict:
    weighed = [r for r in results if not r.case.contrast]
    items = [item for r in weighed for item in r.items]
    unmeasured = [r.case.label for r in weighed if not r.measured]
    outcome: Outcome
    if not items:
        outcome = "not measured"
    elif all(item.holds for item in items):
        outcome = "supported"
    elif not any(item.holds for item in items):
        outcome = "contradicted"
    else:
        outcome = "depends"
    condition = _condition(weighed, outcome)
    if unmeasured and items:
        condition += f" Not measured: {'; '.join(unmeasured)}."
    numbers = tuple(_number(r) for r in weighed if r.measured)[:3]
    return ClaimVerdict(claim.name, outcome, condition, numbers, results, rule_text(claim))


def _condition(weighed: Sequence[CaseResult], outcome: Outcome) -> str:
    if outcome == "not measured":
        return "No run of its experiments was found."
    if outcome != "depends":
        where = "every" if outcome == "supported" else "no"
        measured = sum(r.measured for r in weighed)
        return f"Holds in {where} case measured ({measured} of {len(weighed)})."
    holds, fails = [], []
    for result in weighed:
        good = [i.who for i in result.items if i.holds]
        bad = [i.who for i in result.items if not i.holds]
        if good:
            holds.append(f"{result.case.label} ({', '.join(good)})")
        if bad:
            fails.append(f"{result.case.label} ({', '.join(bad)})")
    return f"Holds for: {' | '.join(holds)}. Not for: {' | '.join(fails)}."


def _number(result: CaseResult) -> str:
    """A case in one line: its label and each family's medians, with intervals."""
    unit = FIGURES[result.case.figure].unit
    by_family: dict[str, list[str]] = defaultdict(list)
    for stat in result.stats:
        size = (
            f" at {stat.nodes} nodes"
            if result.case.nodes or len({s.nodes for s in result.stats}) > 1
            else ""
        )
        by_family[stat.family].append(stat.text(unit) + size)
    parts = "; ".join(f"{family}: {', '.join(texts)}" for family, texts in by_family.items())
    return f"{result.case.label}: {parts}"
