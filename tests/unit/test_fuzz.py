"""Fuzzing as a habit: whatever a file holds, the readers answer with a ChaosError or a value.

Each reader the suite points at user files (the experiment loader, the history reader, the
run-folder readers) is fed random bytes, random structures and mutations of real files (the
catalogue, the recorded runs). Any exception but a `ChaosError` subclass is a bug, and every
call is bounded in time by hypothesis's deadline. The whole file runs in well under half a
minute (CHAOSLAB_FUZZ_SCALE multiplies the examples for a longer search); the long,
coverage-guided run is `fuzz/fuzz_experiment.py` (nightly, with atheris).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.artefacts import read_metrics, read_run, read_verdicts, rules_of
from chaos.checks.measure import measure
from chaos.checks.rules import Rules
from chaos.compare import read_summary
from chaos.errors import ArtefactError, ChaosError, ExperimentError
from chaos.experiment import CATALOGUE, load_experiment, parse_experiment, source
from chaos.experiment.model import Experiment
from chaos.faults.roles import ROLES
from chaos.history import History, load_history
from chaos.systems import SYSTEMS

CATALOGUE_FILES = sorted(CATALOGUE.rglob("*.yaml"))
RECORDED = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "recorded-runs").iterdir())
RECORDED = [path for path in RECORDED if path.is_dir()]
PREFIX_LINES = 300  # of a recorded history, kept so that measuring stays quick


# CHAOSLAB_FUZZ_SCALE=20 runs twenty times the examples, for a longer search by hand.
SCALE = int(os.environ.get("CHAOSLAB_FUZZ_SCALE", "1"))


def fuzz(examples: int, deadline_s: float = 2.0) -> Any:
    return settings(
        max_examples=examples * SCALE,
        deadline=timedelta(seconds=deadline_s),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- what hostile data is made of --------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _names() -> list[str]:
    names = set(Experiment.model_fields) | {"kind", "target", "at", "duration", "random", "repeat"}
    names |= {"nodes", "settings", "image_source", "clients", "rate", "groups", "source"}
    names |= {"destination", "delay", "percent", "times", "every", "peers", "grace"}
    for system in SYSTEMS.values():
        names |= set(system.Settings.model_fields)
    return sorted(names)


WORDS = [
    *SYSTEMS,
    *ROLES,
    "kill",
    "pause",
    "isolate",
    "partition",
    "one-way",
    "delay",
    "loss",
    "bandwidth",
    "register",
    "unique-writes",
    "membership",
    "tarball",
    "n1",
    "n2",
    "n9",
    "n0",
    "5s",
    "1e9",
    "25h",
    "-5",
    "[/red]",
    ":fire:",
]
KEYS = st.sampled_from(_names()) | st.text(max_size=6) | st.integers(-2, 2) | st.none()
VALUES = st.recursive(
    SCALARS | st.sampled_from(WORDS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
# Pieces of YAML a mutation drops into a real file.
TOKENS = [
    "&a ",
    "*a",
    "*b",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\n  ",
    "\t",
    "!!int ",
    "!!python/object ",
    "? ",
    "|\n",
    "'",
    '"',
    "\\",
    "%YAML 1.1\n",
    "---\n",
    "#",
    "\x00",
    "\x1b",
    "\ufeff",
    "1e9",
    "-5",
    "n9",
    "2020-13-45",
    ": 2020-13-45\n",
    ": !!int x\n",
    ": !!float x\n",
    ": 1" + "0" * 5000 + "\n",
    "0x" + "f" * 40,
    "~",
    "leader",
    "99999999999999999999h",
]


def mutate_text(text: str, data: st.DataObject) -> str:
    """One to five edits at random places: a token in, a span out, a line doubled or moved."""
    for _ in range(data.draw(st.integers(1, 5))):
        where = data.draw(st.integers(0, len(text)))
        edit = data.draw(st.sampled_from(["insert", "delete", "replace", "double", "swap"]))
        if edit == "insert":
            text = text[:where] + data.draw(st.sampled_from(TOKENS)) + text[where:]
        elif edit == "delete":
            text = text[:where] + text[where + data.draw(st.integers(1, 20)) :]
        elif edit == "replace" and where < len(text):
            text = text[:where] + data.draw(st.characters()) + text[where + 1 :]
        elif text.count("\n") > 1:
            lines = text.splitlines(keepends=True)
            i, j = (data.draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            if edit == "double":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in parsed JSON or YAML, the whole first."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths_of(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths_of(value, (*prefix, index))


def mutate_data(data: Any, draw: st.DataObject, values: st.SearchStrategy[Any] = JSON) -> Any:
    """Replace or remove one value somewhere inside `data` (a copy is changed)."""
    data = json.loads(json.dumps(data, default=str))
    path = draw.draw(st.sampled_from(list(paths_of(data))))
    if not path:
        return draw.draw(values)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw.draw(st.booleans()):
        parent[path[-1]] = draw.draw(values)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return data


# -- the experiment loader ---------------------------------------------------------------


def loads_or_refuses(text: str) -> None:
    try:
        parse_experiment(text, "fuzzed.yaml")
    except ExperimentError as refused:
        assert refused.lines and all(line.strip() for line in refused.lines)


@fuzz(400, 1.0)
@given(st.binary(max_size=2048))
def test_the_loader_answers_any_bytes(raw: bytes) -> None:
    loads_or_refuses(raw.decode("utf-8", "surrogateescape"))


@fuzz(30, 1.0)
@given(st.binary(max_size=512))
def test_the_loader_answers_any_bytes_in_a_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.yaml"
        path.write_bytes(raw)
        with contextlib.suppress(ExperimentError):
            load_experiment(path)


@fuzz(300, 1.0)
@given(VALUES, st.sampled_from(["", "title: t\nsystem: etcd\n"]))
def test_the_loader_answers_any_yaml_tree(tree: Any, head: str) -> None:
    loads_or_refuses(head + yaml.safe_dump(tree, allow_unicode=True))


@fuzz(300, 1.0)
@given(st.sampled_from(CATALOGUE_FILES), st.data())
def test_the_loader_answers_any_mutation_of_a_catalogue_file(
    path: Path, data: st.DataObject
) -> None:
    loads_or_refuses(mutate_text(path.read_text(), data))


@fuzz(150, 1.0)
@given(st.sampled_from(CATALOGUE_FILES), st.data())
def test_libyaml_answers_any_mutation_of_a_catalogue_file(path: Path, data: st.DataObject) -> None:
    """Files past FAST_BYTES are parsed by libyaml: the same bounds, other parser."""
    text = mutate_text(path.read_text(), data)
    small_files, source.FAST_BYTES = source.FAST_BYTES, 0
    try:
        loads_or_refuses(text)
    finally:
        source.FAST_BYTES = small_files


@fuzz(300, 1.0)
@given(st.sampled_from(CATALOGUE_FILES), st.data())
def test_the_loader_answers_any_value_put_into_a_catalogue_experiment(
    path: Path, data: st.DataObject
) -> None:
    tree = mutate_data(yaml.safe_load(path.read_text()), data, VALUES)
    loads_or_refuses(yaml.safe_dump(tree, allow_unicode=True))


# -- the history reader ------------------------------------------------------------------


def _recorded_lines() -> list[str]:
    """The first lines of every recorded history, and every fault event: each record kind."""
    lines = []
    for run in RECORDED:
        with gzip.open(run / "history.jsonl.gz", "rt", encoding="utf-8") as history:
            everything = history.read().splitlines()
        lines += everything[:PREFIX_LINES]
        lines += [line for line in everything if '"record": "fault"' in line]
    return lines


REAL_LINES = _recorded_lines()
META = '{"record": "meta", "run_id": "fuzz", "seed": 0}'


def reads_or_refuses(lines: list[str | bytes], rules: Rules | None = None) -> None:
    """Write a history of these lines, read it back, and measure what was read."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        path.write_bytes(
            b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
        )
        try:
            history = load_history(path)
        except ArtefactError as refused:
            assert str(refused).startswith(f"{path}:") and "\n" not in str(refused)
            return
    with contextlib.suppress(ChaosError):
        measure(history, rules or Rules())


