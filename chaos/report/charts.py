"""The run page's charts, each carrying figures of the run where they happened: the
timeline (Jepsen's latency plot), throughput and errors per 100 ms, and the system's
own view. Built from the history and the typed metrics; no HTML but labels."""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

from chaos.checks.linearizability import OpPair
from chaos.checks.recovery import FaultRecovery, RecoveryReport
from chaos.checks.windows import FaultWindow, fault_windows
from chaos.history import ExternalEvent, History, Observation, Op, pair_operations, refused
from chaos.report.loading import RunFiles
from chaos.report.marks import (
    MARK_COLOURS,
    Legend,
    after_heal_mark,
    availability_marks,
    converged_mark,
    detection_marks,
    external_marks,
    fault_bands,
    throughput_mark,
)
from chaos.report.traffic import traffic_figure
from chaos.report.visibility import visibility_figure
from chaos.report.wording import NS

BUCKET_NS = 100_000_000
VIEW_BIN_NS = 250_000_000  # the system's view is sampled a few times a second; finer is noise
MAX_POINTS = 20_000
MIN_LATENCY_MS = 0.001  # a log axis cannot show 0
RECOVERED_SHARE = 0.9  # chaos.checks.recovery's threshold, drawn on the throughput chart

# An operation's outcome as drawn: a refused cas is served (its own colour), unless the
# run's client refused from an unsynced local read (then it proves nothing).
OUTCOMES = ("ok", "refused", "fail", "info")
OUTCOME_COLOURS = {"ok": "#2e9e4f", "refused": "#1f77b4", "fail": "#d62728", "info": "#ff9f1c"}
UNSERVED_REFUSAL_COLOUR = "#9467bd"


def run_charts(files: RunFiles) -> dict[str, go.Figure]:
    """The charts worth drawing for a run, on one clock and one x range so they line up:
    the timeline wherever there are operations; throughput and the system's view where a
    fault was measured, since they carry its recovery and detection figures; protocol
    traffic wherever it was sampled; t-visibility wherever the probe measured it (on its own
    axis: time since a write)."""
    history = files.history
    if history is None or not history.ops:
        return {}
    windows = fault_windows(history) if history.faults else []
    metrics = files.metrics
    recovery = metrics.recovery if metrics else RecoveryReport(None, ())
    lost = metrics.lost_writes.lost if metrics else ()
    refusals = files.refusals_are_service
    charts = {
        "timeline": latency_figure(
            history.ops, windows, recovery.faults, lost, history.externals, refusals
        )
    }
    if recovery.faults:
        charts["throughput"] = throughput_figure(
            history.ops, windows, refusals, recovery.faults, recovery.baseline_served_per_bucket
        )
        if history.observations:
            charts["view"] = system_view_figure(history.observations, windows, recovery.faults)
    if history.traffic:
        charts["traffic"] = traffic_figure(history.traffic, windows)
    for figure in charts.values():
        figure.update_xaxes(range=span_s(history))
    if metrics is not None and metrics.visibility is not None and metrics.visibility.curves:
        charts["visibility"] = visibility_figure(metrics.visibility)  # against time since a write
    return charts


def span_s(history: History) -> list[float]:
    """The stretch of the run the charts show, in seconds: every record, a little margin."""
    times = [
        record.time
        for records in (history.ops, history.faults, history.observations, history.externals)
        for record in records
    ] or [0]
    low, high = min(times) / NS, max(times) / NS
    margin = max((high - low) * 0.01, 0.1)
    return [max(low - margin, 0.0), high + margin]


def _outcome(completion: Op) -> str:
    return "refused" if refused(completion) else completion.type


def outcome_style(kind: str, refusals: bool) -> tuple[str, str]:
    """Legend name and colour of an outcome."""
    if kind == "refused":
        if refusals:
            return "cas refused (served)", OUTCOME_COLOURS["refused"]
        return "cas refused (not served: unsynced read)", UNSERVED_REFUSAL_COLOUR
    return {"info": "info (unknown outcome)"}.get(kind, kind), OUTCOME_COLOURS[kind]


def _unserved(kind: str, refusals: bool) -> bool:
    return kind in ("fail", "info") or (kind == "refused" and not refusals)


def _layout(fig: go.Figure, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 70, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
        xaxis_title="seconds since run start",
        yaxis_title=y_title,
    )
    return fig


def completed(ops: Sequence[Op]) -> list[tuple[Op, Op]]:
    return [(i, c) for i, c in pair_operations(ops) if c is not None]


