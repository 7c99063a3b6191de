"""The run page's other tables: the SLO verdicts, data safety (and the operations at
fault), the run's facts and its raw files. A check reads held, unknown or failed only
where an SLO judged it; elsewhere it was measured, not judged."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from chaos.artefacts import Metrics, RunRecord, Verdicts
from chaos.checks.base import Verdict
from chaos.checks.linearizability import OpPair
from chaos.report.kit import badge, html_table, show
from chaos.report.wording import DEFINITIONS, NOT_JUDGED, SLO_FIGURES, clock, secs, slo_value

RAW_FILES = (
    "experiment.yaml",
    "run.json",
    "history.jsonl",
    "history.jsonl.gz",
    "metrics.json",
    "verdicts.json",
)
LONG_TABLE = 20  # operations listed before a table is folded away
OP_HEADERS = ("client", "f", "key", "value", "outcome", "result", "invoked", "completed", "node")
Judged = Mapping[str, Verdict]


def slo_table(
    verdicts: Verdicts | None, items: Sequence[Verdict], judged: Judged, old_schema: int | None
) -> str:
    if verdicts is None or not items:
        return "<p class=note>No SLO verdicts recorded.</p>"
    old = old_schema is not None
    note = ""
    if old:
        note = (
            "<p class=note>Judged on figures since found wrong: their measurements are not"
            " shown; the recovery and safety sections hold today's.</p>"
        )
    elif not judged:
        note = f"<p class=note>This run's status is {escape(verdicts.status)}: its SLOs were"
        note += " measured, not judged.</p>"
    rows = []
    for v in items:
        definition = DEFINITIONS.get(SLO_FIGURES.get(v.slo, ""), "")
        if v.slo in judged:
            mark = badge(v.outcome)
        else:
            mark = badge("measured", "judged on old figures" if old else NOT_JUDGED)
        rows.append(
            (
                f"<code title='{escape(definition)}'>{escape(v.slo)}</code>",
                escape(slo_value(v.slo, v.expected)),
                "not shown" if old else escape(slo_value(v.slo, v.measured)),
                mark,
                escape(v.detail),
            )
        )
    return note + html_table(("SLO", "expected", "measured", "", "detail"), rows)


def _check_badge(slo: str, judged: Judged, measured: bool = True) -> str:
    """The SLO's outcome where it judged the check; otherwise measured, not judged."""
    verdict = judged.get(slo)
    if verdict is not None:
        return badge(verdict.outcome)
    return badge("measured", NOT_JUDGED if measured else "not measured")


def safety_table(metrics: Metrics, judged: Judged) -> str:
    """One row per safety check: what it found, and whether an SLO judged it."""
    keys = metrics.lost_writes.keys
    acknowledged = sum(k.acknowledged for k in keys)
    unknown = sum(k.unknown_present + k.unknown_absent for k in keys)
    lost_text = (
        f"{len(metrics.lost_writes.lost)} of {acknowledged} acknowledged adds"
        + (f" ({unknown} of unknown outcome, not counted)" if unknown else "")
        if keys
        else "no set was read back: nothing to lose"
    )
    stale = metrics.stale_reads
    lin = metrics.linearizability
    verdict = lin.verdict if lin else "not checked"
    rows = [
        ("lost writes", escape(lost_text), _check_badge("lost_writes", judged, bool(keys))),
        (
            "stale reads",
            escape(f"{len(stale.stale)} of {stale.reads_checked}"),
            _check_badge("stale_reads", judged),
        ),
        ("linearizability", escape(verdict), _check_badge("linearizable", judged, lin is not None)),
    ]
    rows = [
        (f"<span title='{escape(DEFINITIONS[n])}'>{escape(n)}</span>", r, b) for n, r, b in rows
    ]
    return html_table(("check", "result", ""), rows)


def safety_details(metrics: Metrics) -> str:
    """The operations at fault: each counterexample, stale read and lost write."""
    parts = []
    for key in metrics.linearizability.keys if metrics.linearizability else ():
        if not key.counterexample:
            continue
        minimal = "minimal" if key.minimal else "not minimal"
        parts.append(
            f"<h3>Counterexample on key <code>{escape(str(key.key))}</code>"
            f" ({minimal})</h3><p>{escape(key.explanation)}</p>" + _ops_table(key.counterexample)
        )
    for read in metrics.stale_reads.stale:
        parts.append(
            "<h3>Stale read</h3>"
            + _ops_table([read.read])
            + "<p>missed:</p>"
            + _ops_table(read.missed)
        )
    for lost in metrics.lost_writes.keys:
        if lost.lost:
            table = _ops_table(lost.lost)
            parts.append(
                f"<h3>Lost writes on key <code>{escape(str(lost.key))}</code></h3>"
                + (
                    f"<details><summary>all {len(lost.lost)}</summary>{table}</details>"
                    if len(lost.lost) > LONG_TABLE
                    else table
                )
            )
    return "".join(parts)


def _ops_table(pairs: Sequence[OpPair]) -> str:
    return html_table(OP_HEADERS, (_op_cells(pair) for pair in pairs), "ops")


def _op_cells(pair: OpPair) -> tuple[str, ...]:
    invoke, done = pair
    return tuple(
        escape(str(v))
        for v in (
            invoke.process,
            invoke.f,
            invoke.key,
            json.dumps(invoke.value, default=str),
            done.type if done else "pending",
            json.dumps(done.value if done else None, default=str),
            clock(invoke.time),
            clock(done.time if done else None),
            (done.node if done else None) or invoke.node or "",
        )
    )


def facts_table(run: RunRecord) -> str:
    facts: list[tuple[str, Any]] = [
        ("system", run.system),
        ("version", run.version),
        ("family / protocol", f"{run.family} / {run.protocol}"),
        ("image source", run.image_source),
        ("images", run.images or None),
        ("settings", run.settings),
        ("driver", run.driver or None),
        ("nodes", ", ".join(f"{n.name} ({n.ip or '?'})" for n in run.nodes)),
        ("seed / repeat", f"{run.seed} / {run.repeat}"),
        ("cluster up in", secs(run.up_seconds) if run.up_seconds else None),
        ("final health", run.final_health),
    ]
    rows = [
        (escape(name), f"<code>{escape(show(value))}</code>")
        for name, value in facts
        if value not in (None, "")
    ]
    return html_table(("fact", "value"), rows, "facts")


def raw_links(run_dir: Path) -> str:
    links = [
        f"<li><a href='{escape(name)}'>{escape(name)}</a></li>"
        for name in RAW_FILES
        if (run_dir / name).exists()
    ]
    return f"<ul>{''.join(links)}</ul>"
