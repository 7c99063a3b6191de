"""etcd (Raft): its system, image recipe and recovery model."""

from chaos.systems.etcd.system import Etcd

__all__ = ["Etcd"]
