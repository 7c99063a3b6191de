"""How faults lay out their iptables rules: one chain per fault and hook.

Each fault owns the chain `chaos-<id>-in` (jumped to from INPUT) and/or
`chaos-<id>-out` (from OUTPUT) in a target's namespace, so faults compose,
and healing one is deleting its chains without touching another's. Installing
first removes any chain of the same name, so re-applying after a lost helper
or a restarted container is safe. Pure: builds shell scripts, runs nothing.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Literal

Hook = Literal["INPUT", "OUTPUT"]
# Packets the NFQUEUE shaper sends itself (duplicates) carry this fwmark, so the
# queueing rule lets them pass instead of queueing them again; the rule that
# lets them pass also counts them, which is how duplication is verified.
SHAPER_MARK = 0xC4A05


def chain(fault_id: int, hook: Hook) -> str:
    return f"chaos-{fault_id}-{'in' if hook == 'INPUT' else 'out'}"


def join(commands: Sequence[Sequence[str]]) -> str:
    """A shell script that runs the commands in order and stops at the first failure."""
    return " && ".join(shlex.join(command) for command in commands)


def remove(ipt: str, fault_id: int, hook: Hook) -> str:
    """Delete the fault's chain and its jump; a no-op where the chain is absent."""
    name = chain(fault_id, hook)
    present = shlex.join([ipt, "-w", "-n", "-L", name])
    undo = join(
        [[ipt, "-w", "-D", hook, "-j", name], [ipt, "-w", "-F", name], [ipt, "-w", "-X", name]]
    )
    return f"if {present} >/dev/null 2>&1; then {undo}; fi"


def install(ipt: str, fault_id: int, hook: Hook, rules: Sequence[Sequence[str]]) -> str:
    """(Re)create the fault's chain with `rules` and jump to it first thing in `hook`."""
    name = chain(fault_id, hook)
    commands = [
        [ipt, "-w", "-N", name],
        *([ipt, "-w", "-A", name, *rule] for rule in rules),
        [ipt, "-w", "-I", hook, "1", "-j", name],
    ]
    return f"{remove(ipt, fault_id, hook)} && {join(commands)}"


def drop_from(sources: Sequence[str]) -> list[list[str]]:
    """Rules that drop every packet arriving from these addresses."""
    return [["-s", source, "-j", "DROP"] for source in sources]


def rule_count(listing: str) -> int:
    """The packet count of the first rule in `iptables -nvxL CHAIN` output."""
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return int(rows[0][0]) if rows else 0
