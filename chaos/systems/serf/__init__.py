"""HashiCorp Serf (SWIM): its system, image recipe and recovery model."""

from chaos.systems.serf.system import Serf

__all__ = ["Serf"]
