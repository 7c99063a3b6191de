"""`trend.html`: for each experiment of a baseline folder, each figure over its nights (the
median with its order-statistic interval), each night that ran on another version, image
source, settings, cluster size or experiment body than the night before marked where it
starts, and regressions in red.

Built from the baseline folder alone (chaos.baseline.store), with the page kit of the run
reports; its charts load the shared Plotly copy of the folder the page is written to.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chaos.baseline.figures import FIGURES, Figure
from chaos.baseline.night import Night
from chaos.baseline.regression import ALPHA, MIN_RELATIVE, MIN_RUNS
from chaos.baseline.store import ExperimentRecord, Store
from chaos.compare.statistics import NEVER
from chaos.report import badge, html_table, page, plot_div, section
from chaos.report.library import library_src

TREND_FILE = "trend.html"
COLOURS = {"regressed": "#d62728", "changed": "#e07b00", "night": "#1f5fbf"}
OUTCOME_BADGES = {
    "first": ("measured", "first night"),
    "held": ("held", "no regression"),
    "regressed": ("failed", "regression"),
    "changed": ("unknown", "changed"),
}
METHOD = (
    "<p class=note>One point per night: the median of the night's runs, its bar the"
    " order-statistic interval for it (min-max below 6 runs). A night is tested against the"
    " baseline, the last night without a regression that counted at least"
    f" {MIN_RUNS} runs on the same version, image source, settings, cluster size and"
    " experiment: a figure regressed (red, and the night shaded) when a one-sided"
    f" Mann-Whitney U test gives p ≤ {ALPHA:g} and its median grew by at least"
    f" {MIN_RELATIVE * 100:.0f} % and the figure's floor. A dashed orange line marks a night"
    " that ran on something else than the night before. A night on a configuration with no"
    " baseline yet is judged against the latest baseline and reported as that change"
    " (orange), never as a regression; it starts its configuration's baseline.</p>"
)


def write_trend(store: Store, out: Path) -> Path:
    """Write the trend page of every experiment in `store` to `out`; return its path."""
    records = [record for record in store.records() if record.nights]
    figures = {f"trend-{i}": trend_figure(record) for i, record in enumerate(records)}
    parts = [section("Nightly trend", METHOD + _summary(store, records))]
    parts += [
        section(record.experiment, plot_div(f"trend-{i}") + nights_table(record))
        for i, record in enumerate(records)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    library = library_src(out, out.parent) if figures else None
    out.write_text(page("chaoslab: trend", "\n".join(parts), figures, library), encoding="utf-8")
    return out


def _summary(store: Store, records: list[ExperimentRecord]) -> str:
    if not records:
        return f"<p class=warn>No night is recorded in {escape(str(store.folder))} yet.</p>"
    regressed = [r.experiment for r in records if r.nights[-1].outcome == "regressed"]
    last = max(r.nights[-1].started for r in records)
    count = f"{len(records)} experiment{'s' if len(records) != 1 else ''}"
    text = f"{count}; the latest night {escape(last)}."
    if regressed:
        text += f" Regressed on its latest night: {escape(', '.join(regressed))}."
    return f"<p>{text}</p>"


def _label(night: Night) -> str:
    """The night's start, to the minute: '2026-12-03 02:23'."""
    return night.started[:16].replace("T", " ")


def trend_figure(record: ExperimentRecord) -> go.Figure:
    """One row per figure the nights measured, the nights along a shared axis."""
    nights = record.nights
    shown = [f for f in FIGURES if any(f.name in n.values for n in nights)]
    fig = make_subplots(
        rows=max(len(shown), 1),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[f"{f.label} ({f.unit})" for f in shown],
    )
    moved = changes_between(nights)
    baselines = {night.id for night in record.baseline_nights()}
    for row, figure in enumerate(shown, start=1):
        fig.add_trace(_medians(nights, moved, figure, baselines), row=row, col=1)
    for index, night in enumerate(nights):
        if night.outcome == "regressed":
            fig.add_vrect(
                x0=index - 0.4,
                x1=index + 0.4,
                fillcolor=COLOURS["regressed"],
                opacity=0.1,
                line_width=0,
                row="all",
                col=1,
            )
        if moved[index]:
            fig.add_vline(
                x=index - 0.5, line_dash="dash", line_color=COLOURS["changed"], row="all", col=1
            )
            fig.add_annotation(
                x=index - 0.5,
                y=1.0,
                xref="x",
                yref="paper",
                yanchor="bottom",
                yshift=24,  # above the first figure's title
                xanchor="left",
                showarrow=False,
                text=escape("; ".join(moved[index])),
                font={"color": COLOURS["changed"], "size": 11},
            )
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(len(nights))),
        ticktext=[escape(_label(n)) for n in nights],
        range=[-0.6, len(nights) - 0.4],
    )
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=170 * max(len(shown), 1) + 110,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        template="plotly_white",
        showlegend=False,
    )
    return fig


