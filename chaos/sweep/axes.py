"""What a sweep varies: `--over NAME=V1,V2,...`, read and checked against the experiment.

NAME is `nodes` (the cluster's size), a key of the system's settings (checked against the
system's own settings model), or a fault's duration, `faults[0].duration`. Values are read as
an experiment file reads them: YAML scalars for nodes and settings (500 is a number, lan a
word), durations as `5s`, `500ms` or seconds. Whether each combination can run is the plan's
question (chaos.sweep.plan), asked of the whole experiment at every point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from chaos.duration import DURATION_EXAMPLES, parse_duration
from chaos.errors import InputError
from chaos.experiment import Experiment
from chaos.experiment.source import printable
from chaos.systems import system_class

NODES = "nodes"
FAULT_DURATION = re.compile(r"faults\[(\d+)\]\.duration")
AxisKind = Literal["nodes", "setting", "duration"]


class OverError(InputError):
    """An `--over` the experiment cannot be swept by; one line naming it."""


@dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, in the order given.

    `values` are what the experiment takes (nodes as integers, settings as read, durations
    in seconds); `texts` are what the user wrote, for labels.
    """

    name: str
    kind: AxisKind
    values: tuple[Any, ...]
    texts: tuple[str, ...]
    fault: int | None = None

    def apply(self, data: dict[str, Any], value: Any) -> None:
        """Set this parameter to `value` in an experiment's data (as `model_dump` gives it)."""
        cluster = data.setdefault("cluster", {})
        if self.kind == "nodes":
            cluster["nodes"] = value
        elif self.kind == "setting":
            cluster.setdefault("settings", {})[self.name] = value
        else:
            data["faults"][self.fault]["duration"] = value

    @property
    def numeric(self) -> bool:
        """Whether the values lie on a number line (a curve can be drawn through them)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)

    def spec(self) -> str:
        """The `--over` text that gives this axis again."""
        return f"{self.name}={','.join(self.texts)}"


def parse_over(text: str, experiment: Experiment) -> Axis:
    """One `--over NAME=V1,V2,...` against the experiment; raises OverError."""
    name, sep, listed = text.partition("=")
    name = name.strip()
    where = f"--over {printable(text)}"
    if not sep or not name:
        raise OverError(f"{where}: expected NAME=V1,V2,... (e.g. nodes=3,5,7)")
    texts = tuple(item.strip() for item in listed.split(","))
    if not listed.strip() or not all(texts):
        raise OverError(f"{where}: expected values separated by commas, none of them empty")
    kind, fault = _kind(name, experiment, where)
    values = tuple(_value(kind, item, where) for item in texts)
    repeated = sorted({t for t, v in zip(texts, values, strict=True) if values.count(v) > 1})
    if repeated:
        raise OverError(f"{where}: {', '.join(repeated)} given twice (a point is run once)")
    return Axis(name, kind, values, texts, fault)


def parse_axes(texts: Sequence[str], experiment: Experiment) -> tuple[Axis, ...]:
    """Every `--over`, each parameter at most once."""
    if not texts:
        raise OverError("sweep: give at least one --over NAME=V1,V2,...")
    axes = tuple(parse_over(text, experiment) for text in texts)
    names = [axis.name for axis in axes]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise OverError(f"--over {', '.join(twice)}: swept twice; give each parameter once")
    return axes


def _kind(name: str, experiment: Experiment, where: str) -> tuple[AxisKind, int | None]:
    if name == NODES:
        return "nodes", None
    duration = FAULT_DURATION.fullmatch(name)
    if duration:
        index = int(duration[1])
        count = len(experiment.faults)
        if index >= count:
            have = {0: "none", 1: "faults[0]"}.get(count, f"faults[0] to faults[{count - 1}]")
            raise OverError(f"{where}: the experiment has no faults[{index}] (its faults: {have})")
        return "duration", index
    system = system_class(experiment.system)
    if name in system.Settings.model_fields:
        return "setting", None
    known = ", ".join(system.Settings.model_fields) or "none"
    raise OverError(
        f"{where}: {printable(name)} is none of {experiment.system}'s settings ({known}), nor "
        "nodes or faults[N].duration"
    )


def _value(kind: AxisKind, text: str, where: str) -> Any:
    if kind == "duration":
        try:
            seconds = parse_duration(text)
        except ValueError:
            message = f"{where}: {printable(text)}: expected a duration {DURATION_EXAMPLES}"
            raise OverError(message) from None
        if seconds <= 0:
            raise OverError(f"{where}: {printable(text)}: a fault lasts longer than 0 s")
        return seconds
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if kind == "nodes" and (not isinstance(value, int) or isinstance(value, bool)):
        raise OverError(f"{where}: {printable(text)}: expected a whole number of nodes")
    if value is None or isinstance(value, list | dict):
        raise OverError(f"{where}: {printable(text)}: expected one value")
    return value
