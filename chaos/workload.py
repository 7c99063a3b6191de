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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import model_validator
from pydantic_core import InitErrorDetails

from chaos.fields import Bounded, OneLine, PositiveDuration, Strict, invalid, problem, reject
from chaos.history import HistoryWriter, Op, served

if TYPE_CHECKING:
    from chaos.backend import ClusterView as Cluster
    from chaos.systems.base import Client, System

WorkloadKind = Literal["register", "unique-writes", "membership", "visibility"]
Binding = Literal["per-node", "driver"]
Level = Literal["ONE", "QUORUM", "ALL"]
MEMBERS_KEY = "members"
VISIBILITY_KEY = "v"


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
    if spec.kind == "visibility":
        return [VISIBILITY_KEY]
    return [f"k{index}" for index in range(spec.key_count)]


MAX_CLIENTS = 10_000
MAX_RATE = 100_000.0  # operations per second: beyond what one Python process can issue
MAX_KEYS = 1_000
DEADLINE_GRACE_S = 1.0  # past its own timeout, a driver call is given up on
MAX_CALL_THREADS = 4096
LATE_S = 0.1  # an operation started this late against its schedule counts as late
DEFAULT_KEYS = 3
# The visibility probe's pace: a read from each other node every 10 ms, a new value each second.
READ_EVERY_S = 0.01
WRITE_EVERY_S = 1.0
KEYLESS = ("membership", "visibility")


class WorkloadSpec(Strict):
    """What to run: the operation mix, how many clients, how fast, how patient.

    `keys` is how many registers (register) or unique-value sets
    (unique-writes) the operations spread over; `consistency` is the client's
    level where the system lets it choose (its `consistency_levels`), for reads
    and writes alike unless `read_consistency` or `write_consistency` says
    otherwise; `read_mode` is how reads are served where the system offers a
    choice (its `read_modes`, such as a member serving from its own copy).

    `visibility` is a probe rather than a mix: one client bound to the first
    node writes a new value to one register every `write_every`, and one client
    bound to each other node reads it every `read_every` (so it takes no
    clients, rate, binding or keys).
    """

    kind: WorkloadKind
    clients: Annotated[int, Bounded("integer", ge=1, le=MAX_CLIENTS)] = 5
    binding: Binding = "per-node"
    rate: Annotated[float, Bounded("number", gt=0, le=MAX_RATE)] = 100.0
    timeout: Annotated[float, Bounded("duration", gt=0, le=60)] = 0.5
    keys: Annotated[int, Bounded("integer", ge=1, le=MAX_KEYS)] | None = None
    consistency: Level | None = None
    read_consistency: Level | None = None
    write_consistency: Level | None = None
    read_mode: OneLine | None = None
    read_every: Annotated[float, Bounded("duration", gt=0, le=60)] | None = None
    write_every: PositiveDuration | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_keys(cls, data: Any) -> Any:
        """Three keys for the workloads that have keys, and the probe's pace for
        visibility, filled in so a run records them."""
        if not isinstance(data, dict):
            return data
        if data.get("kind") == "visibility":
            return {"read_every": READ_EVERY_S, "write_every": WRITE_EVERY_S, **data}
        if data.get("kind") not in KEYLESS and "keys" not in data:
            return {**data, "keys": DEFAULT_KEYS}
        return data

    @model_validator(mode="after")
    def _keys_where_they_mean_something(self) -> Self:
        if self.kind == "membership" and self.keys is not None:
            message = "the membership workload reads the member list: it has no keys"
            reject("WorkloadSpec", [problem(("keys",), invalid(message), self.keys)])
        reject("WorkloadSpec", list(self._probe_problems()))
        return self

    def _probe_problems(self) -> Iterator[InitErrorDetails]:
        """The visibility probe sets its own clients and pace; no other workload has a pace."""
        if self.kind != "visibility":
            for name in ("read_every", "write_every"):
                if getattr(self, name) is not None:
                    message = "only the visibility workload has a pace of its own"
                    yield problem((name,), invalid(message), getattr(self, name))
            return
        why = "the visibility probe writes one register through the first node"
        given = {
            "clients": f"{why} and reads it through each other node: one client per node",
            "rate": f"{why} every write_every and reads it every read_every: it has no rate",
            "keys": f"{why}: it has no keys",
        }
        for name, message in given.items():
            # A default written out (as a run's experiment.yaml does) asks for nothing.
            value = getattr(self, name)
            if name in self.model_fields_set and value != type(self).model_fields[name].default:
                yield problem((name,), invalid(message), value)
        if self.binding != "per-node":
            message = f"{why} and reads it through a client bound to each node: per-node only"
            yield problem(("binding",), invalid(message), self.binding)

    @property
    def key_count(self) -> int:
        return self.keys or 1

    @property
    def reads_at(self) -> str | None:
        """How reads are served: the read mode, else the reads' consistency level."""
        return self.read_mode or self.read_consistency or self.consistency

    @property
    def writes_at(self) -> str | None:
        """The consistency level of writes (and adds, and a cas's commit)."""
        return self.write_consistency or self.consistency

    def driver_choices(self) -> dict[str, str]:
        """The levels and read mode the run's clients use, as run.json's `driver` records
        them (the levels where the system has them, the read mode where it has one)."""
        levels = (
            {"read_consistency": self.reads_at or "", "write_consistency": self.writes_at or ""}
            if self.consistency
            else {}
        )
        chosen = {"consistency": self.consistency or "", **levels, "read_mode": self.read_mode}
        return {name: value for name, value in chosen.items() if value}


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
            if self.spec.kind == "visibility":  # process 0 is the writer, the others read
                if process == 0:
                    return Invocation("write", VISIBILITY_KEY, next(self.values))
                return Invocation("read", VISIBILITY_KEY, None)
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


