"""The run's record: operations, fault events and observations on one clock.

Everything a report or a check needs is in `history.jsonl`, one JSON object a
line (its `record` field says which: meta, op, fault, obs, external, traffic),
written while the run goes and flushed line by line so that an interrupted run keeps its
evidence. Times are nanoseconds of
`time.monotonic_ns()` since the run's clock started; the wall-clock start is
in the `meta` record so a reader can place the run in real time.
"""

from __future__ import annotations

import functools
import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TextIO, get_args

from chaos.errors import ArtefactError

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
    A read's `mode` is how the system was asked to serve it (a read mode such as
    `serializable`, or a consistency level such as `ONE`); None in histories
    recorded before reads carried it.
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
    mode: str | None = None


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


@dataclass(frozen=True)
class TrafficSample:
    """One node's traffic counters, read from its network namespace on the run's clock.

    Bytes and packets the node received (`_in`) and sent (`_out`), by the other end:
    `peer` the other nodes, `client` the host (the host's clients reach the nodes through
    the network's gateway), `other` anything else off loopback. Counters run from `since`,
    when they were installed at zero in the node's present namespace: a restarted node
    comes back in a new one, with a new `since`. A node that cannot be read (killed,
    stopped) has no sample: a gap, never a zero.
    """

    time: int
    node: str
    since: int
    peer_in_bytes: int
    peer_in_packets: int
    peer_out_bytes: int
    peer_out_packets: int
    client_in_bytes: int
    client_in_packets: int
    client_out_bytes: int
    client_out_packets: int
    other_in_bytes: int
    other_in_packets: int
    other_out_bytes: int
    other_out_packets: int


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


