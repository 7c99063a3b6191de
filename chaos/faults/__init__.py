"""The fault (nemesis) layer: faults that provably take effect and always heal.

A runner validates the experiment's fault entries into a schedule, then lets
a Nemesis play it while the workload runs; leaving the `with` block heals
everything, whatever the way out:

    schedule = plan(experiment["faults"], seed=experiment["seed"])
    with Nemesis(nodes, run_id=run, emit=writer.write, clock=clock,
                 leader_of=system.leader, seed=experiment["seed"]) as nemesis:
        nemesis.play_in_background(schedule)
        ...  # workload
    # every fault healed and verified, helpers removed

Single faults: `fid = nemesis.inject({"kind": "pause", "target": "leader"})`,
then `nemesis.heal(fid)`.
"""

from chaos.faults.errors import FaultError, FaultNotEffective, NodeDown, TargetError, ToolboxError
from chaos.faults.nemesis import Nemesis, signals_deferred
from chaos.faults.netns import TOOLBOX_IMAGE, remove_helpers
from chaos.faults.schedule import Schedule, ScheduleError, Step, plan
from chaos.faults.spec import LinkSpec, PartitionSpec, ProcessSpec, Spec, parse_fault

__all__ = [
    "TOOLBOX_IMAGE",
    "FaultError",
    "FaultNotEffective",
    "LinkSpec",
    "Nemesis",
    "NodeDown",
    "PartitionSpec",
    "ProcessSpec",
    "Schedule",
    "ScheduleError",
    "Spec",
    "Step",
    "TargetError",
    "ToolboxError",
    "parse_fault",
    "plan",
    "remove_helpers",
    "signals_deferred",
]
