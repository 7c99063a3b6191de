"""The sweep's page: per figure, the median against the swept value with its interval, the
band the system's own model predicts drawn beside it, points outside the band flagged; then
each point's table, the runs and the runs set aside. Offline, from chaos.report's page kit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from chaos.compare.runs import MEASURES
from chaos.compare.statistics import NEVER, secs
from chaos.report import html_table, page, plot_div, section
from chaos.sweep.summary import METHOD, Curve, PointSummary, SweepSummary

PALETTE = ("#1f5fbf", "#e07b00", "#2e9e4f", "#9467bd", "#8c564b", "#17becf", "#bcbd22")
OUTSIDE = "#d62728"
# Values spanning this factor or more are drawn on a log axis (3 to 64 nodes), where SWIM's
# log10 N suspicion timeout is a straight band.
LOG_SPAN = 10


def render_sweep(summary: SweepSummary, folder: Path) -> str:
    figures = {name: _figure(summary, name) for name in summary.figures}
    body = [_header(summary)]
    for name in summary.figures:
        body.append(section(MEASURES[name], plot_div(name) + _figure_table(summary, name)))
    if not summary.figures:
        body.append(section("Figures", "<p>No run of this sweep has been measured yet.</p>"))
    body.append(section("Start-up: compose up to ready", _startup_table(summary)))
    body.append(section("Runs", _runs_table(summary, folder)))
    if summary.ledger.set_aside:
        body.append(section("Runs set aside", _set_aside_table(summary, folder)))
    body.append(section("Method", _method()))
    return page(f"Sweep: {summary.plan.base.title}", "".join(body), figures)


def _header(summary: SweepSummary) -> str:
    plan = summary.plan
    axes = "; ".join(f"{a.name} = {', '.join(a.texts)}" for a in plan.axes)
    wall = summary.wall_seconds
    facts = [
        ("system", f"{plan.base.system} {summary.ledger.version or '(no run measured yet)'}"),
        ("swept", axes),
        ("runs", f"{summary.ledger.measured} counted of {plan.runs} planned ({plan.describe()})"),
        ("wall time", f"{wall / 60:.1f} min over {len(plan.sessions)} session(s)"),
        ("experiment", plan.file or "(recorded in plan.json)"),
    ]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    links = "<p><a href='sweep.json'>sweep.json</a> · <a href='plan.json'>plan.json</a></p>"
    return (
        f"<header class=run><h1>Sweep: {escape(plan.base.title)}</h1>"
        f"<table>{rows}</table>{links}</header>"
    )


def _x(point: PointSummary, summary: SweepSummary) -> Any:
    axis = summary.x_axis
    value = point.point.by_name[axis.name]
    return value if axis.numeric else axis.texts[axis.values.index(value)]


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _figure(summary: SweepSummary, name: str) -> go.Figure:
    """Per curve: the predicted band (shaded), the median with its interval, and a red cross on
    each median outside the band; a median that never happened is drawn at the top."""
    fig = go.Figure()
    finite = [
        v
        for p in summary.points
        for v in _extent(p, name)
        if not math.isinf(v) and not math.isnan(v)
    ]
    ceiling = max(finite, default=1.0) * 1.15 or 1.0
    flagged = False
    for index, curve in enumerate(summary.curves()):
        colour = PALETTE[index % len(PALETTE)]
        _band_traces(fig, summary, curve, name, colour)
        _median_trace(fig, summary, curve, name, colour, ceiling)
        outside = [p for p in curve.points if p.figure(name).inside is False]
        if outside:
            fig.add_trace(
                go.Scatter(
                    x=[_x(p, summary) for p in outside],
                    y=[min(p.figure(name).distribution.median, ceiling) for p in outside],  # type: ignore[union-attr]
                    mode="markers",
                    marker={"symbol": "x-thin", "size": 18, "line": {"width": 3, "color": OUTSIDE}},
                    name="median outside the predicted band",
                    legendgroup="outside",
                    showlegend=not flagged,
                    hoverinfo="skip",
                )
            )
            flagged = True
    fig.update_layout(
        height=420,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        xaxis={"title": {"text": summary.x_axis.name}},
        yaxis={"title": {"text": "seconds"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    axis = summary.x_axis
    if not axis.numeric:
        fig.update_xaxes(type="category")
    elif min(axis.values) > 0 and max(axis.values) >= LOG_SPAN * min(axis.values):
        fig.update_xaxes(type="log", tickvals=sorted(axis.values))
    return fig


def _extent(point: PointSummary, name: str) -> list[float]:
    figure = point.figure(name)
    values = list(figure.distribution.values) if figure.distribution else []
    if figure.band:
        values += [figure.band.low_s, figure.band.high_s]
    return values


def _band_traces(
    fig: go.Figure, summary: SweepSummary, curve: Curve, name: str, colour: str
) -> None:
    """The band as a shaded area over each run of consecutive points that have one (a lone
    point's band as a thick bar)."""
    segments: list[list[PointSummary]] = [[]]
    for point in curve.points:
        if point.figure(name).band is None:
            segments.append([])
        else:
            segments[-1].append(point)
    shown = False
    for segment in (s for s in segments if s):
        xs = [_x(p, summary) for p in segment]
        lows = [p.figure(name).band.low_s for p in segment]  # type: ignore[union-attr]
        highs = [p.figure(name).band.high_s for p in segment]  # type: ignore[union-attr]
        common = {
            "name": f"predicted band ({curve.label})" if curve.varied else "predicted band",
            "legendgroup": f"band-{curve.label}",
            "showlegend": not shown,
            "hoverinfo": "skip",
        }
        if len(segment) == 1:
            fig.add_trace(
                go.Scatter(
                    x=xs * 2,
                    y=[lows[0], highs[0]],
                    mode="lines",
                    line={"color": _rgba(colour, 0.3), "width": 14},
                    **common,
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=xs + xs[::-1],
                    y=highs + lows[::-1],
                    fill="toself",
                    fillcolor=_rgba(colour, 0.15),
                    line={"color": _rgba(colour, 0.4), "width": 1, "dash": "dot"},
                    mode="lines",
                    **common,
                )
            )
        shown = True


def _median_trace(
    fig: go.Figure,
    summary: SweepSummary,
    curve: Curve,
    name: str,
    colour: str,
    ceiling: float,
) -> None:
    xs, ys, up, down, hover = [], [], [], [], []
    never_x = []
    for point in curve.points:
        dist = point.figure(name).distribution
        if dist is None:
            continue
        if dist.median == NEVER:
            never_x.append(_x(point, summary))
            continue
        low, high = (dist.interval or (dist.median, dist.median, 0.0))[:2]
        xs.append(_x(point, summary))
        ys.append(dist.median)
        up.append(min(high, ceiling) - dist.median)
        down.append(dist.median - low)
        hover.append(
            f"{escape(point.point.label)}<br>median {secs(dist.median)} of {dist.n} runs"
            f"<br>interval {escape(dist.interval_text())}<br>{_band_text(point, name)}"
        )
    label = f"median ({curve.label})" if curve.varied else "median, interval for it"
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line={"color": colour},
            marker={"size": 9, "color": colour},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": up,
                "arrayminus": down,
                "color": colour,
            },
            name=label,
            hovertext=hover,
            hoverinfo="text",
        )
    )
    if never_x:
        fig.add_trace(
            go.Scatter(
                x=never_x,
                y=[ceiling] * len(never_x),
                mode="markers+text",
                text=["never"] * len(never_x),
                textposition="top center",
                marker={"symbol": "triangle-up", "size": 12, "color": OUTSIDE},
                name=f"median never happened ({curve.label})",
                hoverinfo="skip",
            )
        )


