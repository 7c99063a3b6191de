"""Faults that live in nodes' network namespaces: partitions and link faults.

They share one shape: per node, a script that applies the fault, one that
undoes it, and a probe whose output proves the effect. The first probe runs
in the same exec as the apply script (one round trip to Docker instead of
two, which is most of a partition's latency); later proofs re-run the probe.
"""

from __future__ import annotations

from abc import abstractmethod

from chaos.faults.base import Applied, Context, Evidence, Fault
from chaos.faults.errors import NodeDown

# Printed between the apply script and the probe, so their output never mixes.
_MARK = "--chaos-probe--"


class NamespaceFault(Fault):
    """A fault made of per-node scripts run in the nodes' namespaces."""

    def __init__(self, kind: str, fault_id: int, ctx: Context) -> None:
        super().__init__(kind, fault_id, ctx)
        self.nodes: tuple[str, ...] = ()
        self._proof: dict[str, str] | None = None

    @abstractmethod
    def plan(self) -> Applied:
        """Resolve targets and decide each node's rules; sets `self.nodes`."""

    def probe_nodes(self) -> tuple[str, ...]:
        """Where the fault is applied, and any other node its proof probes from."""
        return self.nodes

    @abstractmethod
    def apply_script(self, node: str) -> str: ...

    @abstractmethod
    def undo_script(self, node: str) -> str: ...

    @abstractmethod
    def probe_script(self, node: str, healed: bool) -> str:
        """The probe run on `node` to prove the fault (or, healed, its absence)."""

    @abstractmethod
    def judge(self, outputs: dict[str, str], healed: bool) -> Evidence:
        """Evidence from the probes' outputs, or NotYet."""

    def _script(self, node: str, action: str, healed: bool) -> str:
        probe = self.probe_script(node, healed)
        return f"{action} && echo {_MARK} && {probe}" if probe else action

    def _run(self, scripts: dict[str, str]) -> dict[str, str]:
        """Run on every node that is up (a stopped node has no namespace: the
        nemesis applies its part when it starts again); probe outputs by node."""
        up = {node: script for node, script in scripts.items() if self._is_up(node)}
        outputs = self.ctx.toolbox.run_all(up)
        return {node: output.split(_MARK, 1)[-1] for node, output in outputs.items()}

    def _is_up(self, node: str) -> bool:
        try:
            self.ctx.toolbox.helper(node)
        except NodeDown:
            return False
        return True

    def inject(self) -> Applied:
        applied = self.plan()
        scripts = {
            n: self._script(n, self.apply_script(n), healed=False) for n in self.probe_nodes()
        }
        self._proof = self._run(scripts)
        pending = sorted(set(self.nodes) - set(self._proof))
        if pending:
            applied.detail["pending"] = pending
        return applied

    def verify(self) -> Evidence:
        return self.judge(self._take_proof(healed=False), healed=False)

    def heal(self) -> None:
        scripts = {n: self._script(n, self.undo_script(n), healed=True) for n in self.probe_nodes()}
        self._proof = self._run(scripts)

    def verify_healed(self) -> Evidence:
        return self.judge(self._take_proof(healed=True), healed=True)

    def _take_proof(self, healed: bool) -> dict[str, str]:
        proof, self._proof = self._proof, None
        if proof is None:
            proof = self._run(
                {n: self.probe_script(n, healed) or "true" for n in self.probe_nodes()}
            )
        return proof

    def namespace_nodes(self) -> tuple[str, ...]:
        return self.nodes

    def reapply(self, node: str) -> None:
        self.ctx.toolbox.run(node, self.apply_script(node))
