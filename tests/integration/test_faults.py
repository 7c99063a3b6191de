"""Every fault kind on a real (tiny) cluster: its effect is observed independently of
the nemesis' own verification, and healing restores full connectivity.

The cluster is three toolbox containers (`sleep infinity`) on a private bridge
network; the nodes themselves run netprobe and netcat, so a test measures what
a fault did from the nodes' side, not through the code under test.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from testbed import ensure_toolbox, leftovers, toolbox_cluster

from chaos.backend.docker import DockerBackend
from chaos.backend.docker.cluster import Node
from chaos.faults import FaultError, Nemesis, iptables, probe
from chaos.history import Clock, FaultEvent

pytestmark = pytest.mark.docker

RUN = f"faults-test-{os.getpid()}"


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(f"no Docker engine: {error}")
    ensure_toolbox(client, os.environ.get("CHAOSLAB_BASE", "chaoslab/base:bookworm"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def cluster(client: docker.DockerClient) -> Iterator[tuple[Node, ...]]:
    with toolbox_cluster(client, RUN) as nodes:
        yield nodes
    assert not leftovers(client, RUN), "the fault tests left containers or networks"


class Recorder:
    """The nemesis' event sink, with the view of the leader a test sets."""

    def __init__(self) -> None:
        self.events: list[FaultEvent] = []
        self.leader: str | None = "n1"

    def of(self, fault_id: int) -> dict[str, FaultEvent]:
        return {e.stage: e for e in self.events if e.fault_id == fault_id}


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def nemesis(cluster: tuple[Node, ...], client: docker.DockerClient, recorder: Recorder):
    with Nemesis(
        cluster, run_id=RUN, emit=recorder.events.append, clock=Clock(),
        leader_of=lambda: recorder.leader, seed=5, backend=DockerBackend(),
    ) as nemesis:  # fmt: skip
        yield nemesis
        assert nemesis.active() == [], "a test left a fault in force"


# -- independent observations --------------------------------------------------


def run_on(client: docker.DockerClient, n: Node, command: list[str]) -> str:
    code, out = client.containers.get(n.container).exec_run(command)
    assert code == 0, out
    return out.decode()


def reach(client, src: Node, dst: Node, count: int = 1, timeout_ms: int = 300) -> probe.Reach:
    """Connection attempts from inside src (no NET_ADMIN: an ordinary process)."""
    out = run_on(client, src, ["sh", "-c", probe.tcp_command([dst.ip], timeout_ms, count)])
    return probe.parse_tcp(out)[dst.ip]


def matrix(client, cluster) -> dict[tuple[str, str], bool]:
    """Which ordered pairs can complete a TCP exchange, from every node at once."""

    def row(src: Node) -> dict[tuple[str, str], bool]:
        peers = [n for n in cluster if n is not src]
        out = run_on(client, src, ["sh", "-c", probe.tcp_command([p.ip for p in peers], 300)])
        parsed = probe.parse_tcp(out)
        return {(src.name, p.name): parsed[p.ip].reached > 0 for p in peers}

    rows: dict[tuple[str, str], bool] = {}
    threads = [threading.Thread(target=lambda s=s: rows.update(row(s))) for s in cluster]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rows


def assert_fully_connected(client, cluster, nemesis: Nemesis) -> None:
    assert all(matrix(client, cluster).values()), matrix(client, cluster)
    assert all(probe.from_host([n.ip for n in cluster], 1.0).values())
    for n in cluster:  # and nothing of ours is left in any namespace
        state = nemesis.toolbox.run(n.name, "iptables-nft -S; iptables-legacy -S; tc qdisc show")
        assert "chaos-" not in state and "htb" not in state and "netem" not in state, state
        assert "nfqueue-shaper" not in nemesis.toolbox.run(n.name, "ls -l /proc/*/exe 2>&1")


