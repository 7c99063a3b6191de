"""Recovery per fault as tables: every figure of each fault with its definition in the
column's tooltip, then latency before, during and after it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from chaos.checks.availability import Availability
from chaos.checks.detection import Detection
from chaos.checks.recovery import FaultRecovery
from chaos.checks.windows import FaultWindow
from chaos.report.kit import html_table
from chaos.report.predictions import Against, beside
from chaos.report.wording import (
    DEFINITIONS,
    NS,
    clock,
    count,
    fault_label,
    fmt,
    secs,
    window_rank,
    window_text,
)

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
    "views converged",
)
PHASE_HEADERS = ("fault", "phase", "operations", "success rate", "p50", "p95", "p99")


def recovery_table(
    faults: Sequence[FaultRecovery],
    baseline: float | None,
    predicted: Mapping[int, Sequence[Against]] | None = None,
    converged_recorded: bool = True,
) -> str:
    """Every figure of each fault, one row per fault; under detection and unavailability,
    the band the system's model `predicted` (by fault id) and a flag where it lies outside."""
    if not faults:
        return "<p class=note>No fault was injected in this run.</p>"
    rows = []
    for item in faults:
        bands = (predicted or {}).get(item.fault.fault_id, ())
        cells = (
            _bracket_cell(item.fault),
            _detect_cell(item.detection) + beside(bands, "time to detect"),
            escape(secs(item.detection.client_noticed_s)),
            _shard_cell(item.availability) + beside(bands, "worst shard unavailable"),
            _blackouts_cell(item.availability, item.fault.requested_ns),
            _downtime_cell(item.availability),
            _client_cell(item.availability),
            _throughput_cell(item.throughput_recovered_s, baseline),
            _after_heal_cell(item),
            _converged_cell(item) if converged_recorded else "not recorded",
        )
        rows.append((_name(item.fault), *(_unbroken_units(cell) for cell in cells)))
    return (
        "<p class=note>Every figure counts from the fault's request (its heal's, after the"
        " heal), in seconds; hover a column's name for its definition.</p>"
        + html_table(RECOVERY_HEADERS, rows, "figures", DEFINITIONS)
    )


def phases_table(faults: Sequence[FaultRecovery]) -> str:
    """Operations and latency of each fault's phases: before, during and after it."""
    rows = [
        (
            _name(item.fault),
            escape(p.phase),
            escape(fmt(p.operations)),
            escape(fmt(p.success_rate)),
            escape(fmt(p.latency_p50_ms, " ms")),
            escape(fmt(p.latency_p95_ms, " ms")),
            escape(fmt(p.latency_p99_ms, " ms")),
        )
        for item in faults
        for p in item.phases
    ]
    if not rows:
        return "<p class=note>No fault was injected in this run.</p>"
    return html_table(PHASE_HEADERS, rows, titles=DEFINITIONS)


def _name(fault: FaultWindow) -> str:
    return escape(fault_label(fault.fault_id, fault.kind, fault.targets, fault.detail))


def _unbroken_units(cell: str) -> str:
    """A cell's HTML with no line break between a figure and its unit (4.26 s, 25 ms)."""
    return re.sub(r"(\d) (ms|s|µs)\b", r"\1&nbsp;\2", cell)


def _small(text: str) -> str:
    return f"<br><small>{text}</small>" if text else ""


def _bracket_cell(fault: FaultWindow) -> str:
    requested, effective = fault.requested_ns, fault.effective_ns
    proven = f"+{(effective - requested) / 1e6:.0f} ms" if effective is not None else "never proven"
    heal = fault.heal_requested_ns
    healed = f"heal requested {clock(heal)}" if heal is not None else "never healed"
    return escape(f"{clock(requested)} → {proven}") + _small(escape(healed))


