"""Fault schedules: when each fault starts and how long it lasts.

Pure and seeded: the same entries and seed give the same steps, so a run can
be repeated fault for fault. An experiment lists entries of three forms:

    {kind: partition, shape: majority-minority, at: 5s, duration: 10s}
    {kind: kill, target: leader, at: 30s, duration: 5s, repeat: 3, interval: 10s}
    {random: {count: 4, start: 10s, duration: [2s, 5s], gap: [3s, 8s],
              faults: [{kind: kill}, {kind: partition, shape: isolate}]}}

`repeat` with `interval` flaps a fault: on for `duration`, off for `interval`.
A random entry draws each gap, duration and fault from the seed; its steps
carry `drawn=True` so the report can show what the seed chose. Targets such as
`random` are drawn later, at injection, from the nemesis' own seeded generator.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chaos.faults.spec import Seconds, Spec, describe, parse_fault


class ScheduleError(ValueError):
    """An entry of the fault schedule is not valid; the message names which."""


@dataclass(frozen=True)
class Step:
    """One planned fault: inject at `at` seconds, heal `duration` later (None:
    an instantaneous fault, or a lasting one healed when the run heals all)."""

    index: int
    at: float
    duration: float | None
    spec: Spec
    drawn: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "step": self.index,
            "at": self.at,
            "duration": self.duration,
            "drawn": self.drawn,
            "fault": describe(self.spec),
        }


@dataclass(frozen=True)
class Action:
    time: float
    verb: Literal["inject", "heal"]
    step: Step


@dataclass(frozen=True)
class Schedule:
    seed: int
    steps: tuple[Step, ...]

    def actions(self) -> list[Action]:
        """Injections and heals in time order; at equal times heals come first,
        so a flapping fault is off before it comes back on."""
        actions = [Action(s.at, "inject", s) for s in self.steps]
        actions += [
            Action(s.at + s.duration, "heal", s) for s in self.steps if s.duration is not None
        ]
        return sorted(actions, key=lambda a: (a.time, a.verb == "inject", a.step.index))

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "steps": [step.describe() for step in self.steps]}


class _Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: Seconds = 0.0
    duration: Seconds | None = None
    repeat: int = Field(default=1, ge=1)
    interval: Seconds = 0.0

    @model_validator(mode="after")
    def _flapping_needs_duration(self) -> _Timing:
        if self.repeat > 1 and self.duration is None:
            raise ValueError("`repeat` needs `duration`: how long each repetition lasts")
        return self


class _Random(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=1)
    start: Seconds = 0.0
    duration: tuple[Seconds, Seconds]
    gap: tuple[Seconds, Seconds]
    faults: list[dict[str, Any]] = Field(min_length=1)

    @model_validator(mode="after")
    def _ranges_ordered(self) -> _Random:
        for name in ("duration", "gap"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"`{name}` range [{low}, {high}] is reversed")
        return self


_TIMING_KEYS = set(_Timing.model_fields)


Planned = list[tuple[float, float | None, Spec]]


def flapping(
    spec: Spec, at: float, duration: float | None, repeat: int, interval: float
) -> Planned:
    """(at, duration) of each repetition: on for `duration`, then off for `interval`."""
    period = (duration or 0.0) + interval
    return [(round(at + i * period, 3), duration, spec) for i in range(repeat)]


def drawn(
    faults: Sequence[Spec],
    rng: random.Random,
    count: int,
    start: float,
    duration: tuple[float, float],
    gap: tuple[float, float],
) -> Planned:
    """`count` faults one after another, each gap, duration and fault drawn from `rng`."""
    steps: Planned = []
    t = start
    for _ in range(count):
        t = round(t + rng.uniform(*gap), 3)
        length = round(rng.uniform(*duration), 3)
        steps.append((t, length, rng.choice(list(faults))))
        t += length
    return steps


def plan(entries: Sequence[dict[str, Any]], seed: int) -> Schedule:
    """The schedule an experiment's `faults` entries describe; raises ScheduleError."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for number, entry in enumerate(entries, 1):
        try:
            if set(entry) == {"random"}:
                draw = _Random.model_validate(entry["random"])
                specs = [parse_fault(f) for f in draw.faults]
                planned = drawn(specs, rng, draw.count, draw.start, draw.duration, draw.gap)
                is_drawn = True
            else:
                timing = _Timing.model_validate(
                    {k: v for k, v in entry.items() if k in _TIMING_KEYS}
                )
                spec = parse_fault({k: v for k, v in entry.items() if k not in _TIMING_KEYS})
                planned = flapping(spec, timing.at, timing.duration, timing.repeat, timing.interval)
                is_drawn = False
        except ValidationError as error:
            raise ScheduleError(f"fault entry {number}: {error}") from error
        steps += [Step(len(steps) + i, at, d, s, is_drawn) for i, (at, d, s) in enumerate(planned)]
    ordered = sorted(steps, key=lambda s: (s.at, s.index))
    return Schedule(seed, tuple(dataclasses.replace(s, index=i) for i, s in enumerate(ordered)))
