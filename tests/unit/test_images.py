"""Image recipes: a changed recipe or base means a rebuild; an unchanged one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import images


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> images.Image:
    monkeypatch.setattr(images, "RECIPES", tmp_path)
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    return images.Image("demo", official="demo:1")


def test_recipe_hash_is_stable_for_an_unchanged_recipe(recipe: images.Image) -> None:
    assert images.recipe_hash(recipe, "base1") == images.recipe_hash(recipe, "base1")


def test_recipe_hash_changes_with_any_file_or_the_base(recipe: images.Image) -> None:
    before = images.recipe_hash(recipe, "base1")
    assert images.recipe_hash(recipe, "base2") != before
    (recipe.recipe_dir / "entrypoint.sh").write_text("#!/bin/sh\n")
    assert images.recipe_hash(recipe, "base1") != before


def test_official_source_uses_upstream_image_where_one_exists(recipe: images.Image) -> None:
    assert recipe.reference("official") == "demo:1"
    assert recipe.reference("local") == "chaoslab/demo:local"
    assert images.Image("serf").reference("official") == "chaoslab/serf:local"


def test_every_image_has_a_dockerfile_with_a_base_argument() -> None:
    for image in images.IMAGES.values():
        dockerfile = (image.recipe_dir / "Dockerfile").read_text()
        assert "ARG BASE" in dockerfile and "FROM ${BASE}" in dockerfile, image.name


def test_unknown_image_names_the_known_ones() -> None:
    with pytest.raises(images.ImageError, match="expected one of: etcd"):
        images.build_all(["cassandra9"], upstream_base=True, progress=print)
