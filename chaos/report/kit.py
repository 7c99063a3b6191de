"""The HTML kit every page is built with (run reports, the runs index, comparisons), so
they look alike: a page with its stylesheet and chart boot script, titled sections,
tables, badges, and where a chart goes.

Cells and section contents are HTML already escaped by the caller; titles, labels
and header names are escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

from chaos.report.library import library_tag
from chaos.report.wording import STATUS_LABELS

PLOT_BOOT = """
const holders = document.querySelectorAll('script[data-figure]');
if (holders.length && !window.Plotly) {
  const from = document.querySelector('script[data-library]').getAttribute('src');
  for (const div of document.querySelectorAll('div.plot')) {
    div.className = 'warn';
    div.textContent = 'Chart not drawn: its library ' + from + ' is missing next to this'
      + ' page (chaoslab report RUN_DIR --single-file writes a page that carries it).';
  }
} else {
  for (const holder of holders) {
    const spec = JSON.parse(holder.textContent);
    const div = document.getElementById('plot-' + holder.dataset.figure);
    Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false});
  }
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
.badge.unknown{background:#f2b134;color:#3d2c00}
.badge.unhealthy{background:#e4572e}.badge.error{background:#8e44ad}
.badge.interrupted{background:#7a8599}.badge.damaged{background:#3a4150}
.badge.measured{background:#eef1f6;color:#3a4150;border:1px solid #c9d2e3;font-weight:500}
.verdict .badge{font-size:18px;padding:6px 18px}
.findings .badge{margin-right:6px}
.error,.damaged{color:#d62728;font-weight:600}
.undecided{color:#8a6100;font-weight:600}
pre{background:#f0f2f6;padding:12px;border-radius:6px;overflow-x:auto}
code{font:12px ui-monospace,monospace}
a{color:#1f5fbf}
.versions{display:flex;gap:8px;flex-wrap:wrap}
.warn{background:#fff4e0;border-left:4px solid #e07b00;padding:8px 12px;margin:12px 0 0}
.family{font-weight:600}.family.consensus{color:#1f5fbf}.family.gossip{color:#c25e00}
"""


def section(title: str, content: str) -> str:
    """A titled card; `content` is already escaped HTML."""
    return f"<section><h2>{escape(title)}</h2>{content}</section>"


def plot_div(name: str) -> str:
    """Where `page` draws the figure it was given under `name`."""
    return f"<div class=plot id='plot-{name}' data-figure='{name}'></div>"


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
    """A status coloured by the stylesheet (held, failed, slo-failed, unknown, unhealthy,
    error, interrupted, damaged, measured), showing `label` (default: the status itself)."""
    return f"<span class='badge {escape(status)}'>{escape(label or status)}</span>"


def status_badge(status: str) -> str:
    """A run's status as its own badge: an interrupted run reads "measured, not judged"."""
    return badge(status, STATUS_LABELS.get(status, status))


def show(value: Any) -> str:
    """Settings and other small mappings as `key=value, ...`, nested ones inline."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items()) or "(defaults)"
    return str(value)


def _script_json(text: str) -> str:
    """JSON safe inside a <script> element."""
    return text.replace("</", "<\\/")


def page(
    title: str,
    body: str,
    figures: dict[str, go.Figure] | None = None,
    library: str | None = None,
) -> str:
    """A whole HTML page that opens with no network, its figures as JSON.

    Plotly's script is loaded from `library` (a relative path: the copy the pages of
    one reports folder share, `chaos.report.library`) or, with None, inlined once so
    the page stands alone. A page without figures carries no script.
    """
    scripts = ""
    if figures:
        specs = "".join(
            f"<script type='application/json' data-figure='{name}'>"
            f"{_script_json(fig.to_json())}</script>"
            for name, fig in figures.items()
        )
        scripts = f"{library_tag(library)}{specs}<script>{PLOT_BOOT}</script>"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main>{scripts}</body></html>"
    )
