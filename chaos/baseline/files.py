"""The package's own files (a baseline folder's, a run's regression.json): JSON read as
chaos.artefacts reads a run's, each with a `kind` and a `schema_version` of its own, and a
damaged one refused with one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from chaos.artefacts import _model, read_json
from chaos.errors import ArtefactError

M = TypeVar("M", bound=BaseModel)


def read_file(path: Path, kind: str, schema: int, model: type[M]) -> M | None:
    """The file as `model`; None where it does not exist."""
    data = read_json(path)
    if not data:
        return None
    if data.get("kind") != kind:
        raise ArtefactError(f"{path}: kind: expected {kind!r}, found {data.get('kind')!r}")
    if data.get("schema_version") != schema:
        found = data.get("schema_version")
        raise ArtefactError(f"{path}: schema_version: {found!r}; this suite reads {schema}")
    return _model(path, model, data)
