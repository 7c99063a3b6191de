"""Traffic accounting on a real (tiny) cluster: bytes sent between two nodes are counted
as peer traffic at both ends and never as the clients'; a node restarted under a
partition gets both its partition and its counters back, neither disturbing the other.

The cluster is three toolbox containers on a private bridge network; the bytes are sent
by netcat inside the nodes, not through the code under test.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from testbed import ensure_toolbox, leftovers, toolbox_cluster

from chaos.backend.docker import DockerBackend
from chaos.backend.docker.accounting import HelperEntry, HostEntry, IptablesMeter
from chaos.backend.docker.cluster import Node
from chaos.faults import Nemesis, probe
from chaos.history import Clock, FaultEvent, HistoryWriter, load_history
from chaos.traffic import TrafficSampler

pytestmark = pytest.mark.docker

RUN = f"traffic-test-{os.getpid()}"
PAYLOAD = 300_000


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
    assert not leftovers(client, RUN), "the traffic tests left containers or networks"


@pytest.fixture(scope="module")
def events() -> list[FaultEvent]:
    return []


@pytest.fixture(scope="module")
def nemesis(cluster: tuple[Node, ...], events: list[FaultEvent]) -> Iterator[Nemesis]:
    with Nemesis(
        cluster, run_id=RUN, emit=events.append, clock=Clock(), backend=DockerBackend()
    ) as nemesis:
        yield nemesis
        assert nemesis.active() == [], "a test left a fault in force"


@pytest.fixture(params=["host", "helper"])
def meter(
    request: pytest.FixtureRequest, cluster: tuple[Node, ...], nemesis: Nemesis
) -> Iterator[IptablesMeter]:
    """Both ways into a node's namespace: from the host (nsenter), and through its helper."""
    chosen = DockerBackend().traffic_meter(nemesis.toolbox, cluster)
    if request.param == "host" and not isinstance(chosen.entry, HostEntry):
        pytest.skip("this host cannot enter the nodes' namespaces (not root, or not Linux)")
    if request.param == "helper":
        entry = HelperEntry(nemesis.toolbox)
        chosen = IptablesMeter(entry, chosen.ips, chosen.ipt, chosen.gateway)
    yield chosen
    chosen.close()


def send(client: docker.DockerClient, src: Node, dst: Node, size: int) -> None:
    """`size` bytes over TCP from inside src to a listener inside dst, received in full."""
    received: list[str] = []
    listener = threading.Thread(
        target=lambda: received.append(
            client.containers.get(dst.container)
            .exec_run(["sh", "-c", "timeout 20 nc -l 7100 | wc -c"]).output.decode()
        )
    )  # fmt: skip
    listener.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        code, _ = client.containers.get(src.container).exec_run(
            ["sh", "-c", f"head -c {size} /dev/zero | nc -N -w 5 {dst.ip} 7100"]
        )
        if code == 0:
            break
        time.sleep(0.2)  # the listener was not up yet
    listener.join()
    assert received and int(received[0].split()[0]) == size, received


def test_bytes_between_two_nodes_are_peer_traffic_at_both_ends_and_never_the_clients(
    client, cluster, meter
):
    n1, n2, _ = cluster
    before = {n.name: meter.read(n.name, reset=True) for n in cluster}
    send(client, n1, n2, PAYLOAD)
    after = {n.name: meter.read(n.name) for n in cluster}

    assert all(r is not None and r.fresh for r in before.values())
    sent, got, idle = (after[n.name] for n in cluster)
    assert sent is not None and got is not None and idle is not None
    assert not sent.fresh, "a second read counts on, it does not start again"
    assert sent.counters["peer_out_bytes"] >= PAYLOAD
    assert got.counters["peer_in_bytes"] >= PAYLOAD
    # The acknowledgements flow back: packets both ways, bytes mostly one way.
    assert 0 < sent.counters["peer_in_bytes"] < PAYLOAD / 10
    for reading in (sent, got, idle):
        assert reading.counters["client_in_bytes"] == reading.counters["client_out_bytes"] == 0
    assert idle.counters["peer_in_bytes"] == idle.counters["peer_out_bytes"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="entering a namespace from the host needs root")
def test_a_root_linux_host_reads_the_counters_itself_not_through_the_engine(cluster, nemesis):
    meter = DockerBackend().traffic_meter(nemesis.toolbox, cluster)

    assert isinstance(meter.entry, HostEntry)
    assert meter.reads_per_s > HelperEntry.reads_per_s


def test_the_hosts_traffic_is_counted_as_the_clients(cluster, meter):
    n1 = cluster[0]
    meter.read(n1.name, reset=True)
    reached = probe.from_host([n1.ip], 1.0)
    reading = meter.read(n1.name)

    assert reached == {n1.ip: True}
    assert reading is not None
    assert reading.counters["client_in_packets"] > 0 and reading.counters["client_out_packets"] > 0
    assert reading.counters["peer_in_bytes"] == reading.counters["peer_out_bytes"] == 0


def test_a_restart_under_a_partition_restores_both_the_partition_and_the_counters(
    client, cluster, nemesis, events, meter, tmp_path: Path
):
    n1, _, n3 = cluster
    writer = HistoryWriter(tmp_path / "history.jsonl", Clock())
    # Read far more often than a run does, to meet the restart before the nemesis does.
    sampler = TrafficSampler(meter, [n.name for n in cluster], writer, interval=0.05).start()
    try:
        fault_id = nemesis.inject({"kind": "isolate", "target": "n3"})
        try:
            time.sleep(0.5)
            nemesis.inject({"kind": "restart", "target": "n3", "grace": 1})
            time.sleep(1.0)
            cut = probe.tcp_command([n1.ip], 300)
            code, out = client.containers.get(n3.container).exec_run(["sh", "-c", cut])
        finally:
            nemesis.heal(fault_id)
        time.sleep(0.3)
        # Healing the partition removed its rules only: the counters are still installed.
        after_heal = meter.read("n3")
    finally:
        sampler.stop()
        writer.close()
    reapplied = [e for e in events if e.fault_id == fault_id and "reapplied" in e.detail]
    samples = [s for s in load_history(tmp_path / "history.jsonl").traffic if s.node == "n3"]

    assert [e.detail["reapplied"] for e in reapplied] == ["n3"]
    assert code == 0 and probe.parse_tcp(out.decode())[n1.ip].reached == 0, "n3 still cut"
    installations = sorted({s.since for s in samples})
    assert len(installations) == 2, "the new namespace's counters start again, once"
    assert all(s.time >= s.since for s in samples)
    assert after_heal is not None and not after_heal.fresh


def test_a_killed_node_is_not_read_and_closing_removes_every_counting_chain(
    client, cluster, nemesis, meter
):
    n2 = cluster[1]
    meter.read(n2.name, reset=True)
    fault_id = nemesis.inject({"kind": "kill", "target": "n2"})
    try:
        assert meter.read(n2.name) is None
    finally:
        nemesis.heal(fault_id)
    assert meter.read(n2.name) is not None
    meter.close()

    for node in cluster:
        rules = nemesis.toolbox.run(node.name, f"{meter.ipt}-save -t mangle")
        assert "chaos-traffic" not in rules, rules
