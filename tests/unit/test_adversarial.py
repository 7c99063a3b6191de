"""The adversarial corpus: broken experiment files, damaged run folders and misused commands.

Every case must be answered in bounded time with exit code 2, one line per problem naming the
file (and its line, column and field where it has them), no traceback, and nothing in a run
folder changed. The broken files live in tests/adversarial/experiments/, each with the lines
it must produce in its leading `# expect:` comments (`...` stands for the rest of a message);
the cases clearer as code (a 5 MB file, a symbolic link loop, a damaged run folder) are built
here. No case needs Docker: each fails before anything starts, and Docker is made to fail the
test if it is ever reached.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chaos import cli
from chaos.artefacts import Verdicts, read_metrics
from chaos.errors import ArtefactError, ExperimentError
from chaos.experiment import load_experiment
from chaos.history import load_history

CORPUS = Path(__file__).resolve().parents[1] / "adversarial"
BROKEN = sorted((CORPUS / "experiments").glob("*.yaml"))
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded-runs" / "redis-master-kill"
MINIMAL = "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults: []\n"
BROKEN_MINIMAL = MINIMAL.replace("etcd", "mongo")  # one problem, at 2:9
MB = 1024 * 1024
CPU_LIMIT_S = 1.0  # each hostile file, however large, answered within a second of CPU
HANG_S = 20.0  # wall clock: past this a case is a hang, whatever the machine's load


class Hang(Exception):
    """A case ran past HANG_S."""


@contextmanager
def bounded(seconds: float = HANG_S) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM interrupts the case after `seconds`."""

    def interrupt(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case that reaches Docker has failed: nothing should start."""
    from chaos.backend.docker import cluster
    from chaos.runner import Run

    def touched(*args: object, **kwargs: object) -> None:
        raise AssertionError("Docker was reached: the input was not refused first")

    monkeypatch.setattr(cluster, "running", touched)
    monkeypatch.setattr(cluster, "run_exists", lambda run_id: False)
    monkeypatch.setattr(cluster, "remove_labelled", touched)
    monkeypatch.setattr(Run, "execute", touched)


def invoke(*args: str | Path) -> Result:
    """The command line as a user runs it, each call with a console of its own."""
    cli.console.cache_clear()
    with bounded():
        return CliRunner().invoke(cli.app, [str(arg) for arg in args])


def answer(result: Result) -> list[str]:
    """The lines a command printed, after checking it died of no exception of its own."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a bug, not an answer: {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result.output.splitlines()


# -- broken experiment files -------------------------------------------------------------


def expected_lines(path: Path) -> list[str]:
    """The `# expect:` header of a corpus file: the lines it must produce, without its path."""
    lines = path.read_bytes().decode("utf-8").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def matches(pattern: str, line: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("..."))), line) is not None


def assert_lines(path: Path | str, lines: list[str], patterns: list[str], prefix: str = "") -> None:
    assert len(lines) == len(patterns), "\n".join(lines)
    for line, pattern in zip(lines, patterns, strict=True):
        head = f"{prefix}{path}:"
        assert line.startswith(head), line
        assert matches(pattern, line.removeprefix(head)), f"{line!r} is not {pattern!r}"


def refusal(path: Path) -> tuple[list[str], float]:
    """The lines loading `path` is refused with, and the CPU seconds it took."""
    start = time.process_time()
    with bounded(), pytest.raises(ExperimentError) as refused:
        load_experiment(path)
    return refused.value.lines, time.process_time() - start


def test_the_corpus_covers_every_class_the_issue_lists() -> None:
    prefixes = {path.name.split("-")[0] for path in BROKEN}
    assert {"alias", "keys", "control", "deep", "markup", "nodes", "settings", "image"} <= prefixes
    assert {"overlap", "huge", "keytype", "newline", "hint", "yaml", "shape"} <= prefixes
    assert len(BROKEN) + len(GENERATED) + len(MARKUP_NAMES) >= 160


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_file_is_refused_one_line_per_problem_by_validate_and_run(path: Path) -> None:
    patterns = expected_lines(path)
    lines, cpu = refusal(path)
    assert_lines(path, lines, patterns)
    assert cpu < CPU_LIMIT_S
    validated = invoke("validate", path)
    assert validated.exit_code == 2
    assert answer(validated) == lines
    ran = invoke("run", path)
    assert ran.exit_code == 2
    assert answer(ran) == [f"error: {line}" for line in lines]


@dataclass(frozen=True)
class Generated:
    """A hostile file clearer as code than as a file in the corpus."""

    build: Callable[[Path], Path]
    patterns: tuple[str, ...]
    validated: tuple[str, ...] = ()  # what `validate` says, where it reads a path otherwise


