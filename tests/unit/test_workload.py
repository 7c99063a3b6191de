"""The open-loop workload keeps its schedule even when a driver ignores its own timeout."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest

from chaos import workload
from chaos.history import Clock, HistoryWriter, load_history
from chaos.systems.base import Client
from chaos.workload import Workload, WorkloadSpec


class HangingClient(Client):
    """Answers reads at once, except while `hang` is set: then it blocks (kazoo during a
    session expiry held calls for 15 s)."""

    def __init__(self, hang: threading.Event, release: threading.Event) -> None:
        self.hang, self.release = hang, release

    def read(self, key: str) -> int | None:
        if self.hang.is_set():
            self.release.wait(30)
        return 1


class FakeSystem:
    def __init__(self, client: Client) -> None:
        self._client = client

    def client(self, cluster, node, timeout, consistency=None) -> Client:
        return self._client


class FakeCluster:
    names = ("n1",)


def test_a_hung_driver_call_is_unknown_at_its_deadline_and_the_schedule_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workload, "DEADLINE_GRACE_S", 0.2)
    hang, release = threading.Event(), threading.Event()
    spec = WorkloadSpec(kind="membership", clients=2, rate=50, timeout=0.1)
    writer = HistoryWriter(tmp_path / "history.jsonl", Clock())
    running = Workload(FakeSystem(HangingClient(hang, release)), FakeCluster(), spec, writer)
    running.start()
    time.sleep(0.5)
    hang.set()  # every call from now on hangs far past its deadline
    time.sleep(2.0)
    hang.clear()
    time.sleep(0.5)
    running.stop()
    release.set()
    writer.close()

    history = load_history(tmp_path / "history.jsonl")
    invokes = {op.id: op for op in history.ops if op.type == "invoke"}
    late = [op for op in history.ops if op.error == "DeadlineExceeded"]
    assert late, "calls that hung were recorded as unknown"
    assert all(op.type == "info" for op in late)
    waited = [(op.time - invokes[op.id].time) / 1e9 for op in late]
    assert min(waited) >= 0.3 - 0.01  # not before the deadline (timeout + grace) ...
    assert max(waited) < 1.5  # ... and at it, not when the driver gave up
    # Operations kept being invoked on schedule all through the hang: 50/s, none stalled.
    times = sorted(op.time for op in invokes.values())
    gaps = [(b - a) / 1e9 for a, b in pairwise(times)]
    assert max(gaps) < 0.5
    assert len(invokes) >= 0.6 * 50 * 3.0
    assert running.lag.max_s < 0.5
