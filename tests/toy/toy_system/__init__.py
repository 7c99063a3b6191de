"""A toy system from outside the suite: registered only through the `chaoslab.systems` entry
point of its own (test) distribution, never named in chaos/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from chaos.backend import ClusterView, NodeSpec
from chaos.fields import Bounded
from chaos.history import Observation
from chaos.images import Image
from chaos.systems.base import Client, Settings, System
from chaos.systems.prediction import Band, FaultShape, Mechanism


class ToySettings(Settings):
    """How many seconds a toy peer waits before it calls another down."""

    patience_s: Annotated[int, Bounded("integer", ge=1, le=60)] = 4


class Toy(System):
    name = "toy"
    family = "gossip"
    protocol = "toy gossip"
    client_port = 8080
    Settings = ToySettings
    images = (Image("toy", recipe=Path(__file__).parent / "image"),)
    image_sources = ("local",)
    workloads = ("membership",)
    node_range = (3, 7)

    def node_specs(self, image: str) -> list[NodeSpec]:
        return [NodeSpec(n, image, 64, (self.client_port,)) for n in self.names]

    def readiness(self, cluster: ClusterView) -> str | None:
        return None

    def observe_node(
        self, cluster: ClusterView, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        return Observation(now(), node)

    def client(
        self, cluster: ClusterView, node: str | None, timeout: float, consistency: str | None = None
    ) -> Client:
        return Client()

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        patience = settings["patience_s"]
        return Mechanism(
            detects=f"a toy peer calls a silent one down after patience_s={patience}",
            serves="every toy peer answers alone",
            rejoins="a toy peer simply comes back",
            detect=Band(patience, patience + 1) if shape.silences else None,
        )
