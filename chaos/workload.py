"""Concurrent clients issuing operations on a fixed schedule, recording every one.

Operations are issued open-loop: each client's next operation is due at a
fixed interval whether or not the previous one has returned. A client that
waits for each reply would quantise an outage to its timeout. Every
operation is written to the history twice, at invocation and completion, on
the run's clock: `ok`, `fail` (definitely not applied) or `info` (unknown).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import model_validator

from chaos.fields import Bounded, Strict, invalid, problem, reject
from chaos.history import HistoryWriter, Op, served

if TYPE_CHECKING:
    from chaos.backend import ClusterView as Cluster
    from chaos.systems.base import Client, System

WorkloadKind = Literal["register", "unique-writes", "membership"]
Binding = Literal["per-node", "driver"]
MEMBERS_KEY = "members"


def set_keys(spec: WorkloadSpec) -> list[str]:
    """The unique-value sets: several, so a sharded store
    spreads them over its shards and every fault hits some of them."""
    return [f"s{index}" for index in range(spec.key_count)]


def workload_keys(spec: WorkloadSpec) -> list[str]:
    """Every key the workload's operations name: registers k0.., sets s0.., or the member list."""
    if spec.kind == "unique-writes":
        return set_keys(spec)
    if spec.kind == "membership":
        return [MEMBERS_KEY]
    return [f"k{index}" for index in range(spec.key_count)]


MAX_CLIENTS = 10_000
MAX_RATE = 100_000.0  # operations per second: beyond what one Python process can issue
MAX_KEYS = 1_000
DEADLINE_GRACE_S = 1.0  # past its own timeout, a driver call is given up on
MAX_CALL_THREADS = 4096
LATE_S = 0.1  # an operation started this late against its schedule counts as late
DEFAULT_KEYS = 3


