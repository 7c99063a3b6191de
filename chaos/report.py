"""HTML reports of finished runs, built only from the files a run leaves behind.

A report never talks to Docker: everything comes from `reports/<run-id>/`
(experiment.yaml, run.json, history.jsonl, metrics.json, verdicts.json), so
any run can be re-rendered later, on another machine, from its artefacts.
Each page is one self-contained file (Plotly's JavaScript inlined once) so it
opens with no network, from a CI artefact or an e-mail attachment. The page
kit (`page`, `section`, `html_table`, `badge`, `plot_div`, `show`, `read_json`)
is public because `chaos.compare` builds its pages with it too.

Every figure is quoted under the name docs/metrics.md gives it, and a page
cannot contradict itself: a check is shown held or failed only where an SLO
judged it, and metrics written under older definitions are recomputed from
the history (`chaos.artefacts.load_metrics`), never shown.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import yaml
from plotly.offline import get_plotlyjs

from chaos import artefacts
from chaos.artefacts import SCHEMA as METRICS_SCHEMA
from chaos.artefacts import ArtefactError, history_file, read_json
from chaos.checks.windows import FaultWindow, fault_windows
from chaos.history import (
    ExternalEvent,
    History,
    Observation,
    Op,
    load_history,
    pair_operations,
    refused,
)

RAW_FILES = ("experiment.yaml", "run.json", "history.jsonl", "metrics.json", "verdicts.json")
BUCKET_NS = 100_000_000
VIEW_BIN_NS = 250_000_000  # the system's view is sampled a few times a second; finer is noise
MAX_POINTS = 20_000
NS = 1e9
MIN_LATENCY_MS = 0.001  # a log axis cannot show 0
LONG_TABLE = 20  # operations listed before a table is folded away

# Statuses whose verdicts are judgements; the others were measured, not judged.
JUDGED_STATUSES = ("held", "slo-failed", "unhealthy")
STATUS_LABELS = {
    "held": "held",
    "slo-failed": "SLO failed",
    "unhealthy": "unhealthy cluster",
    "error": "run error",
    "interrupted": "interrupted — measured, not judged",
}
NOT_JUDGED = "measured, not judged"

# An operation's outcome as drawn: a refused cas is served (its own colour), unless the
# run's client refused from an unsynced local read (then it proves nothing).
OUTCOMES = ("ok", "refused", "fail", "info")
OUTCOME_COLOURS = {"ok": "#2e9e4f", "refused": "#1f77b4", "fail": "#d62728", "info": "#ff9f1c"}
UNSERVED_REFUSAL_COLOUR = "#9467bd"
MARK_COLOURS = {
    "fault": "#d62728",
    "detection": "#1f3b73",
    "client": "#5b6475",
    "blackout": "#1d2330",
    "shard": "#e07b00",
    "lost": "#000000",
    "external": "#c2185b",
}

# One line per figure, as docs/metrics.md defines it: the tooltips of every table header.
DEFINITIONS = {
    "fault": "The fault as run, with the nodes it resolved to.",
    "issued → effective": "When the suite issued the fault (seconds since the run started), and"
    " how much later its effect was proven from outside. Every figure counts from the issue.",
    "time to detect": "SLO max_time_to_detect (time_to_detect_s = detection.first_s): seconds"
    " from the request to the first peer's observation showing the fault, by the system's own"
    " rule; not before: that peer's previous answer, which did not show it yet; all peers"
    " (detection.all_s): every peer that answered during the fault shows it.",
    "the client noticed": "detection.client_noticed_s: the client driver's own host-down event,"
    " seconds after the request. Shown beside detection, never counted as it.",
    "worst shard unavailable": "SLO max_unavailability (unavailability_s): per shard, the"
    " longest window from an unserved invocation to the first served completion of an"
    " operation invoked since; the worst shard.",
    "whole-cluster blackouts": "SLO max_blackout (blackout_s, availability.blackouts): windows"
    " in which every shard and every client had an unserved operation, so nothing anywhere"
    " was served; each with its start after the request. Shorter than the resolution (one"
    " client's interval between operations) cannot be seen.",
    "node downtime": "availability.node_downtime: the longest window of the clients bound to"
    " a node the fault took down. Never counted as the cluster's recovery.",
    "worst client window": "availability.clients: the longest window of one client's own"
    " operations, among clients not bound to a downed node, and how many it had.",
    "throughput recovered": "SLO max_time_to_recover (throughput_recovered_s): from the"
    " request to the first of 10 consecutive 100 ms buckets, after throughput fell below"
    " 90 % of its pre-fault median, that all reach it again; 0 when it never fell.",
    "recovery after heal": "SLO recovery_after_heal (recovery_after_heal_s): from the heal's"
    " request until every node's own view shows every member up and every node has served"
    " an operation since.",
    "phase": "Operations invoked before (from the fault's scope start), during (to the heal"
    " request) and after the fault.",
    "operations": "Operations invoked in the phase.",
    "success rate": "Share of the phase's operations that were served (ok, or a real refusal).",
    "p50": "Latency, nearest rank, of served operations only.",
    "p95": "Latency, nearest rank, of served operations only.",
    "p99": "Latency, nearest rank, of served operations only.",
    "lost writes": "SLO lost_writes (lost_writes.lost_count): acknowledged unique-value adds"
    " missing from the final read of their set. Adds of unknown outcome are counted, never"
    " lost.",
    "stale reads": "SLO stale_reads (stale_reads.stale_count): reads that returned a value"
    " older than one acknowledged before the read was invoked.",
    "linearizability": "SLO linearizable (linearizability.verdict): Wing-Gong-Lowe search per"
    " key; a refused cas is evidence that the register held another value.",
    "min_success_rate": "Share of the workload's operations that were served.",
}
SLO_FIGURES = {
    "max_unavailability": "worst shard unavailable",
    "max_blackout": "whole-cluster blackouts",
    "max_time_to_detect": "time to detect",
    "max_time_to_recover": "throughput recovered",
    "recovery_after_heal": "recovery after heal",
    "lost_writes": "lost writes",
    "stale_reads": "stale reads",
    "linearizable": "linearizability",
    "min_success_rate": "min_success_rate",
}
SECONDS_SLOS = frozenset(
    {
        "max_unavailability",
        "max_blackout",
        "max_time_to_detect",
        "max_time_to_recover",
        "recovery_after_heal",
    }
)


@dataclass(frozen=True)
class RunFiles:
    """A finished run read back from its directory; absent files read as empty.

    `metrics` are in today's schema: recomputed from the history when metrics.json
    predates it (`old_schema` names its schema: verdicts.json was judged on figures
    never shown), or empty with `metrics_problem` saying why they cannot be shown.
    """

    run_dir: Path
    run: dict[str, Any]
    metrics: dict[str, Any]
    verdicts: dict[str, Any]
    experiment_text: str
    history: History
    has_history: bool = True
    old_schema: Any = None
    metrics_problem: str | None = None


def read_run(run_dir: Path) -> RunFiles:
    experiment_path = run_dir / "experiment.yaml"
    experiment_text = (
        experiment_path.read_text(encoding="utf-8") if experiment_path.exists() else ""
    )
    history_path = history_file(run_dir)
    metrics: dict[str, Any] = {}
    old_schema, problem = None, None
    try:
        recorded = read_json(run_dir / "metrics.json")
        if recorded and recorded.get("schema_version") != METRICS_SCHEMA:
            old_schema = recorded.get("schema_version", 1)
        typed = artefacts.read_metrics(run_dir)
        metrics = typed.to_json() if typed else {}
    except ArtefactError as unreadable:
        problem = str(unreadable)
    try:
        run = artefacts.read_run(run_dir).model_dump(mode="json")  # schema 1 migrated
    except ArtefactError:
        run = read_json(run_dir / "run.json")
    return RunFiles(
        run_dir=run_dir,
        run=run,
        metrics=metrics,
        verdicts=read_json(run_dir / "verdicts.json"),
        experiment_text=experiment_text,
        history=load_history(history_path) if history_path.exists() else History(),
        has_history=history_path.exists(),
        old_schema=old_schema,
        metrics_problem=problem,
    )


def _workload_kind(experiment_text: str) -> str | None:
    """The experiment's workload kind, read loosely: an old file need not validate today."""
    try:
        data = yaml.safe_load(experiment_text) or {}
    except yaml.YAMLError:
        return None
    workload = data.get("workload") if isinstance(data, dict) else None
    return workload.get("kind") if isinstance(workload, dict) else None