def udp_arrives(client, src: Node, dst: Node) -> bool:
    """Whether one datagram from src arrives at dst: one-way cuts need a one-way probe."""
    received: list[str] = []
    listener = threading.Thread(
        target=lambda: received.append(
            client.containers.get(dst.container)
            .exec_run(["timeout", "2", "nc", "-u", "-l", "-W", "1", "5000"]).output.decode()
        )
    )  # fmt: skip
    listener.start()
    time.sleep(0.4)
    run_on(client, src, ["sh", "-c", f"echo hello | nc -u -w 1 {dst.ip} 5000"])
    listener.join()
    return "hello" in received[0]


def by_name(cluster, name: str) -> Node:
    return next(n for n in cluster if n.name == name)


# -- partitions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "isolate", "target": "leader"},
        {"kind": "majority-minority", "target": "n3"},
        {"kind": "partition", "groups": [["n1", "n2"], ["n3"]]},
        {"kind": "bridge", "target": "n2"},
        {"kind": "one-way", "source": "n1", "destination": "n2"},
    ],
    ids=lambda spec: spec["kind"],
)
def test_partition_cuts_exactly_the_grudged_pairs_and_heal_reconnects_everyone(
    client, cluster, nemesis, recorder, spec
):
    fault_id = nemesis.inject(spec)
    effective = recorder.of(fault_id)["effective"]
    grudge = effective.detail["grudge"]
    connected = matrix(client, cluster)
    for (a, b), ok in connected.items():
        cut = b in grudge.get(a, []) or a in grudge.get(b, [])
        assert ok != cut, f"{a}->{b}: reached={ok} under {grudge}"
    assert all(probe.from_host([n.ip for n in cluster], 1.0).values()), "clients must keep nodes"
    nemesis.heal(fault_id)
    assert_fully_connected(client, cluster, nemesis)
    stages = [e.stage for e in recorder.events if e.fault_id == fault_id]
    assert stages == ["requested", "effective", "heal-requested", "healed", "healed-verified"]
    assert effective.backend.startswith("iptables:iptables-")


def test_one_way_partition_still_delivers_in_the_open_direction(client, cluster, nemesis):
    n1, n2 = by_name(cluster, "n1"), by_name(cluster, "n2")
    fault_id = nemesis.inject({"kind": "one-way", "source": "n1", "destination": "n2"})
    try:
        assert udp_arrives(client, n1, n2), "n1's packets must still reach n2"
        assert not udp_arrives(client, n2, n1), "n2's packets must no longer reach n1"
    finally:
        nemesis.heal(fault_id)
    assert udp_arrives(client, n2, n1)


def test_clients_cut_removes_the_isolated_node_from_the_host_too(client, cluster, nemesis):
    spec = {"kind": "isolate", "target": "n2", "clients": "cut"}
    fault_id = nemesis.inject(spec)
    try:
        seen = probe.from_host([n.ip for n in cluster], 0.3)
        assert seen == {n.ip: n.name != "n2" for n in cluster}
    finally:
        nemesis.heal(fault_id)
    assert_fully_connected(client, cluster, nemesis)


def test_a_restarted_node_gets_its_partition_back_in_its_new_namespace(
    client, cluster, nemesis, recorder
):
    fault_id = nemesis.inject({"kind": "isolate", "target": "n3"})
    pid_before = client.api.inspect_container(by_name(cluster, "n3").container)["State"]["Pid"]
    nemesis.inject({"kind": "restart", "target": "n3", "grace": 1})
    pid_after = client.api.inspect_container(by_name(cluster, "n3").container)["State"]["Pid"]
    assert pid_after != pid_before
    reapplied = [e for e in recorder.events if e.fault_id == fault_id and "reapplied" in e.detail]
    assert [e.detail["reapplied"] for e in reapplied] == ["n3"]
    connected = matrix(client, cluster)
    assert not connected[("n3", "n1")] and not connected[("n1", "n3")]
    assert connected[("n1", "n2")]
    nemesis.heal(fault_id)
    assert_fully_connected(client, cluster, nemesis)


# -- processes -----------------------------------------------------------------


