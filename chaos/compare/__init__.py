"""Runs compared across systems, built only from the files the runs left behind.

`write_comparison` reads each run's run.json, experiment.yaml, metrics.json and
verdicts.json (never Docker) and writes `index.html` (one page, from
`chaos.report`'s page kit) and `comparison.json`. How runs are grouped and which
statistics are shown is spelled out once, in `page.METHOD`, which both carry.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from chaos.compare.grouping import group_runs
from chaos.compare.page import comparison_dict, render_comparison
from chaos.compare.runs import find_runs, read_summary
from chaos.compare.statistics import NEVER, TOO_FEW, Distribution, median_interval
from chaos.errors import ComparisonError

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


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Path:
    """Write `out_dir/index.html` and `out_dir/comparison.json`; return the page's path.

    A folder that holds runs (such as reports/) stands for every run in it.
    """
    groups = group_runs([read_summary(d) for d in find_runs(run_dirs)])
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.json").write_text(
        json.dumps(comparison_dict(groups, out_dir, created), indent=2), encoding="utf-8"
    )
    out = out_dir / "index.html"
    out.write_text(render_comparison(groups, out_dir, created), encoding="utf-8")
    return out
