"""Process faults through the backend: kill, stop, start, restart, pause, unpause.

Proof is the node's state as the backend reports it: a stop by the process
having exited (or been restarted by a restart policy), a pause by the frozen
state, a start or restart by a new start time.

A kill is proven by the process itself being gone. Docker's kill call returns
only after the engine has also torn down the container's network and mounts
(~100 ms here), so it runs in the background: the fault is in effect the
moment the process is dead, which the host sees where it shares the engine's
process namespace (elsewhere, e.g. Docker Desktop, the node's state decides).
Healing waits for the call before starting the node.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from chaos.backend import NodeState, ProcessAction
from chaos.faults.base import Applied, Context, Evidence, Fault, NotYet
from chaos.faults.errors import FaultError
from chaos.faults.spec import ProcessSpec
from chaos.parallel import at_once

# The action that undoes each lasting fault; the other kinds are instantaneous.
_UNDO = {"kill": "start", "stop": "start", "pause": "unpause"}


class ProcessFault(Fault):
    def __init__(self, spec: ProcessSpec, fault_id: int, ctx: Context) -> None:
        super().__init__(spec.kind, fault_id, ctx)
        self.spec = spec
        self.lasting = spec.kind in _UNDO
        self.targets: tuple[str, ...] = ()
        self.before: dict[str, NodeState] = {}
        self._kills: dict[str, Future[None]] = {}
        self._visible: dict[str, bool] = {}

    def _state(self, node: str) -> NodeState:
        return self.ctx.backend.state(self.ctx.node(node))

    def _act(self, action: ProcessAction, node: str) -> None:
        self.ctx.backend.act(self.ctx.node(node), action, self.spec.grace)

    def _on_all(self, action: ProcessAction) -> None:
        at_once({n: n for n in self.targets}, lambda node, _: self._act(action, node))

    def inject(self) -> Applied:
        self.targets = self.ctx.resolve(self.spec.target, self.spec.count)
        self.before = {node: self._state(node) for node in self.targets}
        if self.kind == "kill":
            for node, state in self.before.items():
                self._visible[node] = self.ctx.backend.sees_process(self.ctx.node(node), state.pid)
        struck_ns = (
            self._strike_staggered()
            if self.spec.stagger and len(self.targets) > 1
            else self._strike_at_once()
        )
        pids = {node: state.pid for node, state in self.before.items()}
        return Applied(self.targets, "docker", {"pids_before": pids, "struck_ns": struck_ns})

    def _strike_at_once(self) -> dict[str, int]:
        now = self.ctx.now()
        if self.kind == "kill":
            pool = ThreadPoolExecutor(max_workers=len(self.targets))
            self._kills = {node: pool.submit(self._act, "kill", node) for node in self.targets}
            pool.shutdown(wait=False)
        else:
            self._on_all(self.spec.kind)
        return dict.fromkeys(self.targets, now)

    def _strike_staggered(self) -> dict[str, int]:
        """One node after another, `stagger` apart on the run's clock; each strike's time is
        kept, since the fault window opens at the first and the others follow."""
        struck: dict[str, int] = {}
        first = self.ctx.now()
        pool = ThreadPoolExecutor(max_workers=len(self.targets))
        for position, node in enumerate(self.targets):
            due = first + round(position * self.spec.stagger * 1e9)
            while (now := self.ctx.now()) < due:
                time.sleep((due - now) / 1e9)
            struck[node] = now
            if self.kind == "kill":
                self._kills[node] = pool.submit(self._act, "kill", node)
            else:
                self._act(self.spec.kind, node)
        pool.shutdown(wait=False)
        return struck

    def _restarted(self, node: str, state: NodeState) -> bool:
        return state.running and state.started_at != self.before[node].started_at

    def _killed(self, node: str) -> Evidence:
        kill = self._kills[node]
        if kill.done() and kill.exception():
            raise FaultError(f"could not kill {node}: {kill.exception()}")
        pid = self.before[node].pid
        if not self._visible[node]:  # this host cannot see the node's processes
            return self._check(node, healed=False, kind="stop")
        if self.ctx.backend.process_alive(pid):
            raise NotYet(f"{node}'s process {pid} is still alive")
        return {"pid": pid, "gone": True}

    def _check(self, node: str, healed: bool, kind: str | None = None) -> Evidence:
        state = self._state(node)
        kind = kind or (_UNDO[self.kind] if healed else self.kind)
        if kind in ("kill", "stop"):
            ok = not state.running or self._restarted(node, state)
            evidence: Evidence = {"status": state.status, "exit_code": state.exit_code}
        elif kind == "pause":
            ok, evidence = state.paused, {"status": state.status}
        elif kind == "unpause":
            ok, evidence = state.running and not state.paused, {"status": state.status}
        else:  # start, restart
            ok = self._restarted(node, state)
            evidence = {"started_at": state.started_at, "pid": state.pid}
        if not ok:
            raise NotYet(f"{node} is {state.status} after {kind}")
        return evidence

    def verify(self) -> Evidence:
        if self.kind == "kill":
            return {node: self._killed(node) for node in self.targets}
        return {node: self._check(node, healed=False) for node in self.targets}

    def heal(self) -> None:
        for kill in self._kills.values():
            kill.exception()  # wait for the engine to finish the kill; its error is reported
        undo = _UNDO.get(self.kind)
        if undo == "start":
            stopped = [n for n in self.targets if not self._state(n).running]
            at_once({n: n for n in stopped}, lambda node, _: self._act("start", node))
        elif undo == "unpause":
            paused = [n for n in self.targets if self._state(n).paused]
            at_once({n: n for n in paused}, lambda node, _: self._act("unpause", node))

    def verify_healed(self) -> Evidence:
        if not self.lasting:
            return {}
        return {node: self._check(node, healed=True) for node in self.targets}
