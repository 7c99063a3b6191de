"""Shared fixtures: integration tests run real clusters and must leave nothing behind."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Docker tests run last, so a broken engine never hides the unit results."""
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)