def changes_between(nights: tuple[Night, ...]) -> list[tuple[str, ...]]:
    """What each night ran differently from the night before it (the first: nothing)."""
    return [(), *(night.changes_from(before) for before, night in pairwise(nights))]


def _medians(
    nights: tuple[Night, ...],
    moved: list[tuple[str, ...]],
    figure: Figure,
    baselines: set[str],
) -> go.Scatter:
    x: list[float] = []
    y: list[float | None] = []
    up: list[float | None] = []
    down: list[float | None] = []
    colours: list[str] = []
    hover: list[str] = []
    for index, night in enumerate(nights):
        dist = night.distribution(figure.name)
        if dist is None or dist.median == NEVER:
            continue
        if moved[index] and x:
            x.append(index - 0.5)  # no line across a change: what it joins is not comparable
            y.append(None)
            up.append(None)
            down.append(None)
            colours.append(COLOURS["changed"])
            hover.append("")
        interval = dist.interval
        low, high = (interval[0], interval[1]) if interval else (dist.median, dist.median)
        x.append(index)
        y.append(dist.median)
        down.append(dist.median - low)
        up.append(0.0 if high == NEVER else high - dist.median)
        colours.append(_colour(night, figure))
        bounds = f"{figure.show(low)} - {figure.show(high)}" if interval else "no interval"
        role = ", a baseline" if night.id in baselines else ""
        hover.append(
            escape(
                f"{_label(night)}: median {figure.show(dist.median)} ({bounds}), {dist.n} runs; "
                f"{OUTCOME_BADGES[night.outcome or 'first'][1]}{role}"
            )
        )
    return go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        connectgaps=False,
        line={"color": "#9aa5b8", "width": 1},
        marker={
            "color": colours,
            "size": [13 if c == COLOURS["regressed"] else 9 for c in colours],
        },
        error_y={"type": "data", "array": up, "arrayminus": down, "color": "#9aa5b8"},
        hovertext=hover,
        hoverinfo="text",
        name=figure.label,
    )


def _colour(night: Night, figure: Figure) -> str:
    if figure.name in night.regressed:
        return COLOURS["regressed"]
    return COLOURS["changed"] if night.outcome == "changed" else COLOURS["night"]


def nights_table(record: ExperimentRecord) -> str:
    """Every night, newest first: what it ran on, its verdict, each figure's median."""
    shown = [f for f in FIGURES if any(f.name in n.values for n in record.nights)]
    baselines = {night.id for night in record.baseline_nights()}
    rows = []
    for night in reversed(record.nights):
        status, label = OUTCOME_BADGES[night.outcome or "first"]
        verdict = badge(status, label)
        if night.id in baselines:
            verdict += " " + badge("measured", "baseline")
        runs = str(len(night.runs))
        if night.left_out:
            runs += f" <small>(left out: {escape(', '.join(night.left_out))})</small>"
        cells = [
            escape(_label(night)),
            runs,
            escape(night.describe()),
            verdict,
            escape("; ".join(night.changes)),
        ]
        for figure in shown:
            dist = night.distribution(figure.name)
            text = "" if dist is None else figure.show(dist.median)
            cells.append(
                f"<strong class=error>{text}</strong>" if figure.name in night.regressed else text
            )
        rows.append(cells)
    headers = [
        "night",
        "runs",
        "ran on",
        "verdict",
        "changed from its baseline",
        *(f.label for f in shown),
    ]
    return html_table(headers, rows, "figures")
