"""Sweeps: one experiment run across values of its parameters (the cluster's size, a system
setting, a fault's duration), each point repeated, every run a run folder inside one sweep
folder, and a summary of each figure against the swept value beside what the system's own
settings predict.

    plan.py        the cross product of `--over`s, every point validated (axes.py reads them)
    estimate.py    how long it will take, and the bounds it must stay within
    measured.py    which run folders measured which point (resumption and the summary)
    execution.py   the runs still needed, into the folder; interrupted cleanly
    summary.py     medians, intervals and predicted bands per figure and point
    page.py        index.html

The sweep folder holds `plan.json` (what is swept), the run folders, `sweep.json` and
`index.html`; `write_summary` rebuilds the last two from the others alone.
"""

from __future__ import annotations

from pathlib import Path

from chaos.artefacts import write_json
from chaos.sweep.axes import Axis, OverError, parse_axes, parse_over
from chaos.sweep.estimate import Bounds, SweepTooLarge, estimate, run_seconds
from chaos.sweep.execution import Sweep, SweepResult, default_folder, run_in_docker
from chaos.sweep.plan import Plan, Point, PointError, make_plan, read_plan
from chaos.sweep.summary import SweepSummary, summarize

SUMMARY_FILE = "sweep.json"
PAGE_FILE = "index.html"


def write_summary(folder: Path, plan: Plan | None = None, version: str | None = None) -> Path:
    """Write `sweep.json` and `index.html` into the sweep folder from its files (and, while the
    sweep runs, the plan it runs); return the page's path."""
    from chaos.sweep.page import render_sweep

    summary = summarize(folder, plan, version)
    write_json(folder / SUMMARY_FILE, summary.to_json())
    page = folder / PAGE_FILE
    page.write_text(render_sweep(summary, folder), encoding="utf-8")
    return page


__all__ = [
    "PAGE_FILE",
    "SUMMARY_FILE",
    "Axis",
    "Bounds",
    "OverError",
    "Plan",
    "Point",
    "PointError",
    "Sweep",
    "SweepResult",
    "SweepSummary",
    "SweepTooLarge",
    "default_folder",
    "estimate",
    "make_plan",
    "parse_axes",
    "parse_over",
    "read_plan",
    "run_in_docker",
    "run_seconds",
    "summarize",
    "write_summary",
]
