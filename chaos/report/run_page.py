"""A run's page, `<run>/index.html`, from its folder's files alone: the summary first
(what ran and how it ended, every figure of each fault, the SLOs, data safety), then the
charts that show where those figures happened, then the details and the raw files.

A folder whose run.json or verdicts.json cannot be read gets a page saying which file
and why, and nothing else it could get wrong.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import plotly.graph_objects as go

from chaos.artefacts import Metrics, RunRecord
from chaos.history import Op
from chaos.report.charts import MAX_POINTS, completed, run_charts
from chaos.report.header import damaged_header, judged, run_header
from chaos.report.kit import page, plot_div, section
from chaos.report.library import library_src
from chaos.report.loading import RunFiles, read_files
from chaos.report.predictions import comparisons, predictions_table
from chaos.report.recovery_table import phases_table, recovery_table
from chaos.report.regression import regression_sections
from chaos.report.staleness import staleness_table
from chaos.report.tables import facts_table, raw_links, safety_details, safety_table, slo_table
from chaos.report.traffic import traffic_table
from chaos.report.visibility import visibility_table


def write_run_report(run_dir: Path, single_file: bool = False) -> Path:
    """Write `run_dir/index.html` from the run's files and return its path.

    Its charts load Plotly from the reports folder's shared copy (`run_dir`'s parent,
    `assets/plotly.min.js`, written if missing); `single_file` inlines it instead, for
    a page that travels alone (a ticket, an e-mail).
    """
    files = read_files(run_dir)
    out = run_dir / "index.html"
    if files.damaged or files.run is None:
        out.write_text(damaged_page(files), encoding="utf-8")
        return out
    charts = run_charts(files)
    library = None if single_file or not charts else library_src(out, run_dir.parent)
    out.write_text(render_run(files, files.run, charts, library), encoding="utf-8")
    return out


def damaged_page(files: RunFiles) -> str:
    body = damaged_header(files) + section("Raw files", raw_links(files.run_dir))
    return page(f"{files.run_dir.name}: damaged", body)


def render_run(
    files: RunFiles, run: RunRecord, charts: dict[str, go.Figure], library: str | None
) -> str:
    verdicts = judged(files)
    metrics = files.metrics
    recovery = safety = phases = details = _unmeasured(files)
    measured: list[str] = []
    if metrics is not None:
        faults, baseline = metrics.recovery.faults, metrics.recovery.baseline_served_per_bucket
        converged = "views_converged_s" not in files.unrecorded
        recovery = recovery_table(faults, baseline, comparisons(run, faults), converged)
        if faults:
            recovery += "<h3>Against the system's own model</h3>" + predictions_table(run, faults)
        safety = safety_table(metrics, verdicts)
        phases = phases_table(faults)
        details = safety_details(metrics)
        measured = _read_sections(metrics, charts)
    slos = slo_table(files.verdicts, files.slos, verdicts, files.old_schema)
    body = [
        run_header(files, run, verdicts),
        section("Recovery per fault", recovery),
        section("Service level objectives", slos),
        *regression_sections(files.run_dir),
        section("Safety", safety),
        *measured,
        *_chart_sections(files, run, charts),
        section("Latency before / during / after each fault", phases),
    ]
    if metrics is not None and details:
        body.append(section("Safety: the operations at fault", details))
    body += [
        section("Run", facts_table(run)),
        section("Experiment as run", f"<pre>{escape(files.experiment_text)}</pre>"),
        section("Raw files", raw_links(files.run_dir)),
    ]
    return page(run.title or files.run_dir.name, "\n".join(body), charts, library)


def _read_sections(metrics: Metrics, charts: dict[str, go.Figure]) -> list[str]:
    """Staleness and t-visibility, where the run's workload measured them."""
    sections = []
    if metrics.staleness is not None and metrics.staleness.reads_checked:
        sections.append(section("Staleness of reads", staleness_table(metrics.staleness)))
    if metrics.visibility is not None and "visibility" in charts:
        note = (
            "<p class=note>t-visibility: the probability that a read begun t ms after a write"
            " was acknowledged returned it or a newer value, by when the write was"
            " acknowledged (at rest, during a fault, after its heal); pick a node in the"
            " legend for its own curve.</p>"
        )
        content = note + plot_div("visibility") + visibility_table(metrics.visibility)
        sections.append(section("t-visibility", content))
    return sections


