"""Redis Cluster (gossip over the cluster bus) through redis-py's cluster client.

Nodes announce their container addresses (announcing 127.0.0.1 does not
work on a bridge network); `address_remap` maps each announced address to
the node's published 127.0.0.1 port, so clients never leave loopback.

Reads go to the slot's master unless a run asks for `replica` reads: the
cluster client then sends READONLY on its connections and reads from the
master's replicas in turn (redis-py's `load_balancing_strategy`
ROUND_ROBIN_REPLICAS; the master only where a slot has no replica). Writes,
the cas script and `read_all` always go to the master.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, LoadBalancingStrategy, RedisCluster
from redis.crc import key_slot
from redis.retry import Retry

from chaos.backend import NodeSpec
from chaos.errors import NotReady
from chaos.fields import Bounded
from chaos.history import Observation
from chaos.images import Image
from chaos.systems.base import Client, Cluster, Settings, System
from chaos.systems.prediction import Band, FaultShape, Mechanism

SLOTS = 16384


class RedisSettings(Settings):
    """How long a node may be silent before its peers flag it (Redis's cluster-node-timeout),
    and how many replicas each master has."""

    cluster_node_timeout_ms: Annotated[int, Bounded("integer", ge=100, le=600_000)] = 5000
    replicas_per_master: Annotated[int, Bounded("integer", ge=0, le=2)] = 1


class Redis(System):
    name = "redis"
    family = "gossip"
    protocol = "Redis Cluster bus"
    client_port = 6379
    Settings = RedisSettings
    images = (Image("redis", recipe=Path(__file__).parent / "image", official="redis:7.0"),)
    workloads = ("unique-writes", "register")
    read_modes = ("master", "replica")
    ready_timeout = 90.0
    startup_s = (5.0, 1.0)
    default_nodes = 6  # three masters with one replica each
    node_range = (3, 24)
    memory_mib = 256
    need_mib = 16
    sharded = True

    @classmethod
    def size_problem(cls, nodes: int, settings: dict[str, Any]) -> str | None:
        """Redis Cluster runs 3 to 8 masters here, each with the same number of replicas."""
        replicas = int(settings.get("replicas_per_master", 1))
        masters, rest = divmod(nodes, 1 + replicas)
        if rest or not 3 <= masters <= 8:
            return (
                f"{nodes} nodes with {replicas} replicas per master is not 3 to 8 masters: "
                f"give a multiple of {1 + replicas} from {3 * (1 + replicas)} to "
                f"{8 * (1 + replicas)}"
            )
        return None

    @property
    def masters(self) -> int:
        return self.node_count // (1 + self.settings["replicas_per_master"])

    def shard_names(self, keys: Sequence[str]) -> dict[str, str]:
        """Each workload key's hash slot, as `RedisClient` names the key."""
        return {key: f"slot {key_slot(RedisClient.key_name(key).encode())}" for key in keys}

    def node_specs(self, image: str) -> list[NodeSpec]:
        command = (
            "redis-server",
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            str(self.settings["cluster_node_timeout_ms"]),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        )
        return [
            NodeSpec(
                name=node,
                image=image,
                memory_mib=self.memory_mib,
                ports=(self.client_port,),
                command=command,
            )
            for node in self.names
        ]

    @classmethod
    def mechanism(cls, shape: FaultShape, settings: dict[str, Any], nodes: int) -> Mechanism:
        """Redis Cluster: peers ping each node at least every node-timeout / 2, so a silent
        one is PFAIL between 1x and 1.5x the node timeout and FAIL once a majority of masters
        agree; its replica is promoted after a further 0.5-1 s (+1 s per rank)."""
        timeout = settings["cluster_node_timeout_ms"]
        seconds = timeout / 1000
        detect = Band(seconds, 1.5 * seconds + 1.0) if shape.silences else None
        unavailable = (
            Band(seconds + 0.5, 1.5 * seconds + 2.0) if shape.silences and shape.on_leader else None
        )
        return Mechanism(
            detects=(
                f"a node silent for cluster_node_timeout_ms={timeout} is PFAIL, then FAIL once a"
                " majority of masters agree, and a replica of a failed master is promoted after"
                " a further 0.5-1 s (+1 s per rank)"
            ),
            serves=(
                "only the lost master's slots stop serving until its replica is promoted; the"
                " other masters never stop (but every shard refuses writes while the cluster"
                " state is fail)"
            ),
            rejoins="the old master returns as a replica of the promoted one and resynchronises",
            detail=(
                "Failure reports count for 2 x node-timeout; the replica waits 500 ms + 0-500 ms"
                " random + 1 s per rank before asking the masters for votes."
            ),
            detect=detect,
            unavailable=unavailable,
        )

    def node_client(self, cluster: Cluster, node: str, timeout: float = 1.0) -> redis.Redis:
        host, port = cluster.client_address(node)
        return redis.Redis(
            host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def remap(self, cluster: Cluster) -> Callable[[tuple[str, int]], tuple[str, int]]:
        by_ip = {node.ip: cluster.client_address(node.name) for node in cluster.nodes}
        return lambda address: by_ip.get(address[0], address)

    def cluster_client(
        self, cluster: Cluster, timeout: float = 1.0, replica_reads: bool = False
    ) -> RedisCluster:
        """redis-py's cluster client with no retries: the run sees every error. Every node is
        a starting point, so a client can start while some node is down."""
        strategy = LoadBalancingStrategy.ROUND_ROBIN_REPLICAS if replica_reads else None
        return RedisCluster(
            startup_nodes=[ClusterNode(*cluster.client_address(n)) for n in cluster.names],
            address_remap=self.remap(cluster),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            load_balancing_strategy=strategy,
        )

    def client(
        self,
        cluster: Cluster,
        node: str | None,
        timeout: float,
        consistency: str | None = None,
        read_mode: str | None = None,
    ) -> Client:
        """Keys live on their slot's master, so every client routes through the driver."""
        driver = self.cluster_client(cluster, timeout, read_mode == "replica")
        if read_mode == "replica":
            self._replicas_mapped(driver)
        return RedisClient(driver)

    def _replicas_mapped(self, driver: RedisCluster, timeout: float = 30.0) -> None:
        """Wait until the driver's slot map lists a replica for every slot. redis-py reads it
        once, and a node lists a replica in CLUSTER SLOTS only some time after its first
        sync: in a run without this wait, clients made 0.6 s after the last sync knew the
        replica of one shard of three, and 96 % of their "replica" reads went to masters."""
        deadline = time.monotonic() + timeout
        while True:
            cache = driver.nodes_manager.slots_cache
            bare = next((slot for slot in range(SLOTS) if len(cache.get(slot) or ()) < 2), None)
            if bare is None:
                return
            if time.monotonic() > deadline:
                replicas = self.settings["replicas_per_master"]
                raise NotReady(
                    f"replica reads: no replica of slot {bare} in the slot map after "
                    f"{timeout:g} s (replicas_per_master: {replicas})"
                )
            time.sleep(0.2)
            driver.nodes_manager.initialize()

    def driver_settings(self) -> dict[str, Any]:
        return {
            "driver": "redis-py RedisCluster",
            "retries": 0,
            "binding": "slot routing by the driver (a key lives on one master)",
            "reads": "read_mode master: the slot's master; replica: READONLY reads from its "
            "replicas in turn (load_balancing_strategy ROUND_ROBIN_REPLICAS)",
        }

    def bootstrap(self, cluster: Cluster) -> None:
        """Join the nodes as masters with `replicas_per_master` replicas each."""
        addresses = [f"{node.ip}:{self.client_port}" for node in cluster.nodes]
        for node in cluster.names:  # every node must answer before they are joined
            self.wait_for(lambda n=node: self.node_client(cluster, n).ping(), f"{node} ping")
        replicas = str(self.settings["replicas_per_master"])
        code, output = cluster.exec(
            cluster.names[0],
            [
                *("redis-cli", "--cluster", "create", *addresses),
                *("--cluster-replicas", replicas, "--cluster-yes"),
            ],
        )
        if code != 0:
            raise NotReady(f"redis-cli --cluster create failed: {output[-500:]}")

    def wait_for(self, probe: Callable[[], Any], what: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe()
                return
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    raise NotReady(f"{what} failed: {exc}") from exc
                time.sleep(0.2)

    def readiness(self, cluster: Cluster) -> str | None:
        for node in cluster.names:
            info = self.node_client(cluster, node).cluster("INFO")
            if info.get("cluster_state") != "ok" or int(info.get("cluster_slots_ok", 0)) != SLOTS:
                return (
                    f"{node}: state {info.get('cluster_state')}, slots ok "
                    f"{info.get('cluster_slots_ok')}"
                )
            roles = self.observation(node, self.node_client(cluster, node).cluster("NODES"), {}, 0)
            masters = sum("master" in flags for flags in roles.raw["flags"].values())
            if masters != self.masters:
                return f"{node} sees {masters} masters, not {self.masters}"
        client = self.cluster_client(cluster)
        try:
            token = secrets.token_hex(4)
            client.set("chaoslab:ready", token)
            if client.get("chaoslab:ready") != token.encode():
                return "cluster client did not read back its own write"
        finally:
            client.close()
        return None

    def observe_node(
        self, cluster: Cluster, node: str, now: Callable[[], int], timeout: float = 0.3
    ) -> Observation:
        nodes = self.node_client(cluster, node, timeout).cluster("NODES")
        names = {n.ip: n.name for n in cluster.nodes}
        return self.observation(node, nodes, names, now())

    @staticmethod
    def observation(
        node: str, nodes: dict[str, dict[str, Any]], names: dict[str, str], time: int
    ) -> Observation:
        """One node's `CLUSTER NODES` (as redis-py parses it) as its view of the cluster.

        `fail` is the cluster's agreed verdict (down); `fail?` (pfail) is one
        node's suspicion.
        """
        members, flags = {}, {}
        role = None
        for address, entry in nodes.items():
            name = names.get(address.rsplit(":", 1)[0], address)
            entry_flags = set(entry["flags"].split(","))
            flags[name] = sorted(entry_flags)
            if "fail" in entry_flags:
                members[name] = "down"
            elif "fail?" in entry_flags:
                members[name] = "suspect"
            else:
                members[name] = "up"
            if "myself" in entry_flags:
                role = "master" if "master" in entry_flags else "replica"
        return Observation(
            time=time, observer=node, role=role, members=members, raw={"flags": flags}
        )

    def leader(self, cluster: Cluster) -> str | None:
        """Redis has no leader: the role names the master serving slot 0."""
        names = {node.ip: node.name for node in cluster.nodes}
        for node in cluster.names:
            try:
                slots = self.node_client(cluster, node, timeout=0.5).cluster("SLOTS")
            except redis.RedisError:
                continue
            for start, _end, master, *_ in slots:
                if start == 0:
                    ip = master[0].decode() if isinstance(master[0], bytes) else master[0]
                    return names.get(ip)
        return None

    def version(self, cluster: Cluster) -> str:
        return str(self.node_client(cluster, cluster.names[0]).info("server")["redis_version"])


# Compare-and-set in one script, so it is atomic on the key's master.
CAS_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class RedisClient(Client):
    """Registers as strings `r:<key>`, unique-value sets as Redis sets `s:<set>`."""

    def __init__(self, driver: RedisCluster) -> None:
        self.redis = driver

    @staticmethod
    def key_name(key: str) -> str:
        """The Redis key of a workload key: registers `r:k0`, unique-value sets `s:s0`."""
        return f"s:{key}" if key.startswith("s") else f"r:{key}"

    def read(self, key: str) -> int | None:
        value = self.redis.get(self.key_name(key))
        return None if value is None else int(value)

    def write(self, key: str, value: int) -> None:
        self.redis.set(self.key_name(key), value)

    def cas(self, key: str, expected: int | None, new: int) -> bool:
        old = "" if expected is None else str(expected)
        return self.redis.eval(CAS_SCRIPT, 1, self.key_name(key), old, new) == 1

    def add(self, key: str, value: int) -> None:
        self.redis.sadd(self.key_name(key), value)

    def read_all(self, key: str) -> list[int]:
        return sorted(int(value) for value in self.redis.smembers(self.key_name(key)))

    def definitely_failed(self, error: Exception) -> bool:
        """Refusals before execution: CLUSTERDOWN, a read-only replica, a refused connection."""
        if isinstance(error, redis.exceptions.ClusterDownError | redis.exceptions.ReadOnlyError):
            return True
        return isinstance(error, redis.ConnectionError) and "refused" in str(error)

    def close(self) -> None:
        self.redis.close()
