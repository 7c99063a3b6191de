"""A sweep's points: the cross product of its axes, each one a whole experiment validated before
anything starts, and the plan as its folder keeps it (`plan.json`), so that the folder alone
says what was swept.

A point's experiment is the file's with the point's values put in (and the seed, when one is
given, as `Run` records it), titled with the point, so each run's own report and any
comparison name it. Its content key (a hash of the experiment as run) is how a run folder is
recognised as a measurement of that point.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from chaos.artefacts import read_json, write_json
from chaos.errors import ArtefactError, InputError
from chaos.experiment import FAULT_KINDS, Experiment
from chaos.experiment.source import message, printable
from chaos.sweep.axes import Axis, parse_axes
from chaos.systems import system_class

PLAN_FILE = "plan.json"
PLAN_SCHEMA = 1


class PointError(InputError):
    """Points of a sweep that cannot run; one line per point, naming it."""


@dataclass(frozen=True)
class Point:
    """One combination of the swept values and the experiment it runs."""

    axes: tuple[Axis, ...]
    values: tuple[Any, ...]
    experiment: Experiment

    @property
    def label(self) -> str:
        """`nodes=3, election_timeout_ms=500`, as the user wrote the values."""
        return label(self.axes, self.values)

    @property
    def by_name(self) -> dict[str, Any]:
        return {axis.name: value for axis, value in zip(self.axes, self.values, strict=True)}

    @property
    def key(self) -> str:
        return content_key(self.experiment)

    @property
    def settings(self) -> dict[str, Any]:
        """The settings as the system's model fills them in: what run.json records."""
        return system_settings(self.experiment)


def label(axes: Sequence[Axis], values: Sequence[Any]) -> str:
    return ", ".join(
        f"{axis.name}={axis.texts[axis.values.index(value)]}"
        for axis, value in zip(axes, values, strict=True)
    )


def content_key(experiment: Experiment) -> str:
    """A hash of the experiment as run: two runs of one point share it, any edit changes it."""
    data = experiment.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def system_settings(experiment: Experiment) -> dict[str, Any]:
    system = system_class(experiment.system)
    return system.parse_settings(experiment.cluster.settings).model_dump()


@dataclass(frozen=True)
class Plan:
    """What a sweep runs: the file's experiment, its axes, every point, and how often."""

    base: Experiment
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]
    repeats: int
    seed: int | None = None
    file: str = ""
    sessions: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def runs(self) -> int:
        return len(self.points) * self.repeats

    def describe(self) -> str:
        """`5 points x 3 repeats = 15 runs`, with the sizes of each axis."""
        sizes = " x ".join(f"{len(a.values)} {a.name}" for a in self.axes)
        return f"{sizes} = {len(self.points)} points x {self.repeats} repeats = {self.runs} runs"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": PLAN_SCHEMA,
            "kind": "chaoslab-sweep",
            "file": self.file,
            "title": self.base.title,
            "system": self.base.system,
            "base": self.base.model_dump(mode="json", exclude_none=True),
            "base_key": content_key(self.base),
            "axes": [axis.spec() for axis in self.axes],
            "repeats": self.repeats,
            "seed": self.seed,
            "points": [{"label": p.label, "key": p.key} for p in self.points],
            "sessions": list(self.sessions),
        }


def make_plan(
    base: Experiment,
    over: Sequence[str],
    repeats: int | None = None,
    seed: int | None = None,
    file: str = "",
) -> Plan:
    """The cross product of every `--over`, each point validated whole; raises OverError for
    an axis, PointError (one line per point) for points that cannot run."""
    axes = parse_axes(over, base)
    points, problems = [], []
    for values in itertools.product(*(axis.values for axis in axes)):
        try:
            points.append(Point(axes, values, point_experiment(base, axes, values, seed)))
        except ValidationError as refused:
            problems.append(_refusal(label(axes, values), refused))
    if problems:
        raise PointError("\n".join(problems))
    return Plan(base, axes, tuple(points), repeats or base.repeats, seed, file)