def _sample(pairs: list[tuple[Op, Op]]) -> list[tuple[Op, Op]]:
    """At most MAX_POINTS points: every non-ok outcome is kept, successes are thinned evenly."""
    if len(pairs) <= MAX_POINTS:
        return pairs
    bad = [p for p in pairs if p[1].type != "ok"]
    good = [p for p in pairs if p[1].type == "ok"]
    room = max(MAX_POINTS - len(bad), 1)
    step = -(-len(good) // room)
    return bad + good[::step]


def _latency_label(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    if ms >= 1:
        return f"{ms:g} ms"
    return f"{ms * 1000:g} µs"


def _log_axis(latencies_ms: Sequence[float]) -> dict[str, Any]:
    """A log axis over the latencies with room below them (for the worst shard's bar) and
    above (for the labels), ticked at powers of ten: 1 ms, 10 ms, 100 ms, 1 s..."""
    if not latencies_ms:
        return {"type": "log"}
    low, high = math.log10(min(latencies_ms)), math.log10(max(latencies_ms))
    margin = max(0.12 * (high - low), 0.3)
    values = [10.0**power for power in range(math.floor(low), math.ceil(high) + 1)]
    return {
        "type": "log",
        "range": [low - margin, high + margin],
        "tickvals": values,
        "ticktext": [_latency_label(v) for v in values],
    }


def latency_figure(
    ops: Sequence[Op],
    windows: Sequence[FaultWindow],
    faults: Sequence[FaultRecovery] = (),
    lost: Sequence[OpPair] = (),
    externals: Sequence[ExternalEvent] = (),
    refusals: bool = True,
) -> go.Figure:
    """Jepsen's latency plot: one point per operation, coloured by its outcome, with every
    fault, detection, blackout, worst shard window, lost write and external event marked."""
    fig = go.Figure()
    by_outcome: dict[str, list[tuple[Op, Op]]] = defaultdict(list)
    for invoke, completion in _sample(completed(ops)):
        by_outcome[_outcome(completion)].append((invoke, completion))
    latencies: list[float] = []
    for kind in OUTCOMES:
        pairs = by_outcome.get(kind, [])
        if not pairs:
            continue
        name, colour = outcome_style(kind, refusals)
        y = [max((c.time - i.time) / 1e6, MIN_LATENCY_MS) for i, c in pairs]
        latencies += y
        fig.add_trace(
            go.Scattergl(
                name=f"{name} ({len(pairs)})",
                mode="markers",
                x=[i.time / NS for i, _ in pairs],
                y=y,
                marker={"color": colour, "size": 4, "opacity": 0.7},
                customdata=[
                    [i.process, c.node or i.node or "", i.f, i.key or "", c.error or ""]
                    for i, c in pairs
                ],
                hovertemplate="client %{customdata[0]} on %{customdata[1]}<br>"
                "%{customdata[2]} %{customdata[3]}<br>%{y:.1f} ms at %{x:.2f} s"
                "<br>%{customdata[4]}<extra></extra>",
            )
        )
    if lost:
        y = [max(((c or i).time - i.time) / 1e6, MIN_LATENCY_MS) for i, c in lost]
        fig.add_trace(
            go.Scatter(
                name=f"lost write ({len(lost)})",
                mode="markers",
                x=[i.time / NS for i, _ in lost],
                y=y,
                marker={"symbol": "x", "size": 8, "color": MARK_COLOURS["lost"]},
                customdata=[[str(i.key), json.dumps(i.value)] for i, _ in lost],
                hovertemplate="lost: add %{customdata[1]} to %{customdata[0]}<br>invoked at"
                " %{x:.2f} s, acknowledged in %{y:.1f} ms<extra></extra>",
            )
        )
    fault_bands(fig, windows)
    legend = Legend()
    for item in faults:
        detection_marks(fig, item, legend)
        availability_marks(fig, item, legend)
    external_marks(fig, externals)
    fig.update_yaxes(**_log_axis(latencies))
    return _layout(fig, "latency", 460)


def throughput_figure(
    ops: Sequence[Op],
    windows: Sequence[FaultWindow],
    refusals: bool = True,
    faults: Sequence[FaultRecovery] = (),
    baseline: float | None = None,
) -> go.Figure:
    """Workload completions per 100 ms bucket by outcome, with the share unserved on a second
    axis (a `fail` with an error and an `info`, and a refusal only where it is not service),
    the recovery threshold (90 % of the pre-fault rate) and where throughput recovered."""
    counts: dict[str, dict[int, int]] = {k: defaultdict(int) for k in OUTCOMES}
    for invoke, completion in completed(ops):
        if invoke.f != "final-read":
            counts[_outcome(completion)][completion.time // BUCKET_NS] += 1
    last = max((max(c, default=0) for c in counts.values()), default=0)
    buckets = range(last + 1)
    x = [(b + 0.5) * BUCKET_NS / NS for b in buckets]
    fig = go.Figure()
    for kind in OUTCOMES:
        if not counts[kind] and kind != "ok":
            continue
        name, colour = outcome_style(kind, refusals)
        fig.add_trace(
            go.Bar(name=name, x=x, y=[counts[kind][b] for b in buckets], marker_color=colour)
        )
    rates: list[float | None] = []
    for b in buckets:
        total = sum(counts[k][b] for k in OUTCOMES)
        unserved = sum(counts[k][b] for k in OUTCOMES if _unserved(k, refusals))
        rates.append(100 * unserved / total if total else None)
    fig.add_trace(
        go.Scatter(
            name="error rate % (not served)",
            x=x,
            y=rates,
            yaxis="y2",
            mode="lines",
            line={"color": "#444", "width": 1},
        )
    )
    if baseline is not None:
        threshold = RECOVERED_SHARE * baseline
        fig.add_hline(
            y=threshold,
            line={"color": MARK_COLOURS["recovered"], "dash": "dot", "width": 1},
            name="90 % of the pre-fault rate",
            annotation_text=f"90 % of the pre-fault rate: {threshold:.1f} served per 100 ms",
            annotation_position="top left",
            annotation_font={"size": 10, "color": MARK_COLOURS["recovered"]},
            annotation_bgcolor="rgba(255,255,255,0.8)",
        )
    fault_bands(fig, windows, labelled=False, layer="above")
    legend = Legend()
    for item in faults:
        throughput_mark(fig, item, legend)
    fig.update_traces(marker_line_width=0, selector={"type": "bar"})
    fig.update_layout(
        barmode="stack",
        bargap=0,
        yaxis2={
            "title": "error rate %",
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickvals": [0, 25, 50, 75, 100],
            "showgrid": False,
        },
    )
    return _layout(fig, "completions per 100 ms")


def _view_label(obs: Observation) -> str:
    return f"{obs.role or '?'}" + (f" → {obs.leader}" if obs.leader else "")


def _not_up(obs: Observation) -> list[str]:
    return sorted(peer for peer, state in obs.members.items() if state != "up")


def system_view_figure(
    observations: Sequence[Observation],
    windows: Sequence[FaultWindow],
    faults: Sequence[FaultRecovery] = (),
) -> go.Figure:
    """Observer-by-time heatmap of peers seen down, with role/leader changes as labelled
    marks, and where each fault was detected and the views were whole after its heal."""
    by_observer: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_observer[obs.observer].append(obs)
    observers = sorted(by_observer)
    end = max((o.time for o in observations), default=0)
    bins = range(end // VIEW_BIN_NS + 1)
    z: list[list[int | None]] = []
    text: list[list[str]] = []
    for name in observers:
        seen = by_observer[name]
        times = [o.time for o in seen]
        row_z: list[int | None] = []
        row_text: list[str] = []
        for b in bins:
            lo, hi = b * VIEW_BIN_NS, (b + 1) * VIEW_BIN_NS
            at = bisect_right(times, hi - 1) - 1
            if at < 0 or times[at] < lo:
                row_z.append(None)
                row_text.append("no answer")
                continue
            down = _not_up(seen[at])
            row_z.append(len(down))
            row_text.append(
                escape(f"{_view_label(seen[at])}") + f"<br>down/suspect: {', '.join(down) or '-'}"
            )
        z.append(row_z)
        text.append(row_text)
    fig = go.Figure(
        go.Heatmap(
            x=[(b + 0.5) * VIEW_BIN_NS / NS for b in bins],
            y=observers,
            z=z,
            text=text,
            hovertemplate="%{y} at %{x:.2f} s<br>%{text}<extra></extra>",
            colorscale=[[0, "#eaf5ec"], [1, "#d62728"]],
            zmin=0,
            zmax=max(1, max((len(o.members) for o in observations), default=1) - 1),
            colorbar={"title": {"text": "down"}},
            name="peers down",
        )
    )
    changes = [
        (obs, _view_label(obs))
        for name in observers
        for prev, obs in zip([None, *by_observer[name]], by_observer[name], strict=False)
        if prev is None or _view_label(prev) != _view_label(obs)
    ]
    fig.add_trace(
        go.Scatter(
            name="role / leader change",
            mode="markers+text",
            x=[o.time / NS for o, _ in changes],
            y=[o.observer for o, _ in changes],
            text=[escape(label) for _, label in changes],
            textposition="top right",
            textfont={"size": 10},
            marker={"symbol": "diamond", "size": 8, "color": "#1f3b73"},
            hovertemplate="%{y} at %{x:.2f} s: %{text}<extra></extra>",
        )
    )
    fault_bands(fig, windows, layer="above")
    legend = Legend()
    for item in faults:
        detection_marks(fig, item, legend)
        after_heal_mark(fig, item, legend)
        converged_mark(fig, item, legend)
    return _layout(fig, "observer", max(260, 90 * len(observers) + 120))
