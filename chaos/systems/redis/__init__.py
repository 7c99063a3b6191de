"""Redis Cluster (its cluster bus): its system, image recipe and recovery model."""

from chaos.systems.redis.system import Redis

__all__ = ["Redis"]