def _unmeasured(files: RunFiles) -> str:
    """Why the run's figures cannot be shown."""
    if "metrics.json" in files.unreadable:
        return f"<p class=warn>Not shown: {escape(files.unreadable['metrics.json'])}.</p>"
    return (
        "<p class=note>No metrics.json: the run ended before it was measured;"
        " <code>chaoslab report</code> measures it from its history.</p>"
    )


def _chart_sections(files: RunFiles, run: RunRecord, charts: dict[str, go.Figure]) -> list[str]:
    if files.history is None:
        why = [line for name, line in files.unreadable.items() if name.startswith("history")]
        text = f"Not drawn: {escape(why[0])}." if why else "This folder has no history.jsonl."
        return [section("Charts", f"<p class=note>{text} Nothing to draw.</p>")]
    refusals = files.refusals_are_service
    sections = []
    if "timeline" in charts:
        note = _timeline_note(run, files.history.ops, refusals)
        sections.append(section("Operations over time", note + plot_div("timeline")))
    if "throughput" in charts:
        note = (
            "<p class=note>Completions per 100 ms by outcome; the line is the share of"
            " completions not served (a <code>fail</code> with an error, or an"
            f" <code>info</code>){'' if refusals else ', refused cas included'}. Dotted: 90 %"
            " of the pre-fault rate, the bar throughput must reach again; dashed: where it"
            " did (throughput recovered).</p>"
        )
        sections.append(section("Throughput and errors per 100 ms", note + plot_div("throughput")))
    if "view" in charts:
        note = (
            "<p class=note>Per observer: how many peers it reports down or suspect (blank: no"
            " answer), with its role and leader changes marked, where the fault was detected"
            " and where every view was whole again after the heal.</p>"
        )
        sections.append(section("The system's own view", note + plot_div("view")))
    if "traffic" in charts:
        note = (
            "<p class=note>Per node: bytes per second exchanged with the other nodes (received"
            " + sent) over each sampling interval; a gap is a node that could not be read"
            " (killed or stopped).</p>"
        )
        traffic = files.metrics.traffic if files.metrics else None
        table = traffic_table(traffic) if traffic else ""
        sections.append(section("Protocol traffic", note + plot_div("traffic") + table))
    if not charts.keys() - {"visibility"}:
        note = "<p class=note>The history holds no operation: nothing to draw.</p>"
        sections.append(section("Charts", note))
    return sections


def _timeline_note(run: RunRecord, ops: list[Op], refusals: bool) -> str:
    note = (
        "<p class=note>Latency of each operation at its invocation time (log scale). Red"
        " bands: each fault, from the suite's request to its heal request; the dotted line"
        " inside is where its effect was proven. Dark bands: whole-cluster blackouts; orange"
        " bar at the bottom: the worst shard's longest window; dashed line: the system's own"
        " detection; black crosses: acknowledged writes the final read lacks."
    )
    total = len(completed(ops))
    if total > MAX_POINTS:
        note += (
            f" Showing a sample of {MAX_POINTS:,} of {total:,} operations; every failure is kept."
        )
    note += "</p>"
    if not refusals:
        note += (
            "<p class=warn>Refused compare-and-sets count as errors in this run, not as service:"
            f" its {escape(run.system)} client refused from a node's unsynced"
            " local copy of the register (run.json <code>rules.refusals_are_service</code> is"
            " false), so a refusal proves nothing about the register's value.</p>"
        )
    return note
