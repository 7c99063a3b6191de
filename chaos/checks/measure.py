"""Every check a run has, from its history alone: the content of `metrics.json`."""

from __future__ import annotations

from collections.abc import Sequence

from chaos.artefacts import Metrics
from chaos.checks.compose import CHECKS
from chaos.checks.rules import Rules
from chaos.checks.traffic import traffic_metrics
from chaos.history import History


def measure(history: History, rules: Rules, checks: Sequence[str] | None = None) -> Metrics:
    """Run the named checks (all of them by default) and hold their results together;
    a check not run holds its empty result, so a report never confuses it with a pass.
    Protocol traffic is measured whatever the checks: it belongs to no workload and
    judges nothing."""
    names = tuple(checks) if checks is not None else tuple(CHECKS)
    results = {name: CHECKS[name].measure(history, rules) for name in names}
    empty = {
        "recovery": CHECKS["recovery"].measure(History(), rules),
        "lost-writes": CHECKS["lost-writes"].measure(History(), rules),
        "stale-reads": CHECKS["stale-reads"].measure(History(), rules),
    }
    return Metrics(
        operations=sum(op.type == "invoke" for op in history.ops),
        success_rate=results.get("success-rate"),
        recovery=results.get("recovery", empty["recovery"]),
        lost_writes=results.get("lost-writes", empty["lost-writes"]),
        stale_reads=results.get("stale-reads", empty["stale-reads"]),
        linearizability=results.get("linearizability"),
        staleness=results.get("staleness"),
        visibility=results.get("visibility"),
        traffic=traffic_metrics(history),
        checks=names,
    )


def results_of(metrics: Metrics) -> dict[str, object]:
    """The metrics as each check's result, by check name, for judging."""
    return {
        "recovery": metrics.recovery,
        "lost-writes": metrics.lost_writes,
        "stale-reads": metrics.stale_reads,
        "linearizability": metrics.linearizability,
        "success-rate": metrics.success_rate,
        "staleness": metrics.staleness,
        "visibility": metrics.visibility,
    }
