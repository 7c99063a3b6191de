"""The study's page: the claims table first (verdict, condition, deciding numbers, runs), then a
section per claim with its charts, measured against predicted, the mechanism in the words of
the settings that ran, and a link to every run.

Built from the evidence alone (run folders read by `chaos.study.plan`), never from Docker.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path

import plotly.graph_objects as go

from chaos.compare.runs import RunSummary
from chaos.compare.statistics import NEVER
from chaos.report import show
from chaos.report.kit import badge, html_table, page, plot_div, section
from chaos.study.evidence import ClaimEvidence
from chaos.study.figures import FIGURES, shown
from chaos.study.model import Case, Claim, LoadedStudy, ScalingRule
from chaos.study.plan import Ledger
from chaos.study.verdicts import ClaimVerdict, Stat
from chaos.systems import SYSTEMS
from chaos.systems.prediction import Band, FaultShape, Mechanism

OUTCOME_BADGE = {
    "supported": "held",
    "contradicted": "failed",
    "depends": "unknown",
    "not measured": "interrupted",
}
FAMILY_COLOURS = {"consensus": ("#1f5fbf", "#6baed6"), "gossip": ("#c25e00", "#f2a65a", "#8c4a00")}


def version_notes(verdict: ClaimVerdict) -> list[str]:
    """Each system's own warning about the versions a verdict rests on."""
    return [
        note
        for system, versions in verdict.versions.items()
        if system in SYSTEMS and (note := SYSTEMS[system].version_note(list(versions)))
    ]


def _claims_table(evidence: Sequence[ClaimEvidence]) -> str:
    rows = []
    for item in evidence:
        verdict, claim = item.verdict, item.claim
        notes = "".join(
            f"<br><small class=undecided>{escape(n)}</small>" for n in version_notes(verdict)
        )
        numbers = "".join(f"<li>{escape(n)}</li>" for n in verdict.numbers)
        rows.append(
            (
                f"<a href='#claim-{escape(claim.name)}'><strong>{escape(claim.name)}</strong></a>"
                f"<br><span class='family {claim.family}'>{claim.family}</span>"
                f"<br><small>{escape(claim.claim)}</small>",
                badge(OUTCOME_BADGE[verdict.outcome], verdict.outcome),
                f"<small>{escape(verdict.condition)}</small>",
                f"<ul class=numbers>{numbers}</ul>",
                f"{len(verdict.runs)}{notes}",
            )
        )
    return html_table(("claim", "verdict", "condition", "deciding numbers", "runs"), rows)


def _header(
    loaded: LoadedStudy, ledger: Ledger, runs: int, outside: int, created: str, profile: str
) -> str:
    blocks = "".join(
        f"<div class=version><span>{escape(system)}</span><strong>{escape(v)}</strong></div>"
        for system, v in sorted(ledger.versions.items())
    )
    study = loaded.study
    sub = (
        f"{runs} runs ({outside} made outside the study, their suite version unrecorded) · "
        f"profile {escape(profile)} · built {escape(created)} · from {escape(str(loaded.source))}"
    )
    description = f"<p>{escape(study.description)}</p>" if study.description else ""
    return (
        f"<header><div><h1>{escape(study.title)}</h1><p class=sub>{sub}</p>{description}</div>"
        f"<div class=versions>{blocks}</div></header>"
    )


def _mechanism(run: RunSummary, case: Case | None) -> Mechanism | None:
    if run.system not in SYSTEMS:
        return None
    faults = run.faults
    if case is not None and case.fault is not None and case.fault <= len(faults):
        faults = (faults[case.fault - 1],)
    shape = FaultShape.of((str(f.get("kind")), f.get("target")) for f in faults)
    try:
        return SYSTEMS[run.system].mechanism(shape, run.settings, run.nodes)
    except (KeyError, TypeError, ValueError):
        return None


def _band(runs: Sequence[RunSummary], stat: Stat, case: Case) -> Band | None:
    run = next((r for r in runs if r.run_id == stat.samples[0].run_id), None)
    model = _mechanism(run, case) if run else None
    return model.band(case.figure) if model else None


def _plotted(value: float, ceiling: float) -> float:
    return ceiling if value == NEVER else value


def _colour(stat: Stat, order: dict[str, int]) -> str:
    palette = FAMILY_COLOURS.get(stat.family, ("#7a8599",))
    return palette[order[stat.system] % len(palette)]


