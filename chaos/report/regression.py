"""The run page's section on its night against the baseline, from the run's regression.json
(chaos.baseline.verdict), written when the run was judged with `--baseline`; absent, no
section."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.errors import ArtefactError
from chaos.report.kit import badge, html_table, section

if TYPE_CHECKING:
    from chaos.baseline.regression import Shift
    from chaos.baseline.verdict import Judgement
    from chaos.compare.statistics import Distribution

TITLE = "Against the baseline"
BADGES = {
    "first": ("measured", "no baseline yet"),
    "held": ("held", "no regression"),
    "regressed": ("failed", "regression"),
    "changed": ("unknown", "changed: not judged"),
}


def regression_sections(run_dir: Path) -> list[str]:
    """The section, or none where the run was not judged against a baseline."""
    # chaos.baseline reads runs as chaos.compare does, which builds its pages with this package.
    from chaos.baseline.verdict import read_verdict

    try:
        record = read_verdict(run_dir)
    except ArtefactError as exc:
        return [section(TITLE, f"<p class=warn>Not shown: {escape(str(exc))}.</p>")]
    if record is None:
        return []
    judgement = record.judgement()
    status, label = BADGES[judgement.outcome]
    head = f"<p>{badge(status, label)} {escape(judgement.headline())}</p>"
    runs = judgement.night.runs
    note = (
        f"<p class=note>This run is one of {len(runs)} judged together, as one night:"
        f" {escape(', '.join(runs))}.</p>"
    )
    if judgement.night.left_out:
        note += f"<p class=note>Left out: {escape(', '.join(judgement.night.left_out))}.</p>"
    table = _table(judgement) if judgement.shifts else ""
    return [section(TITLE, head + note + table)]


def _table(judgement: Judgement) -> str:
    from chaos.baseline.regression import p_text

    rows = [
        [
            escape(shift.figure.label),
            _spread(shift, shift.before),
            _spread(shift, shift.after),
            escape(shift.change()),
            "" if shift.p is None else escape(p_text(shift.p)),
            escape(judgement.mark(shift)),
        ]
        for shift in judgement.shifts
    ]
    headers = ["figure", "baseline", "this night", "change", "one-sided U test", "verdict"]
    return html_table(headers, rows, "figures")


def _spread(shift: Shift, dist: Distribution) -> str:
    show = shift.figure.show
    interval = dist.interval
    bounds = ""
    if interval is not None:
        bounds = f" <small>({escape(show(interval[0]))} - {escape(show(interval[1]))})</small>"
    return f"{escape(show(dist.median))}{bounds} <small>{dist.n} runs</small>"
