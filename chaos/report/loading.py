"""A run folder read back through its typed artefacts (chaos.artefacts), the only way a
report reads a run: run.json, verdicts.json and metrics.json as their models, the
history as `chaos.history` loads it, the experiment as the text that ran.

Each file is read on its own, and one that cannot be read leaves its model None
with the one line saying which file and why, so a page shows what the rest still
proves and says what it cannot show; it never guesses a figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from chaos.artefacts import (
    SCHEMA,
    Metrics,
    RunRecord,
    Verdicts,
    history_file,
    read_json,
    read_metrics,
    read_run,
    read_verdicts,
)
from chaos.checks.base import RANK, Verdict
from chaos.errors import ArtefactError
from chaos.history import History, load_history

# What reading a damaged history raises where `load_history` does not say it as an
# `ArtefactError` itself: a torn gzip, a line that is not JSON, a record of an unknown
# kind or with missing fields.
HISTORY_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError)
T = TypeVar("T")
ADDED_FAULT_FIGURES = ("views_converged_s",)


@dataclass(frozen=True)
class RunFiles:
    """A finished run as its files say; a model is None where its file is absent or, with
    its line in `unreadable` (by file name), cannot be read.

    `metrics` are in today's schema: recomputed from the history when metrics.json
    predates it (`old_schema` names its schema: verdicts.json was judged on figures
    never shown).
    """

    run_dir: Path
    run: RunRecord | None
    verdicts: Verdicts | None
    metrics: Metrics | None
    history: History | None
    experiment_text: str = ""
    slos: tuple[Verdict, ...] = ()
    old_schema: int | None = None
    unreadable: dict[str, str] = field(default_factory=dict)
    # Figures of today's schema that its metrics.json, written before they were, lacks:
    # shown as not recorded, never as a figure that was never reached.
    unrecorded: frozenset[str] = frozenset()

    @property
    def damaged(self) -> list[str]:
        """Why no page of figures can be built: run.json or verdicts.json cannot be read
        (without them no figure or verdict on the page could be trusted)."""
        names = ("run.json", "verdicts.json")
        return [self.unreadable[name] for name in names if name in self.unreadable]

    @property
    def refusals_are_service(self) -> bool:
        rules = self.run.rules if self.run else None
        return rules.refusals_are_service if rules else True


def read_files(run_dir: Path) -> RunFiles:
    unreadable: dict[str, str] = {}
    run = _attempt(unreadable, "run.json", lambda: read_run(run_dir))
    verdicts, slos = _attempt(unreadable, "verdicts.json", lambda: read_slos(run_dir)) or (None, ())
    path = history_file(run_dir)
    history = _attempt(unreadable, path.name, lambda: _history(path)) if path.exists() else None
    old_schema = _attempt(unreadable, "metrics.json", lambda: _old_schema(run_dir))
    metrics = None
    if old_schema is not None and path.name in unreadable:
        unreadable["metrics.json"] = (
            f"{run_dir / 'metrics.json'}: of schema {old_schema}, whose figures are not shown,"
            f" and {path.name}, to recompute them from, cannot be read"
        )
    elif run is not None and "metrics.json" not in unreadable:
        metrics = _attempt(unreadable, "metrics.json", lambda: read_metrics(run_dir))
    experiment = run_dir / "experiment.yaml"
    text = _attempt(unreadable, experiment.name, lambda: _text(experiment))
    unrecorded = _unrecorded(run_dir) if metrics is not None and old_schema is None else set()
    return RunFiles(
        run_dir,
        run,
        verdicts,
        metrics,
        history,
        text or "",
        slos,
        old_schema,
        unreadable,
        frozenset(unrecorded),
    )


def _unrecorded(run_dir: Path) -> set[str]:
    """The per-fault figures added within today's schema that metrics.json does not hold."""
    faults = read_json(run_dir / "metrics.json").get("recovery", {}).get("faults", [])
    return {
        name
        for name in ADDED_FAULT_FIGURES
        if any(isinstance(f, dict) and name not in f for f in faults)
    }


def _attempt(unreadable: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    """What `read` returns; None with its line kept where the file cannot be read."""
    try:
        return read()
    except ArtefactError as problem:
        unreadable[name] = str(problem)
        return None


def read_slos(run_dir: Path) -> tuple[Verdicts | None, tuple[Verdict, ...]]:
    """verdicts.json and each SLO's verdict in it, which its model holds as objects it does
    not check; `ArtefactError` with the one line naming the file where it cannot be read."""
    verdicts = read_verdicts(run_dir)
    if verdicts is None:
        return None, ()
    for index, entry in enumerate(verdicts.verdicts):
        outcome = entry.get("outcome") or ("held" if entry.get("held") else "failed")
        if not isinstance(entry.get("slo"), str) or outcome not in RANK:
            where = f"verdicts.{index}"
            raise ArtefactError(f"{run_dir / 'verdicts.json'}: {where}: not an SLO verdict")
    return verdicts, tuple(verdicts.items())


def _old_schema(run_dir: Path) -> int | None:
    """metrics.json's schema where it predates today's figures (read_json has checked that
    it is an integer no newer than today's)."""
    path = run_dir / "metrics.json"
    if not path.exists():
        return None
    version = read_json(path).get("schema_version", 1)
    return None if version == SCHEMA else int(version)


def _history(path: Path) -> History:
    try:
        return load_history(path)
    except ArtefactError:
        raise
    except HISTORY_ERRORS as exc:
        raise ArtefactError(
            f"{path}: not a readable history: {type(exc).__name__}: {exc}"
        ) from None


def _text(path: Path) -> str:
    if not path.exists():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtefactError(f"{path}: not readable text: {exc}") from None
