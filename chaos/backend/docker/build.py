"""Images with no registry: one Debian base made with mmdebstrap, one Dockerfile per recipe.

BASE is the local base imported from an mmdebstrap tarball; where a registry
answers it can be `debian:bookworm-slim`. An image carries the hash of its
recipe (the Dockerfile folder and the base it was built on) as a label, so an
unchanged recipe is never rebuilt. Builds use Docker's classic builder.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from docker.errors import APIError, BuildError, ImageNotFound

from chaos.backend.docker import engine
from chaos.backend.docker.namespaces import TOOLBOX
from chaos.errors import ImageError
from chaos.images import SERVER_VERSION_FILE, Image, ImageSource, Progress, system_images

LABEL_RECIPE = "io.chaoslab.recipe"
LABEL_SERVER_VERSION = "io.chaoslab.server-version"
BASE_TAG = "chaoslab/base:bookworm"
UPSTREAM_BASE = "debian:bookworm-slim"
MMDEBSTRAP_ARGS = (
    "--variant=essential",
    "--include=apt,netbase,ca-certificates",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    # OpenJDK's post-install script fails without man1 once man pages are excluded.
    '--setup-hook=mkdir -p "$1/usr/share/man/man1"',
    "bookworm",
)


def all_images() -> dict[str, Image]:
    """Every image a run can need: each system's and this backend's toolbox."""
    return {**system_images(), TOOLBOX.name: TOOLBOX}


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:16]


def base_recipe_hash() -> str:
    return _digest(arg.encode() for arg in MMDEBSTRAP_ARGS)


@contextmanager
def build_context(image: Image) -> Iterator[Path]:
    """The folder Docker builds from: the recipe folder, or a prepared copy of it."""
    if image.prepare is None:
        yield image.recipe_dir
        return
    with tempfile.TemporaryDirectory(prefix=f"chaoslab-{image.name}-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(image.recipe_dir, context)
        image.prepare(context)
        yield context


def _tree_hash(context: Path, base_id: str) -> str:
    files = sorted(p for p in context.rglob("*") if p.is_file())
    parts = [base_id.encode()]
    for path in files:
        parts += [str(path.relative_to(context)).encode(), path.read_bytes()]
    return _digest(parts)


def recipe_hash(image: Image, base_id: str) -> str:
    """Hash of every file in the build context and the base image it builds on."""
    with build_context(image) as context:
        return _tree_hash(context, base_id)


def _label(tag: str) -> str | None:
    try:
        return engine.client().images.get(tag).labels.get(LABEL_RECIPE)
    except ImageNotFound:
        return None


def _image_id(tag: str) -> str:
    return engine.client().images.get(tag).id


def build_base(progress: Progress) -> str:
    """Make the Debian base with mmdebstrap and `docker import`; skip if current."""
    wanted = base_recipe_hash()
    if _label(BASE_TAG) == wanted:
        progress(f"{BASE_TAG} is current")
        return _image_id(BASE_TAG)
    if shutil.which("mmdebstrap") is None:
        raise ImageError("mmdebstrap is missing: `apt-get install -y mmdebstrap`")
    with tempfile.TemporaryDirectory(prefix="chaoslab-base-") as tmp:
        tarball = Path(tmp) / "base.tar"
        progress(f"mmdebstrap: building the Debian bookworm base ({tarball})")
        command = ["mmdebstrap", *MMDEBSTRAP_ARGS, "--format=tar", str(tarball)]
        _stream(command, progress)
        progress(f"docker import {tarball} {BASE_TAG}")
        _stream(
            [
                "docker",
                "import",
                "--change",
                f"LABEL {LABEL_RECIPE}={wanted}",
                str(tarball),
                BASE_TAG,
            ],
            progress,
        )
    return _image_id(BASE_TAG)


def _stream(command: list[str], progress: Progress) -> None:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            tail = [*tail[-20:], line.rstrip()]
            progress(line.rstrip())
    if process.returncode != 0:
        raise ImageError(f"`{' '.join(command[:2])}` failed:\n" + "\n".join(tail))


def build(image: Image, base: str, base_id: str, progress: Progress) -> bool:
    """Build one system image FROM `base`; False when it was already current."""
    with build_context(image) as context:
        return _build(image, context, base, _tree_hash(context, base_id), progress)


def _build(image: Image, context: Path, base: str, wanted: str, progress: Progress) -> bool:
    if _label(image.local_tag) == wanted:
        progress(f"{image.local_tag} is current")
        return False
    progress(f"building {image.local_tag} from {base}")
    labels = {LABEL_RECIPE: wanted}
    version_file = context / SERVER_VERSION_FILE
    if version_file.is_file():  # a server brought in by `prepare`: say which release
        labels[LABEL_SERVER_VERSION] = version_file.read_text().strip()
    try:
        stream = engine.client().api.build(
            path=str(context),
            tag=image.local_tag,
            buildargs={"BASE": base},
            labels=labels,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise ImageError(f"building {image.local_tag} failed: {chunk['error'].strip()}")
            line = chunk.get("stream", "").rstrip()
            if line:
                progress(line)
    except (APIError, BuildError) as exc:
        raise ImageError(f"building {image.local_tag} failed: {exc}") from exc
    return True


@dataclass(frozen=True)
class Builds:
    """Which images a build command made and which were already current, so that an
    image left as it was is never reported as built."""

    built: tuple[str, ...] = ()
    current: tuple[str, ...] = ()


def _build_each(selected: Iterable[Image], upstream_base: bool, progress: Progress) -> Builds:
    if upstream_base:
        base, base_id = UPSTREAM_BASE, UPSTREAM_BASE
    else:
        base, base_id = BASE_TAG, build_base(progress)
    built: list[str] = []
    current: list[str] = []
    for image in selected:
        if image.local_tag not in built + current:  # a name given twice is built once
            (built if build(image, base, base_id, progress) else current).append(image.local_tag)
    return Builds(built=tuple(built), current=tuple(current))


def build_all(names: Iterable[str], upstream_base: bool, progress: Progress) -> Builds:
    """Build the named images (all when empty), skipping those whose recipe is unchanged."""
    known = all_images()
    selected = [_lookup(name, known) for name in names] or list(known.values())
    return _build_each(selected, upstream_base, progress)


def build_from_tarball(name: str, tarball: Path, upstream_base: bool, progress: Progress) -> Builds:
    """Build `chaoslab/<name>:tarball` from a user's release tarball of that product."""
    image = _lookup(name, all_images())
    if image.from_tarball is None:
        raise ImageError(f"{name} is not built from a tarball; only the local recipe exists")
    return _build_each([image.from_tarball(image, tarball, progress)], upstream_base, progress)


