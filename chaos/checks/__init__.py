"""Checks: verdicts and metrics computed from a run's recorded history, never from a cluster."""

from chaos.checks.linearizability import LinearizabilityResult, check_linearizability
from chaos.checks.recovery import RecoveryReport, fault_windows, recovery_metrics
from chaos.checks.safety import LostWritesResult, StaleReadsResult, lost_writes, stale_reads

__all__ = [
    "LinearizabilityResult",
    "LostWritesResult",
    "RecoveryReport",
    "StaleReadsResult",
    "check_linearizability",
    "fault_windows",
    "lost_writes",
    "recovery_metrics",
    "stale_reads",
]
