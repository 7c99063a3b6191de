"""What the charts mark on the run's clock: each fault, and each figure of it where it
happened (detection, blackouts, the worst shard's window, throughput recovered,
recovery after heal, views converged), every label quoting the figure the tables show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

from chaos.checks.recovery import FaultRecovery
from chaos.checks.windows import FaultWindow
from chaos.history import ExternalEvent
from chaos.report.wording import NS, fault_label, secs, window_end_ns, window_text

MARK_COLOURS = {
    "fault": "#d62728",
    "detection": "#1f3b73",
    "client": "#5b6475",
    "blackout": "#1d2330",
    "shard": "#e07b00",
    "lost": "#000000",
    "external": "#c2185b",
    "recovered": "#2e7d32",
    "converged": "#6a3d9a",
}


class Legend:
    """Names each kind of mark once in a chart's legend."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def first(self, name: str) -> bool:
        new = name not in self._seen
        self._seen.add(name)
        return new


def fault_bands(
    fig: go.Figure, windows: Iterable[FaultWindow], labelled: bool = True, layer: str = "below"
) -> None:
    """Each fault from its request to its heal request, a dotted line where it was proven.

    `layer` "above" for charts that fill their area (bars, a heatmap) and would hide it.
    """
    for index, w in enumerate(windows):
        proof = (
            f" · proven +{(w.effective_ns - w.requested_ns) / 1e6:.0f} ms"
            if w.effective_ns is not None
            else " · never proven"
        )
        label: dict[str, Any] = {}
        if labelled:
            label = {
                "annotation_text": escape(
                    fault_label(w.fault_id, w.kind, w.targets, w.detail) + proof
                ),
                "annotation_position": "top left",
                "annotation_font": {"size": 11, "color": MARK_COLOURS["fault"]},
            }
        fig.add_vrect(
            x0=w.requested_ns / NS,
            x1=w.end_ns / NS,
            fillcolor=MARK_COLOURS["fault"],
            opacity=0.09 if layer == "below" else 0.12,
            line_width=0,
            layer=layer,
            name="fault (request → heal request)",
            legendgroup="fault",
            showlegend=index == 0,
            **label,
        )
        if w.effective_ns is not None:
            fig.add_vline(
                x=w.effective_ns / NS,
                line={"color": MARK_COLOURS["fault"], "dash": "dot", "width": 1},
                name="fault proven",
            )


def vline(
    fig: go.Figure, x: float, mark: str, dash: str, name: str, label: str, y: float, first: bool
) -> None:
    """A moment marked across the chart, labelled `y` up it (0 bottom, 1 top)."""
    fig.add_vline(
        x=x,
        line={"color": MARK_COLOURS[mark], "dash": dash, "width": 1.5},
        name=name,
        legendgroup=name,
        showlegend=first,
    )
    _label(fig, x, y, label, mark, name)


def _label(
    fig: go.Figure,
    x: float,
    y: float,
    text: str,
    mark: str,
    name: str,
    xanchor: str = "left",
    yanchor: str = "middle",
) -> None:
    fig.add_annotation(
        x=x,
        y=y,
        xref="x",
        yref="paper",
        text=escape(text),
        showarrow=False,
        xanchor=xanchor,
        yanchor=yanchor,
        xshift=-3 if xanchor == "right" else 3,
        font={"size": 10, "color": MARK_COLOURS[mark]},
        bgcolor="rgba(255,255,255,0.75)",
        name=name,
    )


def detection_marks(fig: go.Figure, item: FaultRecovery, legend: Legend) -> None:
    """The system's own detection, and the client noticing, each where it happened."""
    requested = item.fault.requested_ns / NS
    detection = item.detection
    if detection.first_s is not None:
        name = "detected (the system's own view)"
        label = f"detected by {detection.first_by or '?'} +{secs(detection.first_s)}"
        x = requested + detection.first_s
        vline(fig, x, "detection", "dash", name, label, 0.93, legend.first(name))
    if detection.client_noticed_s is not None:
        name = "the client noticed"
        label = f"the client noticed +{secs(detection.client_noticed_s)}"
        x = requested + detection.client_noticed_s
        vline(fig, x, "client", "dot", name, label, 0.86, legend.first(name))


def availability_marks(fig: go.Figure, item: FaultRecovery, legend: Legend) -> None:
    """Every whole-cluster blackout, and the worst shard's longest window as a bar."""
    availability = item.availability
    for blackout in availability.blackouts:
        name = "whole-cluster blackout"
        fig.add_vrect(
            x0=blackout.start_ns / NS,
            x1=window_end_ns(blackout) / NS,
            fillcolor=MARK_COLOURS["blackout"],
            opacity=0.22,
            line_width=0,
            layer="below",
            name=name,
            legendgroup=name,
            showlegend=legend.first(name),
        )
        text = f"blackout {window_text(blackout)}"
        _label(fig, blackout.start_ns / NS, 0.79, text, "blackout", name, "right")
    worst = availability.worst_shard
    if worst is not None and worst.longest is not None:
        longest = worst.longest
        name = "worst shard's longest window"
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=longest.start_ns / NS,
            x1=window_end_ns(longest) / NS,
            y0=0,
            y1=0.035,
            fillcolor=MARK_COLOURS["shard"],
            opacity=0.85,
            line_width=0,
            name=name,
            legendgroup=name,
            showlegend=legend.first(name),
        )
        text = f"shard {worst.shard} unavailable {window_text(longest)}"
        _label(fig, longest.start_ns / NS, 0.04, text, "shard", name, yanchor="bottom")


def throughput_mark(fig: go.Figure, item: FaultRecovery, legend: Legend) -> None:
    """Where throughput recovered (SLO max_time_to_recover), from the fault's request."""
    if item.throughput_recovered_s is None:
        return
    name = "throughput recovered"
    label = f"throughput recovered +{secs(item.throughput_recovered_s)}"
    x = item.fault.requested_ns / NS + item.throughput_recovered_s
    vline(fig, x, "recovered", "dash", name, label, 0.93, legend.first(name))


def after_heal_mark(fig: go.Figure, item: FaultRecovery, legend: Legend) -> None:
    """Where every node's own view was whole again after the heal (SLO recovery_after_heal)."""
    heal, value = item.fault.heal_requested_ns, item.recovery_after_heal_s
    if heal is None or value is None:
        return
    name = "recovery after heal"
    label = f"recovery after heal +{secs(value)}"
    vline(fig, heal / NS + value, "recovered", "dash", name, label, 0.86, legend.first(name))


def converged_mark(fig: go.Figure, item: FaultRecovery, legend: Legend) -> None:
    """Where every node's own view agreed again after the heal (views_converged_s)."""
    heal, value = item.fault.heal_requested_ns, item.views_converged_s
    if heal is None or value is None:
        return
    name = "views converged"
    label = f"views converged +{secs(value)}"
    vline(fig, heal / NS + value, "converged", "dot", name, label, 0.79, legend.first(name))


def external_marks(fig: go.Figure, externals: Sequence[ExternalEvent]) -> None:
    for index, event in enumerate(externals):
        label = f"{event.node} {event.action} (not the suite)"
        name = "external container event"
        vline(fig, event.time / NS, "external", "solid", name, label, 0.72, index == 0)
