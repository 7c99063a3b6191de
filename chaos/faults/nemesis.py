"""The nemesis: injects faults, records every step, and heals everything on every way out.

It keeps a registry of the faults in force. `heal_all` (run by `close`, and so
by leaving the `with` block on success, exception, Ctrl-C or SIGTERM) undoes
each of them, newest first, with SIGINT and SIGTERM held back while it works:
a second Ctrl-C waits for the healing to finish instead of cutting it short,
then takes effect. Healing is idempotent: a fault already healed, or being
healed by an outer call (a signal handler re-entering), is skipped.

A restarted node comes back in a new network namespace without its rules;
`reconcile` (run after every process fault, injected or healed) re-creates
its helper and re-applies the network faults still in force.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from chaos.backend import Backend, Node
from chaos.faults import probe
from chaos.faults.base import Applied, Context, Fault, prove
from chaos.faults.errors import FaultError
from chaos.faults.link import LinkFault
from chaos.faults.netsplit import PartitionFault
from chaos.faults.process import ProcessFault
from chaos.faults.roles import LeaderOf
from chaos.faults.spec import LinkSpec, NetworkSpec, Spec, describe, parse_fault
from chaos.history import Clock, FaultEvent, FaultStage
from chaos.interrupts import raise_terminated, shielded

EVENT_GRACE_S = 5.0


class Nemesis:
    """Faults on one cluster, recorded as FaultEvents on the run's clock.

    `leader_of` is the system's own view of its leader (node name or None);
    `seed` fixes every random target drawn, so a run can be repeated.
    """

    def __init__(
        self,
        nodes: Sequence[Node],
        *,
        run_id: str,
        emit: Callable[[FaultEvent], None],
        clock: Clock,
        leader_of: LeaderOf | None = None,
        seed: int = 0,
        backend: Backend,
        verify_timeout: float = 10.0,
    ) -> None:
        self.toolbox = backend.namespaces(tuple(nodes), run_id)
        rng = random.Random(f"{seed}/targets")
        self.ctx = Context(backend, tuple(nodes), self.toolbox, leader_of, rng, now=clock.now)
        self.seed = seed
        self.emit = emit
        self.clock = clock
        self.verify_timeout = verify_timeout
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._active: dict[int, tuple[Fault, Applied]] = {}
        self._healing: set[int] = set()
        self._released: dict[str, float] = {}  # node -> until when its container events are ours
        self._closed = False
        self._sigterm: Any = None

    # -- life cycle ---------------------------------------------------------

    def start(self) -> Nemesis:
        """Start the helpers and probe the backends now, not at the first fault."""
        self.toolbox.prepare()
        running = [n.ip for n in self.ctx.nodes if self.toolbox.running(n.name)]
        self.ctx.host_routes = any(probe.from_host(running[:1], timeout=1.0).values())
        return self

    def __enter__(self) -> Nemesis:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._sigterm = signal.signal(signal.SIGTERM, raise_terminated)
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except FaultError as heal_error:
            if error is None:
                raise
            # The run's own failure is the story; the failed heal is a footnote to it.
            error.add_note(f"and healing afterwards failed: {heal_error}")

    def close(self) -> None:
        """Heal every fault, remove the helpers. Safe to repeat."""
        with shielded():
            self._closed = True
            try:
                self.heal_all()
            finally:
                self.toolbox.close()
                if self._sigterm is not None:
                    signal.signal(signal.SIGTERM, self._sigterm)
                    self._sigterm = None

    # -- faults ---------------------------------------------------------------

    def _event(
        self,
        fault_id: int,
        kind: str,
        stage: FaultStage,
        applied: Applied | None = None,
        **detail: Any,
    ) -> None:
        targets, backend = (applied.targets, applied.backend) if applied else ((), "")
        self.emit(FaultEvent(self.clock.now(), fault_id, kind, stage, targets, backend, detail))

    def _build(self, spec: Spec, fault_id: int) -> Fault:
        if isinstance(spec, NetworkSpec):
            return PartitionFault(spec, fault_id, self.ctx)  # type: ignore[arg-type]
        if isinstance(spec, LinkSpec):
            return LinkFault(spec, fault_id, self.ctx)  # type: ignore[arg-type]
        return ProcessFault(spec, fault_id, self.ctx)

    def inject(self, spec: Spec | dict[str, Any]) -> int:
        """Inject a fault and wait until its effect is observed; its id, for `heal`.

        A fault that cannot be proven is healed at once and raises FaultError."""
        if self._closed:
            raise FaultError("the nemesis is closed: no new faults once everything is healed")
        spec = parse_fault(spec) if isinstance(spec, dict) else spec
        fault_id = next(self._ids)
        self._event(fault_id, spec.kind, "requested", spec=describe(spec))
        fault = self._build(spec, fault_id)
        applied = Applied((), "")
        with self._lock:
            self._active[fault_id] = (fault, applied)
        started = time.monotonic()
        try:
            applied = fault.inject()
            applied_ns = self.clock.now()
            with self._lock:
                self._active[fault_id] = (fault, applied)
            evidence = prove(fault.verify, self.verify_timeout)
        except Exception as error:
            self._event(fault_id, spec.kind, "failed", applied, during="inject", error=str(error))
            with contextlib.suppress(FaultError):
                self.heal(fault_id)
            if isinstance(error, FaultError):
                raise
            raise FaultError(f"{spec.kind} failed: {error}") from error
        latency = round((time.monotonic() - started) * 1000, 1)
        self._event(
            fault_id, spec.kind, "effective", applied, **applied.detail,
            evidence=evidence, latency_ms=latency, applied_ns=applied_ns,
        )  # fmt: skip
        if not fault.lasting:
            with self._lock:
                self._release(self._active.pop(fault_id, None))
        if isinstance(fault, ProcessFault):
            self.reconcile()
        return fault_id

    def heal(self, fault_id: int) -> None:
        """Undo one fault and wait until its absence is observed; no-op if already healed."""
        self._heal([fault_id])

    def heal_all(self) -> None:
        """Heal every fault in force; each is tried even if another fails."""
        with shielded():
            with self._lock:
                pending = sorted(self._active, reverse=True)
            self._heal(pending)

    def _heal(self, fault_ids: list[int]) -> None:
        """Undo all the faults first (newest first), then verify each: one fault's
        proof must not be blocked by another not yet undone (a partition hiding
        the peer a delay is measured against)."""
        with self._lock:
            mine = [
                (fid, *self._active[fid])
                for fid in fault_ids
                if fid in self._active and fid not in self._healing
            ]
            self._healing.update(fid for fid, _, _ in mine)
        errors: list[str] = []

        def failed(fid: int, fault: Fault, applied: Applied, error: Exception) -> None:
            self._event(fid, fault.kind, "failed", applied, during="heal", error=str(error))
            errors.append(f"healing {fault.kind} #{fid} failed: {error}")

        try:
            undone = []
            for fid, fault, applied in mine:
                self._event(fid, fault.kind, "heal-requested", applied)
                try:
                    fault.heal()
                except Exception as error:
                    failed(fid, fault, applied, error)
                    continue
                self._event(fid, fault.kind, "healed", applied)
                undone.append((fid, fault, applied))
            for fid, fault, applied in undone:
                try:
                    evidence = prove(fault.verify_healed, self.verify_timeout)
                except Exception as error:
                    failed(fid, fault, applied, error)
                    continue
                self._event(fid, fault.kind, "healed-verified", applied, evidence=evidence)
                with self._lock:
                    self._release(self._active.pop(fid, None))
        finally:
            with self._lock:
                self._healing.difference_update(fid for fid, _, _ in mine)
        if any(isinstance(fault, ProcessFault) for _, fault, _ in mine):
            self.reconcile()
        if errors:
            raise FaultError("; ".join(errors))

    def active(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    def acting_on(self, node: str) -> bool:
        """Whether a process fault of this nemesis is acting on `node`'s container, or just
        was: the container engine's events about it (kill, die, start) are then ours, not
        external. A fault's targets are known before it acts."""
        with self._lock:
            if any(
                isinstance(fault, ProcessFault) and node in fault.targets
                for fault, _ in self._active.values()
            ):
                return True
            return self._released.get(node, 0.0) > time.monotonic()

    def _release(self, entry: tuple[Fault, Applied] | None) -> None:
        """Keep a finished process fault's nodes ours a little longer: the engine's events
        arrive after the action that caused them."""
        if entry is not None and isinstance(entry[0], ProcessFault):
            for node in entry[0].targets:
                self._released[node] = time.monotonic() + EVENT_GRACE_S

    def reconcile(self) -> None:
        """Re-create the helpers of restarted nodes, and re-apply there the network
        faults still in force (a restart replaces the namespace, rules and all)."""
        with self._lock:
            faults = [
                (fid, fault, applied)
                for fid, (fault, applied) in self._active.items()
                if fid not in self._healing and fault.namespace_nodes()
            ]
        for node in self.ctx.names:
            mine = [item for item in faults if node in item[1].namespace_nodes()]
            stale = self.toolbox.stale(node) or (mine and not self.toolbox.current(node))
            if not stale or not self.toolbox.running(node):
                continue
            self.toolbox.helper(node)  # now, so that the next fault does not wait for it
            for fault_id, fault, applied in mine:
                fault.reapply(node)
                evidence = prove(fault.verify, self.verify_timeout)
                self._event(
                    fault_id, fault.kind, "effective", applied,
                    reapplied=node, reason="new network namespace", evidence=evidence,
                )  # fmt: skip
