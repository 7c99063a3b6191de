"""The run page's staleness: how many register reads returned an overwritten value, how many
versions behind and for how long (chaos.checks.staleness), overall, by read mode and by
node. Measured, never judged here: its SLOs, where an experiment sets them, are in the SLO
table."""

from __future__ import annotations

from html import escape

from chaos.checks.staleness import Staleness, StalenessResult
from chaos.report.kit import html_table
from chaos.report.wording import DEFINITIONS, fmt

HEADERS = ("reads", "stale", "versions behind", "stale for")
STALEST_SHOWN = 5


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _row(name: str, found: Staleness) -> tuple[str, ...]:
    share = escape(f"{found.stale} of {found.reads}")
    if not found.stale:
        return (escape(name), share, "-", "-")
    versions = (
        f"max {found.versions_behind_max}"
        f"<br><small>p50 {fmt(found.versions_behind_p50)} · p99"
        f" {fmt(found.versions_behind_p99)}</small>"
    )
    stale_for = (
        f"max {escape(_ms(found.stale_ms_max))}"
        f"<br><small>p50 {escape(_ms(found.stale_ms_p50))} · p99"
        f" {escape(_ms(found.stale_ms_p99))}</small>"
    )
    return (escape(name), share, versions, stale_for)


def staleness_table(result: StalenessResult) -> str:
    """One line where no read was stale; else a row for every read, one per read mode and
    one per node, then the stalest reads."""
    modes = ", ".join(result.by_mode) or "none"
    if not result.stale_count:
        return (
            f"<p>0 of {result.reads_checked:,} register reads were stale"
            f" (read mode: {escape(modes)}).</p>"
        )
    rows = [_row("every register read", result.overall)]
    rows += [_row(f"mode {mode}", found) for mode, found in result.by_mode.items()]
    rows += [_row(f"on {node}", found) for node, found in result.by_node.items()]
    titles = {
        "stale": DEFINITIONS["stale reads (staleness)"],
        "versions behind": DEFINITIONS["versions behind"],
        "stale for": DEFINITIONS["stale for"],
    }
    table = html_table(HEADERS, rows, "figures", titles)
    stalest = [
        f"<li>client {s.process} on {escape(s.node or 'the driver')} read"
        f" <code>{escape(str(s.key))}</code> at {s.invoked_s:.2f} s"
        f" ({escape(s.mode or 'mode not recorded')}): {s.versions_behind} versions behind,"
        f" overwritten {escape(_ms(s.stale_ms))} before</li>"
        for s in result.stalest[:STALEST_SHOWN]
    ]
    listed = f"<h3>The stalest reads</h3><ul>{''.join(stalest)}</ul>" if stalest else ""
    note = (
        "<p class=note>Reads served from a node's own copy (a weak read mode) may return an"
        " overwritten value; this is what such modes trade for speed and availability, so it"
        " is measured, not judged, unless the experiment sets <code>max_stale_reads</code> or"
        " <code>max_staleness</code>.</p>"
    )
    return note + table + listed