def state(client, cluster, name: str) -> dict:
    return client.api.inspect_container(by_name(cluster, name).container)["State"]


def test_kill_ends_the_process_and_heal_starts_a_new_one(client, cluster, nemesis, recorder):
    recorder.leader = "n2"
    before = state(client, cluster, "n2")
    fault_id = nemesis.inject({"kind": "kill", "target": "leader"})
    after = state(client, cluster, "n2")
    assert not after["Running"] and after["ExitCode"] == 137
    assert not Path(f"/proc/{before['Pid']}").exists(), "the killed process must be gone"
    assert recorder.of(fault_id)["effective"].targets == ("n2",)
    nemesis.heal(fault_id)
    healed = state(client, cluster, "n2")
    assert healed["Running"] and healed["StartedAt"] != before["StartedAt"]
    assert_fully_connected(client, cluster, nemesis)


def test_pause_freezes_the_container_and_unpause_thaws_it(client, cluster, nemesis, recorder):
    recorder.leader = "n1"
    fault_id = nemesis.inject({"kind": "pause", "target": "follower"})
    (target,) = recorder.of(fault_id)["effective"].targets
    assert target != "n1" and state(client, cluster, target)["Paused"]
    nemesis.heal(fault_id)
    assert not state(client, cluster, target)["Paused"]
    assert reach(client, by_name(cluster, target), by_name(cluster, "n1")).reached == 1


def test_count_and_stagger_strike_two_followers_one_after_the_other(
    client, cluster, nemesis, recorder
):
    recorder.leader = "n1"
    fault_id = nemesis.inject({"kind": "pause", "target": "follower", "count": 2, "stagger": 1.0})
    effective = recorder.of(fault_id)["effective"]
    assert effective.targets == ("n2", "n3")
    assert all(state(client, cluster, name)["Paused"] for name in ("n2", "n3"))
    first, second = (effective.detail["struck_ns"][name] for name in ("n2", "n3"))
    assert second - first >= 1_000_000_000, "the second strike waits out the stagger"
    nemesis.heal(fault_id)
    assert not any(state(client, cluster, name)["Paused"] for name in ("n2", "n3"))


def test_stop_then_start_and_restart_each_give_a_new_start_time(client, cluster, nemesis):
    first = state(client, cluster, "n1")["StartedAt"]
    stopped = nemesis.inject({"kind": "stop", "target": "n1", "grace": 1})
    assert state(client, cluster, "n1")["Status"] == "exited"
    nemesis.heal(stopped)
    second = state(client, cluster, "n1")["StartedAt"]
    nemesis.inject({"kind": "restart", "target": "n1", "grace": 1})
    third = state(client, cluster, "n1")["StartedAt"]
    assert len({first, second, third}) == 3 and state(client, cluster, "n1")["Running"]
    nemesis.inject({"kind": "stop", "target": "n1", "grace": 1})  # healed by an explicit start:
    nemesis.inject({"kind": "start", "target": "n1"})
    nemesis.heal_all()  # the stop's own heal finds n1 running and only verifies
    assert state(client, cluster, "n1")["Running"]
    assert_fully_connected(client, cluster, nemesis)


# -- link faults -----------------------------------------------------------------


def test_delay_raises_the_round_trip_by_the_delay_only_towards_peers(client, cluster, nemesis):
    n1, n2, n3 = cluster
    fault_id = nemesis.inject(
        {"kind": "delay", "target": "n1", "delay": "100ms", "jitter": "10ms", "peers": "n2"}
    )
    try:
        slow = reach(client, n1, n2, count=10, timeout_ms=2000).median_ms
        assert slow is not None and 85 <= slow <= 160, slow
        fast = reach(client, n1, n3, count=10).median_ms
        assert fast is not None and fast < 20, fast  # n1->n3 is not a shaped pair
    finally:
        nemesis.heal(fault_id)
    healed = reach(client, n1, n2, count=10).median_ms
    assert healed is not None and healed < 20
    assert_fully_connected(client, cluster, nemesis)


