"""The comparison's page and its JSON twin: consensus systems left, gossip right, every
number with its interval and the mechanism that explains it."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chaos.compare.grouping import (
    FAMILY_ORDER,
    Group,
    Series,
    explain_differences,
    explain_series,
    mechanism,
)
from chaos.compare.runs import MEASURES, RunSummary
from chaos.compare.statistics import NEVER, secs
from chaos.report import badge, html_table, page, plot_div, section, show
from chaos.systems import SYSTEMS

FAMILY_COLOURS = {"consensus": "#1f5fbf", "gossip": "#e07b00"}

METHOD = {
    "grouping": (
        "Runs are compared when they ran the same scenario: the experiment title without its"
        " system prefix ('A: leader crash' and 'B Cluster: leader crash' are both"
        " 'leader crash'; the catalogue names every experiment '<System>: <scenario>') together"
        " with the fault kinds experiment.yaml injected, so an edited experiment that kept its"
        " title but changed its faults is not mixed in. Within a scenario, runs of one system,"
        " version and settings form one series: two versions or two timeouts are never pooled."
    ),
    "per_run_value": (
        "One value per run and measure: the worst over the run's faults that took effect, as"
        " the SLO verdicts take the worst (the windows of a flapping fault are not independent"
        " samples). Measures are those of the run report: time to detect (fault start to the"
        " first observation showing it), cluster unavailable (how long no client was served),"
        " time to recover (until throughput holds 90 % of the baseline for 1 s; clients bound"
        " to a lost node keep it low until the heal) and recovery after heal."
    ),
    "never": (
        "A measure that never happened (never detected, service never back) ranks as"
        " infinitely late: it is drawn as a red x above the axis, and a median, p95 or bound"
        " that lands on it reads 'never'."
    ),
    "median_p95": (
        "The median is the usual one (mean of the two middle values for an even count); p95"
        " is nearest-rank, an observed value, which is the maximum with fewer than 20 runs."
    ),
    "interval": (
        "The interval for the median is the distribution-free order-statistic one,"
        " [x(k), x(n-k+1)] with the largest k whose binomial coverage is at least 95 %: exact,"
        " no resampling and so no seed. It needs 6 runs; 3 to 5 runs get min-max with its true,"
        " lower coverage (75 %, 87.5 %, 93.75 %); fewer than 3 get none."
    ),
}


def group_figure(group: Group) -> go.Figure:
    """Box and strip plots per measure, one box per series, coloured by family."""
    fig = make_subplots(
        rows=-(-len(MEASURES) // 2),
        cols=2,
        subplot_titles=[f"{name} (s)" for name in MEASURES.values()],
        horizontal_spacing=0.08,
        vertical_spacing=0.12,
    )
    shown: set[str] = set()
    for index, measure in enumerate(MEASURES):
        cell = {"row": index // 2 + 1, "col": index % 2 + 1}
        samples = [(s, s.samples(measure)) for s in group.series]
        finite = [v for _, runs in samples for _, v in runs if v != NEVER]
        ceiling = max(finite, default=0.0) * 1.15 or 1.0
        for series, runs in samples:
            family = series.first.family
            colour = FAMILY_COLOURS.get(family, "#7a8599")
            label = escape(series.label)
            seen = [(run_id, v) for run_id, v in runs if v != NEVER]
            if seen:
                fig.add_trace(
                    go.Box(
                        x=[label] * len(seen),
                        y=[v for _, v in seen],
                        text=[escape(run_id) for run_id, _ in seen],
                        name=escape(family),
                        legendgroup=family,
                        showlegend=family not in shown,
                        boxpoints="all",
                        jitter=0.4,
                        pointpos=0,
                        marker={"color": colour, "size": 7},
                        line={"color": colour},
                        hovertemplate="%{text}<br>%{y:.2f} s<extra></extra>",
                    ),
                    **cell,
                )
                shown.add(family)
            never = [run_id for run_id, v in runs if v == NEVER]
            if never:
                fig.add_trace(
                    go.Scatter(
                        x=[label] * len(never),
                        y=[ceiling] * len(never),
                        hovertext=[escape(run_id) for run_id in never],
                        text=["never"] * len(never),
                        textposition="middle right",
                        mode="markers+text",
                        name="never happened",
                        legendgroup="never",
                        showlegend="never" not in shown,
                        marker={"symbol": "x", "size": 11, "color": "#d62728"},
                        hovertemplate="%{hovertext}: never<extra></extra>",
                    ),
                    **cell,
                )
                shown.add("never")
    fig.update_xaxes(categoryorder="array", categoryarray=[escape(s.label) for s in group.series])
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=900,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.12},
        boxmode="overlay",
    )
    return fig


def _stats_rows(group: Group) -> list[Sequence[str]]:
    rows: list[Sequence[str]] = []
    for measure, name in MEASURES.items():
        for series in group.series:
            dist = series.distribution(measure)
            if dist is None:
                continue
            runs = f"{dist.n}" + (f" ({dist.never} never)" if dist.never else "")
            rows.append(
                (
                    escape(name),
                    _series_cell(series),
                    escape(runs),
                    f"<strong>{escape(secs(dist.median))}</strong>",
                    escape(secs(dist.p95)),
                    escape(f"{secs(dist.values[0])} - {secs(dist.values[-1])}"),
                    escape(dist.interval_text()),
                )
            )
    return rows


def _series_cell(series: Series) -> str:
    family = series.first.family
    return f"{escape(series.label)} <span class='family {escape(family)}'>{escape(family)}</span>"


def _safety_rows(group: Group) -> list[Sequence[str]]:
    rows: list[Sequence[str]] = []
    for series in group.series:
        safety = series.safety()
        lost = f"{safety['lost_writes']} ({safety['runs_with_lost_writes']} runs with any)"
        rows.append(
            (
                _series_cell(series),
                escape(f"{len(series.runs)} ({safety['runs_checked']} checked)"),
                " ".join(f"{badge(s)} x{n}" for s, n in sorted(safety["slo_status"].items())),
                escape(lost),
                escape(f"{safety['stale_reads']} of {safety['reads_checked']} reads"),
                escape(
                    ", ".join(f"{v} x{n}" for v, n in sorted(safety["linearizability"].items()))
                ),
            )
        )
    return rows


def _group_section(index: int, group: Group) -> str:
    runs = sum(len(s.runs) for s in group.series)
    body = (
        f"<p class=note>Fault: {escape(', '.join(group.fault_kinds))} · {runs} runs · consensus"
        " systems left, gossip systems right; each point is one run.</p>"
        + plot_div(f"group-{index}")
        + "<h3>Recovery across repeats</h3>"
        + html_table(
            ("measure", "system", "runs", "median", "p95", "min - max", "interval for the median"),
            _stats_rows(group),
        )
        + "<h3>Data safety</h3>"
        + html_table(
            ("system", "runs", "SLO verdicts", "lost writes", "stale reads", "linearizability"),
            _safety_rows(group),
        )
        + "<h3>Why they differ</h3><ul>"
        + "".join(f"<li>{escape(line)}</li>" for line in explain_differences(group))
        + "</ul><h3>What each system's settings predict</h3>"
        + "".join(f"<p>{escape(explain_series(s))}</p>" for s in group.series)
    )
    return section(f"Scenario: {group.scenario}", body)


def _systems(groups: Sequence[Group]) -> list[Series]:
    """One series per system, version and settings across all scenarios, for the versions table."""
    pooled: dict[str, list[RunSummary]] = defaultdict(list)
    for group in groups:
        for series in group.series:
            key = f"{series.first.system} {series.first.version} {show(series.first.settings)}"
            pooled[key].extend(series.runs)
    ordered = sorted(
        pooled.values(),
        key=lambda runs: (FAMILY_ORDER.get(runs[0].family, len(FAMILY_ORDER)), runs[0].system),
    )
    return [Series(runs[0].system, tuple(runs)) for runs in ordered]


def _versions_header(systems: Sequence[Series], created: str) -> str:
    """Every version that ran, up front, with each system's own warning about its versions
    (a system whose releases differ a lot says which ran)."""
    blocks = "".join(
        f"<div class=version><span>{escape(s.first.system)}</span>"
        f"<strong>{escape(s.first.version)}</strong></div>"
        for s in systems
    )
    versions: dict[str, set[str]] = defaultdict(set)
    for series in systems:
        versions[series.first.system].add(series.first.version)
    notes = [
        note
        for name, seen in sorted(versions.items())
        if name in SYSTEMS and (note := SYSTEMS[name].version_note(sorted(seen)))
    ]
    warning = "".join(f"<p class=warn>{escape(note)}</p>" for note in notes)
    runs = sum(len(s.runs) for s in systems)
    return (
        f"<header><div><h1>Consensus vs gossip: {runs} runs compared</h1>"
        f"<p class=sub>created {escape(created)} · the versions that ran are on the right</p>"
        f"</div><div class=versions>{blocks}</div></header>{warning}"
    )


def _systems_table(systems: Sequence[Series]) -> str:
    rows = [
        (
            f"<strong>{escape(s.first.system)}</strong>",
            f"<span class='family {escape(s.first.family)}'>{escape(s.first.family)}</span>"
            f" / {escape(s.first.protocol)}",
            f"<strong>{escape(s.first.version)}</strong>",
            f"<code>{escape(show(s.first.settings))}</code>",
            escape(s.first.run.image_source),
            escape(str(len(s.runs))),
        )
        for s in systems
    ]
    return html_table(
        ("system", "family / protocol", "version", "settings", "images", "runs"), rows
    )


def _runs_table(groups: Sequence[Group], out_dir: Path) -> str:
    rows = []
    for group in groups:
        for series in group.series:
            for run in series.runs:
                report = run.run_dir / "index.html"
                name = escape(run.run_id)
                link = (
                    f"<a href='{escape(_relative(report, out_dir))}'>{name}</a>"
                    if report.exists()
                    else name
                )
                rows.append(
                    (
                        link,
                        escape(group.scenario),
                        escape(series.label),
                        escape(str(run.run.repeat)),
                        escape(run.run.started),
                        badge(run.status),
                    )
                )
    return html_table(("run", "scenario", "system", "repeat", "started", "status"), rows)


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start.resolve())).as_posix()


def render_comparison(groups: Sequence[Group], out_dir: Path, created: str) -> str:
    systems = _systems(groups)
    method = "".join(f"<p>{escape(text)}</p>" for text in METHOD.values())
    body = [
        _versions_header(systems, created),
        section("Systems and versions that ran", _systems_table(systems)),
        *(_group_section(index, group) for index, group in enumerate(groups)),
        section("How to read this", method),
        section("Runs compared", _runs_table(groups, out_dir)),
    ]
    figures = {f"group-{index}": group_figure(group) for index, group in enumerate(groups)}
    return page("chaoslab comparison", "\n".join(body), figures)


def comparison_dict(groups: Sequence[Group], out_dir: Path, created: str) -> dict[str, Any]:
    """Everything the page shows, as data: the method, every number, every explanation."""
    return {
        "created": created,
        "method": METHOD,
        "systems": [
            {
                "system": s.first.system,
                "family": s.first.family,
                "protocol": s.first.protocol,
                "version": s.first.version,
                "settings": s.first.settings,
                "runs": len(s.runs),
            }
            for s in _systems(groups)
        ],
        "groups": [
            {
                "scenario": group.scenario,
                "fault_kinds": list(group.fault_kinds),
                "series": [_series_dict(series) for series in group.series],
                "differences": explain_differences(group),
            }
            for group in groups
        ],
        "runs": [
            {
                "run_id": run.run_id,
                "path": _relative(run.run_dir, out_dir),
                "system": run.system,
                "version": run.version,
                "scenario": group.scenario,
                "status": run.status,
            }
            for group in groups
            for series in group.series
            for run in series.runs
        ],
    }


def _series_dict(series: Series) -> dict[str, Any]:
    run = series.first
    band = mechanism(series).detect
    predicted = (band.low_s, band.high_s) if band else None
    return {
        "label": series.label,
        "system": run.system,
        "family": run.family,
        "protocol": run.protocol,
        "version": run.version,
        "settings": run.settings,
        "runs": [r.run_id for r in series.runs],
        "measures": {
            m: dist.to_dict() for m in MEASURES if (dist := series.distribution(m)) is not None
        },
        "predicted_time_to_detect_s": list(predicted) if predicted else None,
        "safety": series.safety(),
        "explanation": explain_series(series),
    }