@fuzz(200)
@given(st.lists(st.text(max_size=80) | st.binary(max_size=80), max_size=5))
def test_the_history_reader_answers_any_lines(lines: list[str | bytes]) -> None:
    reads_or_refuses([META, *lines])


@fuzz(200)
@given(st.lists(JSON.map(json.dumps), max_size=5))
def test_the_history_reader_answers_any_json(lines: list[str]) -> None:
    reads_or_refuses([META, *lines])


@fuzz(400)
@given(st.lists(st.sampled_from(REAL_LINES), min_size=1, max_size=30), st.data())
def test_the_history_reader_answers_mutated_real_lines(
    lines: list[str], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    if data.draw(st.booleans()):
        lines[index] = json.dumps(mutate_data(json.loads(lines[index]), data))
    else:
        lines[index] = mutate_text(lines[index], data).replace("\n", " ")
    reads_or_refuses([META, *lines], Rules(sharded=data.draw(st.booleans())))


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
# Values of the type each field declares, drawn so that ops collide: the odd histories the
# reader must let through, and the checks must measure without a TypeError.
WELL_TYPED = {
    "type": st.sampled_from(["invoke", "ok", "fail", "info"]),
    "f": st.sampled_from(["read", "write", "cas", "add", "final-read", "scan"]),
    "key": st.sampled_from(["s0", "s1", "k0", "k1", "members", None]),
    "id": st.integers(0, 5),
    "process": st.integers(-1, 3),
    "time": st.integers(0, 60 * 10**9),
    "node": st.sampled_from(["n1", "n2", "n9", None]),
    "error": st.sampled_from([None, "", "timeout"]),
    "stage": st.sampled_from(
        ["requested", "effective", "heal-requested", "healed", "healed-verified", "failed"]
    ),
    "targets": st.lists(st.sampled_from(["n1", "n2", "n3", "n9"]), max_size=3),
    "kind": st.sampled_from(["kill", "pause", "isolate", "partition", "delay", "x"]),
    "fault_id": st.integers(0, 3),
    "observer": st.sampled_from(["n1", "n2", "driver", "n9"]),
    "role": st.sampled_from(["leader", "follower", "master", "replica", "looking", None]),
    "leader": st.sampled_from(["n1", "n2", "n9", None]),
    "members": st.dictionaries(
        st.sampled_from(["n1", "n2", "n3", "n9"]), st.sampled_from(["up", "down", "suspect"])
    ),
    "detail": st.fixed_dictionaries({}, optional={"spec": st.dictionaries(KEYS.map(str), PLAIN)}),
}


@fuzz(150)
@given(st.lists(st.sampled_from(REAL_LINES), min_size=1, max_size=40), st.data())
def test_well_typed_but_odd_histories_read_and_measure(
    lines: list[str], data: st.DataObject
) -> None:
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(lines) - 1))
        record = json.loads(lines[index])
        field = data.draw(st.sampled_from(sorted(record)))
        if field == "value":
            record[field] = data.draw(PLAIN)
        elif field in WELL_TYPED:
            record[field] = data.draw(WELL_TYPED[field])
        lines[index] = json.dumps(record)
    reads_or_refuses([META, *lines], Rules(sharded=data.draw(st.booleans())))