class WorkloadSpec(Strict):
    """What to run: the operation mix, how many clients, how fast, how patient.

    `keys` is how many registers (register) or unique-value sets
    (unique-writes) the operations spread over; `consistency` is the client's
    level where the system lets it choose (its `consistency_levels`).
    """

    kind: WorkloadKind
    clients: Annotated[int, Bounded("integer", ge=1, le=MAX_CLIENTS)] = 5
    binding: Binding = "per-node"
    rate: Annotated[float, Bounded("number", gt=0, le=MAX_RATE)] = 100.0
    timeout: Annotated[float, Bounded("duration", gt=0, le=60)] = 0.5
    keys: Annotated[int, Bounded("integer", ge=1, le=MAX_KEYS)] | None = None
    consistency: Literal["ONE", "QUORUM", "ALL"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_keys(cls, data: Any) -> Any:
        """Three keys for the workloads that have keys, filled in so a run records them."""
        if isinstance(data, dict) and data.get("kind") != "membership" and "keys" not in data:
            return {**data, "keys": DEFAULT_KEYS}
        return data

    @model_validator(mode="after")
    def _keys_where_they_mean_something(self) -> Self:
        if self.kind == "membership" and self.keys is not None:
            message = "the membership workload reads the member list: it has no keys"
            reject("WorkloadSpec", [problem(("keys",), invalid(message), self.keys)])
        return self

    @property
    def key_count(self) -> int:
        return self.keys or 1


class DeadlineExceeded(TimeoutError):
    """The driver gave no answer within the operation's deadline (its timeout and a grace):
    the outcome is unknown, and the operation's thread is not waited for."""


class ScheduleLag:
    """How late operations started against their open-loop schedule: a workload that falls
    behind (a machine too busy) stops measuring the system, so a run records it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.max_s = 0.0
        self.late = 0
        self.count = 0

    def record(self, lag_s: float) -> None:
        with self._lock:
            self.count += 1
            self.max_s = max(self.max_s, lag_s)
            self.late += lag_s > LATE_S

    def to_dict(self) -> dict[str, float | int]:
        return {"max_ms": round(self.max_s * 1000, 1), "late": self.late, "operations": self.count}


@dataclass(frozen=True)
class Invocation:
    f: str
    key: str
    value: Any


class OperationGenerator:
    """Draws each client's next operation from a seeded generator.

    Written values are unique across the run (a counter), so a read names
    the one write it saw; a compare-and-set expects the last value this
    client saw for the key.
    """

    def __init__(self, spec: WorkloadSpec, seed: int) -> None:
        self.spec = spec
        self.random = random.Random(seed)
        self.values = itertools.count(1)
        self.last_seen: dict[tuple[int, str], int | None] = {}
        self._lock = threading.Lock()

    def next(self, process: int) -> Invocation:
        with self._lock:
            if self.spec.kind == "unique-writes":
                key = f"s{self.random.randrange(self.spec.key_count)}"
                return Invocation("add", key, next(self.values))
            if self.spec.kind == "membership":
                return Invocation("read", MEMBERS_KEY, None)
            key = f"k{self.random.randrange(self.spec.key_count)}"
            draw = self.random.random()
            if draw < 0.5:
                return Invocation("read", key, None)
            if draw < 0.8:
                return Invocation("write", key, next(self.values))
            expected = self.last_seen.get((process, key))
            return Invocation("cas", key, [expected, next(self.values)])

    def saw(self, process: int, key: str, value: int | None) -> None:
        with self._lock:
            self.last_seen[(process, key)] = value


class Workload:
    """Runs the spec's clients against a cluster until stopped."""

    def __init__(
        self,
        system: System,
        cluster: Cluster,
        spec: WorkloadSpec,
        writer: HistoryWriter,
        seed: int = 0,
    ) -> None:
        self.system, self.cluster, self.spec, self.writer = system, cluster, spec, writer
        self.generator = OperationGenerator(spec, seed)
        self.op_ids = itertools.count()
        self.clients: list[tuple[str | None, Client]] = []
        self.recent: deque[tuple[int, bool]] = deque(maxlen=100_000)
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.deadline_s = spec.timeout + DEADLINE_GRACE_S
        in_flight = int(spec.rate * self.deadline_s * 2) + spec.clients
        # Operations wait at most their deadline here; the driver calls behind them run in
        # a second pool, so a driver that ignores its own timeout (kazoo during a session
        # expiry: 15 s) holds a call thread, never the schedule.
        self._pool = ThreadPoolExecutor(max_workers=min(in_flight, 512), thread_name_prefix="op")
        self._calls = ThreadPoolExecutor(max_workers=MAX_CALL_THREADS, thread_name_prefix="call")
        self.lag = ScheduleLag()

    def start(self) -> None:
        names = self.cluster.names
        for process in range(self.spec.clients):
            node = names[process % len(names)] if self.spec.binding == "per-node" else None
            client = self.system.client(
                self.cluster, node, self.spec.timeout, self.spec.consistency
            )
            self.clients.append((node, client))
        self._scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)
        self._scheduler.start()

    def _schedule(self) -> None:
        """Each client issues an operation every `clients / rate` seconds, staggered."""
        interval = self.spec.clients / self.spec.rate
        start = time.monotonic()
        due = [(start + interval * p / self.spec.clients, p) for p in range(self.spec.clients)]
        heapq.heapify(due)
        while not self._stop.is_set():
            at, process = heapq.heappop(due)
            if self._stop.wait(max(at - time.monotonic(), 0)):
                return
            self._pool.submit(self._invoke, process, at)
            heapq.heappush(due, (at + interval, process))

    def _invoke(self, process: int, due: float) -> None:
        self.lag.record(time.monotonic() - due)
        node, client = self.clients[process]
        call = self.generator.next(process)
        op_id = next(self.op_ids)
        clock = self.writer.clock
        self.writer.write(
            Op("invoke", op_id, process, call.f, call.key, call.value, clock.now(), node)
        )

        def unanswered(kind: Literal["fail", "info"], error: Exception) -> Op:
            return Op(
                kind,
                op_id,
                process,
                call.f,
                call.key,
                call.value,
                clock.now(),
                node,
                type(error).__name__,
            )

        running = self._calls.submit(self._apply, client, call)
        try:
            result = running.result(self.deadline_s)
        except Exception as raised:
            # Not done: the deadline passed, rather than the driver raising its own error.
            late = DeadlineExceeded(f"no answer in {self.deadline_s:g} s")
            error = raised if running.done() else late
            completion = unanswered("fail" if client.definitely_failed(error) else "info", error)
        else:
            try:
                completion = self._completion(process, op_id, node, call, result, clock.now())
            except Exception as error:  # an answer we cannot read: applied or not, unknown
                completion = unanswered("info", error)
        self.writer.write(completion)
        self.recent.append((completion.time, served(completion)))

    def _apply(self, client: Client, call: Invocation) -> Any:
        match call.f:
            case "read":
                return client.read(call.key)
            case "write":
                return client.write(call.key, call.value)
            case "cas":
                return client.cas(call.key, *call.value)
            case "add":
                return client.add(call.key, call.value)
        raise ValueError(f"unknown operation {call.f!r}")

    def _completion(
        self, process: int, op_id: int, node: str | None, call: Invocation, result: Any, now: int
    ) -> Op:
        value = call.value
        kind: Literal["ok", "fail"] = "ok"
        if call.f == "read":
            value = result
            self.generator.saw(process, call.key, result)
        elif call.f == "write":
            self.generator.saw(process, call.key, call.value)
        elif call.f == "cas":
            if result:
                self.generator.saw(process, call.key, call.value[1])
            else:
                kind, value = "fail", call.value
        return Op(kind, op_id, process, call.f, call.key, value, now, node)

    def stop(self) -> None:
        """Stop issuing; let operations in flight complete (each has a deadline). Driver
        calls still running past theirs are abandoned, not waited for."""
        self._stop.set()
        if self._scheduler:
            self._scheduler.join()
        self._pool.shutdown(wait=True)
        self._calls.shutdown(wait=False, cancel_futures=True)

    def final_read(self, deadline_s: float = 30.0) -> list[Op]:
        """Read every set back at the strongest consistency, retrying each until it succeeds.

        Each attempt is recorded; a set that cannot be read within the
        deadline has no `ok` final read, and the checks report it unchecked.
        """
        if self.spec.kind != "unique-writes":
            return []
        client = self.system.client(
            self.cluster, None, max(self.spec.timeout, 5.0), self.spec.consistency
        )
        give_up = time.monotonic() + deadline_s
        try:
            return [
                read
                for key in set_keys(self.spec)
                if (read := self._read_back(client, key, give_up)) is not None
            ]
        finally:
            client.close()

    def _read_back(self, client: Client, key: str, give_up: float) -> Op | None:
        clock = self.writer.clock
        while True:
            op_id = next(self.op_ids)
            self.writer.write(Op("invoke", op_id, -1, "final-read", key, None, clock.now()))
            try:
                values = sorted(client.read_all(key))
            except Exception as error:
                self.writer.write(
                    Op(
                        "info",
                        op_id,
                        -1,
                        "final-read",
                        key,
                        None,
                        clock.now(),
                        None,
                        type(error).__name__,
                    )
                )
                if time.monotonic() > give_up:
                    return None
                time.sleep(0.5)
                continue
            done = Op("ok", op_id, -1, "final-read", key, values, clock.now())
            self.writer.write(done)
            return done

    def close(self) -> None:
        for _, client in self.clients:
            # a client of a killed node may fail to close; it holds nothing to keep
            with contextlib.suppress(Exception):
                client.close()

    def throughput(self, window_s: float = 1.0) -> tuple[float, float]:
        """(served ops/s, errors/s) over the last window, for the live display.

        Served means a definite answer: ok, or a refused compare-and-set.
        """
        since = self.writer.clock.now() - int(window_s * 1e9)
        recent = [served for at, served in list(self.recent) if at >= since]
        ok = sum(recent)
        return ok / window_s, (len(recent) - ok) / window_s
