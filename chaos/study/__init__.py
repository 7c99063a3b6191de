"""Studies: claims about recovery protocols, each answered by measurement.

    model.py     the study file (claims, their experiments, sweeps, figures and rules)
    figures.py   the figures a rule weighs, read from a run's metrics
    plan.py      the cells a profile runs, which run folders measured them, what is left
    verdicts.py  a claim's verdict from samples, by its rule
    evidence.py  the samples of each claim's cases, from the runs found
    page.py      index.html

A study folder (reports/study-<name>/) holds the runs the study made, `study.json` (each
claim's verdict, condition, numbers and runs) and `index.html`; `write_report` rebuilds both
from run folders alone, those of the study and any others given (a `chaoslab run`, a sweep).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.artefacts import read_verdicts, write_json
from chaos.errors import ArtefactError
from chaos.interrupts import Terminated, shielded, signals_raise
from chaos.study.evidence import gather
from chaos.study.model import LoadedStudy, load_study
from chaos.study.plan import (
    Cell,
    Ledger,
    all_cells,
    mark_cell,
    plan_cells,
    planned,
    sort_runs,
    suite_version,
)
from chaos.sweep.estimate import Bounds, check_bounds

SUMMARY_FILE = "study.json"
PAGE_FILE = "index.html"
Say = Callable[[str], None]


def default_folder(reports: Path, loaded: LoadedStudy) -> Path:
    return reports / f"study-{loaded.name}"


def write_report(
    loaded: LoadedStudy,
    folder: Path,
    runs: Sequence[Path] = (),
    profile: str = "report-only",
    single_file: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write study.json and index.html into `folder` from the run folders under it and under
    `runs`; return the page's path and the summary written."""
    from chaos.report.library import library_src
    from chaos.study.page import render_study

    folder.mkdir(parents=True, exist_ok=True)
    cells = all_cells(loaded)
    ledger = sort_runs([folder, *runs], cells)
    _own_run_pages(ledger, folder)
    evidence = gather(loaded, cells, ledger)
    created = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    page_path = folder / PAGE_FILE
    library = None if single_file else library_src(page_path, folder)  # shared with its runs
    html = render_study(loaded, evidence, ledger, folder, created, profile, library)
    page_path.write_text(html, encoding="utf-8")
    summary = {
        "kind": "chaoslab-study",
        "study": str(loaded.source),
        "title": loaded.study.title,
        "created": created,
        "profile": profile,
        "suite_version": suite_version(),
        "versions": ledger.versions,
        "claims": [
            {
                "name": item.claim.name,
                "family": item.claim.family,
                "claim": item.claim.claim,
                "verdict": item.verdict.outcome,
                "condition": item.verdict.condition,
                "numbers": list(item.verdict.numbers),
                "runs": list(item.verdict.runs),
                "rule": item.verdict.rule,
            }
            for item in evidence
        ],
    }
    write_json(folder / SUMMARY_FILE, summary)
    return page_path, summary


def _own_run_pages(ledger: Ledger, folder: Path) -> None:
    """Write the page of each counted run inside the study folder that has none (a run the
    study made and was stopped before its page), so that every link leads somewhere; runs
    in other folders are left as they are."""
    from chaos.report import write_run_report

    inside = folder.resolve()
    for runs in ledger.counted.values():
        for counted in runs:
            run_dir = counted.summary.run_dir
            if run_dir.resolve().parent == inside and not (run_dir / "index.html").exists():
                write_run_report(run_dir)


@contextmanager
def held(lock: Path | None) -> Iterator[None]:
    """An exclusive lock on `lock` for one run (other suites sharing the machine wait), or
    nothing without one."""
    if lock is None:
        yield
        return
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class StudyResult:
    folder: Path
    page: Path
    made: int
    already: int
    errors: int
    seconds: float
    signal: str | None = None
    exit_code: int = 0


RunOne = Callable[[Cell, int, Path], Path]


def todo(
    loaded: LoadedStudy, profile: str, folder: Path, runs: Sequence[Path]
) -> tuple[list[tuple[Cell, int]], Ledger]:
    """The runs the profile still needs, and the ledger of what is measured already."""
    cells = plan_cells(loaded, profile)
    ledger = sort_runs([folder, *runs], cells)
    return ledger.missing(cells, loaded.study.profiles[profile].repeats), ledger  # type: ignore[index]


def run_study(
    loaded: LoadedStudy,
    profile: str,
    folder: Path,
    run_one: RunOne,
    runs: Sequence[Path] = (),
    lock: Path | None = None,
    say: Say = print,
) -> StudyResult:
    """Make the runs the profile still needs into `folder` (each marked with its cell), then
    write the report; refused before anything runs when past the profile's hours."""
    from chaos.runner import RunInterrupted

    started = time.monotonic()
    missing, ledger = todo(loaded, profile, folder, runs)
    chosen = loaded.study.profiles[profile]  # type: ignore[index]
    estimate = planned(missing)
    check_bounds(
        estimate, Bounds(max_runs=10_000, max_hours=chosen.max_hours), f"profile {profile}"
    )
    measured = sum(len(v) for v in ledger.counted.values())
    say(f"study {loaded.name} ({profile}): {measured} runs measured already; {estimate.text()}")
    folder.mkdir(parents=True, exist_ok=True)
    made = errors = 0
    signal, code = None, 0
    try:
        with signals_raise():
            for index, (cell, repeat) in enumerate(missing, 1):
                say(f"-- {cell.label} (repeat {repeat + 1}; {index} of {len(missing)})")
                if len(sort_runs([folder, *runs], [cell]).runs_of(cell)) >= chosen.repeats:
                    say("   measured meanwhile (by another run): skipped")
                    continue
                with held(lock):
                    run_dir = run_one(cell, repeat, folder)
                made += 1
                errors += not _recorded(run_dir, cell, say)
    except RunInterrupted as stop:
        made += 1
        signal, code = stop.signal_name, stop.exit_code
        say(f"interrupted by {signal}: run folder {stop.run_dir}; {stop.cleanup}")
    except (KeyboardInterrupt, Terminated) as stop:
        signal, code = ("SIGTERM", 143) if isinstance(stop, Terminated) else ("SIGINT", 130)
        say(f"interrupted by {signal} between runs")
    finally:
        with shielded(say):
            page, _ = write_report(loaded, folder, runs, profile)
    seconds = time.monotonic() - started
    return StudyResult(
        folder, page, made, measured, errors, seconds, signal, code or 2 * bool(errors)
    )


def _recorded(run_dir: Path, cell: Cell, say: Say) -> bool:
    """Mark a run the study made with its cell and write its page; False when the run
    itself failed (an error, or no readable files)."""
    from chaos.report import write_run_report

    try:
        mark_cell(run_dir, cell)
        write_run_report(run_dir)
        verdicts = read_verdicts(run_dir)
    except ArtefactError as exc:
        say(f"   {run_dir.name}: {exc}")
        return False
    status = verdicts.status if verdicts else "error"
    say(f"   {status}: {run_dir.name}")
    return status != "error"


__all__ = [
    "PAGE_FILE",
    "SUMMARY_FILE",
    "StudyResult",
    "default_folder",
    "load_study",
    "run_study",
    "todo",
    "write_report",
]
