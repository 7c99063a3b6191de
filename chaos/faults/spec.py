"""Fault specifications: the plain data an experiment file names a fault with.

Validated completely before any container starts, so a typo in an experiment
fails in the first second, not ten minutes into a run. Times are durations
as an experiment file writes them (see chaos.duration): 500ms, 5s, 2m or seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from chaos.duration import parse_duration

# The tc rates the link fault can shape and measure (see link.rate_bits).
RATE = re.compile(r"\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)")

Seconds = Annotated[float, BeforeValidator(parse_duration)]
# A target: a role (leader, follower, random, minority, majority, all), a node
# name, or a list of them; resolved at the moment of injection (see roles.py).
Target = str | list[str]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ProcessSpec(_Spec):
    """A fault on the containers' processes. Kill, stop and pause last until healed
    (start / unpause); start, restart and unpause are instantaneous."""

    kind: Literal["kill", "stop", "start", "restart", "pause", "unpause"]
    target: Target = "random"
    grace: Seconds = Field(default=10.0, description="SIGTERM grace period of stop and restart")


class PartitionSpec(_Spec):
    """A network partition between nodes.

    Client traffic from the host (it arrives from the network's gateway) keeps
    reaching every node unless `clients: cut`, as in Jepsen, so a run can still
    observe every node's own view while the nodes cannot see each other.
    """

    kind: Literal["partition"]
    shape: Literal["isolate", "groups", "majority-minority", "bridge", "one-way"]
    target: Target = "random"
    groups: list[list[str]] | None = None
    minority: Target | None = Field(default=None, description="nodes forced into the minority")
    bridge: Target = Field(default="random", description="the node that sees both halves")
    sender: Target | None = Field(default=None, alias="from")
    receiver: Target | None = Field(default=None, alias="to")
    clients: Literal["keep", "cut"] = "keep"

    @model_validator(mode="after")
    def _shape_fields(self) -> PartitionSpec:
        if self.shape == "groups" and not self.groups:
            raise ValueError("shape groups needs `groups`, e.g. [[n1], [n2, n3]]")
        if self.shape == "one-way" and (self.sender is None or self.receiver is None):
            raise ValueError("shape one-way needs `from` (still heard) and `to` (no longer heard)")
        return self


class LinkSpec(_Spec):
    """A degraded link: on the target's egress towards `peers` (default: every
    other node), and towards the host's clients too when `clients: affect`."""

    kind: Literal["delay", "loss", "duplicate", "corrupt", "bandwidth"]
    target: Target = "random"
    peers: Target | None = None
    delay: Seconds | None = None
    jitter: Seconds = 0.0
    percent: float | None = Field(default=None, gt=0, le=100)
    rate: str | None = Field(default=None, description="tc rate, e.g. 1mbit")
    clients: Literal["keep", "affect"] = "keep"
    backend: Literal["auto", "netem", "fallback"] = "auto"

    @model_validator(mode="after")
    def _kind_fields(self) -> LinkSpec:
        if self.kind == "delay" and not self.delay:
            raise ValueError("a delay fault needs `delay`, e.g. 100ms")
        if self.kind == "delay" and self.jitter > self.delay:  # type: ignore[operator]
            raise ValueError("`jitter` cannot exceed `delay`")
        if self.kind in ("loss", "duplicate", "corrupt") and self.percent is None:
            raise ValueError(f"a {self.kind} fault needs `percent`")
        if self.kind == "bandwidth" and not (self.rate and RATE.fullmatch(self.rate)):
            raise ValueError("a bandwidth fault needs `rate` in tc units, e.g. 1mbit, 500kbit")
        return self


Spec = ProcessSpec | PartitionSpec | LinkSpec
FaultSpec = Annotated[Spec, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Spec] = TypeAdapter(FaultSpec)


def parse_fault(data: dict[str, Any]) -> Spec:
    """Validate one fault from an experiment file; raises pydantic.ValidationError."""
    return _ADAPTER.validate_python(data)


def describe(spec: Spec) -> dict[str, Any]:
    """The spec as written-back data for fault events (aliases, defaults dropped)."""
    return spec.model_dump(by_alias=True, exclude_defaults=True) | {"kind": spec.kind}
