"""Linearizability of register histories, with a minimal counterexample when it fails.

Every key is an independent register, and a history is linearizable exactly
when each key's sub-history is (P-compositionality), so keys are checked one
by one: the search space is per key, not per history.

The parts: `calls` (what an operation means to the search), `cuts` (which subsets of a
key's operations may be judged alone), `search` (the search itself), `shrink` (a minimal
counterexample and its explanation).
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.checks.linearizability.calls import (
    REGISTER_FUNCTIONS,
    Call,
    OpPair,
    calls_by_key,
    freeze,
)
from chaos.checks.linearizability.cuts import Cuts
from chaos.checks.linearizability.search import run
from chaos.checks.linearizability.shrink import explain, shrink
from chaos.history import History

__all__ = [
    "REGISTER_FUNCTIONS",
    "KeyResult",
    "LinearizabilityResult",
    "OpPair",
    "Verdict",
    "check_linearizability",
    "freeze",
]

Verdict = Literal["linearizable", "non-linearizable", "unknown"]


@dataclass(frozen=True)
class KeyResult:
    """One key's verdict; on failure a small set of its operations that is already wrong."""

    key: str | None
    verdict: Verdict
    operations: int
    counterexample: tuple[OpPair, ...] = ()
    # Dropping any one operation (and those observing what it writes) leaves a linearizable rest.
    minimal: bool = False
    explanation: str = ""


@dataclass(frozen=True)
class LinearizabilityResult:
    """The history's verdict: non-linearizable if any key is, unknown if any key ran out of time."""

    verdict: Verdict
    keys: tuple[KeyResult, ...]

    @property
    def linearizable(self) -> bool:
        return self.verdict == "linearizable"

    @property
    def failures(self) -> tuple[KeyResult, ...]:
        return tuple(k for k in self.keys if k.verdict == "non-linearizable")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_linearizability(
    history: History,
    *,
    timeout_s: float = 10.0,
    minimise_s: float = 5.0,
    refused_cas_evidence: bool = True,
) -> LinearizabilityResult:
    """Check every register key (`read`, `write`, `cas` operations) of the history.

    `timeout_s` bounds the search over all keys: a key not decided by then is
    `unknown`, so a pathological history cannot hang a run. `minimise_s`
    bounds the shrinking of each counterexample; when it runs out the
    counterexample is still non-linearizable, just not minimal. With
    `refused_cas_evidence` False a refused cas is dropped like any failure,
    for clients whose refusals prove nothing (one that compared against a
    stale local read).
    """
    deadline = time.monotonic() + timeout_s
    # The search allocates many small long-lived objects and frees them all at the
    # end; the cyclic collector's passes over them would double the run time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        by_key = calls_by_key(history, refused_cas_evidence)
        results = [
            _check_key(key, calls, deadline, minimise_s)
            for key, calls in sorted(by_key.items(), key=lambda kv: str(kv[0]))
        ]
    finally:
        if collecting:
            gc.enable()
    verdicts = {r.verdict for r in results}
    verdict: Verdict = next(
        (v for v in ("non-linearizable", "unknown") if v in verdicts), "linearizable"
    )
    return LinearizabilityResult(verdict=verdict, keys=tuple(results))


def _check_key(key: str | None, calls: list[Call], deadline: float, minimise_s: float) -> KeyResult:
    whole = Cuts(calls)
    calls = whole.evidence()
    outcome, frontier = run(calls, deadline)
    if outcome is True:
        return KeyResult(key, "linearizable", len(calls))
    if outcome is None:
        return KeyResult(
            key, "unknown", len(calls), explanation="the search ran out of time before deciding"
        )
    witness, minimal = shrink(whole, calls, frontier, time.monotonic() + minimise_s)
    return KeyResult(
        key,
        "non-linearizable",
        len(calls),
        counterexample=tuple(c.pair for c in witness),
        minimal=minimal,
        explanation=explain(key, witness, calls),
    )
