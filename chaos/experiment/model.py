"""An experiment as data: a system, its cluster, a workload, timed faults and the SLOs to hold.

Every fault entry is a fault spec of `chaos.faults.spec` (what the nemesis
injects) with its timing around it (when, for how long, how often): the one
fault model, handed to the nemesis as it is. Checks that need the system
(its settings, node names, image sources, consistency levels) are made here
too, so a mistake is found before any container starts.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import Field, StrictBool, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from chaos.checks.compose import CHECK_NAMES, CHECKS, SLO_CHECKS, applicable
from chaos.faults.roles import count_problem
from chaos.faults.spec import (
    MAX_NODES,
    BandwidthSpec,
    CutSpec,
    DelaySpec,
    FaultSpec,
    GroupsSpec,
    OneWaySpec,
    PercentSpec,
    ProcessSpec,
    spec_kinds,
)
from chaos.fields import (
    MAX_DURATION_S,
    Bounded,
    Count,
    Duration,
    Fraction,
    OneLine,
    PositiveDuration,
    Span,
    Strict,
    again,
    invalid,
    problem,
    reject,
    shown,
)
from chaos.images import ImageSource
from chaos.systems import SYSTEMS
from chaos.systems.base import System
from chaos.workload import WorkloadSpec

SYSTEM_NAMES: tuple[str, ...] = tuple(SYSTEMS)
MAX_REPEATS = 1000
# A seed is recorded in run.json and drawn from as text; YAML's hex and octal integers can
# be longer than Python turns into text (4,300 digits).
MAX_SEED_DIGITS = 100
# SLOs about recovering from a fault: meaningless in an experiment without one.
RECOVERY_SLOS = (
    "max_unavailability",
    "max_blackout",
    "max_time_to_detect",
    "max_time_to_recover",
    "recovery_after_heal",
)


class Cluster(Strict):
    """How many nodes, which images, and the system's own settings (checked against the
    system's settings model: names, types and ranges)."""

    nodes: Annotated[int, Bounded("integer", ge=1, le=MAX_NODES)] | None = None
    image_source: ImageSource = "local"
    settings: dict[str, Any] = Field(default_factory=dict)


class SteadyState(Strict):
    """What must hold before the first fault, or the run stops without injecting it."""

    duration: PositiveDuration = 5.0
    min_success_rate: Fraction = 0.99


class Repeat(Strict):
    """A flapping fault: injected `times` times, one start every `every`."""

    times: Annotated[int, Bounded("integer", ge=2, le=MAX_REPEATS)]
    every: PositiveDuration


class RandomWindow(Strict):
    """Start offset and/or duration drawn from the experiment's seed instead of fixed."""

    at: Annotated[tuple[float, float], Span(Bounded("duration", ge=0))] | None = None
    duration: Annotated[tuple[float, float], Span(Bounded("duration", gt=0))] | None = None

    @model_validator(mode="after")
    def _something_drawn(self) -> Self:
        if self.at is None and self.duration is None:
            raise invalid("expected at, duration or both, each [min, max]")
        return self


class Timed(Strict):
    """When a fault starts, how long until it is healed, and whether it flaps."""

    at: Duration | None = None
    duration: PositiveDuration | None = None
    repeat: Repeat | None = None
    random: RandomWindow | None = None
    # A network or link fault left in place would outlive the run: it must heal.
    must_heal: ClassVar[bool] = True

    @model_validator(mode="after")
    def _timing(self) -> Self:
        drawn = self.random or RandomWindow.model_construct()
        problems = []
        if self.at is None and drawn.at is None:
            message = "required (seconds from the workload start) unless random.at is given"
            problems.append(problem(("at",), invalid(message, "missing"), None))
        if self.at is not None and drawn.at is not None:
            problems.append(problem(("at",), invalid("give at or random.at, not both"), self.at))
        if self.duration is None and drawn.duration is None and self.must_heal:
            message = (
                f"required for {getattr(self, 'kind', '')} faults (how long until they are "
                "healed) unless random.duration is given"
            )
            problems.append(problem(("duration",), invalid(message, "missing"), None))
        if self.duration is not None and drawn.duration is not None:
            message = "give duration or random.duration, not both"
            problems.append(problem(("duration",), invalid(message), self.duration))
        longest = drawn.duration[1] if drawn.duration else self.duration
        if self.repeat and longest is None:
            message = "a repeated fault needs a duration: it must heal before it repeats"
            problems.append(problem(("repeat",), invalid(message), None))
        elif self.repeat and longest is not None and self.repeat.every <= longest:
            message = (
                f"expected more than the fault's duration ({longest:g}s): each injection "
                "must heal before the next starts"
            )
            problems.append(problem(("repeat", "every"), invalid(message), self.repeat.every))
        reject(type(self).__name__, problems)
        return self

    def windows(self, rng: Random) -> list[tuple[float, float | None]]:
        """Each injection's (start, heal) seconds from the workload start."""
        start = rng.uniform(*self.random.at) if self.random and self.random.at else self.at or 0.0
        duration = (
            rng.uniform(*self.random.duration)
            if self.random and self.random.duration
            else self.duration
        )
        times, every = (self.repeat.times, self.repeat.every) if self.repeat else (1, 0.0)
        starts = [start + n * every for n in range(times)]
        return [(s, None if duration is None else s + duration) for s in starts]

    def envelope(self) -> tuple[float, float]:
        """The earliest start and latest heal any draw can give (inf: never healed)."""
        drawn = self.random or RandomWindow.model_construct()
        earliest = drawn.at[0] if drawn.at else self.at or 0.0
        latest_start = (drawn.at[1] if drawn.at else self.at or 0.0) + (
            (self.repeat.times - 1) * self.repeat.every if self.repeat else 0.0
        )
        longest = drawn.duration[1] if drawn.duration else self.duration
        return earliest, float("inf") if longest is None else latest_start + longest


