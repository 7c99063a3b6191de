"""Image recipes: a changed recipe or base means a rebuild; an unchanged one does not."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chaos import cli
from chaos import images as recipes
from chaos.backend.docker import build as images
from chaos.backend.docker import engine
from chaos.errors import ImageError


@pytest.fixture
def recipe(tmp_path: Path) -> recipes.Image:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    return recipes.Image("demo", recipe=tmp_path / "demo", official="demo:1")


def test_recipe_hash_is_stable_for_an_unchanged_recipe(recipe: recipes.Image) -> None:
    assert images.recipe_hash(recipe, "base1") == images.recipe_hash(recipe, "base1")


def test_recipe_hash_changes_with_any_file_or_the_base(recipe: recipes.Image) -> None:
    before = images.recipe_hash(recipe, "base1")
    assert images.recipe_hash(recipe, "base2") != before
    (recipe.recipe_dir / "entrypoint.sh").write_text("#!/bin/sh\n")
    assert images.recipe_hash(recipe, "base1") != before


def test_official_source_uses_upstream_image_where_one_exists(recipe: recipes.Image) -> None:
    assert recipe.reference("official") == "demo:1"
    assert recipe.reference("local") == "chaoslab/demo:local"
    assert recipes.Image("serf", Path(".")).reference("official") == "chaoslab/serf:local"


def test_every_image_has_a_dockerfile_with_a_base_argument() -> None:
    found = images.all_images()
    assert {"toolbox", "etcd"} <= found.keys()  # each system's, and the fault layer's
    for image in found.values():
        dockerfile = (image.recipe_dir / "Dockerfile").read_text()
        assert "ARG BASE" in dockerfile and "FROM ${BASE}" in dockerfile, image.name


def test_unknown_image_names_the_known_ones() -> None:
    with pytest.raises(ImageError, match=r"expected one of: .*etcd"):
        images.build_all(["cassandra9"], upstream_base=True, progress=print)


class FakeDocker:
    """Builds that only record their tag and labels: no test here reaches Docker."""

    def __init__(self) -> None:
        self.api = self
        self.labels: dict[str, dict[str, str]] = {}

    def build(self, tag: str, labels: dict[str, str], **_: Any) -> Iterator[dict[str, str]]:
        self.labels[tag] = labels
        return iter([{"stream": f"Successfully tagged {tag}\n"}])

    def recipe(self, tag: str) -> str | None:
        return self.labels.get(tag, {}).get(images.LABEL_RECIPE)


@pytest.fixture
def docker(monkeypatch: pytest.MonkeyPatch) -> FakeDocker:
    fake = FakeDocker()
    monkeypatch.setattr(engine, "client", lambda: fake)
    monkeypatch.setattr(images, "_label", fake.recipe)
    monkeypatch.setattr(images, "build_base", lambda progress: pytest.fail("base built"))
    return fake


def test_build_all_tells_built_images_from_current_ones(
    recipe: recipes.Image, docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    (recipe.recipe_dir.parent / "other").mkdir()
    (recipe.recipe_dir.parent / "other" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    other = recipes.Image("other", recipe=recipe.recipe_dir.parent / "other")
    monkeypatch.setattr(images, "all_images", lambda: {"demo": recipe, "other": other})
    first = images.build_all([], upstream_base=True, progress=lambda _: None)
    assert first == images.Builds(built=("chaoslab/demo:local", "chaoslab/other:local"))
    (recipe.recipe_dir / "entrypoint.sh").write_text("#!/bin/sh\n")
    second = images.build_all([], upstream_base=True, progress=lambda _: None)
    assert second == images.Builds(
        built=("chaoslab/demo:local",), current=("chaoslab/other:local",)
    )
    (recipe.recipe_dir.parent / "other" / "entrypoint.sh").write_text("#!/bin/sh\n")
    twice = images.build_all(["other", "other"], upstream_base=True, progress=lambda _: None)
    assert twice == images.Builds(built=("chaoslab/other:local",))


def fake_tarball(path: Path, release: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in ("bin/cassandra", f"lib/apache-cassandra-{release}.jar", "conf/cassandra.yaml"):
            info = tarfile.TarInfo(f"apache-cassandra-{release}/{name}")
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_a_tarball_image_built_before_is_reported_current_not_built(
    tmp_path: Path, docker: FakeDocker
) -> None:
    tarball = fake_tarball(tmp_path / "apache-cassandra-5.0-rc1-bin.tar.gz", "5.0-rc1")
    tag = "chaoslab/cassandra:tarball"
    first = images.build_from_tarball("cassandra", tarball, True, progress=lambda _: None)
    assert first == images.Builds(built=(tag,))
    assert docker.labels[tag][images.LABEL_SERVER_VERSION] == "5.0-rc1"
    again = images.build_from_tarball("cassandra", tarball, True, progress=lambda _: None)
    assert again == images.Builds(current=(tag,))


def test_images_build_prints_built_and_current_images_apart(
    tmp_path: Path, docker: FakeDocker
) -> None:
    tarball = fake_tarball(tmp_path / "c.tar.gz", "4.0-rc1")
    command = ["images", "build", "cassandra", "--upstream-base", "--tarball", str(tarball)]
    first, again = (CliRunner().invoke(cli.app, command).output for _ in range(2))
    assert first.splitlines()[-1] == "built: chaoslab/cassandra:tarball"
    assert again.splitlines()[-1] == "current: chaoslab/cassandra:tarball"
    assert "built:" not in again


def test_an_image_without_a_tarball_recipe_says_so(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="etcd is not built from a tarball"):
        images.build_from_tarball("etcd", tmp_path / "x.tar.gz", True, progress=print)