def _lookup(name: str, known: dict[str, Image]) -> Image:
    try:
        return known[name]
    except KeyError:
        raise ImageError(f"unknown image {name!r}; expected one of: {', '.join(known)}") from None


def status(image: Image) -> Literal["current", "outdated", "missing"]:
    """Whether the local build of `image` matches its recipe (for `doctor`)."""
    label = _label(image.local_tag)
    if label is None:
        return "missing"
    base_label = _label(BASE_TAG)
    base_ids = [_image_id(BASE_TAG)] if base_label else []
    base_ids.append(UPSTREAM_BASE)
    return "current" if any(label == recipe_hash(image, b) for b in base_ids) else "outdated"


def ensure(names: Iterable[str], source: ImageSource, progress: Progress) -> dict[str, str]:
    """The image reference per name for this source, building local ones that are not current.

    Official images must already be present or pullable; nothing is built for them.
    """
    references: dict[str, str] = {}
    to_build = []
    known = all_images()
    for name in names:
        image = _lookup(name, known)
        reference = image.reference(source)
        references[name] = reference
        if source == "tarball":
            if not _present(reference):
                raise ImageError(
                    f"{reference} is missing: build it from a release tarball with "
                    f"`chaoslab images build {name} --tarball PATH`"
                )
        elif reference == image.local_tag:
            to_build.append(name)
        elif _label(reference) is None and not _present(reference):
            progress(f"pulling {reference}")
            try:
                engine.client().images.pull(reference)
            except APIError as exc:
                raise ImageError(
                    f"cannot pull {reference} ({exc.explanation}); without a registry use "
                    "--image-source local"
                ) from exc
    if to_build:
        build_all(to_build, upstream_base=source == "official", progress=progress)
    return references


def server_version(reference: str) -> str | None:
    """The product release an image was built with, where the build recorded one."""
    try:
        return engine.client().images.get(reference).labels.get(LABEL_SERVER_VERSION)
    except ImageNotFound:
        return None


def _present(reference: str) -> bool:
    try:
        engine.client().images.get(reference)
    except ImageNotFound:
        return False
    return True
