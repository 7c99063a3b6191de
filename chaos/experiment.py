"""Experiments as data: one YAML file each, validated completely before anything starts.

A file names a system, its cluster settings, a workload, a fault schedule and
the expectations (SLOs) the run must meet. `load_experiment` turns it into a
frozen `Experiment` or raises `ExperimentError`, one line per problem in the
form `FILE:LINE:COLUMN: FIELD.PATH: what was expected`, so a mistake is found
in seconds at the right line, not after a cluster took a minute to start.
Positions come from composing the YAML with PyYAML (its nodes carry marks)
and following pydantic's error location through the node tree.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Annotated, Any, ClassVar, Literal, Self, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ModelWrapValidatorHandler,
    PlainValidator,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import (
    CoreSchema,
    ErrorDetails,
    InitErrorDetails,
    PydanticCustomError,
    core_schema,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chaos.duration import DURATION_EXAMPLES, parse_duration
from chaos.faults.spec import RATE
from chaos.images import ImageSource
from chaos.systems import SYSTEMS
from chaos.workload import Binding, WorkloadKind

SYSTEM_NAMES: tuple[str, ...] = tuple(SYSTEMS)
# Systems whose client chooses a consistency level per operation.
TUNABLE_CONSISTENCY = frozenset({"cassandra"})

CATALOGUE = Path(__file__).resolve().parent.parent / "experiments"

ROLES = ("leader", "follower", "random", "minority", "majority")
_NODE = re.compile(r"n[1-9]\d*")


class ExperimentError(ValueError):
    """An experiment file that cannot run; `lines` holds one complete message per problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


def _shown(value: object) -> str:
    """A value as the user wrote it in YAML: strings quoted, mappings and lists named."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _expected(what: str) -> PydanticCustomError:
    """An error whose line ends with what the user wrote (`expected X, got Y`)."""
    return PydanticCustomError("expected", "expected {expected}", {"expected": what})


def _invalid(message: str, kind: str = "invalid") -> PydanticCustomError:
    # The message travels in ctx so braces in user input are never read as a template.
    return PydanticCustomError(kind, "{message}", {"message": message})


def _problem(
    loc: tuple[str | int, ...], error: PydanticCustomError, value: object
) -> InitErrorDetails:
    return InitErrorDetails(type=error, loc=loc, input=value)


def _again(error: ErrorDetails) -> InitErrorDetails:
    """A nested validation's error, to be raised again together with others."""
    again = PydanticCustomError(error["type"], error["msg"], error.get("ctx"))
    return _problem(error["loc"], again, error["input"])


def _reject(model: str, problems: list[InitErrorDetails]) -> None:
    """Raise the problems at their own locations (pydantic prefixes the caller's location)."""
    if problems:
        raise ValidationError.from_exception_data(model, problems)


