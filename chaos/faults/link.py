"""Link faults: delay, loss, duplication, corruption and bandwidth on a node's traffic.

Each shapes the target's egress towards chosen peers (every other node by
default, the host's clients too with `clients: affect`), matched by address so
that traffic elsewhere is untouched. The backend is chosen by probing the
kernel once and recorded in the fault events:

- netem (most kernels): an htb tree with one class per fault, netem as its
  leaf, u32 filters steering the peers' addresses into it.
- fallback (kernels without netem, as on this project's CI machines): delay,
  duplication and corruption by the NFQUEUE shaper in the toolbox, packets
  queued from the fault's own OUTPUT chain with --queue-bypass (traffic flows
  unshaped if the shaper dies); loss by iptables' statistic match, dropping on
  INPUT because a drop on OUTPUT is reported to the local sender as an error,
  which a lossy wire never does.
- bandwidth always uses htb (tbf-like shaping is in every kernel).

Proof is measured from the target towards one peer: a round trip for delay,
the share of failed connection attempts for loss and corruption (a corrupted
packet fails its checksum and is dropped by the receiver), the shaper's
re-sent packets counted by iptables for duplication, and a timed UDP burst
for bandwidth.
"""

from __future__ import annotations

import math
import re
import shlex

from chaos.faults import iptables, probe
from chaos.faults.base import Applied, Context, Evidence, NotYet
from chaos.faults.errors import FaultError
from chaos.faults.namespaced import NamespaceFault
from chaos.faults.spec import BandwidthSpec, DelaySpec, PercentSpec

