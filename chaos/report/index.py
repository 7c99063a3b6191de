"""The runs index, `<reports>/index.html`: every run folder, newest first, linked where it
has a page, then every comparison. A folder that cannot be read is a row saying
"damaged:" and why, never a crash: one bad folder must not hide the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from chaos.artefacts import RunRecord, read_json, read_run
from chaos.errors import ArtefactError
from chaos.report.kit import html_table, page, section, status_badge
from chaos.report.library import share_library
from chaos.report.loading import read_slos

# A run folder's name as the runner makes it (`<system>-<YYYYMMDDTHHMMSS>-<6 hex>`), and a
# comparison's (`compare-<YYYYMMDDTHHMMSS>`): listed even when their files are gone.
RUN_NAME = re.compile(r"-\d{8}T\d{6}-[0-9a-f]{6}$")
COMPARISON_NAME = re.compile(r"^compare-\d{8}T\d{6}$")
RUN_FILES = ("run.json", "verdicts.json", "metrics.json", "history.jsonl", "history.jsonl.gz")


@dataclass(frozen=True)
class Listed:
    """One row of the index: what its folder says, or why it cannot be read."""

    folder: Path
    sort_key: str
    cells: tuple[str, ...]


def write_index(reports_dir: Path) -> Path:
    """Write `reports_dir/index.html`: every run, newest first, linked where it has a report;
    then every comparison (a folder holding comparison.json), newest first, its page made to
    share the folder's copy of the chart library."""
    folders = sorted(p for p in reports_dir.iterdir() if p.is_dir())
    comparisons = [p for p in folders if _is_comparison(p)]
    runs = [_run_row(p) for p in folders if p not in comparisons and _is_run(p)]
    table = (
        html_table(("run", "started", "system", "title", "version", "status"), _newest(runs))
        if runs
        else "<p class=note>No runs yet.</p>"
    )
    listed = ""
    for folder in comparisons:
        if (folder / "index.html").exists():
            share_library(folder / "index.html", reports_dir)
    if comparisons:
        headers = ("comparison", "created", "scenarios", "systems", "runs")
        rows = _newest([_comparison_row(p) for p in comparisons])
        listed = section("Comparisons", html_table(headers, rows))
    out = reports_dir / "index.html"
    body = f"<header><h1>chaoslab runs</h1></header>{section('Runs', table)}{listed}"
    out.write_text(page("chaoslab runs", body), encoding="utf-8")
    return out


def _is_run(folder: Path) -> bool:
    return bool(RUN_NAME.search(folder.name)) or any((folder / f).exists() for f in RUN_FILES)


def _is_comparison(folder: Path) -> bool:
    return (folder / "comparison.json").exists() or bool(COMPARISON_NAME.match(folder.name))


def _newest(rows: list[Listed]) -> list[tuple[str, ...]]:
    return [r.cells for r in sorted(rows, key=lambda r: (r.sort_key, r.folder.name), reverse=True)]


def _link(folder: Path) -> str:
    name = escape(folder.name)
    return f"<a href='{name}/index.html'>{name}</a>" if (folder / "index.html").exists() else name


def _damaged(line: str) -> str:
    return f"<span class=damaged>damaged: {escape(line)}</span>"


def _run_row(folder: Path) -> Listed:
    try:
        run = read_run(folder)
    except ArtefactError as problem:
        return Listed(folder, "", (_link(folder), "", "", "", "", _damaged(str(problem))))
    try:
        verdicts, _ = read_slos(folder)
    except ArtefactError as problem:
        return Listed(folder, run.started, (*_run_cells(folder, run), _damaged(str(problem))))
    status = status_badge(verdicts.status if verdicts else "error")
    return Listed(folder, run.started, (*_run_cells(folder, run), status))


def _run_cells(folder: Path, run: RunRecord) -> tuple[str, ...]:
    return (
        _link(folder),
        escape(run.started),
        escape(run.system),
        escape(run.title),
        f"<strong>{escape(run.version)}</strong>",
    )


class _Scenario(BaseModel):
    scenario: str = "?"


class _System(BaseModel):
    system: str = "?"
    version: str = "?"


class ComparisonListing(BaseModel):
    """comparison.json as the index lists it (chaos.compare writes the whole of it)."""

    model_config = ConfigDict(extra="ignore")
    created: str = ""
    groups: list[_Scenario] = []
    systems: list[_System] = []
    runs: list[Any] = []


def read_listing(folder: Path) -> ComparisonListing:
    path = folder / "comparison.json"
    if not path.exists():
        raise ArtefactError(f"{folder}: no comparison.json: not a comparison folder")
    try:
        return ComparisonListing.model_validate(read_json(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ArtefactError(f"{path}: {where}: {first['msg']}") from None


def _comparison_row(folder: Path) -> Listed:
    try:
        listing = read_listing(folder)
    except ArtefactError as problem:
        return Listed(folder, "", (_link(folder), "", "", "", _damaged(str(problem))))
    systems = ", ".join(
        f"{escape(s.system)} <strong>{escape(s.version)}</strong>" for s in listing.systems
    )
    return Listed(
        folder,
        listing.created,
        (
            _link(folder),
            escape(listing.created),
            escape(", ".join(g.scenario for g in listing.groups)),
            systems,
            escape(str(len(listing.runs))),
        ),
    )
