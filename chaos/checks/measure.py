"""Every metric of a run, from its history alone: the content of `metrics.json`."""

from __future__ import annotations

from typing import Any

from chaos.checks.linearizability import check_linearizability
from chaos.checks.recovery import RecoveryReport, Rules, recovery_metrics
from chaos.checks.safety import lost_writes, stale_reads
from chaos.history import History, pair_operations, served

# The figures' definitions changed at 2 (see chaos.artefacts): older metrics are recomputed.
METRICS_SCHEMA = 2


def success_rate(history: History, refusals: bool = True) -> float | None:
    """Share of workload operations served: ok, or a real refusal such as a failed cas."""
    pairs = [(a, b) for a, b in pair_operations(history.ops) if a.f != "final-read"]
    if not pairs:
        return None
    return sum(served(b, refusals) for _, b in pairs) / len(pairs)


def measure(
    history: History, linearizability: bool, rules: Rules | None = None
) -> tuple[dict[str, Any], RecoveryReport]:
    """Metrics as JSON-ready data, and the recovery report the SLOs are judged on."""
    rules = rules or Rules()
    recovery = recovery_metrics(history, rules)
    lost = lost_writes(history)
    stale = stale_reads(history)
    metrics: dict[str, Any] = {
        "schema_version": METRICS_SCHEMA,
        "operations": sum(op.type == "invoke" for op in history.ops),
        "success_rate": success_rate(history, rules.refusals_are_service),
        "recovery": recovery.to_dict(),
        "lost_writes": {**lost.to_dict(), "lost_count": len(lost.lost)},
        "stale_reads": {**stale.to_dict(), "stale_count": len(stale.stale)},
        "linearizability": {"verdict": "not checked"},
    }
    if linearizability:
        metrics["linearizability"] = check_linearizability(history).to_dict()
    return metrics, recovery
