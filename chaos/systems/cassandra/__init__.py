"""Apache Cassandra (gossip and phi accrual): its system, image recipes (the PyPI 1.2 server,
a user's tarball, the official image) and recovery model."""

from chaos.systems.cassandra.system import Cassandra

__all__ = ["Cassandra"]
