"""HTML reports of finished runs, built only from the files a run leaves behind.

A report never talks to Docker: everything comes from `reports/<run-id>/`
(experiment.yaml, run.json, history.jsonl, metrics.json, verdicts.json), so
any run can be re-rendered later, on another machine, from its artefacts.
Each page is one self-contained file (Plotly's JavaScript inlined once) so it
opens with no network, from a CI artefact or an e-mail attachment. The page
kit (`page`, `section`, `html_table`, `badge`, `plot_div`, `show`, `read_json`)
is public because `chaos.compare` builds its pages with it too.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from chaos.history import FaultEvent, History, Observation, Op, load_history, pair_operations

RAW_FILES = ("experiment.yaml", "run.json", "history.jsonl", "metrics.json", "verdicts.json")
BUCKET_NS = 100_000_000
VIEW_BIN_NS = 250_000_000  # the system's view is sampled a few times a second; finer is noise
MAX_POINTS = 20_000
OUTCOME_COLOURS = {"ok": "#2e9e4f", "fail": "#d62728", "info": "#ff9f1c"}
NS = 1e9


@dataclass(frozen=True)
class RunFiles:
    """A finished run read back from its directory; absent files read as empty."""

    run_dir: Path
    run: dict[str, Any]
    metrics: dict[str, Any]
    verdicts: dict[str, Any]
    experiment_text: str
    history: History


@dataclass(frozen=True)
class FaultWindow:
    """A fault from injection taking effect to its heal (or the run's end if never healed)."""

    fault_id: int
    kind: str
    targets: tuple[str, ...]
    start_ns: int
    end_ns: int


def read_run(run_dir: Path) -> RunFiles:
    history_path = run_dir / "history.jsonl"
    experiment_path = run_dir / "experiment.yaml"
    return RunFiles(
        run_dir=run_dir,
        run=read_json(run_dir / "run.json"),
        metrics=read_json(run_dir / "metrics.json"),
        verdicts=read_json(run_dir / "verdicts.json"),
        experiment_text=experiment_path.read_text(encoding="utf-8")
        if experiment_path.exists()
        else "",
        history=load_history(history_path) if history_path.exists() else History(),
    )


def read_json(path: Path) -> dict[str, Any]:
    """A run file's JSON; an absent file reads as empty (a failed run leaves files out)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_run_report(run_dir: Path) -> Path:
    """Write `run_dir/index.html` from the run's files and return its path."""
    files = read_run(run_dir)
    out = run_dir / "index.html"
    out.write_text(render_run(files), encoding="utf-8")
    return out


def render_run(files: RunFiles) -> str:
    run, history = files.run, files.history
    windows = fault_windows(history.faults, _end_ns(history))
    figures = {
        "timeline": latency_figure(history.ops, windows),
        "throughput": throughput_figure(history.ops, windows),
        "view": system_view_figure(history.observations, windows),
    }
    title = run.get("title") or files.run_dir.name
    body = [
        _header(files),
        section("Service level objectives", _slo_table(files.verdicts)),
        section(
            "Operations over time",
            "<p class=note>Latency of each operation at its invocation time (log scale);"
            " shaded bands are fault windows, from the fault taking effect to its heal."
            f"{_downsample_note(history.ops)}</p>" + plot_div("timeline"),
        ),
        section("Throughput and errors per 100 ms", plot_div("throughput")),
        section(
            "The system's own view",
            "<p class=note>Per observer: how many peers it reports down or suspect (blank: no"
            " answer), with its role and leader changes marked.</p>" + plot_div("view"),
        ),
        section("Recovery per fault", _recovery_tables(files.metrics)),
        section("Safety", _safety_section(files.metrics)),
        section("Run", _facts_table(run)),
        section("Experiment as run", f"<pre>{escape(files.experiment_text)}</pre>"),
        section("Raw files", _raw_links(files.run_dir)),
    ]
    return page(str(title), "\n".join(body), figures)


def fault_windows(faults: Sequence[FaultEvent], end_ns: int) -> list[FaultWindow]:
    """Each fault that took effect, from `effective` to `healed`."""
    starts: dict[int, FaultEvent] = {}
    heals: dict[int, int] = {}
    for event in faults:
        if event.stage == "effective":
            starts.setdefault(event.fault_id, event)
        elif event.stage == "healed":
            heals.setdefault(event.fault_id, event.time)
    return [
        FaultWindow(fid, e.kind, e.targets, e.time, heals.get(fid, end_ns))
        for fid, e in sorted(starts.items())
    ]


def _end_ns(history: History) -> int:
    last = [
        items[-1].time for items in (history.ops, history.faults, history.observations) if items
    ]
    return max(last, default=0)


def _fault_shapes(fig: go.Figure, windows: Iterable[FaultWindow]) -> None:
    for w in windows:
        fig.add_vrect(
            x0=w.start_ns / NS,
            x1=w.end_ns / NS,
            fillcolor="#d62728",
            opacity=0.1,
            line_width=0,
            annotation_text=escape(f"#{w.fault_id} {w.kind} {','.join(w.targets)}"),
            annotation_position="top left",
        )


def _layout(fig: go.Figure, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
        xaxis_title="seconds since run start",
        yaxis_title=y_title,
    )
    return fig


def _completed(ops: Sequence[Op]) -> list[tuple[Op, Op]]:
    return [(i, c) for i, c in pair_operations(ops) if c is not None]


def _sample(pairs: list[tuple[Op, Op]]) -> list[tuple[Op, Op]]:
    """At most MAX_POINTS points: every failure is kept, successes are thinned evenly."""
    if len(pairs) <= MAX_POINTS:
        return pairs
    bad = [p for p in pairs if p[1].type != "ok"]
    good = [p for p in pairs if p[1].type == "ok"]
    room = max(MAX_POINTS - len(bad), 1)
    step = -(-len(good) // room)
    return bad + good[::step]


def _downsample_note(ops: Sequence[Op]) -> str:
    total = len(_completed(ops))
    if total <= MAX_POINTS:
        return ""
    return f" Showing a sample of {MAX_POINTS:,} of {total:,} operations; every failure is kept."


def latency_figure(ops: Sequence[Op], windows: Sequence[FaultWindow]) -> go.Figure:
    """Jepsen's latency plot: one point per operation, coloured by its outcome."""
    fig = go.Figure()
    by_type: dict[str, list[tuple[Op, Op]]] = defaultdict(list)
    for invoke, completion in _sample(_completed(ops)):
        by_type[completion.type].append((invoke, completion))
    for kind in ("ok", "fail", "info"):
        pairs = by_type.get(kind, [])
        if not pairs:
            continue
        fig.add_trace(
            go.Scattergl(
                name=f"{kind} ({len(pairs)})",
                mode="markers",
                x=[i.time / NS for i, _ in pairs],
                y=[max((c.time - i.time) / 1e6, 0.001) for i, c in pairs],
                marker={"color": OUTCOME_COLOURS[kind], "size": 4, "opacity": 0.7},
                customdata=[
                    [i.process, c.node or i.node or "", i.f, i.key or "", c.error or ""]
                    for i, c in pairs
                ],
                hovertemplate="client %{customdata[0]} on %{customdata[1]}<br>"
                "%{customdata[2]} %{customdata[3]}<br>%{y:.1f} ms at %{x:.2f} s"
                "<br>%{customdata[4]}<extra></extra>",
            )
        )
    _fault_shapes(fig, windows)
    fig.update_yaxes(type="log")
    return _layout(fig, "latency (ms)", 420)


def throughput_figure(ops: Sequence[Op], windows: Sequence[FaultWindow]) -> go.Figure:
    """Completions per 100 ms bucket by outcome, with the error rate on a second axis."""
    counts: dict[str, dict[int, int]] = {k: defaultdict(int) for k in OUTCOME_COLOURS}
    for op in ops:
        if op.type != "invoke":
            counts[op.type][op.time // BUCKET_NS] += 1
    last = max((max(c, default=0) for c in counts.values()), default=0)
    buckets = range(last + 1)
    x = [(b + 0.5) * BUCKET_NS / NS for b in buckets]
    fig = go.Figure()
    for kind, colour in OUTCOME_COLOURS.items():
        fig.add_trace(
            go.Bar(name=kind, x=x, y=[counts[kind][b] for b in buckets], marker_color=colour)
        )
    rates = []
    for b in buckets:
        total = sum(counts[k][b] for k in OUTCOME_COLOURS)
        rates.append(100 * (total - counts["ok"][b]) / total if total else None)
    fig.add_trace(
        go.Scatter(
            name="error rate %",
            x=x,
            y=rates,
            yaxis="y2",
            mode="lines",
            line={"color": "#444", "width": 1},
        )
    )
    _fault_shapes(fig, windows)
    fig.update_layout(
        barmode="stack",
        bargap=0,
        yaxis2={"title": "error rate %", "overlaying": "y", "side": "right", "range": [0, 105]},
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
            row_text.append(f"{_view_label(seen[at])}<br>down/suspect: {', '.join(down) or '-'}")
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
            colorbar={"title": "down"},
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
            text=[label for _, label in changes],
            textposition="top right",
            textfont={"size": 10},
            marker={"symbol": "diamond", "size": 8, "color": "#1f3b73"},
            hovertemplate="%{y} at %{x:.2f} s: %{text}<extra></extra>",
        )
    )
    _fault_shapes(fig, windows)
    return _layout(fig, "observer", max(220, 90 * len(observers) + 100))


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}{unit}"
    return f"{value}{unit}"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """An HTML table; cells are already escaped HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def badge(status: str) -> str:
    """A status coloured by the stylesheet (held, failed, slo-failed, error)."""
    return f"<span class='badge {escape(status)}'>{escape(status)}</span>"


def _header(files: RunFiles) -> str:
    run, verdicts = files.run, files.verdicts
    status = verdicts.get("status", "error" if not verdicts else "unknown")
    error = verdicts.get("error")
    system = run.get("system", "?")
    return (
        f"<header><div><h1>{escape(str(run.get('title', files.run_dir.name)))}</h1>"
        f"<p class=sub>{escape(str(run.get('run_id', files.run_dir.name)))} · started "
        f"{escape(str(run.get('started', '?')))} · {escape(str(run.get('family', '?')))} / "
        f"{escape(str(run.get('protocol', '?')))}</p></div>"
        f"<div class=version><span>{escape(str(system))}</span>"
        f"<strong>{escape(str(run.get('version', 'unknown version')))}</strong></div>"
        f"<div class=verdict>{badge(str(status))}</div></header>"
        + (f"<p class='error'>{escape(str(error))}</p>" if error else "")
    )


def _slo_table(verdicts: dict[str, Any]) -> str:
    items = verdicts.get("verdicts") or []
    if not items:
        return "<p class=note>No SLO verdicts recorded.</p>"
    rows = [
        (
            f"<code>{escape(str(v['slo']))}</code>",
            escape(_fmt(v.get("expected"))),
            escape(_fmt(v.get("measured"))),
            badge("held" if v.get("held") else "failed"),
            escape(str(v.get("detail") or "")),
        )
        for v in items
    ]
    return html_table(("SLO", "expected", "measured", "", "detail"), rows)


def _seconds(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / NS:.2f} s"


def _outage(outage: dict[str, Any] | None) -> str:
    if not outage:
        return "none"
    return (
        "never came back" if outage.get("duration_s") is None else _fmt(outage["duration_s"], " s")
    )


def _worst_outage(outages: Sequence[dict[str, Any]]) -> str:
    """The longest client outage; one that never ended is the worst."""
    if not outages:
        return "none"
    if any(o.get("duration_s") is None for o in outages):
        return "never came back"
    return _outage(max(outages, key=lambda o: o["duration_s"]))


def _recovery_tables(metrics: dict[str, Any]) -> str:
    faults = (metrics.get("recovery") or {}).get("faults") or []
    if not faults:
        return "<p class=note>No fault took effect in this run.</p>"
    summary, phases = [], []
    for item in faults:
        f = item["fault"]
        name = escape(f"#{f['fault_id']} {f['kind']} {','.join(f.get('targets', []))}")
        outages = item.get("client_outages") or []
        worst = _worst_outage(outages)
        cluster = _outage(item.get("cluster_outage"))
        summary.append(
            (
                name,
                escape(f"{_seconds(f.get('start_ns'))} → {_seconds(f.get('heal_ns'))}"),
                escape(_fmt(item.get("time_to_detect_s"), " s")),
                escape(cluster),
                escape(worst),
                escape(_fmt(item.get("time_to_recover_s"), " s")),
                escape(_fmt(item.get("time_to_recover_after_heal_s"), " s")),
            )
        )
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
        html_table(
            (
                "fault",
                "window",
                "time to detect",
                "cluster unavailable",
                "worst client unavailable",
                "time to recover",
                "recovery after heal",
            ),
            summary,
        )
        + "<h3>Latency before / during / after</h3>"
        + html_table(("fault", "phase", "operations", "success rate", "p50", "p95", "p99"), phases)
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
            _seconds(invoke.get("time")),
            _seconds(done.get("time")),
            done.get("node") or invoke.get("node") or "",
        )
    )


OP_HEADERS = ("client", "f", "key", "value", "outcome", "result", "invoked", "completed", "node")


def _safety_section(metrics: dict[str, Any]) -> str:
    lost = metrics.get("lost_writes") or {}
    stale = metrics.get("stale_reads") or {}
    lin = metrics.get("linearizability") or {}
    rows = [
        (
            "lost writes",
            escape(_fmt(lost.get("lost_count"))),
            badge("held" if lost.get("ok", True) else "failed"),
        ),
        (
            "stale reads",
            escape(f"{_fmt(stale.get('stale_count'))} of {_fmt(stale.get('reads_checked'))}"),
            badge("held" if stale.get("ok", True) else "failed"),
        ),
        (
            "linearizability",
            escape(str(lin.get("verdict", "not checked"))),
            badge(
                {"linearizable": "held", "non-linearizable": "failed"}.get(
                    lin.get("verdict", ""), "unknown"
                )
            ),
        ),
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
    for key in lost.get("keys") or []:
        if key.get("lost"):
            parts.append(
                f"<h3>Lost writes on key <code>{escape(str(key.get('key')))}</code></h3>"
                + html_table(OP_HEADERS, (_op_cells(p) for p in key["lost"]), "ops")
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
        ("cluster up in", _fmt(run.get("up_seconds"), " s")),
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
h1{margin:0;font-size:22px} h2{margin:0 0 12px;font-size:17px} h3{font-size:14px;margin:16px 0 6px}
.sub,.note{color:#5b6475;margin:4px 0 8px}
.version{text-align:center;border:1px solid #c9d2e3;border-radius:8px;padding:6px 16px}
.version span{display:block;color:#5b6475;font-size:12px;text-transform:uppercase}
.version strong{font-size:24px}
section{background:#fff;margin-top:18px;padding:18px 24px;border-radius:8px;
 box-shadow:0 1px 3px #0002;overflow-x:auto}
table{border-collapse:collapse;width:100%} th,td{padding:5px 10px;text-align:left;
 border-bottom:1px solid #e5e8ee;vertical-align:top} th{background:#f0f2f6;font-weight:600}
table.ops td,table.ops th{font:12px ui-monospace,monospace}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff;
 background:#7a8599}
.badge.held{background:#2e9e4f}.badge.failed,.badge.slo-failed{background:#d62728}
.badge.error{background:#8e44ad}.verdict .badge{font-size:18px;padding:6px 18px}
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
                badge(str(status)),
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
