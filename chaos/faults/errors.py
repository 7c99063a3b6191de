"""The fault layer's errors (defined with every other error of the suite in chaos.errors)."""

from chaos.errors import FaultError, FaultNotEffective, NodeDown, TargetError, ToolboxError

__all__ = ["FaultError", "FaultNotEffective", "NodeDown", "TargetError", "ToolboxError"]