def _figure(
    verdict: ClaimVerdict, figure: str, runs: Sequence[RunSummary], scaling: bool
) -> go.Figure:
    """Every run's value per case and system (a NEVER drawn at the top as an x), and the band
    the settings predict as a shaded bar."""
    unit = FIGURES[figure].unit
    results = [r for r in verdict.cases if r.case.figure == figure]
    finite = [s.value for r in results for st in r.stats for s in st.samples if s.value != NEVER]
    ceiling = max(finite, default=1.0) * 1.15 or 1.0
    systems = sorted({st.system for r in results for st in r.stats})
    order = {name: i for i, name in enumerate(systems)}
    fig = go.Figure()
    shown_legend: set[str] = set()
    for result in results:
        short = result.case.label.split(":")[0][:40]
        for stat in result.stats:
            colour = _colour(stat, order)
            x_cat = str(stat.nodes) if scaling else stat.system
            group = short if not scaling else f"{short} · {stat.system}"
            values = [s.value for s in stat.samples]
            band = _band(runs, stat, result.case)
            if band is not None:
                fig.add_trace(
                    go.Bar(
                        x=[[group], [x_cat]],
                        y=[band.high_s - band.low_s],
                        base=[band.low_s],
                        marker={"color": colour, "opacity": 0.22},
                        name="predicted band",
                        legendgroup="band",
                        showlegend="band" not in shown_legend,
                        hovertemplate=f"predicted {band.text()}<extra>{stat.system}</extra>",
                    )
                )
                shown_legend.add("band")
            fig.add_trace(
                go.Scatter(
                    x=[[group] * len(values), [x_cat] * len(values)],
                    y=[_plotted(v, ceiling) for v in values],
                    mode="markers",
                    marker={
                        "color": colour,
                        "size": 10,
                        "symbol": ["x" if v == NEVER else "circle" for v in values],
                    },
                    name=stat.system,
                    legendgroup=stat.system,
                    showlegend=stat.system not in shown_legend,
                    text=[f"{s.run_id}: {shown(s.value, unit)}" for s in stat.samples],
                    hovertemplate="%{text}<extra></extra>",
                )
            )
            shown_legend.add(stat.system)
    axis_unit = {"s": "seconds", "count": "count", "share": "share served", "B/s": "bytes/s"}[unit]
    fig.update_layout(
        height=360,
        margin={"l": 60, "r": 20, "t": 30, "b": 80},
        barmode="overlay",
        yaxis={"title": f"{figure} ({axis_unit})", "rangemode": "tozero"},
        xaxis={"title": "cluster size" if scaling else ""},
        legend={"orientation": "h", "y": 1.12},
        plot_bgcolor="#fff",
    )
    return fig


def _cases_table(claim: Claim, verdict: ClaimVerdict, runs: Sequence[RunSummary]) -> str:
    rows = []
    for result in verdict.cases:
        unit = FIGURES[result.case.figure].unit
        bound = " and ".join(
            part
            for part in (
                f"at most {shown(result.case.at_most, unit)}"
                if result.case.at_most is not None
                else "",
                f"at least {shown(result.case.at_least, unit)}"
                if result.case.at_least is not None
                else "",
            )
            if part
        )
        limit = f"; {bound}" if bound else ""
        label = escape(result.case.label) + (
            " <small>(contrast, not weighed)</small>" if result.case.contrast else ""
        )
        where = f"fault {result.case.fault}" if result.case.fault else "worst fault"
        measured = (
            "<br>".join(
                escape(
                    stat.text(unit)
                    + (f" at {stat.nodes} nodes" if isinstance(claim.rule, ScalingRule) else "")
                )
                + (
                    f" <small>predicted {escape(b.text())}</small>"
                    if (b := _band(runs, stat, result.case))
                    else ""
                )
                for stat in result.stats
            )
            or "<span class=undecided>not measured</span>"
        )
        held = "<br>".join(
            badge("held" if item.holds else "failed", "holds" if item.holds else "does not")
            + f" <small>{escape(item.text)}</small>"
            for item in result.items
        )
        rows.append(
            (
                label,
                f"<code>{escape(result.case.figure)}</code> <small>({where}{limit})</small>",
                measured,
                held or "",
            )
        )
    return html_table(
        ("case", "figure", "measured (median [interval], runs)", "weighed"), rows, "figures"
    )


