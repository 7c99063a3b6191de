"""Experiments as data: one YAML file each, validated completely before anything starts.

A file names a system, its cluster settings, a workload, a fault schedule and
the expectations (SLOs) the run must meet. `load_experiment` turns it into a
frozen `Experiment` or raises `ExperimentError`, one line per problem in the
form `FILE:LINE:COLUMN: FIELD.PATH: what was expected`, so a mistake is found
in seconds at the right line, not after a cluster took a minute to start.
"""

from chaos.experiment.catalogue import (
    CATALOGUE,
    ExperimentError,
    find_experiments,
    load_experiment,
    load_run_experiment,
    parse_experiment,
    review_paths,
    validate_paths,
)
from chaos.experiment.model import (
    FAULT_KINDS,
    SYSTEM_NAMES,
    Expect,
    Experiment,
    Fault,
    ScheduledFault,
)

__all__ = [
    "CATALOGUE",
    "FAULT_KINDS",
    "SYSTEM_NAMES",
    "Expect",
    "Experiment",
    "ExperimentError",
    "Fault",
    "ScheduledFault",
    "find_experiments",
    "load_experiment",
    "load_run_experiment",
    "parse_experiment",
    "review_paths",
    "validate_paths",
]
