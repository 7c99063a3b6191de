"""Experiment files on disk: reading one, finding many, and the catalogue that ships beside the
suite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from chaos.checks.compose import SLO_CHECKS, applicable
from chaos.errors import ExperimentError, SourceError
from chaos.experiment.model import FAULT_KINDS, Experiment
from chaos.experiment.predictions import early_heals
from chaos.experiment.source import printable, read_text, validate

# The catalogue in a checkout (experiments/ beside the package); an installed wheel has none.
CATALOGUE = Path(__file__).resolve().parents[2] / "experiments"
WHAT = "an experiment mapping"


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    """Validate YAML text; `source` names it in error lines."""
    try:
        return validate(source, text, WHAT, Experiment.model_validate, FAULT_KINDS)
    except SourceError as exc:
        raise ExperimentError(exc.lines) from None


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate one experiment file; raises `ExperimentError`."""
    try:
        text = read_text(Path(path))
    except SourceError as exc:
        raise ExperimentError(exc.lines) from None
    return parse_experiment(text, str(path))


def load_run_experiment(path: Path) -> Experiment:
    """An experiment as a run folder recorded it.

    Files written by older suites may set SLOs that no check of their workload
    judges (lost_writes on a register workload, which judged nothing and always
    held); today's files are refused for it, a recorded one is judged without
    them, as it in effect was.
    """
    try:
        return load_experiment(path)
    except ExperimentError as refused:
        try:
            data = yaml.safe_load(read_text(path))
            kind = data["workload"]["kind"]
            checks = set(data.get("checks") or applicable(kind))
            data["expect"] = {
                slo: limit
                for slo, limit in (data.get("expect") or {}).items()
                if SLO_CHECKS.get(slo) in checks
            }
            return Experiment.model_validate(data)
        except Exception:
            raise refused from None


def default_catalogue() -> Path:
    """The catalogue, relative to the working directory when it is inside it (shorter lines)."""
    if not CATALOGUE.is_dir():
        raise ExperimentError(
            ["no experiment catalogue here (an installed suite has none): give files"]
        )
    try:
        return CATALOGUE.relative_to(Path.cwd())
    except ValueError:
        return CATALOGUE


def _expand(path: Path) -> list[Path]:
    shown = printable(str(path))
    if path.is_symlink() and not path.exists():
        raise ExperimentError([f"{shown}: a symbolic link that leads nowhere (or to itself)"])
    if path.is_dir():
        found = sorted(path.rglob("*.yaml"))
        if not found:
            raise ExperimentError([f"{shown}: no experiment files (*.yaml) in this folder"])
        return found
    if not path.exists():
        raise ExperimentError([f"{shown}: no such file or folder"])
    return [path]


def find_experiments(paths: Sequence[str | Path] = ()) -> list[Path]:
    """Experiment files: files as given, folders searched for *.yaml (default: the catalogue)."""
    return [file for path in paths or [default_catalogue()] for file in _expand(Path(path))]


@dataclass(frozen=True)
class Review:
    """What `validate` finds: problems that refuse a file, and warnings that do not (a fault
    that heals before the system's own model detects it), each a line naming the file."""

    errors: list[str]
    warnings: list[str]


def review_paths(paths: Sequence[str | Path] = ()) -> Review:
    """Every problem and warning in the given files and folders (default: the catalogue)."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        roots = list(paths) or [default_catalogue()]
    except ExperimentError as exc:
        return Review(exc.lines, [])
    for path in roots:
        try:
            files = _expand(Path(path))
        except ExperimentError as exc:
            errors += exc.lines
            continue
        for file in files:
            try:
                experiment = load_experiment(file)
            except ExperimentError as exc:
                errors += exc.lines
                continue
            warnings += [f"{printable(str(file))}: {line}" for line in early_heals(experiment)]
    return Review(errors, warnings)


def validate_paths(paths: Sequence[str | Path] = ()) -> list[str]:
    """Every problem in the given files and folders (default: the catalogue), one line each."""
    return review_paths(paths).errors
