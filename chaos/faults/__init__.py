"""The fault (nemesis) layer: faults that provably take effect and always heal.

A Nemesis injects a fault and heals it by id. When each fault starts and ends
is the experiment's business: the runner plays `Experiment.schedule` and calls
`inject` and `heal` for each window. Leaving the `with` block heals everything,
whatever the way out:

    with Nemesis(nodes, run_id=run, emit=writer.write, clock=clock,
                 leader_of=system.leader, seed=seed) as nemesis:
        fid = nemesis.inject({"kind": "pause", "target": "leader"})
        ...  # workload
        nemesis.heal(fid)
    # every fault healed and verified, helpers removed
"""

from chaos.faults.errors import FaultError, FaultNotEffective, NodeDown, TargetError, ToolboxError
from chaos.faults.nemesis import Nemesis
from chaos.faults.spec import FaultSpec, LinkSpec, NetworkSpec, ProcessSpec, Spec, parse_fault

__all__ = [
    "FaultError",
    "FaultNotEffective",
    "FaultSpec",
    "LinkSpec",
    "Nemesis",
    "NetworkSpec",
    "NodeDown",
    "ProcessSpec",
    "Spec",
    "TargetError",
    "ToolboxError",
    "parse_fault",
]
