"""Background sampling of each node's traffic counters on the run's clock.

One thread per node, as the observer has, so a node whose read is slow never delays
the others. Each reading becomes a `TrafficSample` in the history; a node that cannot
be read (killed, stopped, restarted and not yet given a new helper) records nothing,
and the gap is itself the evidence. Rates are derived later, by
`chaos.checks.traffic`, from the cumulative counters, so a missed sample loses no byte.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from chaos.backend import TrafficMeter
from chaos.history import HistoryWriter, TrafficSample

SAMPLE_INTERVAL = 1.0


class TrafficSampler:
    """Reads every node's counters every `interval` seconds until stopped, then removes the
    counting from the nodes. By default each second, or as often as the meter can afford
    across the cluster (`reads_per_s`), so that counting never starves what it measures."""

    def __init__(
        self,
        meter: TrafficMeter,
        names: Sequence[str],
        writer: HistoryWriter,
        interval: float | None = None,
    ) -> None:
        self.meter, self.names, self.writer = meter, tuple(names), writer
        self.interval = interval or max(SAMPLE_INTERVAL, len(self.names) / meter.reads_per_s)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def start(self) -> TrafficSampler:
        for index, node in enumerate(self.names):
            # Spread over the interval: reads all at once would load the machine in bursts.
            offset = index * self.interval / len(self.names)
            thread = threading.Thread(
                target=self._poll, args=(node, offset), name=f"traffic-{node}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _poll(self, node: str, offset: float) -> None:
        clock = self.writer.clock
        since: int | None = None  # when this node's counters were last installed
        next_at = time.monotonic() + offset
        while not self._stop.wait(max(next_at - time.monotonic(), 0)):
            asked = clock.now()
            try:
                # The first read installs the counters anew, so `since` is known for them.
                reading = self.meter.read(node, reset=since is None)
            except Exception:  # the node went away under the read: no sample
                reading = None
            if reading is not None:
                if reading.fresh:
                    since = asked
                if since is not None:
                    self.writer.write(TrafficSample(clock.now(), node, since, **reading.counters))
            next_at = max(next_at + self.interval, time.monotonic())

    def stop(self) -> None:
        """Stop sampling and remove the counting; safe to repeat."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.meter.close()