@pytest.mark.parametrize("kind", ["loss", "corrupt"])
def test_loss_and_corruption_lose_about_the_asked_share(client, cluster, nemesis, kind):
    n1, n2, _ = cluster
    fault_id = nemesis.inject({"kind": kind, "target": "n1", "percent": 40})
    try:
        # 800 ms: a dropped SYN is retried only after the kernel's 1 s initial RTO, so it
        # still counts as lost, while a slow answer on a loaded machine no longer does.
        measured = reach(client, n1, n2, count=200, timeout_ms=800).lost_fraction
        assert 0.25 <= measured <= 0.55, measured
    finally:
        nemesis.heal(fault_id)
    assert reach(client, n1, n2, count=50).lost == 0
    assert_fully_connected(client, cluster, nemesis)


def test_duplicate_delivers_extra_copies_at_the_receiver(client, cluster, nemesis, recorder):
    n1, n2, _ = cluster
    count = ["iptables-nft", "-w", "-nvxL", "count-n1"]
    nemesis.toolbox.run("n2", iptables.join([
        ["iptables-nft", "-w", "-N", "count-n1"],
        ["iptables-nft", "-w", "-A", "count-n1", "-s", n1.ip, "-p", "tcp", "--dport", "9"],
        ["iptables-nft", "-w", "-I", "INPUT", "-j", "count-n1"],
    ]))  # fmt: skip
    try:
        fault_id = nemesis.inject({"kind": "duplicate", "target": "n1", "percent": 50})
        nemesis.toolbox.run("n2", "iptables-nft -w -Z count-n1")
        reach(client, n1, n2, count=100)
        arrived = int(nemesis.toolbox.run("n2", " ".join(count)).splitlines()[2].split()[0])
        nemesis.heal(fault_id)
        assert 120 <= arrived <= 180, arrived  # 100 SYNs, about half of them twice
        assert recorder.of(fault_id)["effective"].detail["evidence"]["n1"]["duplicates"] > 0
    finally:
        nemesis.toolbox.run("n2", "iptables-nft -w -D INPUT -j count-n1; "
                            "iptables-nft -w -F count-n1; iptables-nft -w -X count-n1")  # fmt: skip
    assert_fully_connected(client, cluster, nemesis)


def test_bandwidth_limits_the_rate_towards_peers(client, cluster, nemesis):
    n1, n2, _ = cluster
    burst = ["netprobe", "udp", f"{n2.ip}:9", "100000"]

    def seconds() -> float:
        return int(run_on(client, n1, burst).split()[0].split("=")[1]) / 1e6

    fault_id = nemesis.inject({"kind": "bandwidth", "target": "n1", "rate": "1mbit"})
    try:
        assert seconds() >= 0.4  # 100 kB at 1 Mbit/s, less what the buffers absorb
    finally:
        nemesis.heal(fault_id)
    assert seconds() < 0.1
    assert_fully_connected(client, cluster, nemesis)


def test_netem_backend_where_the_kernel_has_it(client, cluster, nemesis, recorder):
    if not nemesis.toolbox.backends().netem:
        pytest.skip("this kernel has no netem (CONFIG_NET_SCH_NETEM unset): fallback tested")
    n1, n2, _ = cluster
    fault_id = nemesis.inject(
        {"kind": "delay", "target": "n1", "delay": "100ms", "backend": "netem"}
    )
    try:
        assert recorder.of(fault_id)["effective"].backend == "netem"
        assert 85 <= (reach(client, n1, n2, count=10, timeout_ms=2000).median_ms or 0) <= 160
    finally:
        nemesis.heal(fault_id)
    assert_fully_connected(client, cluster, nemesis)


def test_asking_for_netem_without_it_fails_clearly_and_leaves_nothing(
    client, cluster, nemesis, recorder
):
    if nemesis.toolbox.backends().netem:
        pytest.skip("this kernel has netem")
    with pytest.raises(FaultError, match="no netem"):
        nemesis.inject({"kind": "loss", "target": "n1", "percent": 10, "backend": "netem"})
    assert recorder.events[-1].stage == "healed-verified"
    assert nemesis.active() == []


