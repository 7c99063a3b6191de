"""Runs compared across systems, built only from the files the runs left behind.

`write_comparison` reads each run's run.json, experiment.yaml, metrics.json and
verdicts.json (never Docker) and writes `index.html` (one page, from
`chaos.report`'s page kit) and `comparison.json`. How runs are grouped and which
statistics are shown is spelled out once, in `page.METHOD`, which both carry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from chaos.compare.grouping import group_runs
from chaos.compare.page import comparison_dict, render_comparison
from chaos.compare.runs import find_runs, read_summary
from chaos.compare.statistics import NEVER, TOO_FEW, Distribution, median_interval
from chaos.errors import ChaosError, ComparisonError

__all__ = [
    "NEVER",
    "TOO_FEW",
    "ComparisonError",
    "Distribution",
    "default_out_dir",
    "median_interval",
    "read_summary",
    "write_comparison",
]


def default_out_dir(reports: Path) -> Path:
    """Where a comparison goes unless told: reports/compare-<timestamp>/, next to the runs."""
    return reports / f"compare-{time.strftime('%Y%m%dT%H%M%S')}"


def write_comparison(
    run_dirs: list[Path], out_dir: Path, warn: Callable[[str], None] | None = None
) -> Path:
    """Write `out_dir/index.html` and `out_dir/comparison.json`; return the page's path.

    A folder that holds runs (such as reports/) stands for every run in it. A run
    folder that cannot be read is left out, with one line to `warn` naming it and
    what is wrong, so one damaged neighbour does not stop the others being compared;
    when no run can be read, their lines are the error.
    """
    _check_out_dir(out_dir)
    summaries, damaged = [], []
    for run_dir in find_runs(run_dirs):
        try:
            summaries.append(read_summary(run_dir))
        except ChaosError as exc:
            damaged.append(" ".join(str(exc).split()))  # one line, whatever the reader said
    if not summaries:
        raise ComparisonError("\n".join(damaged))
    for line in damaged:
        (warn or _no_warning)(f"left out of the comparison: {line}")
    groups = group_runs(summaries)
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "comparison.json").write_text(
            json.dumps(comparison_dict(groups, out_dir, created), indent=2), encoding="utf-8"
        )
        out = out_dir / "index.html"
        out.write_text(render_comparison(groups, out_dir, created), encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ComparisonError(f"{out_dir}: cannot write the comparison there: {reason}") from None
    return out


def _no_warning(line: str) -> None:
    pass


def _check_out_dir(out_dir: Path) -> None:
    """Refuse, before any run is read, a place whose files a comparison would overwrite:
    a file, a run folder (its report page), a folder of runs (their index page)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ComparisonError(f"{out_dir}: not a folder: the comparison needs one of its own")
    if (out_dir / "run.json").exists():
        raise ComparisonError(f"{out_dir}: a run folder: its index.html is the run's report")
    try:
        holds_runs = out_dir.is_dir() and any((p / "run.json").exists() for p in out_dir.iterdir())
    except OSError as exc:
        raise ComparisonError(f"{out_dir}: cannot read: {exc.strerror}") from None
    if holds_runs:
        raise ComparisonError(f"{out_dir}: holds runs: its index.html is their index")