@fuzz(100)
@given(st.lists(st.sampled_from(REAL_LINES), max_size=60))
def test_real_lines_in_any_order_read_and_measure(lines: list[str]) -> None:
    reads_or_refuses([META, *lines])


# -- the run-folder readers --------------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Each recorded run with a short history, and the metrics and verdicts a run writes."""
    folders = []
    for recorded in RECORDED:
        run = tmp_path_factory.mktemp("runs") / recorded.name
        run.mkdir()
        for name in ("run.json", "experiment.yaml"):
            shutil.copy(recorded / name, run / name)
        with gzip.open(recorded / "history.jsonl.gz", "rt", encoding="utf-8") as history:
            lines = history.read().splitlines()
        kept = lines[:PREFIX_LINES] + [line for line in lines if '"record": "fault"' in line]
        (run / "history.jsonl").write_text("\n".join(kept) + "\n")
        metrics = measure(load_history(run / "history.jsonl"), rules_of(read_run(run)))
        (run / "metrics.json").write_text(json.dumps(metrics.to_json(), default=str))
        verdicts = {
            "schema_version": 2,
            "status": "held",
            "verdicts": [{"slo": "x", "outcome": "held"}],
        }
        (run / "verdicts.json").write_text(json.dumps(verdicts))
        folders.append(run)
    return folders


RUN_FILES = ["run.json", "metrics.json", "verdicts.json", "history.jsonl"]


@fuzz(150, 3.0)
@given(st.data())
def test_the_run_folder_readers_answer_any_mutated_run(
    small_runs: list[Path], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(data.draw(st.sampled_from(small_runs)), run)
        name = data.draw(st.sampled_from(RUN_FILES))
        path = run / name
        if name == "history.jsonl":
            lines = path.read_text().splitlines()
            index = data.draw(st.integers(0, len(lines) - 1))
            lines[index] = json.dumps(mutate_data(json.loads(lines[index]), data))
            path.write_text("\n".join(lines) + "\n")
            (run / "metrics.json").unlink()  # so that read_metrics measures the history
        elif data.draw(st.booleans()):
            path.write_text(json.dumps(mutate_data(json.loads(path.read_text()), data)))
        else:
            path.write_text(mutate_text(path.read_text(), data))
        for read in (_run_as_used, read_metrics, _verdicts_as_used, read_summary):
            try:
                read(run)
            except ChaosError as refused:
                assert "\n" not in str(refused)


def _run_as_used(run_dir: Path) -> object:
    run = read_run(run_dir)
    return rules_of(run), run.size


def _verdicts_as_used(run_dir: Path) -> object:
    verdicts = read_verdicts(run_dir)
    return verdicts.items() if verdicts else None


def test_every_history_field_has_a_type_the_reader_checks() -> None:
    """A field added to a record with a new annotation must teach the reader its check."""
    from dataclasses import fields

    from chaos import history

    for cls in history._KINDS.values():
        for item in fields(cls):
            assert item.name == "time" or str(item.type) in history._TYPES, (cls, item.name)


def test_the_readers_are_fed_every_record_kind_and_history() -> None:
    kinds = {json.loads(line)["record"] for line in REAL_LINES}
    assert kinds >= {"meta", "op", "fault", "obs"}
    assert len(RECORDED) >= 6 and len(CATALOGUE_FILES) >= 35
    assert History.from_records([]).ops == []
