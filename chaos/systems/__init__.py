"""The systems the suite can run, found through the `chaoslab.systems` entry point.

A package anywhere (this one, or a third party's) adds a system by naming
its `System` class under that entry point group. Classes are imported only
when used, so `chaoslab --help` never loads a client driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from chaos.errors import UnknownSystem

if TYPE_CHECKING:
    from chaos.systems.base import System

GROUP = "chaoslab.systems"


class Registry(Mapping[str, "type[System]"]):
    """Name -> System class, read from the entry points on first use and imported lazily."""

    def __init__(self) -> None:
        self._points: dict[str, Any] | None = None
        self._loaded: dict[str, type[System]] = {}

    def _entry_points(self) -> dict[str, Any]:
        if self._points is None:
            self._points = {point.name: point for point in entry_points(group=GROUP)}
        return self._points

    def refresh(self) -> None:
        """Read the entry points again (a package was installed since)."""
        self._points = None
        self._loaded.clear()

    def __getitem__(self, name: str) -> type[System]:
        if name not in self._loaded:
            point = self._entry_points()[name]
            self._loaded[name] = point.load()
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry_points())

    def __len__(self) -> int:
        return len(self._entry_points())

    def __contains__(self, name: object) -> bool:
        return name in self._entry_points()


SYSTEMS = Registry()


def system_class(name: str) -> type[System]:
    try:
        return SYSTEMS[name]
    except KeyError:
        raise UnknownSystem(
            f"unknown system {name!r}; expected one of: {', '.join(SYSTEMS)}"
        ) from None


def make_system(
    name: str, settings: dict[str, Any] | None = None, nodes: int | None = None
) -> System:
    return system_class(name)(settings, nodes)


__all__ = ["GROUP", "SYSTEMS", "Registry", "UnknownSystem", "make_system", "system_class"]