def write_run_report(run_dir: Path) -> Path:
    """Write `run_dir/index.html` from the run's files and return its path."""
    files = read_run(run_dir)
    out = run_dir / "index.html"
    out.write_text(render_run(files), encoding="utf-8")
    return out


def render_run(files: RunFiles) -> str:
    run, history, metrics = files.run, files.history, files.metrics
    rules = run.get("rules") if isinstance(run.get("rules"), dict) else {}
    refusals = bool(rules.get("refusals_are_service", True))
    windows = fault_windows(history) if history.faults else []
    faults = _faults(metrics)
    judged = _judged(files)
    figures: dict[str, go.Figure] = {}
    if files.has_history:
        figures = {
            "timeline": latency_figure(
                history.ops, windows, faults, _lost_pairs(metrics), history.externals, refusals
            ),
            "throughput": throughput_figure(history.ops, windows, refusals),
            "view": system_view_figure(history.observations, windows),
        }
        for figure in figures.values():  # one clock, one x range: the charts line up
            figure.update_xaxes(range=_span_s(history))
    no_history = "<p class=note>This folder has no history.jsonl: nothing to draw.</p>"
    title = run.get("title") or files.run_dir.name
    body = [
        _header(files, judged),
        section("Service level objectives", _slo_table(files, judged)),
        section(
            "Operations over time",
            _timeline_note(run, history.ops, refusals) + plot_div("timeline")
            if figures
            else no_history,
        ),
        section(
            "Throughput and errors per 100 ms",
            "<p class=note>Completions per 100 ms by outcome; the line is the share of"
            " completions not served (a <code>fail</code> with an error, or an"
            f" <code>info</code>){'' if refusals else ', refused cas included'}.</p>"
            + plot_div("throughput")
            if figures
            else no_history,
        ),
        section(
            "The system's own view",
            "<p class=note>Per observer: how many peers it reports down or suspect (blank: no"
            " answer), with its role and leader changes marked.</p>" + plot_div("view")
            if figures
            else no_history,
        ),
        section(
            "Recovery per fault",
            _figures_or_problem(files, _recovery_tables(faults, _baseline(metrics))),
        ),
        section("Safety", _figures_or_problem(files, _safety_section(metrics, judged))),
        section("Run", _facts_table(run)),
        section("Experiment as run", f"<pre>{escape(files.experiment_text)}</pre>"),
        section("Raw files", _raw_links(files.run_dir)),
    ]
    return page(str(title), "\n".join(body), figures)


def _span_s(history: History) -> list[float]:
    """The stretch of the run the charts show, in seconds: every record, a little margin."""
    times = [
        record.time
        for records in (history.ops, history.faults, history.observations, history.externals)
        for record in records
    ] or [0]
    low, high = min(times) / NS, max(times) / NS
    margin = max((high - low) * 0.01, 0.1)
    return [max(low - margin, 0.0), high + margin]


def _figures_or_problem(files: RunFiles, content: str) -> str:
    if files.metrics_problem:
        return f"<p class=warn>Not shown: {escape(files.metrics_problem)}.</p>"
    if not files.metrics:
        return (
            "<p class=note>No metrics.json: the run ended before it was measured;"
            " <code>chaoslab report</code> measures it from its history.</p>"
        )
    return content


# --- reading metrics.json and verdicts.json --------------------------------------------


