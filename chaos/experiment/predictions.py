"""What a system's own model predicts for an experiment's faults, known before anything starts.

The model is the system's `mechanism` (chaos/systems/prediction.py) at the
experiment's settings and cluster size. It lets `validate` and `run` warn of a
fault that heals before the system could notice it: such a run measures the
restart, not the failure detector (a node killed for 10 s where phi accrual
convicts after ~18 s is convicted only because its restart takes longer).
"""

from __future__ import annotations

from chaos.experiment.model import Experiment, Fault
from chaos.systems import SYSTEMS
from chaos.systems.prediction import FaultShape, Mechanism


def fault_mechanism(experiment: Experiment, fault: Fault) -> Mechanism:
    """The system's model of one fault at the experiment's settings and size."""
    system = SYSTEMS[experiment.system]
    settings = system.defaults() | dict(experiment.cluster.settings)
    nodes = experiment.cluster.nodes or system.default_nodes
    shape = FaultShape.of([(fault.kind, getattr(fault, "target", None))])
    return system.mechanism(shape, settings, nodes)


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