def _detect_cell(detection: Detection) -> str:
    """The first peer, by whom, the "not before" bound, all peers, and the rule."""
    rule = f"rule: {detection.rule}"
    if not detection.observable:
        return escape(f"not observable: {detection.note or 'no verdict to see'}")
    if detection.first_s is None:
        return "never" + _small(escape(rule))
    every = detection.all_s
    lines = [
        f"not before {secs(detection.not_before_s)}",
        f"all peers {secs(every) if every is not None else 'never'}",
    ]
    if detection.suspected_s is not None:
        lines.append(f"suspected {secs(detection.suspected_s)}")
    if detection.new_leader:
        lines.append(f"new leader {detection.new_leader}, was {detection.old_leader}")
    lines.append(rule)
    return escape(f"{secs(detection.first_s)} by {detection.first_by or '?'}") + _small(
        "<br>".join(escape(line) for line in lines)
    )


def _shard_cell(availability: Availability) -> str:
    worst = availability.worst_shard
    if worst is None or worst.longest is None:
        return "0 s" + _small("no shard went unserved")
    one_group = len(availability.shards) == 1 and worst.shard == "all"
    name = "one group (all)" if one_group else f"shard {worst.shard}"
    return escape(window_text(worst.longest)) + _small(
        escape(f"{name}, {count(worst.windows, 'window')}")
    )


def _blackouts_cell(availability: Availability, requested_ns: int) -> str:
    blackouts = availability.blackouts
    resolution = availability.resolution_s
    seen = f"resolution {secs(resolution)}" if resolution is not None else ""
    if not blackouts:
        return "none" + _small(escape(seen))
    longest = max(blackouts, key=window_rank)
    listed = [
        f"{window_text(b)} from +{secs((b.start_ns - requested_ns) / NS)}" for b in blackouts[:5]
    ]
    if len(blackouts) == 1:
        listed = [f"from +{secs((longest.start_ns - requested_ns) / NS)}"]
    elif len(blackouts) > 5:
        listed.append(f"and {len(blackouts) - 5} more")
    head = window_text(longest)
    if len(blackouts) > 1:
        head = f"{len(blackouts)} · longest {head}"
    return escape(head) + _small("<br>".join(escape(line) for line in [*listed, seen] if line))


def _downtime_cell(availability: Availability) -> str:
    downtime = availability.node_downtime
    if not downtime:
        return "-" + _small("none taken down")
    longest = max(downtime, key=lambda d: window_rank(d.longest))
    nodes = [
        f"{d.node}: {window_text(d.longest)}"
        f" (clients {', '.join(str(p) for p in d.processes)})"
        + (
            f", back {secs(d.back_after_heal_s)} after heal"
            if d.back_after_heal_s is not None
            else ""
        )
        for d in downtime
    ]
    return escape(window_text(longest.longest)) + _small(
        "<br>".join(escape(line) for line in nodes)
    )


def _client_cell(availability: Availability) -> str:
    worst = max(availability.clients, key=lambda c: window_rank(c.longest), default=None)
    if worst is None or worst.longest is None:
        return "none"
    where = f"client {worst.process}" + (f" on {worst.node}" if worst.node else "")
    return escape(window_text(worst.longest)) + _small(
        escape(f"{where}, {count(worst.windows, 'window')}")
    )


def _throughput_cell(value: float | None, baseline: float | None) -> str:
    if value is not None:
        return escape(secs(value))
    if baseline is None:
        return "-" + _small("no pre-fault baseline")
    return "never" + _small("not within the fault's scope")


def _after_heal_cell(item: FaultRecovery) -> str:
    fault = item.fault
    value = item.recovery_after_heal_s
    if fault.heal_requested_ns is None:
        text = "-" + _small("never healed")
    else:
        text = escape(secs(value)) if value is not None else "never"
    if not fault.heal_issued_recorded:
        text += _small("heal clock late:<br>recorded before heal-requested")
    return text


def _converged_cell(item: FaultRecovery) -> str:
    """Membership convergence after the heal, named apart from recovery after heal."""
    if item.fault.heal_requested_ns is None:
        return "-" + _small("never healed")
    value = item.views_converged_s
    if value is None:
        return "never" + _small("the views did not agree before the run ended")
    return escape(secs(value)) + _small("every view agrees")