def _faults(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return list((metrics.get("recovery") or {}).get("faults") or [])


def _baseline(metrics: dict[str, Any]) -> float | None:
    return (metrics.get("recovery") or {}).get("baseline_served_per_bucket")


def _judged(files: RunFiles) -> dict[str, dict[str, Any]]:
    """The SLO verdicts that are judgements, by SLO: none for a run measured, not judged,
    nor for verdicts judged on old figures."""
    verdicts = files.verdicts
    if verdicts.get("status") not in JUDGED_STATUSES or files.old_schema is not None:
        return {}
    return {str(v.get("slo")): v for v in verdicts.get("verdicts") or []}


def _lost_pairs(metrics: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The lost adds (invoke, completion) of every set key."""
    return [
        (pair[0], pair[1] if len(pair) > 1 else None)
        for key in (metrics.get("lost_writes") or {}).get("keys") or []
        for pair in key.get("lost") or []
        if pair and pair[0]
    ]


def _window_end(window: dict[str, Any]) -> int:
    """Where a window stops on the clock: its close, or for an open one the scope's end."""
    end = window.get("end_ns")
    return int(end if end is not None else window.get("open_until_ns") or window["start_ns"])


def _window_text(window: dict[str, Any] | None) -> str:
    """A window's duration; an open one as "never served again (≥ how long it had lasted)"."""
    if not window:
        return "none"
    lasted = _secs((_window_end(window) - window["start_ns"]) / NS)
    return lasted if window.get("end_ns") is not None else f"never served again (≥ {lasted})"


def _window_length(window: dict[str, Any] | None) -> float:
    return -1.0 if not window else (_window_end(window) - window["start_ns"]) / NS


def _worst_shard(availability: dict[str, Any]) -> dict[str, Any] | None:
    name = availability.get("worst_shard")
    return next((s for s in availability.get("shards") or [] if s.get("shard") == name), None)


# --- figures -----------------------------------------------------------------------------


def _outcome(completion: Op) -> str:
    return "refused" if refused(completion) else completion.type


def _outcome_style(kind: str, refusals: bool) -> tuple[str, str]:
    """Legend name and colour of an outcome."""
    if kind == "refused":
        if refusals:
            return "cas refused (served)", OUTCOME_COLOURS["refused"]
        return "cas refused (not served: unsynced read)", UNSERVED_REFUSAL_COLOUR
    return {"info": "info (unknown outcome)"}.get(kind, kind), OUTCOME_COLOURS[kind]


def _unserved(kind: str, refusals: bool) -> bool:
    return kind in ("fail", "info") or (kind == "refused" and not refusals)


def _fault_label(
    fault_id: Any, kind: Any, targets: Iterable[str], detail: dict[str, Any] | None
) -> str:
    """A fault as the charts and the tables name it: `#1 partition isolate n1`."""
    shape = (detail or {}).get("shape")
    kind = f"{kind} {shape}" if shape else kind
    return f"#{fault_id} {kind} {','.join(targets)}"


def _fault_bands(
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
                    _fault_label(w.fault_id, w.kind, w.targets, w.detail) + proof
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


def _vline(
    fig: go.Figure, x: float, mark: str, dash: str, name: str, label: str, y: float, first: bool
) -> None:
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
    """A mark's label at `x` on the clock and `y` up the chart (0 bottom, 1 top)."""
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


def _fault_marks(fig: go.Figure, faults: Sequence[dict[str, Any]]) -> None:
    """Detection, the client noticing, every blackout and the worst shard's longest window."""
    seen: set[str] = set()

    def first(name: str) -> bool:
        new = name not in seen
        seen.add(name)
        return new

    for item in faults:
        requested = item["fault"]["requested_ns"] / NS
        detection = item.get("detection") or {}
        if detection.get("first_s") is not None:
            name = "detected (the system's own view)"
            label = f"detected by {detection.get('first_by') or '?'} +{_secs(detection['first_s'])}"
            x = requested + detection["first_s"]
            _vline(fig, x, "detection", "dash", name, label, 0.93, first(name))
        if detection.get("client_noticed_s") is not None:
            name = "the client noticed"
            label = f"the client noticed +{_secs(detection['client_noticed_s'])}"
            x = requested + detection["client_noticed_s"]
            _vline(fig, x, "client", "dot", name, label, 0.86, first(name))
        availability = item.get("availability") or {}
        for blackout in availability.get("blackouts") or []:
            name = "whole-cluster blackout"
            fig.add_vrect(
                x0=blackout["start_ns"] / NS,
                x1=_window_end(blackout) / NS,
                fillcolor=MARK_COLOURS["blackout"],
                opacity=0.22,
                line_width=0,
                layer="below",
                name=name,
                legendgroup=name,
                showlegend=first(name),
            )
            text = f"blackout {_window_text(blackout)}"
            _label(fig, blackout["start_ns"] / NS, 0.79, text, "blackout", name, "right")
        worst = _worst_shard(availability)
        if worst and worst.get("longest"):
            longest = worst["longest"]
            name = "worst shard's longest window"
            fig.add_shape(
                type="rect",
                xref="x",
                yref="paper",
                x0=longest["start_ns"] / NS,
                x1=_window_end(longest) / NS,
                y0=0,
                y1=0.035,
                fillcolor=MARK_COLOURS["shard"],
                opacity=0.85,
                line_width=0,
                name=name,
                legendgroup=name,
                showlegend=first(name),
            )
            text = f"shard {worst['shard']} unavailable {_window_text(longest)}"
            _label(fig, longest["start_ns"] / NS, 0.04, text, "shard", name, yanchor="bottom")


def _external_marks(fig: go.Figure, externals: Sequence[ExternalEvent]) -> None:
    for index, event in enumerate(externals):
        label = f"{event.node} {event.action} (not the suite)"
        _vline(
            fig,
            event.time / NS,
            "external",
            "solid",
            "external container event",
            label,
            0.72,
            index == 0,
        )


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


def _completed(ops: Sequence[Op]) -> list[tuple[Op, Op]]:
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


def _timeline_note(run: dict[str, Any], ops: Sequence[Op], refusals: bool) -> str:
    note = (
        "<p class=note>Latency of each operation at its invocation time (log scale). Red"
        " bands: each fault, from the suite's request to its heal request; the dotted line"
        " inside is where its effect was proven. Dark bands: whole-cluster blackouts; orange"
        " bar at the bottom: the worst shard's longest window; dashed line: the system's own"
        " detection; black crosses: acknowledged writes the final read lacks."
    )
    total = len(_completed(ops))
    if total > MAX_POINTS:
        note += (
            f" Showing a sample of {MAX_POINTS:,} of {total:,} operations; every failure is kept."
        )
    note += "</p>"
    if not refusals:
        note += (
            "<p class=warn>Refused compare-and-sets count as errors in this run, not as service:"
            f" its {escape(str(run.get('system', '')))} client refused from a node's unsynced"
            " local copy of the register (run.json <code>rules.refusals_are_service</code> is"
            " false), so a refusal proves nothing about the register's value.</p>"
        )
    return note


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
    faults: Sequence[dict[str, Any]] = (),
    lost: Sequence[tuple[dict[str, Any], dict[str, Any] | None]] = (),
    externals: Sequence[ExternalEvent] = (),
    refusals: bool = True,
) -> go.Figure:
    """Jepsen's latency plot: one point per operation, coloured by its outcome, with every
    fault, detection, blackout, worst shard window, lost write and external event marked."""
    fig = go.Figure()
    by_outcome: dict[str, list[tuple[Op, Op]]] = defaultdict(list)
    for invoke, completion in _sample(_completed(ops)):
        by_outcome[_outcome(completion)].append((invoke, completion))
    latencies: list[float] = []
    for kind in OUTCOMES:
        pairs = by_outcome.get(kind, [])
        if not pairs:
            continue
        name, colour = _outcome_style(kind, refusals)
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
        y = [max(((c or i)["time"] - i["time"]) / 1e6, MIN_LATENCY_MS) for i, c in lost]
        fig.add_trace(
            go.Scatter(
                name=f"lost write ({len(lost)})",
                mode="markers",
                x=[i["time"] / NS for i, _ in lost],
                y=y,
                marker={"symbol": "x", "size": 8, "color": MARK_COLOURS["lost"]},
                customdata=[[str(i.get("key")), json.dumps(i.get("value"))] for i, _ in lost],
                hovertemplate="lost: add %{customdata[1]} to %{customdata[0]}<br>invoked at"
                " %{x:.2f} s, acknowledged in %{y:.1f} ms<extra></extra>",
            )
        )
    _fault_bands(fig, windows)
    _fault_marks(fig, faults)
    _external_marks(fig, externals)
    fig.update_yaxes(**_log_axis(latencies))
    return _layout(fig, "latency", 460)


def throughput_figure(
    ops: Sequence[Op], windows: Sequence[FaultWindow], refusals: bool = True
) -> go.Figure:
    """Workload completions per 100 ms bucket by outcome, with the share unserved on a second
    axis: a `fail` with an error and an `info`, and a refusal only where it is not service."""
    counts: dict[str, dict[int, int]] = {k: defaultdict(int) for k in OUTCOMES}
    for invoke, completion in _completed(ops):
        if invoke.f != "final-read":
            counts[_outcome(completion)][completion.time // BUCKET_NS] += 1
    last = max((max(c, default=0) for c in counts.values()), default=0)
    buckets = range(last + 1)
    x = [(b + 0.5) * BUCKET_NS / NS for b in buckets]
    fig = go.Figure()
    for kind in OUTCOMES:
        if not counts[kind] and kind != "ok":
            continue
        name, colour = _outcome_style(kind, refusals)
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
    _fault_bands(fig, windows, labelled=False, layer="above")
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
    observations: Sequence[Observation], windows: Sequence[FaultWindow]
) -> go.Figure:
    """Observer-by-time heatmap of peers seen down, with role/leader changes as labelled marks."""
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
    _fault_bands(fig, windows, layer="above")
    return _layout(fig, "observer", max(220, 90 * len(observers) + 100))


# --- tables --------------------------------------------------------------------------------


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}{unit}"
    return f"{value}{unit}"


def _secs(value: float | None) -> str:
    """A duration in seconds as a reader wants it: 15 ms, 305 ms, 10.39 s."""
    if value is None:
        return "-"
    if value == 0:
        return "0 s"
    if abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    cls: str = "",
    titles: dict[str, str] | None = None,
) -> str:
    """An HTML table; cells are already escaped HTML. `titles` gives a header's tooltip."""
    titles = titles or {}
    head = "".join(
        f"<th title='{escape(titles[h])}'>{escape(h)}</th>"
        if h in titles
        else f"<th>{escape(h)}</th>"
        for h in headers
    )
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def badge(status: str, label: str | None = None) -> str:
    """A status coloured by the stylesheet (held, failed, slo-failed, unhealthy, error,
    interrupted, measured), showing `label` (default: the status itself)."""
    return f"<span class='badge {escape(status)}'>{escape(label or status)}</span>"