Record = Op | FaultEvent | Observation | ExternalEvent | TrafficSample
_KINDS: dict[str, type] = {
    "op": Op,
    "fault": FaultEvent,
    "obs": Observation,
    "external": ExternalEvent,
    "traffic": TrafficSample,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
MAX_LINE_BYTES = 64 * 2**20  # one record; the longest a run writes is a few kilobytes


def to_json(record: Record) -> str:
    return json.dumps({"record": _KIND_OF[type(record)], **asdict(record)}, default=str)


def from_json(line: str) -> Record | dict[str, Any]:
    """Parse one line: a record, or the `meta` dictionary; raises `MalformedLine` saying what
    is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MalformedLine(f"not JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # a number of 5,000 digits; nesting too deep
        raise MalformedLine(f"not JSON this suite reads: {exc}") from None
    return from_data(data)


class MalformedLine(ValueError):
    """A history line that is not a record of this suite; the message says why."""


def from_data(data: object) -> Record | dict[str, Any]:
    """A parsed line as a record, with every field of the type its record declares (checked
    here, once, so no check later meets a string where a time belongs)."""
    if not isinstance(data, dict):
        raise MalformedLine(f"expected a JSON object, got {_shown(data)}")
    if "record" not in data:
        raise MalformedLine('a line without "record"')
    kind = data["record"]
    if kind == "meta":
        return {key: value for key, value in data.items() if key != "record"}
    if not isinstance(kind, str) or kind not in _KINDS:
        known = ", ".join(["meta", *_KINDS])
        raise MalformedLine(f"unknown record {_shown(kind)}; expected one of {known}")
    cls, name = _KINDS[kind], _NAMES.get(kind, f"a {kind} record")
    values: dict[str, Any] = {}
    for field_name, required, valid, wanted in _fields_of(kind):
        if field_name not in data:
            if required:
                raise MalformedLine(f'{name} without "{field_name}"')
            continue
        value = data[field_name]
        if not valid(value):
            raise MalformedLine(f'{name}\'s "{field_name}": expected {wanted}, got {_shown(value)}')
        values[field_name] = tuple(value) if field_name == "targets" else value
    if cls is Op:
        _check_op_value(values, name)
    spec = values.get("detail", {}).get("spec") if cls is FaultEvent else None
    if spec is not None and not isinstance(spec, dict):
        raise MalformedLine(f'{name}\'s "detail.spec": expected an object, got {_shown(spec)}')
    return cls(**values)  # type: ignore[no-any-return]


@functools.cache
def _fields_of(kind: str) -> tuple[tuple[str, bool, Callable[[object], bool], str], ...]:
    """A record kind's fields: name, whether a line must give it, and its type's check."""
    return tuple(
        (
            item.name,
            item.default is MISSING and item.default_factory is MISSING,
            *(_TIME if item.name == "time" else _TYPES.get(str(item.type), (_anything, ""))),
        )
        for item in fields(_KINDS[kind])
    )


def _check_op_value(values: dict[str, Any], name: str) -> None:
    """What the checks rely on: plain values (sets and registers hold them), a cas's
    [expected, new], and a final read's list."""
    value, f = values["value"], values["f"]
    if not _plain(value):
        wanted = "plain data (no objects; integers of 64 bits)"
        raise MalformedLine(f'{name}\'s "value": expected {wanted}, got {_shown(value)}')
    if f == "cas" and not (isinstance(value, list) and len(value) == 2):
        raise MalformedLine(f'a cas\'s "value": expected [expected, new], got {_shown(value)}')
    if f == "final-read" and values["type"] == "ok" and not isinstance(value, list):
        raise MalformedLine(f'a final read\'s "value": expected a list, got {_shown(value)}')


def _shown(value: object) -> str:
    """A value as JSON, cut short: an error line names it, it does not reprint the file."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(text):,} characters)"


def _integer(value: object) -> bool:
    """An integer as the suite writes them: 64 bits (a chart cannot carry more)."""
    return type(value) is int and -(2**63) <= value < 2**63  # type: ignore[operator]


def _instant(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TIME_NS  # type: ignore[operator]


def _text(value: object) -> bool:
    return isinstance(value, str)


def _optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _anything(value: object) -> bool:
    return True


def _plain(value: object) -> bool:
    """Null, true/false, a number (integers of 64 bits), text, or a list of them (to any
    depth): no objects."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict) or (type(item) is int and not _integer(item)):
            return False
    return True


def _names_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _mapping(value: object) -> bool:
    return isinstance(value, dict)


def _text_mapping(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


# Each annotation a record's field has (as text: annotations are not evaluated here), with
# how to tell a value of it and its name in an error line.
_TYPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "int": (_integer, "an integer"),
    "str": (_text, "text"),
    "str | None": (_optional_text, "text or null"),
    "Any": (_anything, ""),
    "OpType": (lambda value: value in get_args(OpType), f"one of {', '.join(get_args(OpType))}"),
    "FaultStage": (
        lambda value: value in get_args(FaultStage),
        f"one of {', '.join(get_args(FaultStage))}",
    ),
    "tuple[str, ...]": (_names_list, "a list of names"),
    "dict[str, Any]": (_mapping, "an object"),
    "dict[str, str]": (_text_mapping, "an object of text values"),
}
# A time is on the run's clock: from its start, and no run lasts a week (its steady state,
# faults and settling are each at most a day). Checked here so that nothing measuring or
# drawing a run is asked to span 10**30 nanoseconds.
MAX_TIME_NS = 7 * 24 * 3600 * 10**9
_TIME = (_instant, "an integer: nanoseconds since the run began, at most a week")
_NAMES = {
    "op": "an op",
    "fault": "a fault event",
    "obs": "an observation",
    "external": "an external event",
    "traffic": "a traffic sample",
}


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
    traffic: list[TrafficSample] = field(default_factory=list)
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
            elif isinstance(record, TrafficSample):
                history.traffic.append(record)
            else:
                history.meta.update(record)
        for items in (history.ops, history.faults, history.observations, history.externals):
            items.sort(key=lambda r: r.time)
        history.traffic.sort(key=lambda r: r.time)
        return history


def read_records(path: Path) -> Iterator[Record | dict[str, Any]]:
    """Every record of a history file (gzip-compressed if it ends `.gz`); a torn last
    line (an interrupted run) is skipped. Anything else that is not a record is an
    `ArtefactError` naming the file and the line (`history.jsonl:12: an op without "time"`)."""
    if path.is_dir():
        raise ArtefactError(f"{path}: a folder, not a file")
    if not path.exists():
        raise ArtefactError(f"{path}: no such file: the run left no history")
    if not path.is_file():  # reading a pipe or a device would never end
        raise ArtefactError(f"{path}: not a regular file (a pipe or a device)")
    number = 0
    ops = _OpShapes()
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as lines:
            while raw := lines.readline(MAX_LINE_BYTES + 1):
                number += 1
                if not raw.endswith(b"\n"):
                    if len(raw) > MAX_LINE_BYTES:
                        raise MalformedLine(f"longer than {MAX_LINE_BYTES // 2**20} MB")
                    break
                record = from_json(raw.decode("utf-8"))
                if isinstance(record, Op):
                    ops.note(record, number)
                yield record
        late = ops.problem()
        if late:
            number, message = late
            raise MalformedLine(message)
    except MalformedLine as exc:
        raise ArtefactError(f"{path}:{number}: {exc}") from None
    except UnicodeDecodeError:
        raise ArtefactError(f"{path}:{number}: not UTF-8 text") from None
    except (OSError, EOFError, zlib.error) as exc:
        where = f"{path}:{number + 1}" if number else str(path)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ArtefactError(f"{where}: cannot read: {reason}") from None


class _OpShapes:
    """What the checks assume of the ops as a whole, checked as they are read: an id is
    invoked once, its completion is of the same function and key, and a key that takes
    adds (a set) is read as a list."""

    def __init__(self) -> None:
        self.invoked: dict[int, tuple[str, str | None, int]] = {}  # id -> f, key, line
        self.sets: set[str | None] = set()
        self.scalar_reads: dict[str | None, int] = {}  # a key's first one-value read, by line

    def note(self, op: Op, number: int) -> None:
        if op.type == "invoke":
            if op.id in self.invoked:
                first = self.invoked[op.id][2]
                raise MalformedLine(f"op {op.id} invoked again (first at line {first})")
            self.invoked[op.id] = (op.f, op.key, number)
        elif op.id in self.invoked and self.invoked[op.id][:2] != (op.f, op.key):
            f, key, _ = self.invoked[op.id]
            raise MalformedLine(
                f"op {op.id} completes as {op.f} of {_shown(op.key)}, "
                f"invoked as {f} of {_shown(key)}"
            )
        if op.f == "add":
            self.sets.add(op.key)
        elif op.f == "read" and op.type == "ok" and not isinstance(op.value, list):
            self.scalar_reads.setdefault(op.key, number)

    def problem(self) -> tuple[int, str] | None:
        """A set read as one value, with the read's line: known only once all is read."""
        for key in self.sets & self.scalar_reads.keys():
            message = f"a read of {_shown(key)}, a set (it takes adds), not of a list"
            return self.scalar_reads[key], message
        return None


def load_history(path: Path) -> History:
    return History.from_records(read_records(path))


def pair_operations(ops: Iterable[Op]) -> list[tuple[Op, Op | None]]:
    """Each invocation with its completion; `None` where the run ended first."""
    completions = {op.id: op for op in ops if op.type != "invoke"}
    return [(op, completions.get(op.id)) for op in ops if op.type == "invoke"]