# -- seeded targets and always-heal --------------------------------------------


def test_the_same_seed_draws_the_same_targets(client, cluster):
    faults = [{"kind": "pause"}, {"kind": "kill"}, {"kind": "pause"}]

    def run(i: int) -> list[tuple[str, tuple[str, ...]]]:
        events: list[FaultEvent] = []
        nemesis = Nemesis(cluster, run_id=f"{RUN}-seed{i}", emit=events.append, clock=Clock(),
                          seed=11, backend=DockerBackend())  # fmt: skip
        try:
            for spec in faults:
                nemesis.heal(nemesis.inject(spec))
        finally:
            nemesis.close()
        return [(e.kind, e.targets) for e in events if e.stage == "effective"]

    first, second = run(1), run(2)
    assert len(first) == 3 and first == second
    assert_all_running(client, cluster)


def assert_all_running(client, cluster) -> None:
    assert all(state(client, cluster, n.name)["Running"] for n in cluster)
    assert not any(state(client, cluster, n.name)["Paused"] for n in cluster)


def test_leaving_the_block_by_an_exception_heals_everything(client, cluster, nemesis):
    run_id = f"{RUN}-raise"
    with pytest.raises(RuntimeError, match="workload blew up"):  # noqa: SIM117 - the point
        with Nemesis(
            cluster, run_id=run_id, emit=lambda e: None, clock=Clock(), backend=DockerBackend()
        ) as n:
            n.inject({"kind": "isolate", "target": "n1"})
            n.inject({"kind": "delay", "target": "n2", "delay": "50ms"})
            n.inject({"kind": "pause", "target": "n3"})
            raise RuntimeError("workload blew up")
    assert_all_running(client, cluster)
    assert not leftovers(client, run_id)
    assert_fully_connected(client, cluster, nemesis)


CHILD = """
import json, sys, time
from chaos.backend.docker.cluster import Node
from chaos.backend.docker import DockerBackend
from chaos.faults import Nemesis
from chaos.history import Clock
nodes = [Node(**n) for n in json.loads(sys.argv[1])]
with Nemesis(
    nodes, run_id=sys.argv[2], emit=lambda e: None, clock=Clock(), backend=DockerBackend()
) as nemesis:
    nemesis.inject({"kind": "isolate", "target": "n1"})
    nemesis.inject({"kind": "delay", "target": "n2", "delay": "50ms"})
    print("ready", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize(
    "signals", [[signal.SIGINT, signal.SIGINT], [signal.SIGTERM]], ids=["ctrl-c-twice", "sigterm"]
)
def test_signals_heal_everything_even_a_second_ctrl_c(client, cluster, nemesis, signals):
    run_id = f"{RUN}-{signals[0].name.lower()}"
    nodes = json.dumps([{"name": n.name, "container": n.container, "ip": n.ip} for n in cluster])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, nodes, run_id], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert not all(matrix(client, cluster).values())
        for sig in signals:
            child.send_signal(sig)
            time.sleep(0.05)  # the second one lands while the first is healing
        child.wait(timeout=60)
    finally:
        child.kill()
    assert child.returncode != 0  # interrupted, not finished
    assert not leftovers(client, run_id)
    assert_fully_connected(client, cluster, nemesis)


def test_every_fault_event_carries_targets_backend_and_ordered_times(recorder):
    assert recorder.events
    for _, events in itertools.groupby(
        sorted(recorder.events, key=lambda e: (e.fault_id, e.time)), key=lambda e: e.fault_id
    ):
        events = list(events)
        assert events[0].stage == "requested"
        effective = [e for e in events if e.stage == "effective"]
        for e in effective:
            assert e.targets and e.backend and "evidence" in e.detail
        assert [e.time for e in events] == sorted(e.time for e in events)