class Check:
    """A validator used as `Annotated` metadata: the instance is called with the raw value."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self)


@dataclass(frozen=True)
class Bounded(Check):
    """A number, integer or duration within bounds; the error names the bounds.

    Used instead of pydantic's `gt`/`ge` so that a value of the wrong type and
    one out of range get the same complete message ("expected a number
    greater than 0"), and so that YAML strings are never coerced to numbers.
    """

    what: Literal["number", "integer", "duration"]
    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def expected(self) -> str:
        if self.what == "duration":
            above = f"greater than {self.gt:g}, " if self.gt is not None else ""
            return f"a duration {above}{DURATION_EXAMPLES}"
        noun = "an integer" if self.what == "integer" else "a number"
        if self.ge is not None and self.le is not None:
            return f"{noun} from {self.ge:g} to {self.le:g}"
        if self.ge is not None:
            return f"{noun} of at least {self.ge:g}"
        parts = [f"greater than {self.gt:g}"] if self.gt is not None else []
        parts += [f"at most {self.le:g}"] if self.le is not None else []
        return f"{noun} {' and '.join(parts)}".rstrip()

    def __call__(self, value: object) -> float | int:
        try:
            number = self._parse(value)
        except ValueError:
            raise _expected(self.expected()) from None
        too_low = (self.gt is not None and number <= self.gt) or (
            self.ge is not None and number < self.ge
        )
        if too_low or (self.le is not None and number > self.le):
            raise _expected(self.expected())
        return number

    def _parse(self, value: object) -> float | int:
        if self.what == "duration":
            return parse_duration(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(value)
        if self.what == "integer":
            if not isinstance(value, int):
                raise ValueError(value)
            return value
        if not math.isfinite(value):
            raise ValueError(value)
        return float(value)


@dataclass(frozen=True)
class Span(Check):
    """A `[min, max]` pair for a value drawn from the experiment's seed."""

    bound: Bounded

    def __call__(self, value: object) -> tuple[float, float]:
        if isinstance(value, list | tuple) and len(value) == 2:
            try:
                low, high = (self.bound(item) for item in value)
            except PydanticCustomError:
                pass
            else:
                if low <= high:
                    return float(low), float(high)
        raise _expected(f"[min, max] with min <= max, each {self.bound.expected()}")


@dataclass(frozen=True)
class Pattern(Check):
    """A string matching a pattern, with what a valid one looks like."""

    pattern: re.Pattern[str]
    description: str
    words: tuple[str, ...] = ()

    def __call__(self, value: object) -> str:
        if isinstance(value, str) and (value in self.words or self.pattern.fullmatch(value)):
            return value
        raise _expected(self.description)


Duration = Annotated[float, Bounded("duration", ge=0)]
PositiveDuration = Annotated[float, Bounded("duration", gt=0)]
Fraction = Annotated[float, Bounded("number", ge=0, le=1)]
Count = Annotated[int, Bounded("integer", ge=0)]
Target = Annotated[str, Pattern(_NODE, f"one of {', '.join(ROLES)}, or a node name like n2", ROLES)]
NodeName = Annotated[str, Pattern(_NODE, "a node name like n2")]


def _one_line(value: object) -> str:
    if isinstance(value, str) and value.strip() and "\n" not in value.strip():
        return value.strip()
    raise _expected("one line of text")


OneLine = Annotated[str, PlainValidator(_one_line)]


class Strict(BaseModel):
    """Frozen; an unknown field is an error that lists the fields this part has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _known_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Report unknown fields beside the other problems of the same part, not instead."""
        if not isinstance(data, dict) or data.keys() <= cls.model_fields.keys():
            return handler(data)
        expected = f"unknown field; expected one of {', '.join(cls.model_fields)}"
        problems = [
            _problem((key,), _invalid(expected, "unknown_field"), key)
            for key in data
            if key not in cls.model_fields
        ]
        try:
            handler({key: value for key, value in data.items() if key in cls.model_fields})
        except ValidationError as exc:
            problems += [_again(error) for error in exc.errors()]
        raise ValidationError.from_exception_data(cls.__name__, problems)


class Cluster(Strict):
    """Which images run, and the system's own settings (checked against its `defaults`)."""

    image_source: ImageSource = "local"
    settings: dict[str, Any] = Field(default_factory=dict)


class Workload(Strict):
    """Concurrent clients issuing operations on a fixed schedule (open loop)."""

    kind: WorkloadKind
    clients: Annotated[int, Bounded("integer", ge=1)] = 5
    binding: Binding = "per-node"
    rate: Annotated[float, Bounded("number", gt=0)] = 100.0
    timeout: PositiveDuration = 0.5
    keys: Annotated[int, Bounded("integer", ge=1)] | None = None
    consistency: Literal["ONE", "QUORUM", "ALL"] | None = None

    @model_validator(mode="after")
    def _register_keys(self) -> Self:
        """`keys` belongs to the register workload; filled in there so a run records it."""
        if self.kind == "register":
            return self if self.keys is not None else self.model_copy(update={"keys": 3})
        if self.keys is not None:
            message = "applies to the register workload only"
            _reject("Workload", [_problem(("keys",), _invalid(message), self.keys)])
        return self


class SteadyState(Strict):
    """What must hold before the first fault, or the run stops without injecting it."""

    duration: PositiveDuration = 5.0
    min_success_rate: Fraction = 0.99


class Repeat(Strict):
    """A flapping fault: injected `times` times, one start every `every`."""

    times: Annotated[int, Bounded("integer", ge=2)]
    every: PositiveDuration


class RandomWindow(Strict):
    """Start offset and/or duration drawn from the experiment's seed instead of fixed."""

    at: Annotated[tuple[float, float], Span(Bounded("duration", ge=0))] | None = None
    duration: Annotated[tuple[float, float], Span(Bounded("duration", gt=0))] | None = None

    @model_validator(mode="after")
    def _something_drawn(self) -> Self:
        if self.at is None and self.duration is None:
            raise _invalid("expected at, duration or both, each [min, max]")
        return self


@dataclass(frozen=True)
class FaultWindow:
    """One injection of a fault, in seconds from the workload start; `end` None: never healed."""

    index: int
    fault: Fault
    start: float
    end: float | None


class FaultBase(Strict):
    """When a fault starts, how long until it is healed, and whether it flaps."""

    kind: str
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
            problems.append(_problem(("at",), _invalid(message, "missing"), None))
        if self.at is not None and drawn.at is not None:
            problems.append(_problem(("at",), _invalid("give at or random.at, not both"), self.at))
        if self.duration is None and drawn.duration is None and self.must_heal:
            message = (
                f"required for {self.kind} faults (how long until they are healed) "
                "unless random.duration is given"
            )
            problems.append(_problem(("duration",), _invalid(message, "missing"), None))
        if self.duration is not None and drawn.duration is not None:
            message = "give duration or random.duration, not both"
            problems.append(_problem(("duration",), _invalid(message), self.duration))
        longest = drawn.duration[1] if drawn.duration else self.duration
        if self.repeat and longest is None:
            message = "a repeated fault needs a duration: it must heal before it repeats"
            problems.append(_problem(("repeat",), _invalid(message), None))
        elif self.repeat and longest is not None and self.repeat.every <= longest:
            message = (
                f"expected more than the fault's duration ({longest:g}s): each injection "
                "must heal before the next starts"
            )
            problems.append(_problem(("repeat", "every"), _invalid(message), self.repeat.every))
        _reject(type(self).__name__, problems)
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


class ProcessFault(FaultBase):
    """Kill, stop, restart or pause a node; with `duration`, start (or unpause) it after."""

    kind: Literal["kill", "stop", "restart", "pause"]
    target: Target = "random"
    must_heal: ClassVar[bool] = False


class NetworkFault(FaultBase):
    """Cut traffic between nodes; `clients: cut` also cuts the clients of the cut-off nodes."""

    clients: Literal["keep", "cut"] = "keep"


class IsolateFault(NetworkFault):
    """Isolate the target; put it in the minority; or make it the bridge of two halves."""

    kind: Literal["isolate", "majority-minority", "bridge"]
    target: Target = "random"


class PartitionFault(NetworkFault):
    """Split the nodes into explicit groups that cannot reach each other."""

    kind: Literal["partition"]
    groups: tuple[tuple[NodeName, ...], ...]

    @field_validator("groups")
    @classmethod
    def _disjoint(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        nodes = [node for group in groups for node in group]
        if len(groups) < 2 or not all(groups) or len(set(nodes)) != len(nodes):
            raise _expected(
                "two or more non-empty groups with no node twice, like [[n1], [n2, n3]]"
            )
        return groups


class OneWayFault(NetworkFault):
    """Drop traffic from `source` to `destination` only (the reverse direction still flows)."""

    kind: Literal["one-way"]
    source: Target
    destination: Target


class LinkFault(FaultBase):
    """Degrade a node's network link (netem, or the NFQUEUE fallback)."""

    target: Target = "random"


class DelayFault(LinkFault):
    """Delay every packet the target sends by `delay`, varied by up to `jitter`."""

    kind: Literal["delay"]
    delay: PositiveDuration
    jitter: Duration = 0.0


class PercentFault(LinkFault):
    """Lose, duplicate or corrupt a share of the packets."""

    kind: Literal["loss", "duplicate", "corrupt"]
    percent: Annotated[float, Bounded("number", gt=0, le=100)]


class BandwidthFault(LinkFault):
    """Cap what the target can send, in tc's units."""

    kind: Literal["bandwidth"]
    rate: Annotated[str, Pattern(RATE, "a rate like 1mbit or 512kbit")]


FAULT_TYPES = (
    ProcessFault,
    IsolateFault,
    PartitionFault,
    OneWayFault,
    DelayFault,
    PercentFault,
    BandwidthFault,
)
FAULT_KINDS = tuple(
    kind for cls in FAULT_TYPES for kind in get_args(cls.model_fields["kind"].annotation)
)
Fault = Annotated[
    ProcessFault
    | IsolateFault
    | PartitionFault
    | OneWayFault
    | DelayFault
    | PercentFault
    | BandwidthFault,
    Field(discriminator="kind"),
]


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


class Experiment(Strict):
    """One experiment file, with every default filled in."""

    title: OneLine
    description: OneLine | None = None
    system: str
    tags: tuple[str, ...] = ()
    cluster: Cluster = Field(default_factory=Cluster)
    workload: Workload
    steady_state: SteadyState = Field(default_factory=SteadyState)
    faults: tuple[Fault, ...]
    settle: Duration = 10.0
    expect: Expect = Field(default_factory=Expect)
    repeats: Annotated[int, Bounded("integer", ge=1)] = 1
    seed: Annotated[int, Bounded("integer")] = 0

    @field_validator("system")
    @classmethod
    def _known_system(cls, name: str) -> str:
        if name not in SYSTEM_NAMES:
            known = ", ".join(SYSTEM_NAMES)
            raise _invalid(f"unknown system {_shown(name)}; expected one of {known}")
        return name

    @model_validator(mode="after")
    def _fits_system(self) -> Self:
        """Checks that need the system: its settings, consistency levels, what its data is."""
        problems = list(self._setting_problems())
        consistency = self.workload.consistency
        if consistency is not None and self.system not in TUNABLE_CONSISTENCY:
            message = f"applies to {', '.join(sorted(TUNABLE_CONSISTENCY))} only, not {self.system}"
            problems.append(_problem(("workload", "consistency"), _invalid(message), consistency))
        if self.workload.kind == "membership":
            for name in ("lost_writes", "linearizable", "stale_reads"):
                value = getattr(self.expect, name)
                if value is not None:
                    message = "the membership workload records no writes or reads to judge"
                    problems.append(_problem(("expect", name), _invalid(message), value))
        problems += self._early_faults()
        _reject("Experiment", problems)
        if self.system in TUNABLE_CONSISTENCY and consistency is None:
            workload = self.workload.model_copy(update={"consistency": "QUORUM"})
            return self.model_copy(update={"workload": workload})
        return self

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
                problems.append(_problem(("faults", index, *field), _invalid(message), earliest))
        return problems

    def _setting_problems(self) -> Iterator[InitErrorDetails]:
        system = SYSTEMS.get(self.system)
        defaults = system.defaults if system else {}
        for key, value in self.cluster.settings.items():
            loc = ("cluster", "settings", key)
            if key not in defaults:
                known = f"expected one of {', '.join(defaults)}" if defaults else "it has none"
                message = f"unknown {self.system} setting; {known}"
                yield _problem(loc, _invalid(message, "unknown_field"), key)
            elif not _same_type(value, defaults[key]):
                default = defaults[key]
                yield _problem(
                    loc, _expected(f"{_noun(default)} (default {_shown(default)})"), value
                )

    def schedule(self, run: int = 0) -> list[FaultWindow]:
        """Every injection of every fault in start order; random draws depend on (seed, run)."""
        rng = Random(f"{self.seed}:{run}")
        windows = [
            FaultWindow(index, fault, start, end)
            for index, fault in enumerate(self.faults)
            for start, end in fault.windows(rng)
        ]
        return sorted(windows, key=lambda window: (window.start, window.index))

    def model_dump_yaml(self) -> str:
        """The experiment as run (defaults filled in, unset SLOs left out), for the artefacts."""
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _same_type(value: object, default: object) -> bool:
    """YAML types as the default's; bool is not an int here, an int is a float."""
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _noun(value: object) -> str:
    nouns = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return nouns.get(type(value), type(value).__name__)


# What pydantic's own error types expect, in the words of a YAML file.
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _message(error: ErrorDetails) -> str:
    kind, ctx, given = error["type"], error.get("ctx", {}), error["input"]
    if kind in ("invalid", "unknown_field") or (kind == "missing" and "message" in ctx):
        return str(ctx["message"])
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_not_found":
        return f"required field is missing; expected one of {', '.join(FAULT_KINDS)}"
    if kind == "union_tag_invalid":
        expected = f"one of {', '.join(_quoted(ctx['expected_tags']))}"
        given = given.get(ctx["discriminator"].strip("'")) if isinstance(given, dict) else given
    elif kind == "literal_error":
        expected = f"one of {', '.join(_quoted(ctx['expected']))}"
    elif kind == "expected":
        if isinstance(given, dict | list | tuple):  # "got a list" would add nothing
            return f"expected {ctx['expected']}"
        expected = ctx["expected"]
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind]
    else:
        return error["msg"]
    return f"expected {expected}, got {_shown(given)}"


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _walk(root: Node, loc: tuple[str | int, ...]) -> tuple[str, Node, Node]:
    """Follow an error location through the YAML nodes.

    Returns the field path as the user reads it (`faults[0].target`), the node
    the error is about (the parent mapping when the field is missing) and the
    key node naming it (for an unknown field). A fault's `kind` value that
    pydantic puts in the location (the union member it chose) is skipped.
    """
    path, node, key = "", root, root
    skipped_tag: Node | None = None
    for part in loc:
        if isinstance(node, MappingNode):
            entries = {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
            kind = entries.get("kind", (None, None))[1]
            if skipped_tag is not node and isinstance(kind, ScalarNode) and kind.value == part:
                skipped_tag = node
                continue
            path = _join(path, part)
            if str(part) not in entries:
                break
            key, node = entries[str(part)]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            path = _join(path, part)
            key = node = node.value[part]
        else:
            break
    return path, node, key


def _line(source: str, node: Node, field: str, message: str) -> str:
    mark = node.start_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}"
    return f"{where}: {field}: {message}" if field else f"{where}: {message}"


def _duplicate_keys(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Keys given twice: YAML keeps the last silently, which hides an edit in review."""
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else ""
            if name in seen:
                yield _join(path, name), key
            seen.add(name)
            yield from _duplicate_keys(value, _join(path, name))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, _join(path, index))


def _compose(source: str, text: str) -> tuple[Node, Any]:
    """The node tree (for positions) and the data built from that same tree."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ExperimentError([f"{source}:1:1: empty file; expected an experiment mapping"])
        return node, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise ExperimentError([f"{source}:{position}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ExperimentError([f"{source}: invalid YAML: {' '.join(str(exc).split())}"]) from None
    finally:
        loader.dispose()


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    """Validate YAML text; `source` names it in error lines."""
    root, data = _compose(source, text)
    lines = [
        (key, _line(source, key, path, "duplicate key")) for path, key in _duplicate_keys(root)
    ]
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, error["ctx"]["discriminator"].strip("'"))
            path, node, key = _walk(root, loc)
            at = key if error["type"] == "unknown_field" else node
            lines.append((at, _line(source, at, path, _message(error))))
    if lines:
        ordered = sorted(
            lines, key=lambda item: (item[0].start_mark.line, item[0].start_mark.column)
        )
        raise ExperimentError([line for _, line in ordered])
    return experiment


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate one experiment file; raises `ExperimentError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ExperimentError([f"{path}: cannot read: not UTF-8 text"]) from None
    return parse_experiment(text, str(path))


def _default_catalogue() -> Path:
    """The catalogue, relative to the working directory when it is inside it (shorter lines)."""
    try:
        return CATALOGUE.relative_to(Path.cwd())
    except ValueError:
        return CATALOGUE


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(path.rglob("*.yaml"))
        if not found:
            raise ExperimentError([f"{path}: no experiment files (*.yaml) in this folder"])
        return found
    if not path.exists():
        raise ExperimentError([f"{path}: no such file or folder"])
    return [path]


def find_experiments(paths: Sequence[str | Path] = ()) -> list[Path]:
    """Experiment files: files as given, folders searched for *.yaml (default: the catalogue)."""
    return [file for path in paths or [_default_catalogue()] for file in _expand(Path(path))]


def validate_paths(paths: Sequence[str | Path] = ()) -> list[str]:
    """Every problem in the given files and folders (default: the catalogue), one line each."""
    errors: list[str] = []
    for path in paths or [_default_catalogue()]:
        try:
            files = _expand(Path(path))
        except ExperimentError as exc:
            errors += exc.lines
            continue
        for file in files:
            try:
                load_experiment(file)
            except ExperimentError as exc:
                errors += exc.lines
    return errors