_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
_UNITS |= {"bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}
_BUFFERED = 32768  # bytes the UDP burst's socket buffer absorbs before rate limiting shows
_FAST = "10gbit"  # the rate of unshaped classes


def rate_bits(rate: str) -> float:
    """Bits per second of a tc rate ("1mbit", "500kbit", "2mbps")."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-z]+)", rate)
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a tc rate: {rate!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def netem_args(spec: DelaySpec | PercentSpec) -> list[str]:
    """The netem parameters for a delay, loss, duplicate or corrupt spec."""
    if isinstance(spec, DelaySpec):
        return ["delay", f"{spec.delay * 1000:g}ms", f"{spec.jitter * 1000:g}ms"]
    return [spec.kind, f"{spec.percent:g}%"]


def shaper_args(spec: DelaySpec | PercentSpec, queue: int, seed: int) -> list[str]:
    """The NFQUEUE shaper's command line for a delay, duplicate or corrupt spec."""
    args = ["nfqueue-shaper", "--queue", str(queue), "--seed", str(seed)]
    if isinstance(spec, DelaySpec):
        args += ["--delay", f"{spec.delay * 1000:g}", "--jitter", f"{spec.jitter * 1000:g}"]
    else:
        args += [f"--{spec.kind}", f"{spec.percent:g}"]
    return [*args, "--mark", hex(iptables.SHAPER_MARK), "--pidfile", pidfile(queue), "--daemon"]


def pidfile(queue: int) -> str:
    return f"/run/chaos-shaper-{queue}.pid"


def _htb_ids(fault_id: int) -> tuple[str, str]:
    """The fault's htb class and netem handle; 1:1 and 1: belong to the shared root."""
    return f"1:{0x100 + fault_id:x}", f"{0x100 + fault_id:x}:"


def tc_install(dev: str, fault_id: int, dests: list[str], rate: str, netem: list[str]) -> str:
    """A class of `rate` (with netem as its leaf when given) that `dests` are steered into.

    The htb root and its unlimited default class 1:1 are shared by every tc fault
    on the node, so several can hold at once on different peers."""
    classid, handle = _htb_ids(fault_id)
    tc = ["tc"]
    root = (
        f"tc qdisc show dev {dev} | grep -q 'htb 1: root' || "
        f"{{ tc qdisc add dev {dev} root handle 1: htb default 1 && "
        f"tc class add dev {dev} parent 1: classid 1:1 htb rate {_FAST} quantum 60000; }}"
    )
    commands = [[*tc, "class", "add", "dev", dev, "parent", "1:", "classid", classid, "htb"]]
    commands[0] += ["rate", rate, "quantum", "1514"]
    if netem:
        commands.append([*tc, "qdisc", "add", "dev", dev, "parent", classid, "handle", handle])
        commands[-1] += ["netem", *netem]
    for ip in dests:
        commands.append([*tc, "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip"])
        commands[-1] += ["prio", str(fault_id), "u32", "match", "ip", "dst", f"{ip}/32"]
        commands[-1] += ["flowid", classid]
    return f"{tc_remove(dev, fault_id)} && {{ {root}; }} && {iptables.join(commands)}"


def tc_remove(dev: str, fault_id: int) -> str:
    """Remove the fault's filters and class, and the shared root once no class is left."""
    classid, _ = _htb_ids(fault_id)
    return (
        f"{{ tc filter del dev {dev} parent 1: prio {fault_id} 2>/dev/null; "
        f"tc class del dev {dev} classid {classid} 2>/dev/null; "
        f"[ \"$(tc class show dev {dev} | grep -c '^class htb')\" = 1 ] "
        f"&& tc qdisc del dev {dev} root; true; }}"
    )


def shaper_install(
    ipt: str, spec: DelaySpec | PercentSpec, fault_id: int, dests: list[str], seed: int
) -> str:
    """Start the shaper on queue `fault_id`, then queue `dests`' packets to it.

    The first rule lets the shaper's own duplicates pass, and counts them."""
    mark = hex(iptables.SHAPER_MARK)
    rules = [["-m", "mark", "--mark", mark, "-j", "RETURN"]]
    rules += [
        ["-d", ip, "-j", "NFQUEUE", "--queue-num", str(fault_id), "--queue-bypass"] for ip in dests
    ]
    start = shlex.join(shaper_args(spec, fault_id, seed))
    chain = iptables.install(ipt, fault_id, "OUTPUT", rules)
    return f"{shaper_remove(ipt, fault_id)} && {start} && {chain}"


def shaper_remove(ipt: str, fault_id: int) -> str:
    """Stop queueing first, then stop the shaper, which releases what it holds."""
    pid = pidfile(fault_id)
    stop = (
        f"if [ -e {pid} ]; then p=$(cat {pid}); kill -TERM $p 2>/dev/null; "
        f"while kill -0 $p 2>/dev/null; do sleep 0.01; done; rm -f {pid}; fi"
    )
    return f"{iptables.remove(ipt, fault_id, 'OUTPUT')} && {stop}"


def loss_rules(dests: list[str], percent: float) -> list[list[str]]:
    statistic = ["-m", "statistic", "--mode", "random", "--probability", f"{percent / 100:.6f}"]
    return [["-s", ip, *statistic, "-j", "DROP"] for ip in dests]


def loss_attempts(percent: float) -> int:
    """Enough attempts to expect about four losses, within 20..200."""
    return max(20, min(200, math.ceil(400 / percent)))


class LinkFault(NamespaceFault):
    def __init__(
        self, spec: DelaySpec | PercentSpec | BandwidthSpec, fault_id: int, ctx: Context
    ) -> None:
        super().__init__(spec.kind, fault_id, ctx)
        self.spec = spec
        self.backend = ""
        self.dests: dict[str, list[str]] = {}  # node -> addresses it shapes towards
        self.peer_ips: dict[str, list[str]] = {}  # node -> the peers among them, to probe
        self.seed = 0

    def _choose_backend(self) -> str:
        netem = self.ctx.toolbox.backends().netem
        wanted = self.spec.backend
        if wanted == "netem" and not netem:
            raise FaultError("backend netem asked for, but this kernel has no netem qdisc")
        if self.spec.kind == "bandwidth":
            return "tc-htb"
        if wanted == "netem" or (wanted == "auto" and netem):
            return "netem"
        return "iptables-statistic" if self.spec.kind == "loss" else "nfqueue"

    def plan(self) -> Applied:
        self.backend = self._choose_backend()
        self.nodes = self.ctx.resolve(self.spec.target, self.spec.count)
        self.seed = self.ctx.rng.randrange(2**32)
        peers = self.ctx.resolve(self.spec.peers) if self.spec.peers else self.ctx.names
        for node in self.nodes:
            self.peer_ips[node] = [self.ctx.node(p).ip for p in peers if p != node]
            if not self.peer_ips[node]:
                raise FaultError(f"{self.kind} on {node}: no peer to shape towards")
            clients = (
                [self.ctx.toolbox.helper(node).gateway] if self.spec.clients == "affect" else []
            )
            self.dests[node] = self.peer_ips[node] + clients
        detail = {"peers": {n: d for n, d in self.dests.items()}, "seed": self.seed}
        backend = self.backend
        if backend in ("nfqueue", "iptables-statistic"):
            backend += f":{self.ctx.toolbox.backends().iptables}"
        return Applied(self.nodes, backend, detail)

    @property
    def _ipt(self) -> str:
        return self.ctx.toolbox.backends().iptables

    def _dev(self, node: str) -> str:
        return self.ctx.toolbox.helper(node).device

    def apply_script(self, node: str) -> str:
        spec, dests = self.spec, self.dests[node]
        if self.backend == "tc-htb":
            assert isinstance(spec, BandwidthSpec)
            return tc_install(self._dev(node), self.fault_id, dests, spec.rate, [])
        assert not isinstance(spec, BandwidthSpec)  # bandwidth is always tc-htb
        if self.backend == "netem":
            return tc_install(self._dev(node), self.fault_id, dests, _FAST, netem_args(spec))
        if self.backend == "iptables-statistic":
            assert isinstance(spec, PercentSpec)
            rules = loss_rules(dests, spec.percent)
            return iptables.install(self._ipt, self.fault_id, "INPUT", rules)
        return shaper_install(self._ipt, spec, self.fault_id, dests, self.seed)

    def undo_script(self, node: str) -> str:
        if self.backend in ("tc-htb", "netem"):
            return tc_remove(self._dev(node), self.fault_id)
        if self.backend == "iptables-statistic":
            return iptables.remove(self._ipt, self.fault_id, "INPUT")
        return shaper_remove(self._ipt, self.fault_id)

    def probe_script(self, node: str, healed: bool) -> str:
        spec, peers = self.spec, self.peer_ips[node]
        if spec.kind == "delay":
            assert isinstance(spec, DelaySpec)
            timeout = int((spec.delay + spec.jitter) * 1000) + 1000
            return probe.tcp_command(peers, timeout, count=5)
        if spec.kind == "bandwidth":
            assert isinstance(spec, BandwidthSpec)
            size = int(rate_bits(spec.rate) / 8 * 0.3) + _BUFFERED
            return shlex.join(["netprobe", "udp", f"{peers[0]}:{probe.PROBE_PORT}", str(size)])
        attempts = 20 if healed else loss_attempts(getattr(spec, "percent", 100.0))
        command = probe.tcp_command(peers, 200, count=attempts)
        if spec.kind == "duplicate" and self.backend == "nfqueue" and not healed:
            chain = iptables.chain(self.fault_id, "OUTPUT")
            command += f" && echo && {self._ipt} -w -nvxL {chain}"
        return command

    def judge(self, outputs: dict[str, str], healed: bool) -> Evidence:
        return {node: self._measure(node, out, healed) for node, out in outputs.items()}

    def _measure(self, node: str, output: str, healed: bool) -> Evidence:
        """Measured over the peers that answer at all: a peer that never answers is
        cut by something else (a partition in force), and tells nothing here."""
        spec = self.spec
        if spec.kind == "bandwidth":
            return self._bandwidth(output, healed)
        answering = [r for r in probe.parse_tcp(output).values() if r.reached]
        if not answering:
            if getattr(spec, "percent", None) == 100 and not healed:
                return {"lost_percent": 100.0}
            raise NotYet(f"no peer of {node} answers: cannot measure {spec.kind}")
        if spec.kind == "delay":
            assert isinstance(spec, DelaySpec)
            rtts = [r.median_ms or 0.0 for r in answering]
            floor = (spec.delay - spec.jitter) * 1000
            delayed = min(rtts) >= 0.8 * floor
            undelayed = max(rtts) < max(0.5 * floor, 1.0)
            if not (undelayed if healed else delayed):
                raise NotYet(f"round trips from {node} are {rtts} ms, delay {floor:g} ms")
            return {"rtt_ms": rtts}
        lost = sum(r.lost for r in answering)
        measured = {
            "lost_percent": round(100 * lost / sum(r.reached + r.lost for r in answering), 1)
        }
        if healed:
            if lost:
                raise NotYet(f"{node} still loses {measured['lost_percent']}%")
            return measured
        if spec.kind == "duplicate":
            if self.backend != "nfqueue":
                return {**measured, "duplicates": "not counted under netem"}
            duplicates = iptables.rule_count(output.split("\n\n", 1)[-1])
            if not duplicates:
                raise NotYet(f"no duplicate seen from {node} yet")
            return {**measured, "duplicates": duplicates}
        if not lost:
            raise NotYet(f"no loss seen from {node} over {len(answering)} answering peers")
        return measured

    def _bandwidth(self, output: str, healed: bool) -> Evidence:
        assert isinstance(self.spec, BandwidthSpec)
        values = dict(field.split("=") for field in output.split())
        elapsed = int(values["elapsed_us"]) / 1e6
        measured = (int(values["bytes"]) - _BUFFERED) * 8 / max(elapsed, 1e-6)
        limit = rate_bits(self.spec.rate)
        slow = measured <= 1.5 * limit
        if slow == healed and not (healed and elapsed < 0.03):
            raise NotYet(
                f"measured {measured / 1e6:.2f} Mbit/s against a limit of {self.spec.rate}"
            )
        return {"measured_mbit": round(measured / 1e6, 3)}
