"""What a fault is, as plain data: the one model the experiment files and the nemesis share.

An experiment's fault entry is one of these with timing around it (see
`chaos.experiment.model`); the nemesis takes the same object and ignores the
timing. Validated completely before any container starts, with messages in
the words of a YAML file. Times are durations as files write them (see
chaos.duration): 500ms, 5s, 2m or seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, PlainValidator, TypeAdapter, field_validator
from pydantic_core import PydanticCustomError

from chaos.faults.roles import ROLES
from chaos.fields import Bounded, Duration, Pattern, PositiveDuration, Strict, expected, invalid

# The tc rates the link fault can shape and measure (see link.rate_bits).
RATE = re.compile(r"\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)")
NODE_NAME = re.compile(r"n[1-9]\d*")

_ROLE = Pattern(NODE_NAME, f"one of {', '.join(ROLES)}, or a node name like n2", ROLES)


def _target(value: object) -> str | list[str]:
    """A role (see roles.ROLES), a node name, or a list of them; resolved at the moment of
    injection through the system's own view."""
    if isinstance(value, list) and value:
        try:
            return [_ROLE(item) for item in value]
        except PydanticCustomError:
            pass
    elif not isinstance(value, list):
        return _ROLE(value)
    raise expected(f"{_ROLE.description}, or a list of them")


Target = Annotated[str | list[str], PlainValidator(_target)]
NodeName = Annotated[str, Pattern(NODE_NAME, "a node name like n2")]


class FaultSpec(Strict):
    """Every fault names its kind; the subclasses add what that kind needs."""

    kind: str

    def target_names(self) -> tuple[str, ...]:
        """The node names this spec names outright (roles are resolved at injection)."""
        return ()


def _names(target: object) -> tuple[str, ...]:
    items = [target] if isinstance(target, str) else list(target or [])  # type: ignore[call-overload]
    return tuple(item for item in items if NODE_NAME.fullmatch(str(item)))


class ProcessSpec(FaultSpec):
    """Kill, stop, restart or pause a node through the container engine; start and unpause
    undo them. Kill, stop and pause last until healed; the others are instantaneous."""

    kind: Literal["kill", "stop", "start", "restart", "pause", "unpause"]
    target: Target = "random"
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
    """Isolate the target; put it in the minority; or make it the bridge of two halves."""

    kind: Literal["isolate", "majority-minority", "bridge"]
    target: Target = "random"

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


class OneWaySpec(NetworkSpec):
    """Drop traffic from `source` to `destination` only (the reverse direction still flows)."""

    kind: Literal["one-way"]
    source: Target
    destination: Target

    def target_names(self) -> tuple[str, ...]:
        return _names(self.source) + _names(self.destination)


class LinkSpec(FaultSpec):
    """A degraded link: on the target's egress towards `peers` (default: every other node),
    and towards the host's clients too when `clients: affect`; tc netem where the kernel
    has it, else the NFQUEUE/iptables fallback."""

    target: Target = "random"
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
