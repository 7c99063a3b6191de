"""What a fault is, as plain data: the one model the experiment files and the nemesis share.

An experiment's fault entry is one of these with timing around it (see
`chaos.experiment.model`); the nemesis takes the same object and ignores the
timing. Validated completely before any container starts, with messages in
the words of a YAML file. Times are durations as files write them (see
chaos.duration): 500ms, 5s, 2m or seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import Field, PlainValidator, TypeAdapter, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chaos.faults.roles import ROLES
from chaos.fields import (
    Bounded,
    Duration,
    Pattern,
    PositiveDuration,
    Strict,
    expected,
    invalid,
    problem,
    reject,
)

# The tc rates the link fault can shape and measure (see link.rate_bits).
RATE = re.compile(r"\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)")
NODE_NAME = re.compile(r"n[1-9]\d*")

MAX_NODES = 64  # the largest cluster an experiment may ask for
_ROLE = Pattern(NODE_NAME, f"one of {', '.join(ROLES)}, or a node name like n2", ROLES)


def _target(value: object) -> str | list[str] | dict[str, int]:
    """A role (see roles.ROLES), a node name, a list of them, or `{any: k}` (k nodes drawn
    from the seed); resolved at the moment of injection through the system's own view."""
    if isinstance(value, dict):
        count = value.get("any")
        whole = isinstance(count, int) and not isinstance(count, bool)
        if value.keys() == {"any"} and whole and 1 <= count <= MAX_NODES:  # type: ignore[operator]
            return {"any": count}
        raise expected(f"{{any: k}} with k a number of nodes from 1 to {MAX_NODES}")
    if isinstance(value, list) and value:
        try:
            return [_ROLE(item) for item in value]
        except PydanticCustomError:
            pass
    elif not isinstance(value, list):
        return _ROLE(value)
    raise expected(f"{_ROLE.description}, a list of them, or {{any: k}}")


Target = Annotated[str | list[str] | dict[str, int], PlainValidator(_target)]
Count = Annotated[int, Bounded("integer", ge=1, le=MAX_NODES)]
NodeName = Annotated[str, Pattern(NODE_NAME, "a node name like n2")]


class FaultSpec(Strict):
    """Every fault names its kind; the subclasses add what that kind needs."""

    kind: str

    def target_names(self) -> tuple[str, ...]:
        """The node names this spec names outright (roles are resolved at injection)."""
        return ()


def _names(target: object) -> tuple[str, ...]:
    if isinstance(target, dict):
        return ()
    items = [target] if isinstance(target, str) else list(target or [])  # type: ignore[call-overload]
    return tuple(item for item in items if NODE_NAME.fullmatch(str(item)))


class ProcessSpec(FaultSpec):
    """Kill, stop, restart or pause nodes through their backend; start and unpause undo them.
    Kill, stop and pause last until healed; the others are instantaneous.

    `count` strikes that many of the nodes the target stands for (two followers,
    three random nodes); `stagger` strikes them one after another, that far apart.
    """

    kind: Literal["kill", "stop", "start", "restart", "pause", "unpause"]
    target: Target = "random"
    count: Count | None = None
    stagger: Annotated[float, Bounded("duration", ge=0, le=600)] = 0.0
    grace: Annotated[float, Bounded("duration", ge=0, le=600)] = Field(
        default=10.0, description="SIGTERM grace period of stop and restart"
    )

    def target_names(self) -> tuple[str, ...]:
        return _names(self.target)


class NetworkSpec(FaultSpec):
    """A network partition. Client traffic from the host keeps reaching every node unless
    `clients: cut`, as in Jepsen, so a run still observes every node's own view."""

    clients: Literal["keep", "cut"] = "keep"


class CutSpec(NetworkSpec):
    """Isolate the target (each of `count` of them, from everyone); put it in the minority;
    or make it the bridge of two halves."""

    kind: Literal["isolate", "majority-minority", "bridge"]
    target: Target = "random"
    count: Count | None = None

    @model_validator(mode="after")
    def _count_isolates(self) -> Self:
        """A minority's size and a bridge's single node are fixed by their kind."""
        if self.count is not None and self.kind != "isolate":
            message = f"expected no count: {self.kind} decides how many nodes it takes"
            reject("CutSpec", [problem(("count",), invalid(message), self.count)])
        return self

    def target_names(self) -> tuple[str, ...]:
        return _names(self.target)


