"""ZooKeeper (Zab): its system, image recipe and recovery model."""

from chaos.systems.zookeeper.system import ZooKeeper

__all__ = ["ZooKeeper"]