def point_experiment(
    base: Experiment, axes: Sequence[Axis], values: Sequence[Any], seed: int | None = None
) -> Experiment:
    """The base experiment at one point; raises pydantic's ValidationError."""
    data = copy.deepcopy(base.model_dump(mode="json", exclude_none=True))
    for axis, value in zip(axes, values, strict=True):
        axis.apply(data, value)
    if seed is not None:
        data["seed"] = seed
    data["title"] = f"{base.title} ({label(axes, values)})"
    return Experiment.model_validate(data)


def _refusal(point: str, refused: ValidationError) -> str:
    """One line: the point, the field and what was wrong with it."""
    first: ErrorDetails = refused.errors()[0]
    more = refused.error_count() - 1
    extra = f" (and {more} more)" if more else ""
    return f"point {point}: {_field(first['loc'])}: {printable(message(first, FAULT_KINDS))}{extra}"


def _field(loc: tuple[int | str, ...]) -> str:
    """`faults[0].duration`; the fault kind pydantic adds to a union member's location is left
    out, as the file does not have it."""
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif index and isinstance(loc[index - 1], int) and part in FAULT_KINDS:
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "experiment"


def write_plan(folder: Path, plan: Plan) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / PLAN_FILE, plan.to_json())


def read_plan(folder: Path) -> Plan:
    """The plan a sweep folder keeps, its points rebuilt from the experiment it recorded."""
    path = folder / PLAN_FILE
    if not folder.is_dir():
        raise ArtefactError(f"{folder}: no such sweep folder")
    data = read_json(path)
    if not data:
        raise ArtefactError(f"{folder}: no {PLAN_FILE}: not a sweep folder")
    if data.get("kind") != "chaoslab-sweep" or data.get("schema_version") != PLAN_SCHEMA:
        raise ArtefactError(f"{path}: not a sweep plan of schema {PLAN_SCHEMA}")
    try:
        base = Experiment.model_validate(data["base"])
        axes = [str(spec) for spec in data["axes"]]
        repeats = int(data["repeats"])
        seed = data.get("seed")
        sessions = tuple(s for s in data.get("sessions") or [] if isinstance(s, dict))
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else repr(exc)
        message = f"{path}: the recorded experiment or axes cannot be read: {first}"
        raise ArtefactError(message) from None
    try:
        plan = make_plan(base, axes, repeats, seed, str(data.get("file") or ""))
    except InputError as exc:
        raise ArtefactError(f"{path}: {str(exc).splitlines()[0]}") from None
    return replace(plan, sessions=sessions)


def same_sweep(recorded: Plan, wanted: Plan) -> str | None:
    """Why a folder's sweep is not this one (another experiment, other parameters), or None.
    Values and repeats may differ: a sweep can be extended into its folder."""
    if content_key(recorded.base) != content_key(wanted.base):
        return f"it holds a sweep of another experiment ({recorded.base.title!r}, {recorded.file})"
    if [a.name for a in recorded.axes] != [a.name for a in wanted.axes]:
        names = ", ".join(a.name for a in recorded.axes)
        return f"it holds a sweep over {names}"
    return None


def start_session(plan: Plan) -> Plan:
    """The plan with this invocation's session opened (ended filled in by `end_session`)."""
    opened = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "t0": time.time()}
    return _with_sessions(plan, (*plan.sessions, opened))


def end_session(plan: Plan, runs: int, outcome: str) -> Plan:
    if not plan.sessions:
        return plan
    *earlier, last = plan.sessions
    wall = round(time.time() - float(last.get("t0", time.time())), 1)
    closed = {**last, "ended": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": wall}
    return _with_sessions(plan, (*earlier, {**closed, "runs": runs, "outcome": outcome}))


def _with_sessions(plan: Plan, sessions: tuple[dict[str, Any], ...]) -> Plan:
    return replace(plan, sessions=sessions)