def intervals(spec: WorkloadSpec, nodes: int) -> list[float]:
    """Each client's interval between operations: `clients / rate` for every one, or for the
    visibility probe the writer's `write_every` and each other node's reader's `read_every`."""
    if spec.kind == "visibility":
        return [spec.write_every or WRITE_EVERY_S] + [spec.read_every or READ_EVERY_S] * (nodes - 1)
    return [spec.clients / spec.rate] * spec.clients


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
        self.intervals = intervals(spec, len(cluster.names))
        self.read_mode = spec.reads_at
        rate = sum(1 / interval for interval in self.intervals)
        in_flight = int(rate * self.deadline_s * 2) + len(self.intervals)
        # Operations wait at most their deadline here; the driver calls behind them run in
        # a second pool, so a driver that ignores its own timeout (kazoo during a session
        # expiry: 15 s) holds a call thread, never the schedule.
        self._pool = ThreadPoolExecutor(max_workers=min(in_flight, 512), thread_name_prefix="op")
        self._calls = ThreadPoolExecutor(max_workers=MAX_CALL_THREADS, thread_name_prefix="call")
        self.lag = ScheduleLag()

    def _client(self, node: str | None, timeout: float, chosen_reads: bool = True) -> Client:
        """A client at the run's levels. The read mode is passed only where the experiment
        chose one (so a system without read modes is called as before), and never to the
        final read, which reads at the strongest."""
        reads = self.spec.read_mode or self.spec.read_consistency
        options = {"read_mode": reads} if reads and chosen_reads else {}
        return self.system.client(self.cluster, node, timeout, self.spec.writes_at, **options)

    def start(self) -> None:
        names = self.cluster.names
        for process in range(len(self.intervals)):
            node = names[process % len(names)] if self.spec.binding == "per-node" else None
            self.clients.append((node, self._client(node, self.spec.timeout)))
        self._scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)
        self._scheduler.start()

    def _schedule(self) -> None:
        """Each client issues an operation every interval (`clients / rate` seconds), staggered."""
        count = len(self.intervals)
        start = time.monotonic()
        due = [(start + self.intervals[p] * p / count, p) for p in range(count)]
        heapq.heapify(due)
        while not self._stop.is_set():
            at, process = heapq.heappop(due)
            if self._stop.wait(max(at - time.monotonic(), 0)):
                return
            self._pool.submit(self._invoke, process, at)
            heapq.heappush(due, (at + self.intervals[process], process))

    def _invoke(self, process: int, due: float) -> None:
        self.lag.record(time.monotonic() - due)
        node, client = self.clients[process]
        call = self.generator.next(process)
        op_id = next(self.op_ids)
        clock = self.writer.clock
        mode = self._mode(call)
        self.writer.write(
            Op("invoke", op_id, process, call.f, call.key, call.value, clock.now(), node, mode=mode)
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
                mode,
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
        return Op(kind, op_id, process, call.f, call.key, value, now, node, mode=self._mode(call))

    def _mode(self, call: Invocation) -> str | None:
        """Only reads carry a mode: how the run asked them to be served."""
        return self.read_mode if call.f == "read" else None

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
        client = self._client(None, max(self.spec.timeout, 5.0), chosen_reads=False)
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
