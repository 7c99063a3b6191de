"""Shared fixtures: integration tests run real clusters and must leave nothing behind."""

from __future__ import annotations

import pytest
from hypothesis import settings

# Property tests judge what they find, never how fast: on a busy CI machine a draw can
# take seconds, which hypothesis' default 200 ms deadline would call a failure.
settings.register_profile("chaoslab", deadline=None)
settings.load_profile("chaoslab")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Docker tests run last, so a broken engine never hides the unit results."""
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)