class GroupsSpec(NetworkSpec):
    """Split the nodes into explicit groups that cannot reach each other."""

    kind: Literal["partition"]
    groups: tuple[tuple[NodeName, ...], ...]

    @field_validator("groups")
    @classmethod
    def _disjoint(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        nodes = [node for group in groups for node in group]
        if len(groups) < 2 or not all(groups) or len(set(nodes)) != len(nodes):
            raise expected("two or more non-empty groups with no node twice, like [[n1], [n2, n3]]")
        return groups

    def target_names(self) -> tuple[str, ...]:
        return tuple(node for group in self.groups for node in group)


def _side(target: str | list[str] | dict[str, int]) -> set[str]:
    """The roles and names on one side; `{any: k}` names none for sure."""
    if isinstance(target, dict):
        return set()
    return {target} if isinstance(target, str) else set(target)


class OneWaySpec(NetworkSpec):
    """Drop traffic from `source` to `destination` only (the reverse direction still flows)."""

    kind: Literal["one-way"]
    source: Target
    destination: Target

    @model_validator(mode="after")
    def _two_sides(self) -> Self:
        """A node on both sides would drop its own traffic to itself, which the nemesis
        refuses at injection: refused here, before anything starts. `all` on either side
        always meets the other; one role on both (leader to leader) is one node."""
        source, destination = _side(self.source), _side(self.destination)
        both = ["all"] if "all" in source | destination else sorted(source & destination)
        both = [name for name in both if name != "random"]  # two draws may differ
        if both:
            message = f"expected nodes apart from the source: {', '.join(both)} on both sides"
            reject("OneWaySpec", [problem(("destination",), invalid(message), self.destination)])
        return self

    def target_names(self) -> tuple[str, ...]:
        return _names(self.source) + _names(self.destination)


class LinkSpec(FaultSpec):
    """A degraded link: on the target's egress towards `peers` (default: every other node),
    and towards the host's clients too when `clients: affect`; tc netem where the kernel
    has it, else the NFQUEUE/iptables fallback."""

    target: Target = "random"
    count: Count | None = None
    peers: Target | None = None
    clients: Literal["keep", "affect"] = "keep"
    backend: Literal["auto", "netem", "fallback"] = "auto"

    def target_names(self) -> tuple[str, ...]:
        return _names(self.target) + _names(self.peers)


class DelaySpec(LinkSpec):
    """Delay every packet the target sends by `delay`, varied by up to `jitter`."""

    kind: Literal["delay"]
    delay: PositiveDuration
    jitter: Duration = 0.0

    @field_validator("jitter")
    @classmethod
    def _jitter_within_delay(cls, jitter: float, info: Any) -> float:
        delay = info.data.get("delay")
        if delay is not None and jitter > delay:
            raise invalid(f"expected at most the delay ({delay:g}s)")
        return jitter


class PercentSpec(LinkSpec):
    """Lose, duplicate or corrupt a share of the packets."""

    kind: Literal["loss", "duplicate", "corrupt"]
    percent: Annotated[float, Bounded("number", gt=0, le=100)]


class BandwidthSpec(LinkSpec):
    """Cap what the target can send, in tc's units."""

    kind: Literal["bandwidth"]
    rate: Annotated[str, Pattern(RATE, "a rate like 1mbit or 512kbit")]


SPEC_TYPES: tuple[type[FaultSpec], ...] = (
    ProcessSpec,
    CutSpec,
    GroupsSpec,
    OneWaySpec,
    DelaySpec,
    PercentSpec,
    BandwidthSpec,
)
Spec = ProcessSpec | CutSpec | GroupsSpec | OneWaySpec | DelaySpec | PercentSpec | BandwidthSpec
_ADAPTER: TypeAdapter[Spec] = TypeAdapter(Annotated[Spec, Field(discriminator="kind")])


def parse_fault(data: dict[str, Any]) -> Spec:
    """Validate one fault given as data; raises pydantic.ValidationError."""
    return _ADAPTER.validate_python(data)


def describe(spec: FaultSpec) -> dict[str, Any]:
    """The spec as written-back data for fault events (defaults dropped): only what the
    nemesis reads, so an experiment's entry gives its fault without its timing."""
    own = next(cls for cls in type(spec).__mro__ if cls.__module__ == __name__)
    fields = set(own.model_fields)
    return spec.model_dump(mode="json", include=fields, exclude_defaults=True) | {"kind": spec.kind}


def spec_kinds(types: tuple[type[FaultSpec], ...] = SPEC_TYPES) -> tuple[str, ...]:
    """Every kind the given spec types accept, in declaration order."""
    return tuple(kind for cls in types for kind in get_args(cls.model_fields["kind"].annotation))
