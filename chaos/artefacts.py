"""A run folder's files as typed, versioned models: the runner writes them, reports and
comparisons read only them.

| file | model | written |
|---|---|---|
| run.json | `RunRecord` | at the start, updated as the run learns more |
| metrics.json | `Metrics` | after the run, and by `chaoslab report` |
| verdicts.json | `Verdicts` | with the metrics (or at once, for a run that failed) |

Every file carries `schema_version`. Run folders written by older suites
stay readable: schema 1 (no version) is migrated on read, and its metrics,
whose figures were since found wrong (an outage that ended at the first
answer anywhere, detection by the client driver), are recomputed from the
run's history rather than shown; nothing in the folder is overwritten. A
file of a newer schema, or one that does not hold what its model says, is
refused with one line naming the file and the field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from chaos.checks.base import RANK, Verdict
from chaos.checks.linearizability import LinearizabilityResult
from chaos.checks.recovery import RecoveryReport
from chaos.checks.rules import Rules
from chaos.checks.safety import LostWritesResult, StaleReadsResult
from chaos.checks.staleness import StalenessResult
from chaos.checks.traffic import TrafficResult
from chaos.checks.visibility import VisibilityResult
from chaos.errors import ArtefactError
from chaos.fields import printable
from chaos.systems.prediction import Band

SCHEMA = 2
MAX_FILE_BYTES = 200 * 1024 * 1024
Status = Literal["running", "held", "slo-failed", "unknown", "unhealthy", "error", "interrupted"]
T = TypeVar("T")


class _Record(BaseModel):
    """Lenient about fields a newer suite of the same schema adds; strict about the rest."""

    model_config = ConfigDict(extra="allow", frozen=True)


class RulesRecord(_Record):
    detection: Literal["leader", "membership"] = "membership"
    sharded: bool = False
    shard_names: dict[str, str] = Field(default_factory=dict)
    refusals_are_service: bool = True

    def rules(self) -> Rules:
        return Rules(self.detection, self.sharded, self.shard_names, self.refusals_are_service)


class NodeRecord(_Record):
    name: str
    container: str = ""
    ip: str = ""
    ports: dict[int, int] = Field(default_factory=dict)


class ScheduleEntry(_Record):
    fault: int
    kind: str
    start_s: float
    heal_s: float | None = None


class BandRecord(_Record):
    """Seconds from the fault's request within which the system's model puts a figure."""

    low_s: float
    high_s: float

    def band(self) -> Band:
        return Band(self.low_s, self.high_s)


class PredictionRecord(_Record):
    """What the system's own model predicted for one fault of the file (`fault`, its index)
    at the settings and size that ran (chaos.experiment.predictions); a band is None where
    the model predicts none (a follower's loss, for a leader-based system)."""

    fault: int
    kind: str = ""
    detect: BandRecord | None = None
    unavailable: BandRecord | None = None
    detects: str = ""
    serves: str = ""
    rejoins: str = ""
    detail: str = ""


class RunRecord(_Record):
    """run.json: what ran, on what, with which settings, and how it ended."""

    schema_version: int = SCHEMA
    run_id: str
    title: str = ""
    system: str
    family: str = "?"
    protocol: str = "?"
    status: Status = "running"
    version: str = "unknown"
    image_source: str = "local"
    images: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    node_count: int | None = None
    rules: RulesRecord | None = None
    driver: dict[str, Any] = Field(default_factory=dict)
    nodes: list[NodeRecord] = Field(default_factory=list)
    seed: int = 0
    repeat: int = 0
    schedule: list[ScheduleEntry] = Field(default_factory=list)
    started: str = ""
    up_seconds: float | None = None
    final_health: dict[str, Any] | None = None
    schedule_lag: dict[str, Any] | None = None
    # None: not recorded (runs from before predictions were); [] for a run with no fault.
    predictions: list[PredictionRecord] | None = None

    @property
    def size(self) -> int:
        return self.node_count or len(self.nodes) or 3

    def prediction(self, fault_id: int) -> PredictionRecord | None:
        """The prediction for the fault the history calls `fault_id`: the nemesis numbers its
        injections from 1 in the order of `schedule`, whose entries name the file's fault."""
        if self.predictions is None or not 1 <= fault_id <= len(self.schedule):
            return None
        index = self.schedule[fault_id - 1].fault
        return next((p for p in self.predictions if p.fault == index), None)


class Verdicts(_Record):
    """verdicts.json: the run's status, why, and each SLO's verdict."""

    schema_version: int = SCHEMA
    status: Status
    error: str | None = None
    problems: list[str] = Field(default_factory=list)
    verdicts: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("verdicts")
    @classmethod
    def _readable(cls, verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each verdict names its SLO and, where it says one, a known outcome: what `items`
        and every page built from them rely on."""
        for index, verdict in enumerate(verdicts):
            outcome = verdict.get("outcome")
            if not isinstance(verdict.get("slo"), str):
                raise ValueError(f'verdict {index} names no SLO ("slo")')
            if outcome is not None and not (isinstance(outcome, str) and outcome in RANK):
                raise ValueError(
                    f"verdict {index}: outcome {outcome!r} is not held, failed or unknown"
                )
            if not isinstance(verdict.get("detail", ""), str):
                raise ValueError(f"verdict {index}: detail is not text")
        return verdicts

    def items(self) -> list[Verdict]:
        return [_verdict(v) for v in self.verdicts]


def _verdict(data: dict[str, Any]) -> Verdict:
    """A verdict as written; schema 1 knew only held or not."""
    outcome = data.get("outcome") or ("held" if data.get("held") else "failed")
    detail = data.get("detail", "")
    return Verdict(data["slo"], data.get("expected"), data.get("measured"), outcome, detail)


@dataclass(frozen=True)
class Metrics:
    """metrics.json: every check's result, each a frozen dataclass of chaos.checks."""

    operations: int
    success_rate: float | None
    recovery: RecoveryReport
    lost_writes: LostWritesResult
    stale_reads: StaleReadsResult
    linearizability: LinearizabilityResult | None
    checks: tuple[str, ...] = ()
    schema_version: int = SCHEMA
    # Added within schema 2, so absent (None) from earlier files of it.
    staleness: StalenessResult | None = None
    visibility: VisibilityResult | None = None
    traffic: TrafficResult | None = None

    def to_json(self) -> dict[str, Any]:
        """The file's content: the results, with the headline figures spelled out for readers
        that are not the suite (a browser's script, jq)."""
        data = asdict(self)
        data["recovery"] = self.recovery.to_dict()
        lost = self.lost_writes
        data["lost_writes"] = {**lost.to_dict(), "lost_count": len(lost.lost)}
        data["stale_reads"] = {
            **self.stale_reads.to_dict(),
            "stale_count": len(self.stale_reads.stale),
        }
        return data


_METRICS = TypeAdapter(Metrics)


def _read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    if path.is_dir():
        raise ArtefactError(f"{path}: a folder, not a file")
    if not path.is_file():  # reading a pipe or a device would never end
        raise ArtefactError(f"{path}: not a regular file (a pipe or a device)")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ArtefactError(f"{path}: over 200 MB: refused")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad UTF-8, bad JSON
        raise ArtefactError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ArtefactError(f"{path}: expected a JSON object, found {type(data).__name__}")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtefactError(f"{path}: schema_version: expected an integer, got {version!r}")
    if version > SCHEMA:
        raise ArtefactError(f"{path}: written by schema {version}; this suite reads up to {SCHEMA}")
    return data


def _model(path: Path, model: type[T] | TypeAdapter[T], data: Any) -> T:
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = printable(".".join(str(part) for part in first["loc"])) or "(top)"  # any key
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ArtefactError(f"{path}: {where}: {printable(first['msg'])}{more}") from None


def read_run(run_dir: Path) -> RunRecord:
    """run.json, migrated from schema 1 where it is older."""
    path = run_dir / "run.json"
    data = _read(path)
    if data is None:
        raise ArtefactError(f"{run_dir}: no run.json: not a run folder")
    if data.get("schema_version", 1) == 1:
        data = _migrate_run(data, run_dir)
    return _model(path, RunRecord, data)


def _migrate_run(data: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Schema 1 recorded no rules (read as its system's module says such runs must be),
    no node count, and no status of its own."""
    from chaos.systems import SYSTEMS

    migrated = {**data, "schema_version": SCHEMA}
    migrated.setdefault("run_id", run_dir.name)
    name = str(data.get("system"))
    if "rules" not in data and name in SYSTEMS:
        system = SYSTEMS[name]
        migrated["rules"] = {
            "detection": system.detection,
            "sharded": system.sharded,
            "refusals_are_service": system.legacy_refusals_are_service,
        }
    if isinstance(data.get("nodes"), list):
        migrated.setdefault("node_count", len(data["nodes"]))
    return migrated


def rules_of(run: RunRecord) -> Rules:
    """How to read the run's history."""
    return run.rules.rules() if run.rules else Rules()


def read_verdicts(run_dir: Path) -> Verdicts | None:
    path = run_dir / "verdicts.json"
    data = _read(path)
    if data is None:
        return None
    return _model(path, Verdicts, {**data, "schema_version": SCHEMA})


def history_file(run_dir: Path) -> Path:
    """The run's history: `history.jsonl`, or its compressed copy."""
    plain = run_dir / "history.jsonl"
    packed = run_dir / "history.jsonl.gz"
    return packed if packed.exists() and not plain.exists() else plain


def read_metrics(run_dir: Path, checks: tuple[str, ...] | None = None) -> Metrics | None:
    """metrics.json in today's schema, or recomputed from the history when it predates
    today's figures (never written back); None where the run left neither."""
    from chaos.checks.measure import measure
    from chaos.history import load_history

    path = run_dir / "metrics.json"
    data = _read(path)
    if data is not None and data.get("schema_version") == SCHEMA:
        return _model(path, _METRICS, data)
    history = history_file(run_dir)
    if not history.exists():
        if data is None:
            return None
        raise ArtefactError(
            f"{run_dir}: metrics.json is of schema 1, whose figures are not shown, "
            "and there is no history.jsonl to recompute them from"
        )
    run = read_run(run_dir)
    return measure(load_history(history), rules_of(run), checks)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A run file's JSON object as it is, for pages that show what a folder holds even when
    its models cannot be read (the runs index); an absent file reads as empty."""
    return _read(path) or {}
