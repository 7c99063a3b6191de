"""The run's record: operations, fault events and observations on one clock.

Everything a report or a check needs is in `history.jsonl`, one JSON object a
line (its `record` field says which: meta, op, fault or obs), written while
the run goes and flushed line by line so that an interrupted run keeps its
evidence. Times are nanoseconds of
`time.monotonic_ns()` since the run's clock started; the wall-clock start is
in the `meta` record so a reader can place the run in real time.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

OpType = Literal["invoke", "ok", "fail", "info"]
# The observer name of a client driver's own events (host up/down), recorded
# when they happen rather than polled.
DRIVER_OBSERVER = "driver"
# A fault's life: issued, proven in effect, heal issued, heal command returned, heal
# proven; or failed. Histories written before `heal-requested` existed lack it.
FaultStage = Literal[
    "requested", "effective", "heal-requested", "healed", "healed-verified", "failed"
]


class Clock:
    """The run's monotonic clock: nanoseconds since the run started."""

    def __init__(self) -> None:
        self.origin_ns = time.monotonic_ns()
        self.wall_origin = time.time()

    def now(self) -> int:
        return time.monotonic_ns() - self.origin_ns


@dataclass(frozen=True)
class Op:
    """One half of an operation, as in Jepsen: the invocation or its completion.

    An invocation and its completion share `id`. A completion is `ok` (it took
    effect), `fail` (it definitely did not) or `info` (unknown: a timeout or a
    broken connection, so it may take effect at any later time). For `cas`
    the value is `[expected, new]`; a read's completion carries the value read.
    """

    type: OpType
    id: int
    process: int
    f: str
    key: str | None
    value: Any
    time: int
    node: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class FaultEvent:
    """A step in a fault's life, with the targets it resolved to and the backend used."""

    time: int
    fault_id: int
    kind: str
    stage: FaultStage
    targets: tuple[str, ...]
    backend: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalEvent:
    """Something happened to a node's container that the suite did not do.

    Read from the container engine's event stream: a node that died, stopped,
    restarted or was paused while no fault of the run was acting on it. A run
    with one cannot be believed, so it is judged `unhealthy`.
    """

    time: int
    node: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """What one node (or the client driver) believes about the cluster at one moment.

    `members` maps every peer to `up` or `down` as the observer sees it;
    `role` is the observer's own role (leader, follower, looking, master,
    replica...), `leader` the leader it follows where the system has one.
    `raw` keeps the system-specific fields (term, raft index, flags...).
    """

    time: int
    observer: str
    role: str | None = None
    leader: str | None = None
    members: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def served(completion: Op | None, refusals: bool = True) -> bool:
    """A definite answer: ok, or (with `refusals`) a refused cas, which proves the
    register held another value. A run whose system refused from an unsynced local
    read passes `refusals=False`: such a refusal proves nothing."""
    if completion is None:
        return False
    if completion.type == "ok":
        return True
    return refusals and completion.type == "fail" and not completion.error


def refused(completion: Op | None) -> bool:
    """A cas the system answered with "no": its register held another value."""
    return completion is not None and completion.type == "fail" and not completion.error


Record = Op | FaultEvent | Observation | ExternalEvent
_KINDS: dict[str, type] = {
    "op": Op,
    "fault": FaultEvent,
    "obs": Observation,
    "external": ExternalEvent,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def to_json(record: Record) -> str:
    return json.dumps({"record": _KIND_OF[type(record)], **asdict(record)}, default=str)


def from_json(line: str) -> Record | dict[str, Any]:
    """Parse one line: a record, or the `meta` dictionary."""
    data = json.loads(line)
    kind = data.pop("record")
    if kind == "meta":
        return data
    if kind == "fault":
        data["targets"] = tuple(data["targets"])
    return _KINDS[kind](**data)


class HistoryWriter:
    """Appends records to `history.jsonl` from any thread, flushed line by line."""

    def __init__(self, path: Path, clock: Clock, meta: dict[str, Any] | None = None) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._file: TextIO = path.open("a", encoding="utf-8", buffering=1)
        self._write_line(
            json.dumps(
                {"record": "meta", "wall_origin": clock.wall_origin, **(meta or {})}, default=str
            )
        )

    def _write_line(self, line: str) -> None:
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def write(self, record: Record) -> None:
        self._write_line(to_json(record))

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass
class History:
    """A run's history read back from disk, split by record kind, in time order."""

    ops: list[Op] = field(default_factory=list)
    faults: list[FaultEvent] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    externals: list[ExternalEvent] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[Record | dict[str, Any]]) -> History:
        history = cls()
        for record in records:
            if isinstance(record, Op):
                history.ops.append(record)
            elif isinstance(record, FaultEvent):
                history.faults.append(record)
            elif isinstance(record, Observation):
                history.observations.append(record)
            elif isinstance(record, ExternalEvent):
                history.externals.append(record)
            else:
                history.meta.update(record)
        for items in (history.ops, history.faults, history.observations, history.externals):
            items.sort(key=lambda r: r.time)
        return history


def read_records(path: Path) -> Iterator[Record | dict[str, Any]]:
    """Every record of a history file (gzip-compressed if it ends `.gz`); a torn last
    line (an interrupted run) is skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.endswith("\n"):
                return
            yield from_json(line)


def load_history(path: Path) -> History:
    return History.from_records(read_records(path))


def pair_operations(ops: Iterable[Op]) -> list[tuple[Op, Op | None]]:
    """Each invocation with its completion; `None` where the run ended first."""
    completions = {op.id: op for op in ops if op.type != "invoke"}
    return [(op, completions.get(op.id)) for op in ops if op.type == "invoke"]