class TimedProcessFault(Timed, ProcessSpec):
    """Kill, stop, restart or pause a node; with `duration`, start (or unpause) it after."""

    kind: Literal["kill", "stop", "restart", "pause"]  # start and unpause are the heals
    must_heal: ClassVar[bool] = False


class TimedCutFault(Timed, CutSpec):
    """Isolate the target; put it in the minority; or make it the bridge of two halves."""


class TimedGroupsFault(Timed, GroupsSpec):
    """Split the nodes into explicit groups that cannot reach each other."""


class TimedOneWayFault(Timed, OneWaySpec):
    """Drop traffic from `source` to `destination` only."""


class TimedDelayFault(Timed, DelaySpec):
    """Delay every packet the target sends."""


class TimedPercentFault(Timed, PercentSpec):
    """Lose, duplicate or corrupt a share of the packets."""


class TimedBandwidthFault(Timed, BandwidthSpec):
    """Cap what the target can send."""


FAULT_TYPES: tuple[type[FaultSpec], ...] = (
    TimedProcessFault,
    TimedCutFault,
    TimedGroupsFault,
    TimedOneWayFault,
    TimedDelayFault,
    TimedPercentFault,
    TimedBandwidthFault,
)
FAULT_KINDS = spec_kinds(FAULT_TYPES)
Fault = Annotated[
    TimedProcessFault
    | TimedCutFault
    | TimedGroupsFault
    | TimedOneWayFault
    | TimedDelayFault
    | TimedPercentFault
    | TimedBandwidthFault,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class ScheduledFault:
    """One injection of a fault, in seconds from the workload start; `end` None: never healed."""

    index: int
    fault: Fault
    start: float
    end: float | None


class Expect(Strict):
    """The SLOs a run must meet; an unset one is measured and reported, not judged."""

    max_unavailability: Duration | None = None
    max_blackout: Duration | None = None
    max_time_to_detect: Duration | None = None
    max_time_to_recover: Duration | None = None
    recovery_after_heal: Duration | None = None
    lost_writes: Count | None = None
    linearizable: StrictBool | None = None
    stale_reads: Count | None = None
    min_success_rate: Fraction | None = None
    max_stale_reads: Count | None = None
    max_staleness: Duration | None = None


class Experiment(Strict):
    """One experiment file, with every default filled in."""

    title: OneLine
    description: OneLine | None = None
    system: str
    tags: tuple[OneLine, ...] = ()
    cluster: Cluster = Field(default_factory=Cluster)
    workload: WorkloadSpec
    steady_state: SteadyState = Field(default_factory=SteadyState)
    faults: tuple[Fault, ...]
    # Faults on one node at once are refused (one would hide the other) unless allowed here.
    allow_overlapping_faults: StrictBool = False
    settle: Duration = 10.0
    expect: Expect = Field(default_factory=Expect)
    # The checks that judge the run, by name; default: every one that fits the workload.
    checks: tuple[str, ...] | None = None
    repeats: Annotated[int, Bounded("integer", ge=1, le=MAX_REPEATS)] = 1
    seed: Annotated[int, Bounded("integer")] = 0

    @field_validator("system")
    @classmethod
    def _known_system(cls, name: str) -> str:
        if name not in SYSTEM_NAMES:
            known = ", ".join(SYSTEM_NAMES)
            raise invalid(f"unknown system {shown(name)}; expected one of {known}")
        return name

    @field_validator("seed")
    @classmethod
    def _seed_fits_in_text(cls, seed: int) -> int:
        if abs(seed) >= 10**MAX_SEED_DIGITS:
            raise invalid(f"expected an integer of at most {MAX_SEED_DIGITS} digits")
        return seed

    @model_validator(mode="after")
    def _fits_system(self) -> Self:
        """Checks that need the system or the whole file: settings, size, image source,
        workload, consistency, node names, faults that overlap, SLOs with nothing to judge."""
        system = SYSTEMS[self.system]
        problems = list(self._setting_problems(system))
        nodes = self.cluster.nodes or system.default_nodes
        # A size judged against settings that are themselves wrong would be a second line
        # for the same mistake.
        size = None if problems else system.size_problem(nodes, self.cluster.settings)
        if size:
            problems.append(problem(("cluster", "nodes"), invalid(size), nodes))
        if self.cluster.image_source not in system.image_sources:
            message = f"{self.system} runs from {', '.join(system.image_sources)} images"
            problems.append(
                problem(("cluster", "image_source"), invalid(message), self.cluster.image_source)
            )
        if self.workload.kind not in system.workloads:
            message = f"{self.system} runs the {', '.join(system.workloads)} workload"
            problems.append(problem(("workload", "kind"), invalid(message), self.workload.kind))
        problems += self._read_problems(system)
        if not self.faults:
            for name in RECOVERY_SLOS:
                value = getattr(self.expect, name)
                if value is not None:
                    message = "no fault to recover from: the experiment injects none"
                    problems.append(problem(("expect", name), invalid(message), value))
        problems += self._check_problems()
        names = system.node_names(nodes)
        problems += self._early_faults()
        problems += self._too_long()
        problems += self._unknown_nodes(names)
        problems += self._count_problems(len(names))
        if not self.allow_overlapping_faults:
            problems += self._overlapping_faults(names)
        reject("Experiment", problems)
        defaults: dict[str, str] = {}
        if system.consistency_levels and self.workload.consistency is None:
            defaults["consistency"] = "QUORUM"
        if system.read_modes and self.workload.read_mode is None:
            defaults["read_mode"] = system.read_modes[0]
        if defaults:
            workload = self.workload.model_copy(update=defaults)
            return self.model_copy(update={"workload": workload})
        return self

    def _read_problems(self, system: type[System]) -> list[InitErrorDetails]:
        """Consistency levels and a read mode the system does not offer."""
        problems = []
        levels = system.consistency_levels
        for name in ("consistency", "read_consistency", "write_consistency"):
            level = getattr(self.workload, name)
            if level is not None and level not in levels:
                message = (
                    f"{self.system} offers {', '.join(levels)}"
                    if levels
                    else f"{self.system} offers no consistency level per operation"
                )
                problems.append(problem(("workload", name), invalid(message), level))
        mode = self.workload.read_mode
        if mode is not None and mode not in system.read_modes:
            message = (
                f"{self.system} reads in the modes {', '.join(system.read_modes)}"
                if system.read_modes
                else f"{self.system} has no read modes"
                + (": its reads take read_consistency" if levels else "")
            )
            problems.append(problem(("workload", "read_mode"), invalid(message), mode))
        return problems

    @property
    def check_names(self) -> tuple[str, ...]:
        return self.checks if self.checks is not None else applicable(self.workload.kind)

    def _check_problems(self) -> list[InitErrorDetails]:
        """Checks that do not exist or do not fit the workload, and SLOs no chosen check
        judges (they would silently never be judged)."""
        problems = []
        for index, name in enumerate(self.checks or ()):
            if name not in CHECKS:
                message = f"unknown check; expected one of {', '.join(CHECK_NAMES)}"
                problems.append(problem(("checks", index), invalid(message), name))
            elif self.workload.kind not in CHECKS[name].workloads:
                message = f"does not apply to the {self.workload.kind} workload"
                problems.append(problem(("checks", index), invalid(message), name))
        chosen, fitting = set(self.check_names), set(applicable(self.workload.kind))
        for slo, value in self.expect.model_dump().items():
            check = SLO_CHECKS[slo]
            if value is None or check in chosen:
                continue
            message = (
                f"judged by the {check} check, which this run does not run"
                if check in fitting
                else f"the {self.workload.kind} workload records nothing the {check} check judges"
            )
            problems.append(problem(("expect", slo), invalid(message), value))
        return problems

    @property
    def nodes(self) -> int:
        """The cluster's size: the file's, or its system's default."""
        return self.cluster.nodes or SYSTEMS[self.system].default_nodes

    def _early_faults(self) -> list[InitErrorDetails]:
        """Faults due before the steady state is checked (the runner would start them late)."""
        steady = self.steady_state.duration
        message = (
            f"expected at least steady_state.duration ({steady:g}s): the workload's first "
            "seconds are the steady state, checked before any fault"
        )
        problems = []
        for index, fault in enumerate(self.faults):
            drawn = fault.random.at if fault.random else None
            earliest, field = (drawn[0], ("random", "at")) if drawn else (fault.at or 0.0, ("at",))
            if earliest < steady:
                problems.append(problem(("faults", index, *field), invalid(message), earliest))
        return problems

    def _unknown_nodes(self, names: tuple[str, ...]) -> list[InitErrorDetails]:
        """Node names the cluster does not have (n9 on three nodes)."""
        problems = []
        for index, fault in enumerate(self.faults):
            unknown = [node for node in fault.target_names() if node not in names]
            if unknown:
                message = (
                    f"{', '.join(unknown)}: no such node; a {self.system} cluster of "
                    f"{len(names)} has {', '.join(names)}"
                )
                problems.append(problem(("faults", index), invalid(message), unknown))
        return problems

    def _count_problems(self, n: int) -> list[InitErrorDetails]:
        """More nodes asked for than the target can stand for in a cluster of `n`."""
        problems = []
        for index, fault in enumerate(self.faults):
            target, count = getattr(fault, "target", None), getattr(fault, "count", None)
            message = count_problem(target, count, n)
            if message:
                problems.append(problem(("faults", index), invalid(message), count or target))
        return problems

    def _overlapping_faults(self, names: tuple[str, ...]) -> Iterator[InitErrorDetails]:
        """Two faults on one node at once: the later one's effect would be the earlier's.

        Each fault is named once, beside the first-listed fault it overlaps; found by a
        sweep over each node's faults in start order, so a file of thousands of faults is
        checked in a blink rather than pair by pair."""
        spans = [(*fault.envelope(), _struck(fault, names)) for fault in self.faults]
        on_node: dict[str, list[int]] = defaultdict(list)
        for index, (_, _, struck) in enumerate(spans):
            for node in struck:
                on_node[node].append(index)
        first: dict[int, int] = {}  # a fault -> the first-listed fault it overlaps
        for indices in on_node.values():
            active: list[tuple[float, int]] = []  # (end, index) of faults begun, not healed
            for index in sorted(indices, key=lambda i: (spans[i][0], i)):
                start = spans[index][0]
                while active and active[0][0] <= start:
                    heapq.heappop(active)
                for _, other in active:
                    later, earlier = max(index, other), min(index, other)
                    first[later] = min(first.get(later, earlier), earlier)
                heapq.heappush(active, (spans[index][1], index))
        for index in sorted(first):
            other = first[index]
            other_start, other_end, other_struck = spans[other]
            shared = sorted(spans[index][2] & other_struck)
            until = "never healed" if other_end == float("inf") else f"to {other_end:g}s"
            message = (
                f"overlaps faults[{other}] on {', '.join(shared)} ({other_start:g}s "
                f"{until}); set allow_overlapping_faults: true if that is the point"
            )
            yield problem(("faults", index), invalid(message), self.faults[index].kind)

    def _too_long(self) -> list[InitErrorDetails]:
        """Faults whose last injection (repeats included) ends past the longest run a file
        may ask for: each duration is bounded, their sum through `repeat` was not."""
        problems = []
        for index, fault in enumerate(self.faults):
            start, end = fault.envelope()
            last = end if end != float("inf") else start
            if last > MAX_DURATION_S:
                message = (
                    f"its last injection ends {last / 3600:,.1f}h into the run; a run lasts "
                    f"at most {MAX_DURATION_S / 3600:g}h"
                )
                problems.append(problem(("faults", index), invalid(message), fault.kind))
        return problems

    def _setting_problems(self, system: type[System]) -> list[InitErrorDetails]:
        """The settings against the system's own model, at their place in the file."""
        try:
            system.parse_settings(self.cluster.settings)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                if error["type"] == "unknown_field":
                    known = ", ".join(system.Settings.model_fields) or "none"
                    message = f"unknown {self.system} setting; expected one of {known}"
                    error = {**error, "ctx": {"message": message}}
                again_error = again(error)
                problems.append({**again_error, "loc": ("cluster", "settings", *error["loc"])})
            return problems
        return []

    def schedule(self, run: int = 0) -> list[ScheduledFault]:
        """Every injection of every fault in start order; random draws depend on (seed, run)."""
        rng = Random(f"{self.seed}:{run}")
        windows = [
            ScheduledFault(index, fault, start, end)
            for index, fault in enumerate(self.faults)
            for start, end in fault.windows(rng)
        ]
        return sorted(windows, key=lambda window: (window.start, window.index))

    def model_dump_yaml(self) -> str:
        """The experiment as run (defaults filled in, unset SLOs left out), for the artefacts."""
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _struck(fault: FaultSpec, names: tuple[str, ...]) -> set[str]:
    """The nodes a fault surely strikes: those it names, every node for `all`, and "the
    leader" for `leader` (two faults on the leader at once strike one node)."""
    target = getattr(fault, "target", None)
    if target == "all":
        return set(names)
    return set(fault.target_names()) | ({"the leader"} if target == "leader" else set())
