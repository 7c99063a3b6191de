"""Process faults through the Docker API: kill, stop, start, restart, pause, unpause.

The docker SDK's low-level calls are the fast path (a pause is ~20 ms). Proof
is the container's state as the engine reports it: a stop by the process
having exited (or been restarted by a restart policy), a pause by the frozen
state, a start or restart by a new start time.

A kill is proven by the process itself being gone. Docker's kill call returns
only after the engine has also torn down the container's network and mounts
(~100 ms here), so it runs in the background: the fault is in effect the
moment the process is dead, which the host sees in /proc where it shares the
engine's process namespace (elsewhere, e.g. Docker Desktop, the container
state decides). Healing waits for the call before starting the container.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chaos.faults.base import Applied, Context, Evidence, Fault, NotYet
from chaos.faults.errors import FaultError
from chaos.faults.netns import parallel
from chaos.faults.spec import ProcessSpec

# The action that undoes each lasting fault; the other kinds are instantaneous.
_UNDO = {"kill": "start", "stop": "start", "pause": "unpause"}


class ProcessFault(Fault):
    def __init__(self, spec: ProcessSpec, fault_id: int, ctx: Context) -> None:
        super().__init__(spec.kind, fault_id, ctx)
        self.spec = spec
        self.lasting = spec.kind in _UNDO
        self.targets: tuple[str, ...] = ()
        self.before: dict[str, dict[str, Any]] = {}
        self._kills: dict[str, Future[None]] = {}
        self._visible: dict[str, bool] = {}

    def _state(self, node: str) -> dict[str, Any]:
        return self.ctx.docker.api.inspect_container(self.ctx.node(node).container)["State"]

    def _container_id(self, node: str) -> str:
        return str(self.ctx.docker.api.inspect_container(self.ctx.node(node).container)["Id"])

    def _act(self, action: str, node: str) -> None:
        api, container = self.ctx.docker.api, self.ctx.node(node).container
        if action == "kill":
            api.kill(container, signal="SIGKILL")
        elif action == "stop":
            api.stop(container, timeout=int(self.spec.grace))
        elif action == "restart":
            api.restart(container, timeout=int(self.spec.grace))
        else:
            getattr(api, action)(container)

    def _on_all(self, action: str) -> None:
        parallel({n: n for n in self.targets}, lambda node, _: self._act(action, node))

    def inject(self) -> Applied:
        self.targets = self.ctx.resolve(self.spec.target)
        self.before = {node: self._state(node) for node in self.targets}
        if self.kind == "kill":
            for node, state in self.before.items():
                self._visible[node] = _owned(state["Pid"], self._container_id(node))
            pool = ThreadPoolExecutor(max_workers=len(self.targets))
            self._kills = {node: pool.submit(self._act, "kill", node) for node in self.targets}
            pool.shutdown(wait=False)
        else:
            self._on_all(self.kind)
        pids = {node: state["Pid"] for node, state in self.before.items()}
        return Applied(self.targets, "docker", {"pids_before": pids})

    def _restarted(self, node: str, state: dict[str, Any]) -> bool:
        return state["Running"] and state["StartedAt"] != self.before[node]["StartedAt"]

    def _killed(self, node: str) -> Evidence:
        kill = self._kills[node]
        if kill.done() and kill.exception():
            raise FaultError(f"docker could not kill {node}: {kill.exception()}")
        pid = self.before[node]["Pid"]
        if not self._visible[node]:  # this host cannot see the engine's processes
            return self._check(node, healed=False, kind="stop")
        if _alive(pid):
            raise NotYet(f"{node}'s process {pid} is still alive")
        return {"pid": pid, "gone": True}

    def _check(self, node: str, healed: bool, kind: str | None = None) -> Evidence:
        state = self._state(node)
        kind = kind or (_UNDO[self.kind] if healed else self.kind)
        if kind in ("kill", "stop"):
            ok = not state["Running"] or self._restarted(node, state)
            evidence = {"status": state["Status"], "exit_code": state["ExitCode"]}
        elif kind == "pause":
            ok, evidence = state["Paused"], {"status": state["Status"]}
        elif kind == "unpause":
            ok, evidence = state["Running"] and not state["Paused"], {"status": state["Status"]}
        else:  # start, restart
            ok = self._restarted(node, state)
            evidence = {"started_at": state["StartedAt"], "pid": state["Pid"]}
        if not ok:
            raise NotYet(f"{node} is {state['Status']} after {kind}")
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
            stopped = [n for n in self.targets if not self._state(n)["Running"]]
            parallel({n: n for n in stopped}, lambda node, _: self._act("start", node))
        elif undo == "unpause":
            paused = [n for n in self.targets if self._state(n)["Paused"]]
            parallel({n: n for n in paused}, lambda node, _: self._act("unpause", node))

    def verify_healed(self) -> Evidence:
        if not self.lasting:
            return {}
        return {node: self._check(node, healed=True) for node in self.targets}


def _owned(pid: int, container_id: str) -> bool:
    """Whether /proc/<pid> is the container's process as seen from this host (its
    cgroup names the container), so another namespace's pid is never mistaken."""
    try:
        return container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while we read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only unreaped
