"""Container events the suite did not cause: a node that died, stopped or restarted on its own.

A run whose cluster was broken from outside (a `docker kill` by someone else,
the kernel's OOM killer, a crash) must not pass. The engine's event stream is
read for the run's node containers while the experiment runs; every
lifecycle event the nemesis is not accounting for becomes an `ExternalEvent`
in the history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from chaos.backend.docker import engine
from chaos.history import Clock, ExternalEvent

# Lifecycle actions that change whether a node serves; execs, health checks and
# attach/detach are noise.
LIFECYCLE = frozenset({"die", "stop", "kill", "start", "restart", "pause", "unpause", "oom"})
SERVICE_LABEL = "com.docker.compose.service"


class ContainerWatch:
    """Reads the engine's events for the run's nodes in a thread until closed.

    `ours(node)` says whether the nemesis is acting on that node (its events
    are then expected); anything else is recorded through `emit`.
    """

    def __init__(
        self,
        run_label: str,
        clock: Clock,
        emit: Callable[[ExternalEvent], None],
        ours: Callable[[str], bool],
    ) -> None:
        self.run_label, self.clock, self.emit, self.ours = run_label, clock, emit, ours
        self.seen: list[ExternalEvent] = []
        self._stream: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> ContainerWatch:
        filters = {"type": "container", "label": self.run_label}
        self._stream = engine.client().events(decode=True, filters=filters)
        self._thread = threading.Thread(target=self._read, name="container-events", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            for event in self._events():
                node, action = external(event)
                if node is None or action is None or self.ours(node):
                    continue
                attributes = event.get("Actor", {}).get("Attributes", {})
                record = ExternalEvent(
                    self.clock.now(),
                    node,
                    action,
                    {"exit_code": attributes.get("exitCode"), "time_nano": event.get("timeNano")},
                )
                self.seen.append(record)
                self.emit(record)
        except Exception:  # the stream closed under us (close(), or the engine went away)
            return

    def _events(self) -> Iterator[dict[str, Any]]:
        yield from self._stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def external(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """(node, action) of a node's lifecycle event; (None, None) for anything else."""
    action = str(event.get("Action") or event.get("status") or "").split(":")[0]
    attributes = event.get("Actor", {}).get("Attributes", {})
    node = attributes.get(SERVICE_LABEL)
    if action not in LIFECYCLE or not node:
        return None, None
    return node, action
