"""Read modes and per-operation levels: what each system declares, how an experiment is
checked against it, and what each client then sends its driver."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import etcd3gw
import pytest
from cassandra import ConsistencyLevel

from chaos.errors import NotReady
from chaos.experiment import ExperimentError, parse_experiment
from chaos.history import Clock, HistoryWriter, load_history
from chaos.systems import SYSTEMS
from chaos.systems import redis as redis_package
from chaos.systems.base import Client
from chaos.systems.cassandra.system import CassandraClient
from chaos.systems.etcd.system import EtcdClient
from chaos.systems.redis.system import SLOTS, LoadBalancingStrategy
from chaos.systems.zookeeper.system import NotConnected, ZooKeeperClient
from chaos.workload import Workload, WorkloadSpec


def experiment(system: str, kind: str = "register", **workload: Any) -> str:
    fields = "".join(f"\n  {name}: {value}" for name, value in workload.items())
    head = f"title: t\ndescription: d\nsystem: {system}\nworkload:\n  kind: {kind}"
    return f"{head}{fields}\nfaults: []\n"


def refused(text: str) -> str:
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(text, "x.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("system", "modes"),
    [
        ("etcd", ("linearizable", "serializable")),
        ("zookeeper", ("sync", "local")),
        ("redis", ("master", "replica")),
        ("cassandra", ()),
        ("serf", ()),
    ],
)
def test_each_system_declares_its_read_modes_strongest_first(system: str, modes: tuple) -> None:
    assert SYSTEMS[system].read_modes == modes


@pytest.mark.parametrize(
    ("system", "kind", "default"),
    [
        ("etcd", "register", "linearizable"),
        ("zookeeper", "register", "sync"),
        ("redis", "unique-writes", "master"),
        ("cassandra", "unique-writes", None),
        ("serf", "membership", None),
    ],
)
def test_the_default_read_mode_is_filled_in_so_a_run_records_it(
    system: str, kind: str, default: str | None
) -> None:
    assert parse_experiment(experiment(system, kind)).workload.read_mode == default


def test_a_weak_read_mode_is_accepted_where_the_system_offers_it() -> None:
    assert parse_experiment(experiment("etcd", read_mode="serializable")).workload.read_mode == (
        "serializable"
    )
    assert parse_experiment(experiment("zookeeper", read_mode="local")).workload.reads_at == (
        "local"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            experiment("etcd", read_mode="local"),
            "x.yaml:6:14: workload.read_mode: etcd reads in the modes linearizable, serializable",
        ),
        (
            experiment("cassandra", "unique-writes", read_mode="ONE"),
            "x.yaml:6:14: workload.read_mode: cassandra has no read modes: its reads take "
            "read_consistency",
        ),
        (
            experiment("serf", "membership", read_mode="local"),
            "x.yaml:6:14: workload.read_mode: serf has no read modes",
        ),
        (
            experiment("etcd", read_consistency="ONE"),
            "x.yaml:6:21: workload.read_consistency: etcd offers no consistency level per "
            "operation",
        ),
        (
            experiment("cassandra", "unique-writes", write_consistency="MOST"),
            'x.yaml:6:22: workload.write_consistency: expected one of ONE, QUORUM, ALL, got "MOST"',
        ),
    ],
)
def test_a_mode_or_level_the_system_lacks_is_one_line_naming_the_field(
    text: str, line: str
) -> None:
    assert refused(text) == line


def test_cassandra_reads_and_writes_take_their_own_levels_and_consistency_sets_both() -> None:
    old = parse_experiment(experiment("cassandra", "unique-writes", consistency="ONE")).workload
    assert (old.reads_at, old.writes_at) == ("ONE", "ONE")
    assert old.driver_choices() == {
        "consistency": "ONE",
        "read_consistency": "ONE",
        "write_consistency": "ONE",
    }
    split = parse_experiment(
        experiment("cassandra", read_consistency="ONE", write_consistency="ALL")
    ).workload
    assert (split.consistency, split.reads_at, split.writes_at) == ("QUORUM", "ONE", "ALL")


def test_run_json_records_the_read_mode_where_the_system_has_one() -> None:
    etcd = parse_experiment(experiment("etcd", read_mode="serializable")).workload
    assert etcd.driver_choices() == {"read_mode": "serializable"}
    assert parse_experiment(experiment("serf", "membership")).workload.driver_choices() == {}


def test_staleness_slos_are_for_register_reads() -> None:
    text = experiment("etcd") + "expect:\n  max_stale_reads: 0\n  max_staleness: 500ms\n"
    assert parse_experiment(text).expect.max_staleness == 0.5
    sets = experiment("redis", "unique-writes") + "expect:\n  max_stale_reads: 0\n"
    assert refused(sets) == (
        "x.yaml:8:20: expect.max_stale_reads: the unique-writes workload records nothing the "
        "staleness check judges"
    )


def test_the_visibility_probe_runs_where_consistency_is_tunable() -> None:
    probe = parse_experiment(experiment("cassandra", "visibility", consistency="ONE"))
    assert probe.check_names == ("staleness", "visibility")
    assert refused(experiment("etcd", "visibility")).startswith(
        "x.yaml:5:9: workload.kind: etcd runs the register, unique-writes workload"
    )


# -- what each client sends ---------------------------------------------------------------


def test_etcd_serializable_reads_send_serializable_true_in_the_range_request() -> None:
    sent: list[dict[str, Any]] = []
    driver = etcd3gw.Etcd3Client(host="127.0.0.1", port=1, api_path="/v3/")
    driver.post = lambda url, json=None, **_: sent.append(json) or {}  # type: ignore[method-assign]
    EtcdClient([driver], serializable=True).read("k0")
    EtcdClient([driver]).read("k0")
    assert sent[0]["serializable"] is True
    assert "serializable" not in sent[1]  # etcd's default: linearizable


class Pending:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, timeout: float) -> Any:
        return self.value


class FakeKazoo:
    def __init__(self, connected: bool = True) -> None:
        self.calls: list[str] = []
        self.connected = connected

    def sync_async(self, path: str) -> Pending:
        self.calls.append("sync")
        return Pending(path)

    def get_async(self, path: str) -> Pending:
        self.calls.append("get")
        return Pending((b"7", None))


@pytest.mark.parametrize(("sync_reads", "calls"), [(True, ["sync", "get"]), (False, ["get"])])
def test_zookeeper_local_reads_skip_the_sync(sync_reads: bool, calls: list[str]) -> None:
    client = object.__new__(ZooKeeperClient)
    client.timeout, client.sync_reads, client.kazoo = 1.0, sync_reads, FakeKazoo()  # type: ignore[assignment]
    assert client.read("k0") == 7
    assert client.kazoo.calls == calls  # type: ignore[attr-defined]


def test_zookeeper_sends_nothing_while_disconnected_and_the_failure_is_definite() -> None:
    """kazoo blocks a caller for good once its wake-up socket fills while disconnected."""
    client = object.__new__(ZooKeeperClient)
    client.timeout, client.sync_reads = 1.0, True
    client.kazoo = FakeKazoo(connected=False)  # type: ignore[assignment]
    with pytest.raises(NotConnected) as refused:
        client.read("k0")
    assert client.kazoo.calls == []  # type: ignore[attr-defined]
    assert client.definitely_failed(refused.value)
    assert not client.definitely_failed(TimeoutError("no answer"))


class NoCluster:
    names = ("n1",)
    nodes = ()

    def client_address(self, node: str) -> tuple[str, int]:
        return "127.0.0.1", 1


class SlotMap:
    """A driver's nodes manager whose slot map gains replicas after `refreshes` reads."""

    def __init__(self, refreshes: int) -> None:
        self.refreshes, self.reads = refreshes, 0
        self.slots_cache: dict[int, list[str]] = {}
        self.initialize()

    def initialize(self) -> None:
        self.reads += 1
        nodes = ["master", "replica"] if self.reads > self.refreshes else ["master"]
        self.slots_cache = dict.fromkeys(range(SLOTS), nodes)


