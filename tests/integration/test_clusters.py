"""Each system comes up ready through its own client and goes away without a trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from chaos.backend.docker import cluster
from chaos.backend.docker.cluster import LABEL_RUN, leftovers, new_run_id, remove_labelled
from chaos.systems import SYSTEMS, make_system

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_cluster_comes_up_ready_and_leaves_nothing(name: str) -> None:
    system = make_system(name)
    run_id = new_run_id(name)
    with cluster.running(system, run_id=run_id, progress=lambda _: None) as running:
        assert len(running.nodes) == system.default_nodes
        assert all(node.ports[system.client_port] > 0 for node in running.nodes)
        assert system.readiness(running) is None
        views = system.observe(running, time.monotonic_ns)
        assert sorted(v.observer for v in views) == sorted(running.names)
        if system.family == "consensus":
            assert system.leader(running) in running.names
        assert any(leftovers(f"{LABEL_RUN}={run_id}").values())
    assert leftovers(f"{LABEL_RUN}={run_id}") == {"containers": [], "networks": [], "volumes": []}


UP_SCRIPT = """
import sys
from chaos.backend.docker import cluster
from chaos.systems import make_system
with cluster.running(make_system("etcd"), run_id=sys.argv[1], progress=print):
    print("READY", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_up_leaves_nothing(signum: int) -> None:
    run_id = new_run_id("etcd")
    label = f"{LABEL_RUN}={run_id}"
    process = subprocess.Popen(
        [sys.executable, "-c", UP_SCRIPT, run_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not leftovers(label)["containers"]:  # interrupt while `up` is under way
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "no container appeared within 60 s"
            time.sleep(0.05)
        os.kill(process.pid, signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # the test itself failed: leave nothing behind either
            process.kill()
            process.wait()
            remove_labelled(label)
    assert "READY" not in output, "the signal arrived too late to interrupt `up`"
    assert process.returncode != 0
    assert leftovers(label) == {"containers": [], "networks": [], "volumes": []}, output
