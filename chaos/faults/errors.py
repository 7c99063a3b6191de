"""The fault layer's errors: each says what failed and what to do about it."""

from __future__ import annotations


class FaultError(Exception):
    """A fault could not be injected, proven or healed."""


class FaultNotEffective(FaultError):
    """The fault's effect was not observed before the verification deadline."""


class TargetError(FaultError, ValueError):
    """A target cannot be resolved: unknown node, no leader right now, or a bad role."""


class ToolboxError(FaultError):
    """A helper could not be started, or a command in a node's namespace failed."""


class NodeDown(ToolboxError):
    """The node's container is not running, so it has no namespace to act in."""
