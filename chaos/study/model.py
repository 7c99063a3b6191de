"""A study file as data: claims about two families of recovery protocols, each with the
question it implies, the experiments and sweeps that answer it, the figures that decide it and
the rule that turns measured figures into a verdict.

The file never holds a verdict: `chaos.study.verdicts` computes one from the runs by the
file's rule. Validated like an experiment (one line per problem, `FILE:LINE:COLUMN: field:
what was expected`), references included: every experiment named exists in the catalogue and
is valid, every case names an experiment its claim lists, every sweep's values are points
the system accepts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool
from pydantic_core import InitErrorDetails

from chaos.errors import ExperimentError
from chaos.experiment import Experiment
from chaos.experiment.catalogue import load_experiment
from chaos.experiment.source import read_text, validate
from chaos.fields import Bounded, OneLine, Pattern, Strict, invalid, problem, reject
from chaos.study.figures import FIGURES
from chaos.sweep import OverError, PointError, make_plan
from chaos.systems import SYSTEMS

WHAT = "a study mapping (title, catalogue, profiles, claims)"
RULE_KINDS = ("compare", "bound", "scaling")
MAX_RULE_CASES = 20
MAX_CLAIMS = 40
_NAME = Pattern(re.compile(r"[a-z][a-z0-9-]{0,40}"), "a lower-case name (a-z, 0-9, -)")
_EXPERIMENT = Pattern(
    re.compile(r"[a-z0-9_-]+/[a-z0-9_-]+"),
    "an experiment of the catalogue as SYSTEM/NAME (such as a system's leader-crash)",
)
# Any word of FIGURES and nothing else (the pattern matches no text).
_FIGURE = Pattern(re.compile(r"(?!)"), f"one of {', '.join(FIGURES)}", tuple(FIGURES))
Name = Annotated[str, _NAME]
ExperimentName = Annotated[str, _EXPERIMENT]
FigureName = Annotated[str, _FIGURE]


class Case(Strict):
    """One comparison or bound a rule weighs: a figure of the runs of one experiment name
    (`leader-crash`, of every system the claim runs it on unless `systems` says which), of one
    fault of it (1 = its first fault; default: the worst over its faults), at one size."""

    label: OneLine
    experiment: Name
    figure: FigureName
    systems: tuple[Name, ...] = ()
    fault: Annotated[int, Bounded("integer", ge=1, le=100)] | None = None
    nodes: Annotated[int, Bounded("integer", ge=1, le=64)] | None = None
    at_most: Annotated[float, Bounded("number")] | None = None
    at_least: Annotated[float, Bounded("number")] | None = None
    # Shown beside the others for contrast (the other family's answer), never weighed.
    contrast: StrictBool = False


class CompareRule(Strict):
    """Supported when, in every case, every system of the claim's family has its median on
    the claimed `side` of every system of the other family by more than `margin` (and their
    intervals, where both have one, do not overlap); contradicted when no pair is; else
    depends, the condition naming the cases and pairs that are."""

    kind: Literal["compare"]
    side: Literal["higher", "lower"]
    margin: Annotated[float, Bounded("number", ge=0)] = 0.0
    cases: tuple[Case, ...]


class BoundRule(Strict):
    """Supported when every case holds (each system's median within the case's `at_most` /
    `at_least`) for every system measured; contradicted when none does; else depends."""

    kind: Literal["bound"]
    cases: tuple[Case, ...]


class ScalingRule(Strict):
    """Supported when, for every case and system, the median at the largest size measured is
    at most `at_most_ratio` times the median at the smallest; contradicted when for none;
    else depends. Needs runs at two sizes at least."""

    kind: Literal["scaling"]
    at_most_ratio: Annotated[float, Bounded("number", gt=0)]
    cases: tuple[Case, ...]


Rule = Annotated[CompareRule | BoundRule | ScalingRule, Field(discriminator="kind")]


class SweepRef(Strict):
    """Sizes or settings an experiment of the catalogue is run at, as `chaoslab sweep --over`
    would: `{nodes: [3, 16]}`."""

    experiment: ExperimentName
    over: Annotated[dict[str, tuple[Any, ...]], Field(min_length=1)]
    profiles: tuple[Literal["quick", "full"], ...] = ("quick", "full")

    def over_texts(self) -> list[str]:
        return [f"{name}={','.join(str(v) for v in values)}" for name, values in self.over.items()]


class Claim(Strict):
    """A claim the study tests, the question it implies, what answers it and how."""

    name: Name
    family: Literal["consensus", "gossip"]
    claim: OneLine
    question: OneLine
    experiments: Annotated[tuple[ExperimentName, ...], Field(min_length=1)]
    sweeps: tuple[SweepRef, ...] = ()
    figures: Annotated[tuple[FigureName, ...], Field(min_length=1)]
    rule: Rule
    caveat: OneLine | None = None


class Profile(Strict):
    """How much a run of the study measures: which experiments (default: all; a sweep says
    which profiles run it), each cell `repeats` times, refused beyond `max_hours`."""

    repeats: Annotated[int, Bounded("integer", ge=1, le=100)]
    max_hours: Annotated[float, Bounded("number", gt=0, le=72)]
    experiments: tuple[ExperimentName, ...] | None = None


class Study(Strict):
    title: OneLine
    description: OneLine | None = None
    catalogue: OneLine = "../experiments"
    profiles: dict[Literal["quick", "full"], Profile]
    claims: tuple[Claim, ...]

    def claim(self, name: str) -> Claim:
        return next(c for c in self.claims if c.name == name)


class LoadedStudy:
    """A validated study and the experiments it names, each read once."""

    def __init__(self, study: Study, source: Path, experiments: dict[str, Experiment]) -> None:
        self.study = study
        self.source = source
        self.experiments = experiments

    @property
    def name(self) -> str:
        return self.source.stem


def _references(study: Study, root: Path) -> tuple[dict[str, Experiment], list[InitErrorDetails]]:
    """Every experiment read from the catalogue, and a problem at each reference that fails."""
    experiments: dict[str, Experiment] = {}
    problems: list[InitErrorDetails] = []

    def load(name: str, loc: tuple[str | int, ...]) -> None:
        if name in experiments:
            return
        path = root / f"{name}.yaml"
        if not path.is_file():
            problems.append(problem(loc, invalid(f"no experiment {path}"), name))
            return
        try:
            experiments[name] = load_experiment(path)
        except ExperimentError as exc:
            problems.append(problem(loc, invalid(f"{path} is not valid: {exc.lines[0]}"), name))

    # Counted here, not by pydantic: a tuple whose item fails would also read as too short.
    if not 1 <= len(study.claims) <= MAX_CLAIMS:
        problems.append(problem(("claims",), invalid(f"expected 1 to {MAX_CLAIMS} claims"), None))
    names = [c.name for c in study.claims]
    for index, claim in enumerate(study.claims):
        where: tuple[str | int, ...] = ("claims", index)
        if names.count(claim.name) > 1:
            problems.append(
                problem((*where, "name"), invalid("another claim has this name"), claim.name)
            )
        for i, name in enumerate(claim.experiments):
            load(name, (*where, "experiments", i))
        for i, ref in enumerate(claim.sweeps):
            load(ref.experiment, (*where, "sweeps", i, "experiment"))
            base = experiments.get(ref.experiment)
            if base is not None:
                try:
                    make_plan(base, ref.over_texts(), 1)
                except (OverError, PointError) as exc:
                    problems.append(
                        problem(
                            (*where, "sweeps", i, "over"),
                            invalid(str(exc).splitlines()[0]),
                            ref.over,
                        )
                    )
        stems = {
            n.split("/")[1] for n in (*claim.experiments, *(s.experiment for s in claim.sweeps))
        }
        if not 1 <= len(claim.rule.cases) <= MAX_RULE_CASES:
            message = f"expected 1 to {MAX_RULE_CASES} cases"
            problems.append(problem((*where, "rule", "cases"), invalid(message), None))
        for i, case in enumerate(claim.rule.cases):
            loc = (*where, "rule", "cases", i)
            for j, system in enumerate(case.systems):
                if system not in SYSTEMS:
                    known = f"expected one of {', '.join(SYSTEMS)}, got {system!r}"
                    problems.append(problem((*loc, "systems", j), invalid(known), system))
            if case.figure not in claim.figures:
                message = f"expected one of the claim's figures ({', '.join(claim.figures)})"
                problems.append(
                    problem(
                        (*loc, "figure"), invalid(f"{message}, got {case.figure!r}"), case.figure
                    )
                )
            if case.experiment not in stems:
                message = f"expected one of the claim's experiments ({', '.join(sorted(stems))})"
                problems.append(
                    problem(
                        (*loc, "experiment"),
                        invalid(f"{message}, got {case.experiment!r}"),
                        case.experiment,
                    )
                )
            if claim.rule.kind == "bound" and case.at_most is None and case.at_least is None:
                problems.append(
                    problem(loc, invalid("a bound case needs at_most or at_least"), case.label)
                )
    listed = {n for c in study.claims for n in c.experiments}
    for profile_name, profile in study.profiles.items():
        for i, name in enumerate(profile.experiments or ()):
            if name not in listed:
                problems.append(
                    problem(
                        ("profiles", profile_name, "experiments", i),
                        invalid("expected an experiment that a claim lists"),
                        name,
                    )
                )
    return experiments, problems


def parse_study(text: str, source: Path) -> LoadedStudy:
    """Validate a study's YAML text; `source` names it in error lines and anchors `catalogue`."""
    found: dict[str, Experiment] = {}

    def build(data: Any) -> Study:
        study = Study.model_validate(data)
        experiments, problems = _references(study, (source.parent / study.catalogue))
        reject("Study", problems)
        found.update(experiments)
        return study

    study = validate(str(source), text, WHAT, build, RULE_KINDS)
    return LoadedStudy(study, source, found)


def load_study(path: Path) -> LoadedStudy:
    """Read and validate a study file; raises `SourceError` with one line per problem."""
    return parse_study(read_text(path), path)