def _mechanisms(claim: Claim, runs: Sequence[RunSummary]) -> str:
    """Per system and settings that ran: how it notices, what stops meanwhile, how it rejoins."""
    seen: dict[tuple[str, str, int], RunSummary] = {}
    for run in runs:
        seen.setdefault((run.system, show(run.settings), run.nodes), run)
    items = []
    for (system, settings, nodes), run in sorted(seen.items()):
        model = _mechanism(run, None)
        if model is None or not model.detects:
            continue
        text = f"{model.detects}; {model.serves}; {model.rejoins}."
        if model.detail:
            text += f" {model.detail}"
        items.append(
            f"<li><strong>{escape(system)}</strong> <small>({escape(run.protocol)}, {nodes} nodes, "
            f"{escape(settings)})</small>: {escape(text)}</li>"
        )
    return (
        f"<h3>The mechanism, from the settings that ran</h3><ul>{''.join(items)}</ul>"
        if items
        else ""
    )


def _run_links(runs: Sequence[RunSummary], out_dir: Path) -> str:
    by_system: dict[str, list[str]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.system, r.run_id)):
        href = Path(os.path.relpath(run.run_dir / "index.html", out_dir)).as_posix()
        by_system[run.system].append(
            f"<a href='{escape(href)}'>{escape(run.run_id)}</a> <small>({escape(run.scenario)}, "
            f"{escape(run.status)})</small>"
        )
    rows = [(escape(system), ", ".join(links)) for system, links in sorted(by_system.items())]
    return "<h3>Every run</h3>" + (
        html_table(("system", "runs"), rows) if rows else "<p class=note>none</p>"
    )


def _claim_section(item: ClaimEvidence, out_dir: Path, figures: dict[str, go.Figure]) -> str:
    claim, verdict = item.claim, item.verdict
    scaling = isinstance(claim.rule, ScalingRule)
    charts = []
    for figure in dict.fromkeys(c.figure for c in claim.rule.cases):
        if not any(r.stats for r in verdict.cases if r.case.figure == figure):
            continue
        name = f"{claim.name}-{figure}".replace("_", "-")
        figures[name] = _figure(verdict, figure, item.runs, scaling)
        charts.append(f"<h3>{escape(FIGURES[figure].description)}</h3>{plot_div(name)}")
    notes = "".join(f"<p class=warn>{escape(n)}</p>" for n in version_notes(verdict))
    caveat = f"<p class=note>{escape(claim.caveat)}</p>" if claim.caveat else ""
    experiments = ", ".join(escape(c.label) for c in item.cells)
    body = (
        f"<p id='claim-{escape(claim.name)}'>"
        f"<span class='family {claim.family}'>{claim.family}</span>: "
        f"<em>{escape(claim.claim)}</em></p>"
        f"<p><strong>Question.</strong> {escape(claim.question)}</p>"
        f"<p><strong>Rule.</strong> {escape(verdict.rule)}</p>{caveat}"
        f"<p class=verdict>{badge(OUTCOME_BADGE[verdict.outcome], verdict.outcome)} "
        f"{escape(verdict.condition)}</p>{notes}"
        f"{_cases_table(claim, verdict, item.runs)}{''.join(charts)}"
        f"{_mechanisms(claim, item.runs)}"
        f"<p class=note>Experiments: {experiments}</p>{_run_links(item.runs, out_dir)}"
    )
    return section(f"{claim.name}: {claim.claim}", body)


def render_study(
    loaded: LoadedStudy,
    evidence: Sequence[ClaimEvidence],
    ledger: Ledger,
    out_dir: Path,
    created: str,
    profile: str,
    library: str | None,
) -> str:
    counted = [c for runs in ledger.counted.values() for c in runs]
    outside = sum(not c.by_study for c in counted)
    figures: dict[str, go.Figure] = {}
    sections = [_claim_section(item, out_dir, figures) for item in evidence]
    body = (
        _header(loaded, ledger, len(counted), outside, created, profile)
        + section(
            "The claims, each tested",
            _claims_table(evidence)
            + "<p class=note>Verdicts are computed from the measured figures by the rule each"
            " claim states below; medians with their order-statistic interval where three"
            " runs or more allow one.</p>",
        )
        + "".join(sections)
    )
    return page(loaded.study.title, body, figures, library)