def _file(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return build


def _symlink(name: str, to: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.symlink_to(folder / to)
        return path

    return build


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.yaml"
    os.mkfifo(path)
    return path


def _folder(folder: Path) -> Path:
    path = folder / "a-folder.yaml"
    path.mkdir()
    return path


BIG_FAULTS = "faults:\n" + "  - {kind: kill, target: n1, at: 5s, duration: 1s}\n" * (5 * MB // 50)
GENERATED: dict[str, Generated] = {
    "unknown-keys-16000": Generated(
        _file("keys.yaml", MINIMAL + "".join(f"unknown{i}: {i}\n" for i in range(16_000))),
        ("1002:1: more than 1,000 keys in one mapping: refused...",),
    ),
    "unknown-keys-2000-nested": Generated(
        _file(
            "keys.yaml",
            MINIMAL + "cluster:\n  settings:\n" + "".join(f"    s{i}: {i}\n" for i in range(2_000)),
        ),
        ("1008:5: more than 1,000 keys in one mapping: refused...",),
    ),
    "5mb-description": Generated(
        _file("big.yaml", BROKEN_MINIMAL + "description: " + "x" * 5 * MB + "\n"),
        (
            "2:9: system: unknown system...",
            "6:14: description: expected one line...(5,242,880 ch...",
        ),
    ),
    "5mb-comment": Generated(
        _file("big.yaml", "#" + "x" * 5 * MB + "\n" + BROKEN_MINIMAL),
        ("3:9: system: unknown system...",),
    ),
    "5mb-blank-lines": Generated(
        _file("big.yaml", "\n" * 5 * MB + BROKEN_MINIMAL), (f"{5 * MB + 2}:9: system: unknown...",)
    ),
    "5mb-of-faults": Generated(
        _file("big.yaml", MINIMAL.replace("faults: []\n", BIG_FAULTS)),
        ("2227:5: more than 20,000 values: refused...",),
    ),
    "5mb-flow-list": Generated(
        _file("big.yaml", "tags: [" + "a, " * (5 * MB // 3) + "]\n"),
        ("1:59999: more than 20,000 values: refused...",),
    ),
    "5mb-brackets": Generated(
        _file("big.yaml", "tags: " + "[" * 5 * MB), ("1:70: nested more than 64 levels deep",)
    ),
    "5mb-of-aliases": Generated(
        _file("big.yaml", "a: &a 1\nb: [" + "*a, " * (5 * MB // 4) + "]\n"),
        ("2:79985: more than 20,000 values: refused...",),
    ),
    "5mb-key": Generated(
        _file("big.yaml", "k" * 5 * MB + "\n"), ('1:1: expected a mapping, got "kkkk...',)
    ),
    "over-10mb": Generated(_file("big.yaml", "#" * (10 * MB + 1)), (" over 10 MB: refused",)),
    "empty-file": Generated(_file("empty.yaml", ""), ("1:1: empty file; expected...",)),
    "not-utf-8": Generated(
        _file("latin1.yaml", "title: caf\xe9\n".encode("latin-1")),
        (" cannot read: not UTF-8 text",),
    ),
    "utf-16": Generated(
        _file("utf16.yaml", MINIMAL.encode("utf-16")), (" cannot read: not UTF-8 text",)
    ),
    "nul-bytes-only": Generated(
        _file("nul.yaml", b"\x00" * 1000), ("1:1: control character #x0000 is not allowed",)
    ),
    "syntax-error-in-a-long-file": Generated(  # past FAST_BYTES: libyaml's words
        _file("long.yaml", MINIMAL + "#" * 20_000 + "\ntitle: [a\nb: c\n"),
        ("8:2: invalid YAML: did not find expected ',' or ']'",),
    ),
    "half-a-character-in-a-long-file": Generated(
        _file("long.yaml", MINIMAL + "#" * 20_000 + '\nx: "\\ud800"\n'),
        ("7:7: invalid YAML: found invalid Unicode character escape code",),
    ),
    "symbolic-link-loop": Generated(
        _symlink("loop.yaml", "loop.yaml"), (" a symbolic link that leads nowhere (or to itself)",)
    ),
    "symbolic-link-to-nowhere": Generated(
        _symlink("gone.yaml", "deleted.yaml"), (" a symbolic link that leads nowhere...",)
    ),
    "a-named-pipe": Generated(_fifo, (" not a regular file (a pipe or a device)",)),
    "a-link-to-dev-zero": Generated(
        _symlink("zero.yaml", "/dev/zero"), (" not a regular file (a pipe or a device)",)
    ),
    "a-folder": Generated(
        _folder, (" a folder, not a file",), (" no experiment files (*.yaml) in this folder",)
    ),
    "control-characters-in-the-name": Generated(
        _file("\x1b[31mred\x07.yaml", BROKEN_MINIMAL), ("2:9: system: unknown system...",)
    ),
}


@pytest.mark.parametrize("case", GENERATED.values(), ids=GENERATED.keys())
def test_generated_hostile_file_is_answered_within_a_second(
    tmp_path: Path, case: Generated
) -> None:
    path = case.build(tmp_path)
    shown = str(path).replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    lines, cpu = refusal(path)
    assert_lines(shown, lines, list(case.patterns))
    assert cpu < CPU_LIMIT_S
    validated = invoke("validate", path)
    assert validated.exit_code == 2
    if case.validated:
        assert_lines(shown, answer(validated), list(case.validated))
    else:
        assert answer(validated) == lines


# Rich markup and emoji codes in file names and values: printed as written, never interpreted.
MARKUP_NAMES = {
    "[bold].yaml": (
        "title: '[bold]x'\nsystem: '[red]mongo'\nworkload: {kind: register}\nfaults: []\n",
        '2:9: system: unknown system "[red]mongo"',
    ),
    "[red]x[link=y].yaml": (  # "[/red]" cannot be a file name: "/" parts folders
        MINIMAL + "repeats: '[/]'\n",
        'repeats: expected an integer from 1 to 1000, got "[/]"',
    ),
    ":fire:.yaml": (MINIMAL + "':fire:': ':fire:'\n", "6:1: :fire:: unknown field"),
}


@pytest.mark.parametrize("name", MARKUP_NAMES, ids=MARKUP_NAMES.keys())
def test_markup_in_file_names_and_values_is_printed_literally(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(MARKUP_NAMES[name][0])
    for command in ("validate", "run"):
        result = invoke(command, path)
        assert result.exit_code == 2
        lines = answer(result)
        assert lines and all(str(path) in line for line in lines), lines
        assert MARKUP_NAMES[name][1] in result.output
        assert "\N{FIRE}" not in result.output


def test_a_title_of_markup_heads_its_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaos.errors import BackendError
    from chaos.runner import Run

    def no_engine(self: Run) -> None:
        raise BackendError("no Docker engine here")

    monkeypatch.setattr(Run, "execute", no_engine)
    path = tmp_path / "markup.yaml"
    path.write_text(MINIMAL.replace("title: t", "title: '[/red] :fire: [bold'"))
    result = invoke("run", path)
    lines = answer(result)
    assert result.exit_code == 2
    assert "[/red] :fire: [bold (run 1)" in lines[0]
    assert lines[1:] == ["error: no Docker engine here"]


# -- damaged run folders -----------------------------------------------------------------


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded run as today's runner leaves it: plain history, metrics, verdicts."""
    run = tmp_path_factory.mktemp("good") / "redis-master-kill"
    shutil.copytree(RECORDED, run)
    with gzip.open(run / "history.jsonl.gz", "rb") as packed:
        (run / "history.jsonl").write_bytes(packed.read())
    (run / "history.jsonl.gz").unlink()
    (run / "metrics-as-reported.json").unlink()
    metrics = read_metrics(run)
    assert metrics is not None
    (run / "metrics.json").write_text(json.dumps(metrics.to_json()))
    (run / "verdicts.json").write_text(json.dumps(Verdicts(status="held").model_dump(mode="json")))
    return run


def _lines(run: Path) -> list[str]:
    return (run / "history.jsonl").read_text().splitlines()


def _first(run: Path, needle: str) -> int:
    return next(i for i, line in enumerate(_lines(run)) if needle in line)


def _edit_record(
    needle: str, change: Callable[[dict[str, object]], object]
) -> Callable[[Path], int]:
    """Rewrite the first history line holding `needle`; the damage's line number."""

    def damage(run: Path) -> int:
        lines = _lines(run)
        index = _first(run, needle)
        lines[index] = json.dumps(change(json.loads(lines[index])))
        (run / "history.jsonl").write_text("\n".join(lines) + "\n")
        return index + 1

    return damage


def _replace_line(needle: str, text: str) -> Callable[[Path], int]:
    def damage(run: Path) -> int:
        lines = _lines(run)
        index = _first(run, needle)
        lines[index] = text
        (run / "history.jsonl").write_text("\n".join(lines) + "\n")
        return index + 1

    return damage


def _without(key: str) -> Callable[[dict[str, object]], object]:
    return lambda record: {k: v for k, v in record.items() if k != key}


def _with(key: str, value: object) -> Callable[[dict[str, object]], object]:
    return lambda record: {**record, key: value}


def _write(name: str, content: str | bytes | None) -> Callable[[Path], None]:
    """Replace one file of the run: text, bytes, a folder ("/") or nothing (None)."""

    def damage(run: Path) -> None:
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        if content == "/":
            path.mkdir()
        elif isinstance(content, str):
            path.write_text(content)
        elif isinstance(content, bytes):
            path.write_bytes(content)

    return damage


def _pipe(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink()
        os.mkfifo(run / name)

    return damage


def _edit_json(name: str, change: Callable[[dict[str, object]], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return damage


def _gzip_history(content: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        plain = run / "history.jsonl"
        (run / "history.jsonl.gz").write_bytes(content(gzip.compress(plain.read_bytes())))
        plain.unlink()

    return damage


def _nested(name: str, depth: int = 100_000) -> Callable[[Path], None]:
    return _write(name, "[" * depth + "]" * depth)


def _set_path(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, object]], object]:
    def change(data: dict[str, object]) -> object:
        node: object = data
        for part in path[:-1]:
            node = node[part]  # type: ignore[index]
        node[path[-1]] = value  # type: ignore[index]
        return data

    return change


def _drop_path(path: tuple[str | int, ...]) -> Callable[[dict[str, object]], object]:
    def change(data: dict[str, object]) -> object:
        node: object = data
        for part in path[:-1]:
            node = node[part]  # type: ignore[index]
        del node[path[-1]]  # type: ignore[attr-defined]
        return data

    return change


@dataclass(frozen=True)
class Damage:
    """One way a run folder can be broken; `file` is what the line must name (with the line
    number the damage returns, for a history line), `commands` those that must refuse it."""

    damage: Callable[[Path], object]
    file: str
    phrase: str
    commands: tuple[str, ...] = ("report", "compare")


HISTORY = "history.jsonl"
OP = '"record": "op"'
FAULT = '"record": "fault"'
OBS = '"record": "obs"'
FINAL = '"f": "final-read", "key": "s0", "value": ['
DAMAGES: dict[str, Damage] = {
    "history-line-without-record": Damage(
        _edit_record(OP, _without("record")), HISTORY, 'a line without "record"'
    ),
    "history-unknown-record-kind": Damage(
        _edit_record(OP, _with("record", "weird")), HISTORY, 'unknown record "weird"'
    ),
    "history-record-kind-a-number": Damage(
        _edit_record(OP, _with("record", 5)), HISTORY, "unknown record 5"
    ),
    "history-op-without-time": Damage(
        _edit_record(OP, _without("time")), HISTORY, 'an op without "time"'
    ),
    "history-op-without-id": Damage(
        _edit_record(OP, _without("id")), HISTORY, 'an op without "id"'
    ),
    "history-json-array-line": Damage(
        _replace_line(OP, "[1, 2, 3]"), HISTORY, "expected a JSON object, got a list"
    ),
    "history-string-time": Damage(
        _edit_record(OP, _with("time", "soon")), HISTORY, 'an op\'s "time": expected an integer'
    ),
    "history-float-time": Damage(_edit_record(OP, _with("time", 1.5)), HISTORY, "week, got 1.5"),
    "history-true-time": Damage(_edit_record(OP, _with("time", True)), HISTORY, "week, got true"),
    "history-nan-time": Damage(
        _replace_line(
            OP,
            '{"record": "op", "type": "invoke", "id": 0, "process": 0, "f": "add", '
            '"key": "s1", "value": 1, "time": NaN}',
        ),
        HISTORY,
        "week, got NaN",
    ),
    "history-time-10-to-the-30": Damage(  # a chart of the run would span 10**30 ns
        _edit_record(OBS, _with("time", 10**30)), HISTORY, "at most a week"
    ),
    "history-negative-time": Damage(
        _edit_record(OP, _with("time", -1)), HISTORY, "nanoseconds since the run began"
    ),
    "history-op-type-unknown": Damage(
        _edit_record(OP, _with("type", "maybe")), HISTORY, "expected one of invoke, ok, fail, info"
    ),
    "history-not-json": Damage(_replace_line(OP, "not json at all"), HISTORY, "not JSON"),
    "history-blank-line": Damage(_replace_line(OP, ""), HISTORY, "not JSON"),
    "history-torn-mid-file": Damage(_replace_line(OP, '{"record": "op", "ty'), HISTORY, "not JSON"),
    "history-op-value-an-object": Damage(
        _edit_record(OP, _with("value", {"a": 1})), HISTORY, "64 bits), got an object"
    ),
    "history-cas-value-not-a-pair": Damage(
        _edit_record(OP, lambda r: {**r, "f": "cas", "value": 5}),
        HISTORY,
        "expected [expected, new]",
    ),
    "history-final-read-not-a-list": Damage(
        _edit_record(FINAL, _with("value", 5)), HISTORY, 'a final read\'s "value": expected a list'
    ),
    "history-id-beyond-64-bits": Damage(  # a chart cannot carry it
        _edit_record(OP, _with("process", 10**30)), HISTORY, 'an op\'s "process"'
    ),
    "history-fault-spec-a-list": Damage(
        _edit_record(FAULT, _with("detail", {"spec": ["kill"]})), HISTORY, '"detail.spec"'
    ),
    "history-set-read-as-a-register": Damage(
        _edit_record('"f": "add"', lambda r: {**r, "f": "read", "type": "ok", "value": 5}),
        HISTORY,
        "a set (it takes adds), not of a list",
    ),
    "history-op-invoked-twice": Damage(
        _edit_record('"type": "invoke", "id": 1,', _with("id", 0)), HISTORY, "invoked again"
    ),
    "history-completion-of-another-function": Damage(
        _edit_record('"type": "ok", "id": 0,', _with("f", "read")), HISTORY, "invoked as add"
    ),
    "history-fault-targets-a-number": Damage(
        _edit_record(FAULT, _with("targets", 5)), HISTORY, "expected a list of names, got 5"
    ),
    "history-fault-stage-unknown": Damage(
        _edit_record(FAULT, _with("stage", "boom")), HISTORY, 'a fault event\'s "stage"'
    ),
    "history-fault-detail-a-list": Damage(
        _edit_record(FAULT, _with("detail", [1])), HISTORY, "expected an object, got a list"
    ),
    "history-fault-without-fault-id": Damage(
        _edit_record(FAULT, _without("fault_id")), HISTORY, 'a fault event without "fault_id"'
    ),
    "history-members-a-list": Damage(
        _edit_record(OBS, _with("members", ["n1"])), HISTORY, 'an observation\'s "members"'
    ),
    "history-members-not-text": Damage(
        _edit_record(OBS, _with("members", {"n1": 1})), HISTORY, "an object of text values"
    ),
    "history-external-without-node": Damage(
        _replace_line(OP, '{"record": "external", "time": 5, "action": "die"}'),
        HISTORY,
        'an external event without "node"',
    ),
    "history-number-of-5000-digits": Damage(
        _replace_line(OP, '{"record": "op", "time": ' + "9" * 5000 + "}"), HISTORY, "not JSON"
    ),
    "history-nested-100000-deep": Damage(
        _replace_line(OP, "[" * 100_000 + "]" * 100_000), HISTORY, "not JSON"
    ),
    "history-not-utf-8": Damage(
        _write(HISTORY, b'{"record": "meta"}\n\xff\xfe\n'), HISTORY, "UTF-8"
    ),
    "history-a-folder": Damage(_write(HISTORY, "/"), HISTORY, "a folder, not a file"),
    "history-gzip-garbage": Damage(
        _gzip_history(lambda packed: b"not gzip at all"), "history.jsonl.gz", "cannot read"
    ),
    "history-gzip-truncated": Damage(
        _gzip_history(lambda packed: packed[: len(packed) // 2]), "history.jsonl.gz", "cannot read"
    ),
    "history-missing": Damage(_write(HISTORY, None), HISTORY, "no such file", ("report",)),
    "history-empty": Damage(_write(HISTORY, ""), HISTORY, "no workload operation", ("report",)),
    "history-meta-only": Damage(
        _write(HISTORY, '{"record": "meta", "run_id": "x"}\n'),
        HISTORY,
        "no workload operation",
        ("report",),
    ),
    "history-a-named-pipe": Damage(_pipe(HISTORY), HISTORY, "not a regular file"),
    "run-json-a-named-pipe": Damage(_pipe("run.json"), "run.json", "not a regular file"),
    "run-json-garbage": Damage(_write("run.json", "{{{ not json"), "run.json", "not readable JSON"),
    "run-json-empty": Damage(_write("run.json", ""), "run.json", "not readable JSON"),
    "run-json-a-list": Damage(_write("run.json", "[]"), "run.json", "expected a JSON object"),
    "run-json-nodes-5": Damage(_edit_json("run.json", _with("nodes", 5)), "run.json", "nodes:"),
    "run-json-a-folder": Damage(_write("run.json", "/"), "run.json", "a folder, not a file"),
    "run-json-system-a-number": Damage(
        _edit_json("run.json", _with("system", 5)), "run.json", "system:"
    ),
    "run-json-schema-text": Damage(
        _edit_json("run.json", _with("schema_version", "2")), "run.json", "schema_version"
    ),
    "run-json-schema-from-the-future": Damage(
        _edit_json("run.json", _with("schema_version", 99)), "run.json", "written by schema 99"
    ),
    "run-json-status-unknown": Damage(
        _edit_json("run.json", lambda r: {**r, "schema_version": 2, "status": "??"}),
        "run.json",
        "status:",
    ),
    "run-json-without-run-id": Damage(
        _edit_json("run.json", lambda r: {**_without("run_id")(r), "schema_version": 2}),
        "run.json",
        "run_id:",
    ),
    "run-json-schedule-fault-without-fault": Damage(
        _edit_json("run.json", _with("schedule", [{"kind": "kill", "start_s": 5.0}])),
        "run.json",
        "schedule.0.fault:",
    ),
    "run-json-not-utf-8": Damage(_write("run.json", b"\xff\xfe{}"), "run.json", "not readable"),
    "run-json-nested-100000-deep": Damage(_nested("run.json"), "run.json", "not readable JSON"),
    "metrics-a-list": Damage(
        _write("metrics.json", "[]"), "metrics.json", "expected a JSON object", ("compare",)
    ),
    "metrics-garbage": Damage(
        _write("metrics.json", "nope"), "metrics.json", "not readable JSON", ("compare",)
    ),
    "metrics-a-folder": Damage(
        _write("metrics.json", "/"), "metrics.json", "a folder, not a file", ("compare",)
    ),
    "metrics-operations-text": Damage(
        _edit_json("metrics.json", _with("operations", "many")),
        "metrics.json",
        "operations:",
        ("compare",),
    ),
    "metrics-non-numeric-measure": Damage(
        _edit_json(
            "metrics.json", _set_path(("recovery", "faults", 0, "throughput_recovered_s"), "x")
        ),
        "metrics.json",
        "recovery.faults.0",
        ("compare",),
    ),
    "metrics-fault-without-fault": Damage(
        _edit_json("metrics.json", _drop_path(("recovery", "faults", 0, "fault"))),
        "metrics.json",
        "recovery.faults.0.fault",
        ("compare",),
    ),
    "metrics-recovery-a-string": Damage(
        _edit_json("metrics.json", _with("recovery", "fine")),
        "metrics.json",
        "recovery:",
        ("compare",),
    ),
    "verdicts-verdict-without-slo": Damage(
        _write("verdicts.json", '{"status": "held", "verdicts": [{"outcome": "held"}]}'),
        "verdicts.json",
        'names no SLO ("slo")',
        ("compare",),
    ),
    "verdicts-outcome-unknown": Damage(
        _write("verdicts.json", '{"status": "held", "verdicts": [{"slo": "x", "outcome": "ok"}]}'),
        "verdicts.json",
        "is not held, failed or unknown",
        ("compare",),
    ),
    "verdicts-a-list": Damage(
        _write("verdicts.json", "[1]"), "verdicts.json", "expected a JSON object", ("compare",)
    ),
    "verdicts-status-unknown": Damage(
        _write("verdicts.json", '{"status": "great"}'), "verdicts.json", "status:", ("compare",)
    ),
    "verdicts-list-of-text": Damage(
        _write("verdicts.json", '{"status": "held", "verdicts": "all held"}'),
        "verdicts.json",
        "verdicts:",
        ("compare",),
    ),
    "experiment-yaml-syntax": Damage(
        _write("experiment.yaml", "title: [a\nb: c\n"), "", "expected ',' or ']'"
    ),
    "experiment-yaml-a-folder": Damage(_write("experiment.yaml", "/"), "", "folder|directory"),
    "experiment-yaml-a-list": Damage(
        _write("experiment.yaml", "- 1\n"), "experiment.yaml", "expected a mapping", ("report",)
    ),
    "experiment-yaml-fault-without-kind": Damage(
        _write("experiment.yaml", MINIMAL.replace("[]", "[{at: 5s}]")),
        "experiment.yaml",
        "faults[0].kind: required field is missing",
        ("report",),
    ),
    "experiment-yaml-missing": Damage(
        _write("experiment.yaml", None), "experiment.yaml", "cannot read", ("report",)
    ),
}


def checksum(folder: Path) -> str:
    """Every path under `folder` and every file's bytes: any change shows."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def damaged_runs(good_run: Path, tmp_path: Path, case: Damage) -> tuple[Path, Path, str]:
    """runs/good and runs/damaged side by side; the damaged file's name as a line names it."""
    runs = tmp_path / "runs"
    shutil.copytree(good_run, runs / "good")
    damaged = runs / "damaged"
    shutil.copytree(good_run, damaged)
    if "history" in case.file:
        (damaged / "metrics.json").unlink()  # so that compare reads the history too
    line = case.damage(damaged)
    named = f"{damaged / case.file}:{line}:" if isinstance(line, int) else str(damaged / case.file)
    return runs, damaged, named


def one_error_line(result: Result, named: str, phrase: str) -> None:
    lines = answer(result)
    assert result.exit_code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]
    assert any(part in lines[0] for part in phrase.split("|")), lines[0]


@pytest.mark.parametrize("case", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_run_folder_is_refused_in_one_line_and_left_as_it_was(
    good_run: Path, tmp_path: Path, case: Damage
) -> None:
    runs, damaged, named = damaged_runs(good_run, tmp_path, case)
    before = checksum(runs)
    if "report" in case.commands:
        one_error_line(invoke("report", damaged), named, case.phrase)
        assert checksum(runs) == before
    if "compare" in case.commands:
        out = tmp_path / "comparison"
        one_error_line(invoke("compare", damaged, "--out", out), named, case.phrase)
        assert checksum(runs) == before and not out.exists()


@pytest.mark.parametrize(
    "case", [c for c in DAMAGES.values() if "compare" in c.commands], ids=lambda c: c.phrase
)
def test_compare_of_a_folder_leaves_a_damaged_neighbour_out_with_a_warning(
    good_run: Path, tmp_path: Path, case: Damage
) -> None:
    runs, _, named = damaged_runs(good_run, tmp_path, case)
    before = checksum(runs)
    out = tmp_path / "comparison"
    result = invoke("compare", runs, "--out", out)
    lines = answer(result)
    assert result.exit_code == 0, lines
    warning, done = lines
    assert warning.startswith("warning: left out of the comparison: ") and named in warning
    assert any(part in warning for part in case.phrase.split("|")), warning
    assert done == f"comparison: {out / 'index.html'}"
    compared = json.loads((out / "comparison.json").read_text())["runs"]
    assert [Path(run["path"]).name for run in compared] == ["good"]
    assert checksum(runs) == before


def test_a_history_line_names_the_file_and_line(good_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    line = _edit_record(OP, _without("time"))(run)
    with pytest.raises(ArtefactError) as refused:
        load_history(run / "history.jsonl")
    assert str(refused.value) == f'{run / "history.jsonl"}:{line}: an op without "time"'


# -- commands misused --------------------------------------------------------------------


@dataclass(frozen=True)
class Misuse:
    """A command line that must fail before anything starts: its exit code and, per problem,
    a phrase its line holds."""

    args: Callable[[Path], list[str | Path]]
    phrases: tuple[str, ...]
    exit_code: int = 2


def _with_files(**files: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return folder

    return make


def _bad(folder: Path) -> Path:
    path = folder / "bad.yaml"
    path.write_text(BROKEN_MINIMAL)
    return path


def _good(folder: Path) -> Path:
    path = folder / "etcd.yaml"
    path.write_text(MINIMAL)
    return path


def _serf(folder: Path) -> Path:
    path = folder / "serf.yaml"
    path.write_text(MINIMAL.replace("etcd", "serf").replace("register", "membership"))
    return path


def _a_file(folder: Path) -> Path:
    path = folder / "a-file"
    path.write_text("not a folder")
    return path


def _a_run(folder: Path) -> Path:
    (folder / "run").mkdir()
    (folder / "run" / "run.json").write_text('{"run_id": "r", "system": "etcd"}')
    return folder / "run"


MISUSES: dict[str, Misuse] = {
    "run a broken file": Misuse(lambda d: ["run", _bad(d)], ("unknown system",)),
    "run a missing file": Misuse(lambda d: ["run", d / "nope.yaml"], ("cannot read",)),
    "run a folder": Misuse(lambda d: ["run", d], ("a folder, not a file",)),
    "run --repeat 0": Misuse(lambda d: ["run", "--repeat", "0", _good(d)], ("--repeat",)),
    "run --repeat -1": Misuse(lambda d: ["run", "--repeat", "-1", _good(d)], ("--repeat",)),
    "run --repeat 1001": Misuse(lambda d: ["run", "--repeat", "1001", _good(d)], ("--repeat",)),
    "run --seed text": Misuse(lambda d: ["run", "--seed", "lucky", _good(d)], ("--seed",)),
    "run --image-source bogus": Misuse(
        lambda d: ["run", "--image-source", "bogus", _good(d)], ("expected one of local",)
    ),
    "run --image-source tarball on etcd": Misuse(
        lambda d: ["run", "--image-source", "tarball", _good(d)], ("etcd runs from local",)
    ),
    "run --image-source official on serf": Misuse(
        lambda d: ["run", "--image-source", "official", _serf(d)], ("serf runs from local images",)
    ),
    "run two files, one broken": Misuse(lambda d: ["run", _good(d), _bad(d)], ("bad.yaml:2:9",)),
    "validate a missing path": Misuse(lambda d: ["validate", d / "nope"], ("no such file",)),
    "validate an empty folder": Misuse(lambda d: ["validate", d], ("no experiment files",)),
    "validate a folder of broken files": Misuse(
        lambda d: ["validate", _with_files(**{"a.yaml": BROKEN_MINIMAL, "b/c.yaml": "- 1\n"})(d)],
        ("a.yaml:2:9: system", "c.yaml:1:1: expected a mapping"),
    ),
    "list a broken file": Misuse(lambda d: ["list", _bad(d)], ("unknown system",)),
    "up etcd election_timeout_ms=-5": Misuse(
        lambda d: ["up", "etcd", "--set", "election_timeout_ms=-5"],
        ("--set election_timeout_ms: expected an integer from 10 to 60000, got -5",),
    ),
    "up serf profile=bogus": Misuse(
        lambda d: ["up", "serf", "--set", "profile=bogus"], ("--set profile: expected one of lan",)
    ),
    "up cassandra phi 99 and heap lots": Misuse(
        lambda d: ["up", "cassandra", "--set", "phi_convict_threshold=99", "--set", "heap=lots"],
        ("--set phi_convict_threshold: expected a number from 5 to 16", "--set heap: expected"),
    ),
    "up etcd an unknown setting": Misuse(
        lambda d: ["up", "etcd", "--set", "tick_time_ms=5"], ("--set tick_time_ms",)
    ),
    "up etcd --set without =": Misuse(lambda d: ["up", "etcd", "--set", "x"], ("KEY=VALUE",)),
    "up etcd --set =5": Misuse(lambda d: ["up", "etcd", "--set", "=5"], ("KEY=VALUE",)),
    "up etcd --set an alias loop": Misuse(
        lambda d: ["up", "etcd", "--set", "election_timeout_ms=&a [*a]"], ("election_timeout_ms",)
    ),
    "up etcd --nodes 0": Misuse(lambda d: ["up", "etcd", "--nodes", "0"], ("--nodes",)),
    "up etcd --nodes 99": Misuse(lambda d: ["up", "etcd", "--nodes", "99"], ("1 to 9 nodes",)),
    "up an unknown system": Misuse(lambda d: ["up", "mongo"], ("unknown system 'mongo'",)),
    "up --image-source bogus": Misuse(
        lambda d: ["up", "etcd", "--image-source", "bogus"], ("expected one of local",)
    ),
    "up serf --image-source tarball": Misuse(
        lambda d: ["up", "serf", "--image-source", "tarball"], ("serf runs from local images",)
    ),
    "up etcd --image-source tarball": Misuse(
        lambda d: ["up", "etcd", "--image-source", "tarball"], ("etcd runs from local, official",)
    ),
    'down ""': Misuse(lambda d: ["down", ""], ("give a run id, or --all",)),
    "down with nothing": Misuse(lambda d: ["down"], ("give a run id, or --all",)),
    "down a run and --all": Misuse(lambda d: ["down", "r1", "--all"], ("give a run id, or --all",)),
    "down nosuchrun": Misuse(lambda d: ["down", "nosuchrun"], ("no cluster of run 'nosuchrun'",)),
    "report a missing folder": Misuse(lambda d: ["report", d / "nope"], ("no such run folder",)),
    "report a file": Misuse(lambda d: ["report", _a_file(d)], ("no such run folder",)),
    "report a folder without run.json": Misuse(lambda d: ["report", d], ("no run.json",)),
    "compare a missing path": Misuse(
        lambda d: ["compare", d / "nope", "--out", d / "o"], ("holds no runs",)
    ),
    "compare an empty folder": Misuse(lambda d: ["compare", d, "--out", d / "o"], ("no runs",)),
    "compare --out an existing file": Misuse(
        lambda d: ["compare", _a_run(d), "--out", _a_file(d)], ("a-file: not a folder",)
    ),
    "compare --out under a file": Misuse(
        lambda d: ["compare", _a_run(d), "--out", _a_file(d) / "sub"], ("cannot write",)
    ),
    "compare --out not creatable": Misuse(
        lambda d: ["compare", _a_run(d), "--out", "/proc/chaoslab/comparison"], ("cannot write",)
    ),
    "compare --out a run folder": Misuse(
        lambda d: ["compare", _a_run(d), "--out", d / "run"], ("a run folder: its index.html",)
    ),
    "compare --out a folder of runs": Misuse(
        lambda d: ["compare", _a_run(d), "--out", d], ("holds runs: its index.html",)
    ),
    "images build --tarball with no name": Misuse(
        lambda d: ["images", "build", "--tarball", _a_file(d)], ("name the one image",)
    ),
}


@pytest.mark.parametrize("case", MISUSES.values(), ids=MISUSES.keys())
def test_misused_command_fails_in_one_line_per_problem_before_anything_starts(
    tmp_path: Path, case: Misuse
) -> None:
    args = case.args(tmp_path)
    before = checksum(tmp_path)
    result = invoke(*args)
    lines = [line for line in answer(result) if line.strip()]
    assert result.exit_code == case.exit_code, lines
    if any(line.startswith("Usage:") for line in lines):  # click's own: usage, then the error
        problems = [line for line in lines if "Invalid value" in line or "Error" in line]
    else:
        problems = lines
    assert len(problems) == len(case.phrases), lines
    for line, phrase in zip(problems, case.phrases, strict=True):
        assert phrase in line, line
    assert checksum(tmp_path) == before  # nothing written, nothing started


def test_every_corpus_file_is_reviewed_text_not_generated_noise() -> None:
    for path in BROKEN:
        patterns = expected_lines(path)
        assert patterns, f"{path.name} says nothing about what it must produce"
        assert all(re.match(r"( |\d+:\d+: )", pattern) for pattern in patterns), path.name


def test_corpus_files_keep_their_names_portable() -> None:
    for path in BROKEN:
        assert re.fullmatch(r"[a-z0-9.\-]+\.yaml", path.name), path.name
        assert os.sep not in path.stem