def status_badge(status: str) -> str:
    """A run's status as its own badge: an interrupted run reads "measured, not judged"."""
    return badge(status, STATUS_LABELS.get(status, status))


def _problems(verdicts: dict[str, Any], history: History) -> list[str]:
    """Why the run cannot be believed (verdicts.json `problems`), and every external container
    event of the history that they do not already name (the runner words them this way)."""
    problems = [str(p) for p in verdicts.get("problems") or []]
    for event in history.externals:
        said = f"{event.node}: {event.action} at {event.time / NS:.2f} s"
        if not any(p.startswith(said) for p in problems):
            problems.append(f"{said}, not done by the suite")
    return problems


def _unjudged_findings(metrics: dict[str, Any], judged: dict[str, Any]) -> list[str]:
    """What the safety checks found where no SLO judged it (lost writes a system may lose)."""
    found = []
    lost = (metrics.get("lost_writes") or {}).get("lost_count")
    if lost and "lost_writes" not in judged:
        found.append(f"{lost} acknowledged write{'s' if lost != 1 else ''} lost")
    stale = (metrics.get("stale_reads") or {}).get("stale_count")
    if stale and "stale_reads" not in judged:
        found.append(f"{stale} stale read{'s' if stale != 1 else ''}")
    verdict = (metrics.get("linearizability") or {}).get("verdict")
    if verdict == "non-linearizable" and "linearizable" not in judged:
        found.append("not linearizable")
    return [f"{finding}, not judged" for finding in found]


