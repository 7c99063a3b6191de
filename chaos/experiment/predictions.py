"""What a system's own model predicts for an experiment's faults, known before anything starts.

The model is the system's `mechanism` (chaos/systems/prediction.py) at the
experiment's settings and cluster size. It lets `validate` and `run` warn of a
fault that heals before the system could notice it: such a run measures the
restart, not the failure detector (a node killed for 10 s where phi accrual
convicts after ~18 s is convicted only because its restart takes longer). The
runner records the same prediction for every fault in run.json (`predictions`),
so the report can put each band beside what was measured.
"""

from __future__ import annotations

from typing import Any

from chaos.experiment.model import Experiment, Fault
from chaos.systems import SYSTEMS
from chaos.systems.prediction import Band, FaultShape, Mechanism


def mechanism_at(system: str, fault: Fault, settings: dict[str, Any], nodes: int) -> Mechanism:
    """The system's model of one fault at these settings (the defaults filling the rest)."""
    model = SYSTEMS[system]
    shape = FaultShape.of([(fault.kind, getattr(fault, "target", None))])
    return model.mechanism(shape, model.defaults() | settings, nodes)


def fault_mechanism(experiment: Experiment, fault: Fault) -> Mechanism:
    """The system's model of one fault at the experiment's settings and size."""
    return mechanism_at(
        experiment.system, fault, dict(experiment.cluster.settings), experiment.nodes
    )


def _band(band: Band | None) -> dict[str, float] | None:
    return None if band is None else {"low_s": band.low_s, "high_s": band.high_s}


def run_predictions(
    experiment: Experiment, settings: dict[str, Any], nodes: int
) -> list[dict[str, Any]]:
    """run.json's `predictions`: per fault of the file (`fault` is its index), the bands the
    system's model gives for detection and unavailability at the settings and size that run,
    and the mechanism's clauses; a band is None where the model predicts none."""
    predictions = []
    for index, fault in enumerate(experiment.faults):
        model = mechanism_at(experiment.system, fault, settings, nodes)
        predictions.append(
            {
                "fault": index,
                "kind": fault.kind,
                "detect": _band(model.detect),
                "unavailable": _band(model.unavailable),
                "detects": model.detects,
                "serves": model.serves,
                "rejoins": model.rejoins,
                "detail": model.detail,
            }
        )
    return predictions


def _shortest_duration(fault: Fault) -> float | None:
    drawn = fault.random.duration if fault.random else None
    return drawn[0] if drawn else fault.duration


def early_heals(experiment: Experiment) -> list[str]:
    """`faults[i]: ...` for each fault that may heal before the system's model says it is
    detected: before the band's low edge (it cannot be), or inside the band (it may not be)."""
    warnings = []
    for index, fault in enumerate(experiment.faults):
        duration = _shortest_duration(fault)
        band = fault_mechanism(experiment, fault).detect
        if duration is None or band is None or duration >= band.high_s:
            continue
        verdict = "before" if duration < band.low_s else "possibly before"
        warnings.append(
            f"faults[{index}]: {fault.kind} heals after {duration:g}s, {verdict} "
            f"{experiment.system}'s own model detects it ({band.text()} at these settings)"
        )
    return warnings
