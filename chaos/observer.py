"""Background pollers recording each node's own view of the cluster on the run's clock.

One thread per node, so a dead or paused node (whose poll times out) never
delays the others. Every answer is recorded, at the poll interval; a node
that cannot answer records nothing, and the gap is itself the evidence.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from chaos.history import HistoryWriter

if TYPE_CHECKING:
    from chaos.backend import ClusterView as Cluster
    from chaos.systems.base import System

POLL_INTERVAL = 0.1


class Observer:
    """Polls every node's view every `interval` seconds until stopped."""

    def __init__(
        self,
        system: System,
        cluster: Cluster,
        writer: HistoryWriter,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.system, self.cluster, self.writer, self.interval = system, cluster, writer, interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for node in self.cluster.names:
            thread = threading.Thread(
                target=self._poll, args=(node,), name=f"observe-{node}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _poll(self, node: str) -> None:
        next_at = time.monotonic()
        timeout = max(self.interval * 3, 0.3)
        while not self._stop.is_set():
            try:
                observation = self.system.observe_node(
                    self.cluster, node, self.writer.clock.now, timeout
                )
            except Exception:  # no answer: down, paused or cut off
                pass
            else:
                self.writer.write(observation)
            next_at = max(next_at + self.interval, time.monotonic())
            self._stop.wait(next_at - time.monotonic())

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
