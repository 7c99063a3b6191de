"""The run page's t-visibility (chaos.checks.visibility): the probability that a read begun
t ms after a write was acknowledged returned it or a newer value, at rest, during a fault
and after it; the chart of every reader together, each node's curve a click away, and the
table of its points."""

from __future__ import annotations

from html import escape

import plotly.graph_objects as go

from chaos.checks.visibility import BIN_MS, POINTS_MS, VisibilityCurve, VisibilityResult
from chaos.report.kit import html_table
from chaos.report.wording import DEFINITIONS

PHASE_NAMES = {"rest": "at rest", "fault": "during a fault", "after": "after a heal"}
PHASE_COLOURS = {"rest": "#2e9e4f", "fault": "#d62728", "after": "#1f5fbf"}


def _name(curve: VisibilityCurve) -> str:
    return f"{PHASE_NAMES[curve.phase]}, {curve.node or 'every reader'}"


def _fresh_from(curve: VisibilityCurve) -> str:
    return "never" if curve.fresh_99_ms is None else f"{curve.fresh_99_ms} ms"


def visibility_figure(result: VisibilityResult) -> go.Figure:
    """P(fresh) per 10 ms bin of time since the write's acknowledgement, one line per phase
    for every reader together; each node's own line is hidden until picked in the legend."""
    fig = go.Figure()
    for curve in result.curves:
        x = [slot * BIN_MS for slot, (reads, _) in enumerate(curve.bins) if reads]
        y = [fresh / reads for reads, fresh in curve.bins if reads]
        samples = [reads for reads, _ in curve.bins if reads]
        every = curve.node is None
        fig.add_trace(
            go.Scatter(
                name=f"{_name(curve)}: ≥ 99 % fresh from {_fresh_from(curve)}",
                x=x,
                y=y,
                customdata=samples,
                mode="lines",
                line_shape="hv",  # each 10 ms bin is one value
                line={
                    "color": PHASE_COLOURS[curve.phase],
                    "width": 2 if every else 1,
                    "dash": "solid" if every else "dot",
                },
                visible=True if every else "legendonly",
                hovertemplate=f"{escape(_name(curve))}<br>%{{y:.1%}} fresh %{{x}}-%{{x}}+10 ms"
                " after the write (%{customdata} reads)<extra></extra>",
            )
        )
    fig.update_layout(
        height=380,
        margin={"l": 70, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        xaxis_title="ms since the write was acknowledged",
        yaxis_title="P(fresh)",
        yaxis={"range": [0, 1.05], "tickformat": ".0%"},
    )
    return fig


def _point(curve: VisibilityCurve, after: int) -> str:
    point = next(p for p in curve.points if p.after_ms == after)
    if point.probability is None:
        return "-"
    return f"{point.probability:.0%}<br><small>{point.reads}</small>"


def visibility_table(result: VisibilityResult) -> str:
    """One row per curve: its samples, P(fresh) at each point, fresh from, unserved reads."""
    headers = (
        "phase",
        "reader",
        "samples",
        *(f"{after} ms" for after in POINTS_MS),
        "≥ 99 % fresh from",
        "unserved",
    )
    rows = [
        (
            escape(PHASE_NAMES[curve.phase]),
            escape(curve.node or "every reader"),
            f"{curve.samples:,}<br><small>{curve.fresh:,} fresh</small>",
            *(_point(curve, after) for after in POINTS_MS),
            escape(_fresh_from(curve)),
            f"{curve.unserved:,}",
        )
        for curve in result.curves
    ]
    titles = {f"{after} ms": DEFINITIONS["P(fresh)"] for after in POINTS_MS}
    titles["≥ 99 % fresh from"] = DEFINITIONS["fresh from"]
    note = (
        f"<p class=note>Writes by {escape(result.writer or '?')}"
        f" ({result.writes_acknowledged:,} acknowledged), read back by every other node; each"
        " cell is P(fresh) for reads begun t to t + 10 ms after their write's"
        " acknowledgement, with how many there were.</p>"
    )
    return note + html_table(headers, rows, "figures", titles)
