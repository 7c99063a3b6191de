"""Each fault's measurements beside what the system's own model predicted for it (run.json
`predictions`, chaos.experiment.predictions), and the flag of one outside its band.

The flag is for a reader, never an SLO failure: a measurement outside the band says the
model, the settings or the measurement deserve a look (a detection later than Raft's
[T, 2T) allows, a conviction sooner than phi accrual can reach its threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from chaos.artefacts import PredictionRecord, RunRecord
from chaos.checks.recovery import FaultRecovery
from chaos.report.kit import badge, html_table
from chaos.report.wording import DEFINITIONS, NS, fault_label, secs
from chaos.systems.prediction import SAMPLING_S, Band

OUTSIDE = "outside the predicted band"
NOT_RECORDED = (
    "<p class=note>Not recorded: this run's run.json predates the predictions the suite"
    " records with every run.</p>"
)
HEADERS = ("fault", "figure", "predicted", "measured", "", "the system's model")


@dataclass(frozen=True)
class Against:
    """One figure of one fault against its predicted band. `measured` None: never seen
    (never detected, or never served again: `at_least` how long it had lasted); `outside`
    only where the run shows it: a fault healed before the band's end proves nothing by a
    detection it never saw."""

    figure: str
    band: Band
    measured: float | None
    at_least: float | None
    outside: bool

    def text(self) -> str:
        if self.measured is not None:
            return secs(self.measured)
        if self.at_least is not None:
            return f"never (≥ {secs(self.at_least)})"
        return "never"


def _outside(band: Band, measured: float | None, lasted_s: float) -> bool:
    """A measurement outside the band (allowing for the views' sampling); one never seen
    only once the run lasted past the band's end."""
    if measured is None:
        return lasted_s > band.high_s + SAMPLING_S
    return not band.holds(measured)


def against(prediction: PredictionRecord, item: FaultRecovery) -> tuple[Against, ...]:
    """Time to detect and the worst shard's unavailability against their bands, where the
    model predicts one and the run could see the figure."""
    fault = item.fault
    lasted = (fault.end_ns - fault.requested_ns) / NS
    found = []
    detection = item.detection
    if prediction.detect is not None and detection.observable:
        band, measured = prediction.detect.band(), detection.first_s
        found.append(
            Against("time to detect", band, measured, None, _outside(band, measured, lasted))
        )
    if prediction.unavailable is not None:
        band = prediction.unavailable.band()
        worst = item.availability.worst_shard
        window = worst.longest if worst else None
        measured = 0.0 if window is None else window.duration_s
        lasted = 0.0 if window is None else window.at_least_s
        at_least = None if window is None else window.at_least_s
        outside = _outside(band, measured, lasted)
        found.append(Against("worst shard unavailable", band, measured, at_least, outside))
    return tuple(found)


def comparisons(
    run: RunRecord, faults: Sequence[FaultRecovery]
) -> dict[int, tuple[Against, ...]] | None:
    """By fault id, each fault's figures against their bands; None where the run recorded
    no predictions (runs from before they were)."""
    if run.predictions is None:
        return None
    found = {}
    for item in faults:
        prediction = run.prediction(item.fault.fault_id)
        if prediction is not None:
            found[item.fault.fault_id] = against(prediction, item)
    return found


def flags(run: RunRecord, faults: Sequence[FaultRecovery]) -> list[str]:
    """One line per figure outside its band, for the page's header."""
    return [
        f"{entry.figure} of #{fault_id} {entry.text()}, {OUTSIDE} {entry.band.text()}"
        for fault_id, entries in (comparisons(run, faults) or {}).items()
        for entry in entries
        if entry.outside
    ]


def beside(entries: Sequence[Against], figure: str) -> str:
    """The band under a recovery table's figure, and the flag where it lies outside."""
    entry = next((e for e in entries if e.figure == figure), None)
    if entry is None:
        return ""
    flag = f"<br>{badge('measured', OUTSIDE)}" if entry.outside else ""
    return f"<br><small>predicted {escape(entry.band.text())}</small>{flag}"


def predictions_table(run: RunRecord, faults: Sequence[FaultRecovery]) -> str:
    """Per fault: each predicted band beside the measurement, and the model's clauses."""
    found = comparisons(run, faults)
    if found is None:
        return NOT_RECORDED
    rows = []
    for item in faults:
        prediction = run.prediction(item.fault.fault_id)
        if prediction is None:
            continue
        fault = item.fault
        name = escape(fault_label(fault.fault_id, fault.kind, fault.targets, fault.detail))
        entries = found.get(fault.fault_id, ())
        if not entries:
            rows.append((name, "-", "no band at these settings", "-", "", ""))
        clauses = {
            "time to detect": prediction.detects,
            "worst shard unavailable": prediction.serves,
        }
        for entry in entries:
            mark = badge("measured", OUTSIDE) if entry.outside else ""
            clause = escape(clauses[entry.figure])
            cells = (escape(entry.figure), escape(entry.band.text()), escape(entry.text()))
            rows.append((name, *cells, mark, clause))
            name = ""
    if not rows:
        return "<p class=note>No fault was injected in this run.</p>"
    note = (
        "<p class=note>What the system's own settings predict (run.json"
        " <code>predictions</code>, at the settings and size that ran), beside what was"
        " measured. A measurement outside its band is flagged for a look, never judged as"
        " an SLO.</p>"
    )
    return note + html_table(HEADERS, rows, "figures", {"predicted": DEFINITIONS["predicted"]})