def _header(files: RunFiles, judged: dict[str, Any]) -> str:
    run, verdicts = files.run, files.verdicts
    status = str(verdicts.get("status", "error" if not verdicts else "unknown"))
    problems = _problems(verdicts, files.history)
    notes = []
    error = verdicts.get("error")
    if error and not (status == "unhealthy" and error == "; ".join(problems)):
        cls = "note" if status == "interrupted" else "error"
        notes.append(f"<p class='{cls}'>{escape(str(error))}</p>")
    if problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in problems)
        notes.append(f"<ul class=problems>{items}</ul>")
    failed = [v for v in judged.values() if not v.get("held")]
    if failed:
        items = ", ".join(
            f"<code>{escape(str(v['slo']))}</code> measured"
            f" {escape(_slo_value(str(v['slo']), v.get('measured')))}"
            for v in failed
        )
        notes.append(f"<p class=error>SLO failed: {items}</p>")
    findings = _unjudged_findings(files.metrics, judged)
    if findings:
        notes.append(
            "<p class=findings>" + " ".join(badge("measured", f) for f in findings) + "</p>"
        )
    if files.old_schema is not None:
        shown = (
            "they are not shown"
            if files.metrics_problem
            else "every figure on this page is recomputed from history.jsonl under today's"
            " definitions (docs/metrics.md)"
        )
        notes.append(
            f"<p class=warn>metrics.json is of schema {escape(str(files.old_schema))}, whose"
            f" figures are since found wrong: {shown}. Its status and verdicts were judged on"
            " those figures; <code>chaoslab report</code> judges the run again.</p>"
        )
    badge_html = status_badge(status)
    if files.old_schema is not None:
        label = STATUS_LABELS.get(status, status)
        badge_html = badge("measured", f"{label}, judged on old figures")
    return (
        "<header class=run><div class=top>"
        f"<div><h1>{escape(str(run.get('title', files.run_dir.name)))}</h1>"
        f"<p class=sub>{escape(str(run.get('run_id', files.run_dir.name)))} · started "
        f"{escape(str(run.get('started', '?')))} · {escape(str(run.get('family', '?')))} / "
        f"{escape(str(run.get('protocol', '?')))}</p></div>"
        f"<div class=version><span>{escape(str(run.get('system', '?')))}</span>"
        f"<strong>{escape(str(run.get('version', 'unknown version')))}</strong></div>"
        f"<div class=verdict>{badge_html}</div></div>"
        f"{''.join(notes)}</header>"
    )


def _slo_value(slo: str, value: Any) -> str:
    if slo in SECONDS_SLOS and isinstance(value, int | float) and not isinstance(value, bool):
        return _secs(float(value))
    if value is None and slo in SECONDS_SLOS:
        return "never"
    return _fmt(value)


def _slo_table(files: RunFiles, judged: dict[str, Any]) -> str:
    verdicts = files.verdicts
    items = verdicts.get("verdicts") or []
    if not items:
        return "<p class=note>No SLO verdicts recorded.</p>"
    old = files.old_schema is not None
    note = ""
    if old:
        note = (
            "<p class=note>Judged on figures since found wrong: their measurements are not"
            " shown; the recovery and safety sections hold today's.</p>"
        )
    elif not judged:
        status = verdicts.get("status", "unknown")
        note = f"<p class=note>This run's status is {escape(str(status))}: its SLOs were"
        note += " measured, not judged.</p>"
    rows = []
    for v in items:
        slo = str(v.get("slo"))
        definition = DEFINITIONS.get(SLO_FIGURES.get(slo, ""), "")
        if slo in judged:
            mark = badge("held" if v.get("held") else "failed")
        else:
            mark = badge("measured", "judged on old figures" if old else NOT_JUDGED)
        rows.append(
            (
                f"<code title='{escape(definition)}'>{escape(slo)}</code>",
                escape(_slo_value(slo, v.get("expected"))),
                "not shown" if old else escape(_slo_value(slo, v.get("measured"))),
                mark,
                escape(str(v.get("detail") or "")),
            )
        )
    return note + html_table(("SLO", "expected", "measured", "", "detail"), rows)


def _clock(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / NS:.2f} s"


def _small(text: str) -> str:
    return f"<br><small>{text}</small>" if text else ""


def _bracket_cell(fault: dict[str, Any]) -> str:
    requested, effective = fault.get("requested_ns"), fault.get("effective_ns")
    proven = (
        f"+{(effective - requested) / 1e6:.0f} ms"
        if effective is not None and requested is not None
        else "never proven"
    )
    heal = fault.get("heal_requested_ns")
    healed = f"heal requested {_clock(heal)}" if heal is not None else "never healed"
    return escape(f"{_clock(requested)} → {proven}") + _small(escape(healed))