class FakeRedisCluster:
    def __init__(self, refreshes: int = 0, **options: Any) -> None:
        self.options = options
        self.nodes_manager = SlotMap(refreshes)


@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("replica", LoadBalancingStrategy.ROUND_ROBIN_REPLICAS), ("master", None), (None, None)],
)
def test_redis_replica_reads_ask_the_cluster_client_for_replicas(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, strategy: Any
) -> None:
    monkeypatch.setattr(redis_package.system, "RedisCluster", FakeRedisCluster)
    client = SYSTEMS["redis"]().client(NoCluster(), None, 0.5, read_mode=mode)  # type: ignore[arg-type]
    assert client.redis.options["load_balancing_strategy"] == strategy  # type: ignore[attr-defined]


def test_redis_replica_reads_wait_until_the_slot_map_lists_the_replicas() -> None:
    redis = SYSTEMS["redis"]()
    late = FakeRedisCluster(refreshes=2)
    redis._replicas_mapped(late)  # type: ignore[arg-type, attr-defined]
    assert late.nodes_manager.reads == 3
    with pytest.raises(NotReady, match=r"no replica of slot 0 in the slot map after 0 s"):
        redis._replicas_mapped(FakeRedisCluster(refreshes=99), timeout=0)  # type: ignore[arg-type, attr-defined]