def _band_text(point: PointSummary, name: str) -> str:
    band = point.figure(name).band
    return f"predicted {band.text()}" if band else "no prediction"


def _inside_cell(inside: bool | None) -> str:
    if inside is None:
        return "—"
    return "yes" if inside else f"<b style='color:{OUTSIDE}'>no</b>"


def _figure_table(summary: SweepSummary, name: str) -> str:
    curves = summary.curves()
    headers = [
        *(["curve"] if len(curves) > 1 else []),
        summary.x_axis.name,
        "runs",
        "median",
        "interval for the median",
        "predicted band",
        "inside?",
    ]
    rows = []
    for curve in curves:
        for point in curve.points:
            figure = point.figure(name)
            dist = figure.distribution
            rows.append(
                [
                    *([escape(curve.label)] if len(curves) > 1 else []),
                    escape(str(_x(point, summary))),
                    str(dist.n if dist else 0),
                    secs(dist.median) if dist else "not measured",
                    escape(dist.interval_text()) if dist else "",
                    figure.band.text() if figure.band else "none",
                    _inside_cell(figure.inside),
                ]
            )
    clause = _clause(summary, name)
    return html_table(headers, rows) + (f"<p>{escape(clause)}</p>" if clause else "")


def _clause(summary: SweepSummary, name: str) -> str:
    """The mechanism behind the figure at the first point, in the system's own words."""
    for point in summary.points:
        text = point.mechanism.clause(name)
        if text:
            return f"Prediction at {point.point.label}: {text}."
    return ""


def _startup_table(summary: SweepSummary) -> str:
    rows = [
        [
            escape(p.point.label),
            str(p.point.experiment.nodes),
            str(len(p.runs)),
            "—" if p.up_seconds is None else f"{p.up_seconds:.1f} s",
        ]
        for p in summary.points
    ]
    return html_table(["point", "nodes", "runs", "median up → ready"], rows)


def _link(run_dir: Path, folder: Path) -> str:
    name = escape(run_dir.name)
    target = "index.html" if (run_dir / "index.html").exists() else "run.json"
    return f"<a href='{escape(run_dir.relative_to(folder).as_posix())}/{target}'>{name}</a>"


def _runs_table(summary: SweepSummary, folder: Path) -> str:
    figures: Sequence[str] = summary.figures
    rows = []
    for point in summary.points:
        for run in point.runs:
            cells = [secs(run.values[f]) if f in run.values else "—" for f in figures]
            rows.append(
                [
                    _link(run.run_dir, folder),
                    escape(point.point.label),
                    escape(run.status),
                    escape(run.version),
                    *cells,
                ]
            )
    if not rows:
        return "<p>None yet.</p>"
    headers = ["run", "point", "status", "version", *(MEASURES[f] for f in figures)]
    return html_table(headers, rows)


def _set_aside_table(summary: SweepSummary, folder: Path) -> str:
    rows = [
        [_link(a.run_dir, folder), escape(a.point or "—"), escape(a.status), escape(a.why)]
        for a in summary.ledger.set_aside
    ]
    return html_table(["run", "point", "status", "why it does not count"], rows)


def _method() -> str:
    items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in METHOD.items())
    return f"<ul>{items}</ul>"