def _detect_cell(detection: dict[str, Any]) -> str:
    """The first peer, by whom, the "not before" bound, all peers, and the rule."""
    rule = f"rule: {detection.get('rule', '?')}"
    if detection.get("observable") is False:
        return escape(f"not observable: {detection.get('note') or 'no verdict to see'}")
    if detection.get("first_s") is None:
        return "never" + _small(escape(rule))
    every = detection.get("all_s")
    lines = [
        f"not before {_secs(detection.get('not_before_s'))}",
        f"all peers {_secs(every) if every is not None else 'never'}",
    ]
    if detection.get("suspected_s") is not None:
        lines.append(f"suspected {_secs(detection['suspected_s'])}")
    if detection.get("new_leader"):
        lines.append(f"new leader {detection['new_leader']}, was {detection.get('old_leader')}")
    lines.append(rule)
    return escape(f"{_secs(detection['first_s'])} by {detection.get('first_by') or '?'}") + _small(
        "<br>".join(escape(line) for line in lines)
    )


def _count(n: Any, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _shard_cell(availability: dict[str, Any]) -> str:
    worst = _worst_shard(availability)
    if not worst or not worst.get("longest"):
        return "0 s" + _small("no shard went unserved")
    shards = availability.get("shards") or []
    one_group = len(shards) == 1 and worst["shard"] == "all"
    name = "one group (all)" if one_group else f"shard {worst['shard']}"
    return escape(_window_text(worst["longest"])) + _small(
        escape(f"{name}, {_count(worst.get('windows', '?'), 'window')}")
    )


def _blackouts_cell(availability: dict[str, Any], requested_ns: int) -> str:
    blackouts = availability.get("blackouts") or []
    resolution = availability.get("resolution_s")
    seen = f"resolution {_secs(resolution)}" if resolution is not None else ""
    if not blackouts:
        return "none" + _small(escape(seen))
    longest = max(blackouts, key=_window_length)
    listed = [
        f"{_window_text(b)} from +{_secs((b['start_ns'] - requested_ns) / NS)}"
        for b in blackouts[:5]
    ]
    if len(blackouts) == 1:
        listed = [f"from +{_secs((longest['start_ns'] - requested_ns) / NS)}"]
    elif len(blackouts) > 5:
        listed.append(f"and {len(blackouts) - 5} more")
    head = _window_text(longest)
    if len(blackouts) > 1:
        head = f"{len(blackouts)} · longest {head}"
    return escape(head) + _small("<br>".join(escape(line) for line in [*listed, seen] if line))


def _downtime_cell(availability: dict[str, Any]) -> str:
    downtime = availability.get("node_downtime") or []
    if not downtime:
        return "-" + _small("none taken down")
    longest = max(downtime, key=lambda d: _window_length(d.get("longest")))
    nodes = [
        f"{d.get('node')}: {_window_text(d.get('longest'))}"
        f" (clients {', '.join(str(p) for p in d.get('processes') or [])})"
        for d in downtime
    ]
    return escape(_window_text(longest.get("longest"))) + _small(
        "<br>".join(escape(line) for line in nodes)
    )


def _client_cell(availability: dict[str, Any]) -> str:
    clients = availability.get("clients") or []
    worst = max(clients, key=lambda c: _window_length(c.get("longest")), default=None)
    if not worst or not worst.get("longest"):
        return "none"
    where = f"client {worst.get('process')}" + (f" on {worst['node']}" if worst.get("node") else "")
    return escape(_window_text(worst["longest"])) + _small(
        escape(f"{where}, {_count(worst.get('windows', '?'), 'window')}")
    )


def _throughput_cell(value: float | None, baseline: float | None) -> str:
    if value is not None:
        return escape(_secs(value))
    if baseline is None:
        return "-" + _small("no pre-fault baseline")
    return "never" + _small("not within the fault's scope")


def _after_heal_cell(item: dict[str, Any]) -> str:
    fault = item["fault"]
    value = item.get("recovery_after_heal_s")
    if fault.get("heal_requested_ns") is None:
        text = "-" + _small("never healed")
    else:
        text = escape(_secs(value)) if value is not None else "never"
    if fault.get("heal_issued_recorded") is False:
        text += _small("heal clock late:<br>recorded before heal-requested")
    return text


RECOVERY_HEADERS = (
    "fault",
    "issued → effective",
    "time to detect",
    "the client noticed",
    "worst shard unavailable",
    "whole-cluster blackouts",
    "node downtime",
    "worst client window",
    "throughput recovered",
    "recovery after heal",
)
PHASE_HEADERS = ("fault", "phase", "operations", "success rate", "p50", "p95", "p99")


def _unbroken_units(cell: str) -> str:
    """A cell's HTML with no line break between a figure and its unit (4.26 s, 25 ms)."""
    return re.sub(r"(\d) (ms|s|µs)\b", r"\1&nbsp;\2", cell)


def _recovery_tables(faults: Sequence[dict[str, Any]], baseline: float | None = None) -> str:
    if not faults:
        return "<p class=note>No fault was injected in this run.</p>"
    summary, phases = [], []
    for item in faults:
        f = item["fault"]
        name = escape(_fault_label(f["fault_id"], f["kind"], f.get("targets", []), f.get("detail")))
        availability = item.get("availability") or {}
        detection = item.get("detection") or {}
        cells = (
            _bracket_cell(f),
            _detect_cell(detection),
            escape(_secs(detection.get("client_noticed_s"))),
            _shard_cell(availability),
            _blackouts_cell(availability, f["requested_ns"]),
            _downtime_cell(availability),
            _client_cell(availability),
            _throughput_cell(item.get("throughput_recovered_s"), baseline),
            _after_heal_cell(item),
        )
        summary.append((name, *(_unbroken_units(cell) for cell in cells)))
        for p in item.get("phases") or []:
            phases.append(
                (
                    name,
                    escape(p["phase"]),
                    escape(_fmt(p.get("operations"))),
                    escape(_fmt(p.get("success_rate"))),
                    escape(_fmt(p.get("latency_p50_ms"), " ms")),
                    escape(_fmt(p.get("latency_p95_ms"), " ms")),
                    escape(_fmt(p.get("latency_p99_ms"), " ms")),
                )
            )
    return (
        "<p class=note>Every figure counts from the fault's request (its heal's, after the"
        " heal), in seconds; hover a column's name for its definition.</p>"
        + html_table(RECOVERY_HEADERS, summary, "figures", DEFINITIONS)
        + "<h3>Latency before / during / after</h3>"
        + html_table(PHASE_HEADERS, phases, titles=DEFINITIONS)
    )


def _op_cells(pair: Sequence[dict[str, Any] | None]) -> tuple[str, ...]:
    invoke, completion = pair[0] or {}, pair[1] if len(pair) > 1 else None
    done = completion or {}
    return tuple(
        escape(str(v))
        for v in (
            invoke.get("process"),
            invoke.get("f"),
            invoke.get("key"),
            json.dumps(invoke.get("value")),
            done.get("type", "pending"),
            json.dumps(done.get("value")),
            _clock(invoke.get("time")),
            _clock(done.get("time")),
            done.get("node") or invoke.get("node") or "",
        )
    )


OP_HEADERS = ("client", "f", "key", "value", "outcome", "result", "invoked", "completed", "node")


def _check_badge(slo: str, judged: dict[str, Any], measured: bool = True) -> str:
    """Held or failed only where an SLO judged the check; otherwise measured, not judged."""
    verdict = judged.get(slo)
    if verdict is not None:
        return badge("held" if verdict.get("held") else "failed")
    return badge("measured", NOT_JUDGED if measured else "not measured")


def _safety_section(metrics: dict[str, Any], judged: dict[str, Any]) -> str:
    lost = metrics.get("lost_writes") or {}
    stale = metrics.get("stale_reads") or {}
    lin = metrics.get("linearizability") or {}
    keys = lost.get("keys") or []
    acknowledged = sum(int(k.get("acknowledged") or 0) for k in keys)
    unknown = sum(
        int(k.get("unknown_present") or 0) + int(k.get("unknown_absent") or 0) for k in keys
    )
    lost_text = (
        f"{_fmt(lost.get('lost_count'))} of {acknowledged} acknowledged adds"
        + (f" ({unknown} of unknown outcome, not counted)" if unknown else "")
        if keys
        else "no set was read back: nothing to lose"
    )
    verdict = str(lin.get("verdict", "not checked"))
    rows = [
        ("lost writes", escape(lost_text), _check_badge("lost_writes", judged, bool(keys))),
        (
            "stale reads",
            escape(f"{_fmt(stale.get('stale_count'))} of {_fmt(stale.get('reads_checked'))}"),
            _check_badge("stale_reads", judged),
        ),
        (
            "linearizability",
            escape(verdict),
            _check_badge("linearizable", judged, verdict != "not checked"),
        ),
    ]
    rows = [
        (f"<span title='{escape(DEFINITIONS[n])}'>{escape(n)}</span>", r, b) for n, r, b in rows
    ]
    parts = [html_table(("check", "result", ""), rows)]
    for key in lin.get("keys") or []:
        if not key.get("counterexample"):
            continue
        minimal = "minimal" if key.get("minimal") else "not minimal"
        parts.append(
            f"<h3>Counterexample on key <code>{escape(str(key.get('key')))}</code>"
            f" ({minimal})</h3><p>{escape(str(key.get('explanation', '')))}</p>"
            + html_table(OP_HEADERS, (_op_cells(p) for p in key["counterexample"]), "ops")
        )
    for read in stale.get("stale") or []:
        parts.append(
            "<h3>Stale read</h3>"
            + html_table(OP_HEADERS, [_op_cells(read["read"])], "ops")
            + "<p>missed:</p>"
            + html_table(OP_HEADERS, (_op_cells(m) for m in read.get("missed", [])), "ops")
        )
    for key in keys:
        if key.get("lost"):
            table = html_table(OP_HEADERS, (_op_cells(p) for p in key["lost"]), "ops")
            parts.append(
                f"<h3>Lost writes on key <code>{escape(str(key.get('key')))}</code></h3>"
                + (
                    f"<details><summary>all {len(key['lost'])}</summary>{table}</details>"
                    if len(key["lost"]) > LONG_TABLE
                    else table
                )
            )
    return "".join(parts)


def _facts_table(run: dict[str, Any]) -> str:
    facts = [
        ("system", run.get("system")),
        ("version", run.get("version")),
        ("family / protocol", f"{run.get('family', '?')} / {run.get('protocol', '?')}"),
        ("image source", run.get("image_source")),
        ("images", run.get("images")),
        ("settings", run.get("settings")),
        ("driver", run.get("driver")),
        ("nodes", ", ".join(f"{n['name']} ({n.get('ip', '?')})" for n in run.get("nodes", []))),
        ("seed / repeat", f"{run.get('seed', '?')} / {run.get('repeat', '?')}"),
        ("cluster up in", _secs(run["up_seconds"]) if run.get("up_seconds") else None),
        ("final health", run.get("final_health")),
    ]
    rows = [
        (escape(name), f"<code>{escape(show(value))}</code>")
        for name, value in facts
        if value not in (None, "")
    ]
    return html_table(("fact", "value"), rows, "facts")


def show(value: Any) -> str:
    """Settings and other small mappings as `key=value, ...`, nested ones inline."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items()) or "(defaults)"
    return str(value)


def _raw_links(run_dir: Path) -> str:
    links = [
        f"<li><a href='{escape(name)}'>{escape(name)}</a></li>"
        for name in RAW_FILES
        if (run_dir / name).exists()
    ]
    return f"<ul>{''.join(links)}</ul>"


def section(title: str, content: str) -> str:
    """A titled card; `content` is already escaped HTML."""
    return f"<section><h2>{escape(title)}</h2>{content}</section>"


def plot_div(name: str) -> str:
    """Where `page` draws the figure it was given under `name`."""
    return f"<div class=plot id='plot-{name}' data-figure='{name}'></div>"


def _script_json(text: str) -> str:
    """JSON safe inside a <script> element."""
    return text.replace("</", "<\\/")


PLOT_BOOT = """
for (const holder of document.querySelectorAll('script[data-figure]')) {
  const spec = JSON.parse(holder.textContent);
  const div = document.getElementById('plot-' + holder.dataset.figure);
  Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false});
}
"""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;
 margin:0;background:#f5f6f8}
main{max-width:1200px;margin:0 auto;padding:24px}
header{display:flex;gap:24px;align-items:center;background:#fff;padding:18px 24px;
 border-radius:8px;box-shadow:0 1px 3px #0002}
header>div:first-child{flex:1}
header.run{display:block} header.run .top{display:flex;gap:24px;align-items:center}
header.run .top>div:first-child{flex:1}
header.run p,header.run ul{margin:10px 0 0}
ul.problems{color:#b03a16;font-weight:600;padding-left:20px}
h1{margin:0;font-size:22px} h2{margin:0 0 12px;font-size:17px} h3{font-size:14px;margin:16px 0 6px}
.sub,.note{color:#5b6475;margin:4px 0 8px}
.version{text-align:center;border:1px solid #c9d2e3;border-radius:8px;padding:6px 16px}
.version span{display:block;color:#5b6475;font-size:12px;text-transform:uppercase}
.version strong{font-size:24px}
section{background:#fff;margin-top:18px;padding:18px 24px;border-radius:8px;
 box-shadow:0 1px 3px #0002;overflow-x:auto}
table{border-collapse:collapse;width:100%} th,td{padding:5px 10px;text-align:left;
 border-bottom:1px solid #e5e8ee;vertical-align:top} th{background:#f0f2f6;font-weight:600}
th[title]{cursor:help;text-decoration:underline dotted #7a8599}
table.ops td,table.ops th{font:12px ui-monospace,monospace}
table.figures td,table.figures th{font-size:13px;padding:5px 7px}
table.figures td:first-child{white-space:nowrap}
small{color:#5b6475}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff;
 background:#7a8599;white-space:nowrap}
.badge.held{background:#2e9e4f}.badge.failed,.badge.slo-failed{background:#d62728}
.badge.unhealthy{background:#e4572e}.badge.error{background:#8e44ad}
.badge.interrupted{background:#7a8599}
.badge.measured{background:#eef1f6;color:#3a4150;border:1px solid #c9d2e3;font-weight:500}
.verdict .badge{font-size:18px;padding:6px 18px}
.findings .badge{margin-right:6px}
.error{color:#d62728;font-weight:600}
pre{background:#f0f2f6;padding:12px;border-radius:6px;overflow-x:auto}
code{font:12px ui-monospace,monospace}
a{color:#1f5fbf}
.versions{display:flex;gap:8px;flex-wrap:wrap}
.warn{background:#fff4e0;border-left:4px solid #e07b00;padding:8px 12px;margin:12px 0 0}
.family{font-weight:600}.family.consensus{color:#1f5fbf}.family.gossip{color:#c25e00}
"""