class Statement:
    consistency_level: int | None = None


class FakeSession:
    class cluster:  # the driver's attribute name
        protocol_version = 1

    def __init__(self) -> None:
        self.prepared: dict[str, Statement] = {}

    def prepare(self, query: str) -> Statement:
        self.prepared[query] = statement = Statement()
        return statement


def test_cassandra_reads_and_writes_at_their_own_levels() -> None:
    session = FakeSession()
    CassandraClient(session, "QUORUM", "1.2.0", reads="ONE")  # type: ignore[arg-type]
    levels = {query: s.consistency_level for query, s in session.prepared.items()}
    registers = "chaoslab.registers"
    assert levels[f"SELECT value FROM {registers} WHERE key = ?"] == ConsistencyLevel.ONE
    assert levels[f"INSERT INTO {registers} (key, value) VALUES (?, ?)"] == ConsistencyLevel.QUORUM
    assert levels["SELECT value FROM chaoslab.sets WHERE key = ?"] == ConsistencyLevel.ALL


# -- the workload passes the mode and records it on every read ----------------------------


class Answering(Client):
    def read(self, key: str) -> int | None:
        return None

    def write(self, key: str, value: int) -> None:
        return None

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        return True


class ModalSystem:
    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def client(self, cluster, node, timeout, consistency=None, read_mode=None) -> Client:
        self.asked.append(read_mode)
        return Answering()


class OneNode:
    names = ("n1", "n2")


def run_briefly(tmp_path: Path, system: Any, spec: WorkloadSpec) -> list[Any]:
    writer = HistoryWriter(tmp_path / "history.jsonl", Clock())
    running = Workload(system, OneNode(), spec, writer)  # type: ignore[arg-type]
    running.start()
    time.sleep(0.3)
    running.stop()
    running.close()
    writer.close()
    return load_history(tmp_path / "history.jsonl").ops


def test_every_read_carries_the_mode_the_run_asked_for(tmp_path: Path) -> None:
    system = ModalSystem()
    spec = WorkloadSpec(kind="register", clients=2, rate=100, read_mode="serializable")
    ops = run_briefly(tmp_path, system, spec)
    assert system.asked == ["serializable", "serializable"]
    reads = [op for op in ops if op.f == "read"]
    assert reads and {op.mode for op in reads} == {"serializable"}
    assert {op.mode for op in ops if op.f != "read"} == {None}


def test_a_system_without_read_modes_is_called_as_before(tmp_path: Path) -> None:
    called = threading.Event()

    class Plain:
        def client(self, cluster, node, timeout, consistency=None) -> Client:
            called.set()
            return Answering()

    ops = run_briefly(tmp_path, Plain(), WorkloadSpec(kind="register", clients=1, rate=50))
    assert called.is_set() and ops
    assert {op.mode for op in ops} == {None}
