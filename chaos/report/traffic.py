"""The run page's protocol traffic: peer bytes per second of each node over the run, with
the faults shaded, and the table of rates per node and phase (chaos.checks.traffic)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import plotly.graph_objects as go

from chaos.checks.traffic import NodeTraffic, TrafficPhase, TrafficResult, intervals
from chaos.checks.windows import FaultWindow
from chaos.history import TrafficSample
from chaos.report.kit import html_table
from chaos.report.marks import fault_bands
from chaos.report.wording import DEFINITIONS, NS

PHASE_NAMES = {"rest": "at rest", "fault": "during", "recovery": "recovery after"}


def traffic_figure(samples: Sequence[TrafficSample], windows: Sequence[FaultWindow]) -> go.Figure:
    """Each node's peer bytes per second (received + sent), one step per sampling interval;
    a node that could not be read leaves a gap."""
    fig = go.Figure()
    for node, spans in intervals(samples).items():
        x: list[float | None] = []
        y: list[float | None] = []
        for previous, span in zip([None, *spans], spans, strict=False):
            if previous is not None and previous.end_ns != span.start_ns:
                x.append(None)
                y.append(None)
            rate = span.per_s("peer_in_bytes", "peer_out_bytes") / 1000
            x += [span.start_ns / NS, span.end_ns / NS]
            y += [rate, rate]
        fig.add_trace(
            go.Scatter(
                name=node,
                x=x,
                y=y,
                mode="lines",
                line={"width": 1.5},
                hovertemplate=f"{escape(node)}: %{{y:.2f}} kB/s at %{{x:.1f}} s<extra></extra>",
            )
        )
    fault_bands(fig, windows)
    fig.update_layout(
        height=360,
        margin={"l": 70, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
        xaxis_title="seconds since run start",
        yaxis_title="peer kB/s (in + out)",
        yaxis_rangemode="tozero",
    )
    return fig


def rate(value: float | None) -> str:
    """Bytes per second as a reader wants them: 830 B/s, 12.4 kB/s, 3.10 MB/s."""
    if value is None:
        return "-"
    if value < 1000:
        return f"{value:.0f} B/s"
    if value < 1e6:
        return f"{value / 1000:.1f} kB/s"
    return f"{value / 1e6:.2f} MB/s"


def _phase_header(phase: TrafficPhase) -> str:
    name = PHASE_NAMES[phase.phase]
    return name if phase.fault_id is None else f"{name} #{phase.fault_id}"


def _cell(node: NodeTraffic | None) -> str:
    if node is None:
        return "<small>not read</small>"
    packets = node.peer_in.packets_per_s + node.peer_out.packets_per_s
    return (
        f"{escape(rate(node.peer_bytes_per_s))}"
        f"<br><small>in {escape(rate(node.peer_in.bytes_per_s))}"
        f" · out {escape(rate(node.peer_out.bytes_per_s))} · {packets:.0f} pkt/s"
        f"<br>clients {escape(rate(node.client_bytes_per_s))}</small>"
    )


def traffic_table(result: TrafficResult) -> str:
    """One row per node, one column per phase: peer traffic (in + out), its split, its
    packets, and the clients' traffic; then the medians and the cluster's total."""
    if not result.phases:
        return "<p class=note>Traffic was sampled, but the run has no phase to rate.</p>"
    headers = ["node", *(_phase_header(p) for p in result.phases)]
    names = sorted({n.node for p in result.phases for n in p.nodes})
    rows = [
        [
            escape(name),
            *(_cell(next((n for n in p.nodes if n.node == name), None)) for p in result.phases),
        ]
        for name in names
    ]
    rows.append(
        [
            "<strong>median</strong>",
            *(
                f"<strong>{escape(rate(p.median_peer_bytes_per_s))}</strong>"
                f"<br><small>clients {escape(rate(p.median_client_bytes_per_s))}</small>"
                for p in result.phases
            ),
        ]
    )
    rows.append(
        [
            "cluster (sent to peers)",
            *(escape(rate(p.cluster_peer_bytes_per_s)) for p in result.phases),
        ]
    )
    interval = f"{result.interval_s:.1f} s" if result.interval_s else "-"
    note = (
        f"<p class=note>{escape(DEFINITIONS['peer traffic'])} Sampled every {interval}"
        f" ({result.samples} samples).</p>"
    )
    titles = {h: DEFINITIONS["traffic phase"] for h in headers[1:]}
    return note + html_table(headers, rows, "figures", titles)