def page(title: str, body: str, figures: dict[str, go.Figure] | None = None) -> str:
    """A whole HTML page that opens with no network: Plotly inlined once, figures as JSON.

    Run reports, the index and comparisons all use it, so they look alike.
    """
    scripts = ""
    if figures:
        specs = "".join(
            f"<script type='application/json' data-figure='{name}'>"
            f"{_script_json(fig.to_json())}</script>"
            for name, fig in figures.items()
        )
        scripts = f"<script>{get_plotlyjs()}</script>{specs}<script>{PLOT_BOOT}</script>"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main>{scripts}</body></html>"
    )


def write_index(reports_dir: Path) -> Path:
    """Write `reports_dir/index.html`: every run, newest first, linked where it has a report;
    then every comparison (a folder holding comparison.json), newest first."""
    runs = []
    for run_dir in sorted(p for p in reports_dir.iterdir() if (p / "run.json").exists()):
        run = read_json(run_dir / "run.json")
        status = read_json(run_dir / "verdicts.json").get("status", "error")
        runs.append((str(run.get("started", "")), run_dir, run, status))
    runs.sort(key=lambda r: (r[0], r[1].name), reverse=True)
    rows = []
    for started, run_dir, run, status in runs:
        name = escape(run_dir.name)
        link = (
            f"<a href='{name}/index.html'>{name}</a>" if (run_dir / "index.html").exists() else name
        )
        rows.append(
            (
                link,
                escape(started),
                escape(str(run.get("system", "?"))),
                escape(str(run.get("title", ""))),
                f"<strong>{escape(str(run.get('version', '?')))}</strong>",
                status_badge(str(status)),
            )
        )
    table = (
        html_table(("run", "started", "system", "title", "version", "status"), rows)
        if rows
        else "<p class=note>No runs yet.</p>"
    )
    out = reports_dir / "index.html"
    out.write_text(
        page(
            "chaoslab runs",
            f"<header><h1>chaoslab runs</h1></header>{section('Runs', table)}"
            + _comparisons(reports_dir),
        ),
        encoding="utf-8",
    )
    return out


def _comparisons(reports_dir: Path) -> str:
    """The comparisons section of the index; empty when there are none."""
    found = sorted(
        ((read_json(path), path.parent.name) for path in reports_dir.glob("*/comparison.json")),
        key=lambda c: (str(c[0].get("created", "")), c[1]),
        reverse=True,
    )
    rows = [
        (
            f"<a href='{escape(name)}/index.html'>{escape(name)}</a>",
            escape(str(data.get("created", ""))),
            escape(", ".join(str(g.get("scenario", "?")) for g in data.get("groups", []))),
            ", ".join(
                f"{escape(str(s.get('system', '?')))} <strong>{escape(str(s.get('version', '?')))}"
                "</strong>"
                for s in data.get("systems", [])
            ),
            escape(str(len(data.get("runs", [])))),
        )
        for data, name in found
    ]
    if not rows:
        return ""
    headers = ("comparison", "created", "scenarios", "systems", "runs")
    return section("Comparisons", html_table(headers, rows))
