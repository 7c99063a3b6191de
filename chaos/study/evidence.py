"""What a study measured: for each claim, the samples its rule weighs and the verdict they give.

Which runs a case draws on: the cells of its experiment that its claim lists, at the case's
size (a case with no size: the experiment as written; a scaling rule: every size), of the
systems it weighs (named by the case, else the claim's family, the other family for a
contrast case, and both for a comparison).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.compare.runs import RunSummary
from chaos.study.figures import read_figure
from chaos.study.model import Case, Claim, CompareRule, LoadedStudy, ScalingRule
from chaos.study.plan import Cell, Ledger
from chaos.study.verdicts import ClaimVerdict, Sample, judge
from chaos.systems import SYSTEMS


@dataclass(frozen=True)
class ClaimEvidence:
    claim: Claim
    verdict: ClaimVerdict
    cells: tuple[Cell, ...]
    runs: tuple[RunSummary, ...]


def family_of(system: str) -> str:
    return SYSTEMS[system].family if system in SYSTEMS else "?"


def _weighs(claim: Claim, case: Case, system: str) -> bool:
    if case.systems:
        return system in case.systems
    if isinstance(claim.rule, CompareRule):
        return True
    family = family_of(system)
    return (family != claim.family) if case.contrast else (family == claim.family)


def claim_cells(claim: Claim, cells: Sequence[Cell]) -> tuple[Cell, ...]:
    """The cells of the claim's experiments and sweeps."""
    named = set(claim.experiments)
    swept = {ref.experiment for ref in claim.sweeps}
    return tuple(c for c in cells if (c.name in named and not c.point) or (c.name in swept))


def case_cells(claim: Claim, case: Case, cells: Sequence[Cell]) -> list[Cell]:
    chosen = [c for c in claim_cells(claim, cells) if c.stem == case.experiment]
    chosen = [c for c in chosen if _weighs(claim, case, c.system)]
    if isinstance(claim.rule, ScalingRule):
        return chosen
    if case.nodes is not None:
        return [c for c in chosen if c.nodes == case.nodes]
    return [c for c in chosen if not c.point]


def case_samples(claim: Claim, case: Case, cells: Sequence[Cell], ledger: Ledger) -> list[Sample]:
    samples = []
    for cell in case_cells(claim, case, cells):
        for counted in ledger.runs_of(cell):
            run = counted.summary
            if run.metrics is None:
                continue
            value = read_figure(run.metrics, case.figure, case.fault)
            if value is not None:
                samples.append(
                    Sample(
                        run.system,
                        family_of(run.system),
                        cell.nodes,
                        run.run_id,
                        run.version,
                        value,
                    )
                )
    return samples


def gather(loaded: LoadedStudy, cells: Sequence[Cell], ledger: Ledger) -> list[ClaimEvidence]:
    """Every claim's verdict and the runs behind its section."""
    found = []
    for claim in loaded.study.claims:
        samples = {
            index: case_samples(claim, case, cells, ledger)
            for index, case in enumerate(claim.rule.cases)
        }
        mine = claim_cells(claim, cells)
        runs = tuple(counted.summary for cell in mine for counted in ledger.runs_of(cell))
        found.append(ClaimEvidence(claim, judge(claim, samples), mine, runs))
    return found
