"""The systems the suite can run: one module each, registered here by name."""

from __future__ import annotations

from typing import Any

from chaos.systems.base import NotReady, System
from chaos.systems.cassandra import Cassandra
from chaos.systems.etcd import Etcd
from chaos.systems.redis import Redis
from chaos.systems.serf import Serf
from chaos.systems.zookeeper import ZooKeeper

SYSTEMS: dict[str, type[System]] = {
    cls.name: cls for cls in (Etcd, ZooKeeper, Serf, Redis, Cassandra)
}


class UnknownSystem(ValueError):
    """A system name the suite does not know."""


def make_system(name: str, settings: dict[str, Any] | None = None) -> System:
    try:
        cls = SYSTEMS[name]
    except KeyError:
        raise UnknownSystem(
            f"unknown system {name!r}; expected one of: {', '.join(SYSTEMS)}"
        ) from None
    return cls(settings)


__all__ = ["SYSTEMS", "NotReady", "System", "UnknownSystem", "make_system"]
