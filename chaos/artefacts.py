"""Reading a run folder's files, including those written by older versions of the suite.

`metrics.json` carries a `schema_version`. Metrics written before it existed
(schema 1) used figures since found wrong (an outage that ended at the first
answer anywhere, detection by the client driver), so they are never shown:
they are recomputed from the run's history, which every run keeps, and
nothing in the folder is overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.checks.measure import METRICS_SCHEMA, measure
from chaos.checks.recovery import Rules
from chaos.errors import ArtefactError
from chaos.history import load_history
from chaos.systems import SYSTEMS


def read_json(path: Path) -> dict[str, Any]:
    """A run file's JSON object; an absent file reads as empty (a failed run leaves files out)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtefactError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ArtefactError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def rules_of(run: dict[str, Any]) -> Rules:
    """How to read a run's history: as its run.json says, or, for runs recorded before
    run.json said so, as its system's module says such runs must be read."""
    recorded = run.get("rules")
    if isinstance(recorded, dict):
        return Rules(
            detection=recorded.get("detection", "membership"),
            sharded=bool(recorded.get("sharded", False)),
            shard_names=dict(recorded.get("shard_names") or {}),
            refusals_are_service=bool(recorded.get("refusals_are_service", True)),
        )
    system = SYSTEMS.get(str(run.get("system")))
    if system is None:
        return Rules()
    return Rules(
        detection=system.detection,
        sharded=system.sharded,
        refusals_are_service=system.legacy_refusals_are_service,
    )


def history_file(run_dir: Path) -> Path:
    """The run's history: `history.jsonl`, or its compressed copy."""
    plain = run_dir / "history.jsonl"
    packed = run_dir / "history.jsonl.gz"
    return packed if packed.exists() and not plain.exists() else plain


def load_metrics(run_dir: Path, linearizability: bool) -> dict[str, Any]:
    """The run's metrics in today's schema: metrics.json, or recomputed from the history
    when metrics.json predates today's figures (never written back)."""
    metrics = read_json(run_dir / "metrics.json")
    if not metrics or metrics.get("schema_version") == METRICS_SCHEMA:
        return metrics
    version = metrics.get("schema_version", 1)
    if isinstance(version, int) and version > METRICS_SCHEMA:
        raise ArtefactError(
            f"{run_dir / 'metrics.json'}: written by schema {version}; this suite reads up to "
            f"{METRICS_SCHEMA}"
        )
    history = history_file(run_dir)
    if not history.exists():
        raise ArtefactError(
            f"{run_dir}: metrics.json is of schema {version}, whose figures are not shown, "
            "and there is no history.jsonl to recompute them from"
        )
    rules = rules_of(read_json(run_dir / "run.json"))
    recomputed, _ = measure(load_history(history), linearizability, rules)
    return recomputed
