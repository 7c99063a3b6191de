"""The top of a run page: what ran, its status, and everything that qualifies the status
(the run's error, why the cluster cannot be believed, failed and undecided SLOs,
findings no SLO judged, figures outside the band the system's model predicted, figures
recomputed or not shown)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from chaos.artefacts import Metrics, RunRecord
from chaos.checks.base import Verdict
from chaos.report.kit import badge, status_badge
from chaos.report.loading import RunFiles
from chaos.report.predictions import flags
from chaos.report.wording import JUDGED_STATUSES, NS, STATUS_LABELS, slo_value


def judged(files: RunFiles) -> dict[str, Verdict]:
    """The SLO verdicts that are judgements, by SLO: none for a run measured, not judged,
    nor for verdicts judged on old figures."""
    verdicts = files.verdicts
    if verdicts is None or verdicts.status not in JUDGED_STATUSES or files.old_schema is not None:
        return {}
    return {v.slo: v for v in files.slos}


def problems(files: RunFiles) -> list[str]:
    """Why the run cannot be believed (verdicts.json `problems`), and every external container
    event of the history that they do not already name (the runner words them this way)."""
    found = list(files.verdicts.problems) if files.verdicts else []
    for event in files.history.externals if files.history else ():
        said = f"{event.node}: {event.action} at {event.time / NS:.2f} s"
        if not any(p.startswith(said) for p in found):
            found.append(f"{said}, not done by the suite")
    return found


def unjudged_findings(metrics: Metrics | None, judged: Mapping[str, Verdict]) -> list[str]:
    """What the safety checks found where no SLO judged it (writes an async store lost)."""
    if metrics is None:
        return []
    found = []
    lost = len(metrics.lost_writes.lost)
    if lost and "lost_writes" not in judged:
        found.append(f"{lost} acknowledged write{'s' if lost != 1 else ''} lost")
    stale = len(metrics.stale_reads.stale)
    if stale and "stale_reads" not in judged:
        found.append(f"{stale} stale read{'s' if stale != 1 else ''}")
    lin = metrics.linearizability
    if lin is not None and lin.verdict == "non-linearizable" and "linearizable" not in judged:
        found.append("not linearizable")
    return [f"{finding}, not judged" for finding in found]


def _slo_list(verdicts: list[Verdict]) -> str:
    return ", ".join(
        f"<code>{escape(v.slo)}</code> measured {escape(slo_value(v.slo, v.measured))}"
        + (f" ({escape(v.detail)})" if v.detail and v.outcome == "unknown" else "")
        for v in verdicts
    )


def run_header(files: RunFiles, run: RunRecord, judged: Mapping[str, Verdict]) -> str:
    verdicts = files.verdicts
    status = verdicts.status if verdicts else "error"
    found = problems(files)
    notes = []
    error = verdicts.error if verdicts else None
    if error and not (status == "unhealthy" and error == "; ".join(found)):
        cls = "note" if status == "interrupted" else "error"
        notes.append(f"<p class='{cls}'>{escape(error)}</p>")
    if found:
        items = "".join(f"<li>{escape(p)}</li>" for p in found)
        notes.append(f"<ul class=problems>{items}</ul>")
    failed = [v for v in judged.values() if v.outcome == "failed"]
    if failed:
        notes.append(f"<p class=error>SLO failed: {_slo_list(failed)}</p>")
    undecided = [v for v in judged.values() if v.outcome == "unknown"]
    if undecided:
        notes.append(f"<p class=undecided>SLO not decided: {_slo_list(undecided)}</p>")
    findings = unjudged_findings(files.metrics, judged)
    if files.metrics is not None:
        findings += flags(run, files.metrics.recovery.faults)
    if findings:
        notes.append(
            "<p class=findings>" + " ".join(badge("measured", f) for f in findings) + "</p>"
        )
    notes += [f"<p class=warn>Not shown: {escape(line)}</p>" for line in files.unreadable.values()]
    badge_html = status_badge(status)
    if files.old_schema is not None:
        shown = (
            "they are not shown"
            if "metrics.json" in files.unreadable
            else "every figure on this page is recomputed from history.jsonl under today's"
            " definitions (docs/metrics.md)"
        )
        notes.append(
            f"<p class=warn>metrics.json is of schema {files.old_schema}, whose figures are"
            f" since found wrong: {shown}. Its status and verdicts were judged on those"
            " figures; <code>chaoslab report</code> judges the run again.</p>"
        )
        badge_html = badge(
            "measured", f"{STATUS_LABELS.get(status, status)}, judged on old figures"
        )
    return (
        "<header class=run><div class=top>"
        f"<div><h1>{escape(run.title or files.run_dir.name)}</h1>"
        f"<p class=sub>{escape(run.run_id)} · started {escape(run.started or '?')} · "
        f"{escape(run.family)} / {escape(run.protocol)}</p></div>"
        f"<div class=version><span>{escape(run.system)}</span>"
        f"<strong>{escape(run.version)}</strong></div>"
        f"<div class=verdict>{badge_html}</div></div>"
        f"{''.join(notes)}</header>"
    )


def damaged_header(files: RunFiles) -> str:
    """The top of the page of a folder whose run.json or verdicts.json cannot be read."""
    lines = "".join(f"<li>{escape(line)}</li>" for line in files.damaged)
    return (
        "<header class=run><div class=top>"
        f"<div><h1>{escape(files.run_dir.name)}</h1>"
        "<p class=sub>This run folder's files cannot be read: no figure or verdict of it"
        " is shown.</p></div>"
        f"<div class=verdict>{status_badge('damaged')}</div></div>"
        f"<ul class=problems>{lines}</ul></header>"
    )
