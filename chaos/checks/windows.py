"""The one definition of a fault window: when the suite issued a fault, and its heal.

Every recovery figure counts from the moment the suite *issued* the fault
(`requested`) or its heal (`heal-requested`), never from when the effect was
proven: proof comes 15-70 ms (kill, pause) to ~300 ms (partitions) later, and
the system under test reacts from the first instant. The proof's time is kept
beside it (`effective_ns`) so a report can show the bracket issued → effective.

Histories written before the `heal-requested` stage existed take the heal from
`healed` (the heal command having returned), which is up to half a second late
for a restart; their windows say so with `heal_issued_recorded = False`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from chaos.history import FaultEvent, History

# Faults after which the target serves nothing to the clients bound to it.
DOWNING = frozenset({"kill", "stop", "pause"})


@dataclass(frozen=True)
class FaultWindow:
    """One fault's life on the run's clock (nanoseconds).

    - `requested_ns`: the suite issued it; every figure of the fault counts from here.
    - `effective_ns`: its effect was proven (None: it never was; the run failed).
    - `heal_requested_ns`: the suite issued its heal (None: never healed).
    - `healed_ns`: the heal was proven.
    - `scope_start_ns`/`scope_end_ns`: the stretch of the run attributed to this
      fault: from the previous fault's proven heal (or the workload's start) to
      the next fault's request (or the workload's end).
    - `downed`: the nodes whose own clients cannot reach them while it lasts (a
      killed, stopped or paused node; a cut-off node under `clients: cut`).
    """

    fault_id: int
    kind: str
    targets: tuple[str, ...]
    requested_ns: int
    effective_ns: int | None
    heal_requested_ns: int | None
    healed_ns: int | None
    scope_start_ns: int
    scope_end_ns: int
    downed: tuple[str, ...] = ()
    heal_issued_recorded: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def effective(self) -> bool:
        return self.effective_ns is not None

    @property
    def start_ns(self) -> int:
        """Where the fault's figures start: its request."""
        return self.requested_ns

    @property
    def end_ns(self) -> int:
        """Where the fault stops acting: its heal request, or the end of its scope."""
        return self.heal_requested_ns if self.heal_requested_ns is not None else self.scope_end_ns


def workload_bounds(history: History) -> tuple[int, int]:
    """The span of the workload's operations, half-open; the fault events' span if none."""
    times = [op.time for op in history.ops if op.f != "final-read"]
    times = times or [event.time for event in history.faults] or [0]
    return min(times), max(times) + 1


def fault_windows(history: History) -> list[FaultWindow]:
    """Every fault the history records, by request time."""
    run_start, run_end = workload_bounds(history)
    stages: dict[int, list[FaultEvent]] = defaultdict(list)
    for event in sorted(history.faults, key=lambda e: e.time):
        stages[event.fault_id].append(event)
    windows = [_window(fault_id, events) for fault_id, events in stages.items()]
    windows.sort(key=lambda w: (w.requested_ns, w.fault_id))
    scoped = []
    for index, window in enumerate(windows):
        heals_before = [
            heal
            for w in windows[:index]
            if (heal := w.healed_ns or w.heal_requested_ns) is not None
            and heal <= window.requested_ns
        ]
        later = [w.requested_ns for w in windows[index + 1 :]]
        scope_start = max(heals_before, default=min(run_start, window.requested_ns))
        scope_end = max(min(later, default=run_end), window.requested_ns)
        scoped.append(replace(window, scope_start_ns=scope_start, scope_end_ns=scope_end))
    return scoped


def _first(events: list[FaultEvent], *stages: str) -> FaultEvent | None:
    return next((e for e in events if e.stage in stages), None)


def _window(fault_id: int, events: list[FaultEvent]) -> FaultWindow:
    requested = _first(events, "requested") or events[0]
    effective = _first(events, "effective")
    heal_requested = _first(events, "heal-requested")
    healed = _first(events, "healed")
    verified = _first(events, "healed-verified")
    issued = heal_requested or healed
    described = effective or requested
    targets = described.targets or next((e.targets for e in events if e.targets), ())
    spec = requested.detail.get("spec") or {}
    cut = spec.get("clients") == "cut"
    downed = targets if requested.kind in DOWNING or cut else ()
    return FaultWindow(
        fault_id=fault_id,
        kind=requested.kind,
        targets=tuple(targets),
        requested_ns=requested.time,
        effective_ns=effective.time if effective else None,
        heal_requested_ns=issued.time if issued else None,
        healed_ns=(verified or healed).time if (verified or healed) else None,
        scope_start_ns=requested.time,
        scope_end_ns=requested.time,
        downed=tuple(downed),
        heal_issued_recorded=heal_requested is not None or issued is None,
        detail={**requested.detail, **(effective.detail if effective else {})},
    )
