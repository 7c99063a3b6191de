"""Experiment files: the catalogue is valid, and every mistake is one line at the right place."""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.duration import parse_duration
from chaos.experiment import (
    CATALOGUE,
    FAULT_KINDS,
    SYSTEM_NAMES,
    Experiment,
    ExperimentError,
    find_experiments,
    load_experiment,
    parse_experiment,
    validate_paths,
)
from chaos.faults import FaultSpec, parse_fault
from chaos.faults.spec import describe

CATALOGUE_FILES = sorted(CATALOGUE.rglob("*.yaml"))

MINIMAL = """\
title: minimal
system: etcd
workload:
  kind: register
faults: []
"""


def problems(tmp_path: Path, text: str) -> tuple[str, str]:
    """(path, error message) for an experiment file that must not load."""
    path = tmp_path / "experiment.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    return str(path), str(caught.value)


def with_faults(*faults: dict[str, Any], seed: int = 0) -> Experiment:
    """The minimal experiment with these faults (each due after the 5s steady state)."""
    data = {"title": "t", "system": "etcd", "workload": {"kind": "register"}, "seed": seed}
    return Experiment.model_validate(data | {"faults": list(faults)})


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_catalogue_file_validates_and_sits_under_its_system(path: Path) -> None:
    experiment = load_experiment(path)
    assert experiment.system == path.parent.name
    assert experiment.description


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_catalogue_run_stays_short(path: Path) -> None:
    experiment = load_experiment(path)
    last_heal = max(window.end or window.start for window in experiment.schedule())
    # At most 70 s: Cassandra's crash must outlast its ~18 s conviction and its ~30 s restart.
    assert max(experiment.steady_state.duration, last_heal) + experiment.settle <= 70


def test_catalogue_has_the_same_names_for_every_system() -> None:
    names: dict[str, set[str]] = defaultdict(set)
    for path in CATALOGUE_FILES:
        names[path.parent.name].add(path.stem)
    assert set(names) == set(SYSTEM_NAMES)
    expected = {
        "leader-crash",
        "follower-crash",
        "leader-isolation",
        "majority-minority",
        "pause",
        "flapping-partition",
        "network-delay",
        "minority-then-majority",
    }
    assert all(found >= expected for found in names.values()), dict(names)
    # Read-mode experiments exist only where the system has a choice of read.
    extras = {(system, name) for system, found in names.items() for name in found - expected}
    assert extras == {
        ("cassandra", "two-down-one"),
        ("cassandra", "two-down-quorum"),
        ("cassandra", "visibility-isolation"),
        ("etcd", "fresh-read-minority"),
        ("etcd", "stale-read-minority"),
        ("zookeeper", "fresh-read-minority"),
        ("zookeeper", "stale-read-minority"),
    }


def test_validate_with_no_path_checks_the_whole_catalogue() -> None:
    assert len(find_experiments()) == len(CATALOGUE_FILES) >= 8 * len(SYSTEM_NAMES)
    assert validate_paths() == []


def test_readme_example_is_a_valid_experiment() -> None:
    readme = (CATALOGUE / "README.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert example is not None
    experiment = parse_experiment(example[1], "README.md")
    assert experiment.faults[0].kind == "kill"


def test_minimal_file_gets_every_default(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL)
    experiment = load_experiment(path)
    assert experiment.description is None
    assert experiment.tags == ()
    assert experiment.cluster.image_source == "local"
    assert experiment.cluster.settings == {}
    workload = experiment.workload
    assert (workload.clients, workload.binding, workload.rate) == (5, "per-node", 100.0)
    assert (workload.timeout, workload.keys, workload.consistency) == (0.5, 3, None)
    assert (experiment.steady_state.duration, experiment.steady_state.min_success_rate) == (
        5.0,
        0.99,
    )
    assert experiment.faults == ()
    assert (experiment.settle, experiment.repeats, experiment.seed) == (10.0, 1, 0)
    assert all(value is None for value in experiment.expect.model_dump().values())


def test_cassandra_consistency_defaults_to_quorum() -> None:
    text = MINIMAL.replace("etcd", "cassandra").replace("register", "unique-writes")
    assert parse_experiment(text).workload.consistency == "QUORUM"


def test_unique_writes_spreads_over_keys_sets_and_membership_has_none(tmp_path: Path) -> None:
    sets = MINIMAL.replace("kind: register", "kind: unique-writes\n  keys: 5")
    assert parse_experiment(sets).workload.keys == 5
    membership = MINIMAL.replace("etcd", "serf").replace("kind: register", "kind: membership")
    assert parse_experiment(membership).workload.keys is None
    path, message = problems(tmp_path, membership.replace("membership", "membership\n  keys: 2"))
    assert message == (
        f"{path}:5:9: workload.keys: the membership workload reads the member list: it has no keys"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("5s", 5.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        (3, 3.0),
        (0.25, 0.25),
    ],
)
def test_duration_parses_units_and_plain_seconds(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["fast", "5 seconds", "-1s", -1, True, "", "1.5.2s", float("inf"), 10**400]
)
def test_duration_rejects_anything_else(text: object) -> None:
    with pytest.raises(ValueError, match="expected a duration like 500ms, 5s or 2m"):
        parse_duration(text)


def test_fault_specs_read_durations_as_experiments_do() -> None:
    spec = parse_fault({"kind": "delay", "delay": ".5s", "jitter": 0.1})
    assert (spec.delay, spec.jitter) == (0.5, 0.1)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="expected a duration at most 600s, like 500ms, 5s or 2m"):
        parse_fault({"kind": "stop", "grace": "soon"})


def test_model_dump_yaml_round_trips_with_defaults_filled() -> None:
    for path in CATALOGUE_FILES:
        experiment = load_experiment(path)
        dumped = experiment.model_dump_yaml()
        assert parse_experiment(dumped, "dump") == experiment
    minimal = parse_experiment(MINIMAL).model_dump_yaml()
    assert "timeout: 0.5" in minimal
    assert "min_success_rate: 0.99" in minimal


def test_repeat_expands_into_injections_that_each_heal_before_the_next() -> None:
    flapping = load_experiment(CATALOGUE / "etcd" / "flapping-partition.yaml")
    windows = [(window.start, window.end) for window in flapping.schedule()]
    assert windows == [(5.0, 7.0), (9.0, 11.0), (13.0, 15.0)]


def test_process_fault_without_duration_is_never_healed() -> None:
    text = MINIMAL.replace("faults: []", "faults:\n  - {kind: kill, target: n2, at: 5s}")
    window = parse_experiment(text).schedule()[0]
    assert (window.start, window.end, window.fault.kind) == (5.0, None, "kill")


def test_random_timing_is_drawn_from_the_seed_within_its_span() -> None:
    text = MINIMAL.replace(
        "faults: []",
        "faults:\n  - kind: pause\n    random: {at: [5s, 8s], duration: [1s, 3s]}\nseed: 7",
    )
    experiment = parse_experiment(text)
    first = experiment.schedule(run=0)
    assert first == experiment.schedule(run=0)
    assert 5 <= first[0].start <= 8
    assert first[0].end is not None and 1 <= first[0].end - first[0].start <= 3
    draws = {experiment.schedule(run=run)[0].start for run in range(5)}
    assert len(draws) == 5


DRAWN = (
    {"kind": "pause", "random": {"at": [5, 8], "duration": [1, 3]}},
    {"kind": "kill", "random": {"at": [10, 30]}},
    {"kind": "delay", "delay": "50ms", "at": 12, "random": {"duration": [0.5, 4]}},
)


@given(st.integers(), st.integers(0, 1000))
def test_the_same_seed_and_run_draw_the_same_schedule_within_the_spans(seed: int, run: int) -> None:
    windows = with_faults(*DRAWN, seed=seed).schedule(run)
    assert windows == with_faults(*DRAWN, seed=seed).schedule(run)
    drawn = {window.index: window for window in windows}
    assert 5 <= drawn[0].start <= 8 and 1 <= drawn[0].end - drawn[0].start <= 3 + 1e-9
    assert 10 <= drawn[1].start <= 30 and drawn[1].end is None
    assert drawn[2].start == 12 and 0.5 <= drawn[2].end - drawn[2].start <= 4


def test_another_seed_draws_another_schedule() -> None:
    assert with_faults(*DRAWN, seed=1).schedule() != with_faults(*DRAWN, seed=2).schedule()


@given(
    seed=st.integers(),
    times=st.integers(2, 6),
    shortest=st.floats(0.1, 10),
    spread=st.floats(0, 10),
    gap=st.floats(0.01, 10),
)
def test_flapping_windows_last_as_drawn_and_heal_before_the_next_start(
    seed: int, times: int, shortest: float, spread: float, gap: float
) -> None:
    longest = shortest + spread
    fault = {
        "kind": "isolate",
        "random": {"at": [5, 20], "duration": [shortest, longest]},
        "repeat": {"times": times, "every": longest + gap},
    }
    windows = with_faults(fault, seed=seed).schedule()
    assert len(windows) == times
    assert all(shortest - 1e-9 <= window.end - window.start <= longest + 1e-9 for window in windows)
    for window, following in pairwise(windows):
        assert window.end is not None and window.end < following.start
        assert following.start - window.start == pytest.approx(longest + gap)


def test_windows_come_in_start_order_and_name_their_fault() -> None:
    experiment = with_faults(
        {"kind": "kill", "at": 20},
        {"kind": "pause", "at": 6, "duration": 2},
        {"kind": "stop", "at": 6},
    )
    windows = [(w.index, w.fault.kind, w.start, w.end) for w in experiment.schedule()]
    assert windows == [(1, "pause", 6.0, 8.0), (2, "stop", 6.0, None), (0, "kill", 20.0, None)]


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_catalogue_faults_are_the_nemesis_specs_themselves(path: Path) -> None:
    windows = load_experiment(path).schedule()
    assert windows
    for window in windows:
        assert isinstance(window.fault, FaultSpec)
        # What the nemesis records of it reads back as the same fault, timing left out.
        again = parse_fault(describe(window.fault))
        assert describe(again) == describe(window.fault)


# Each fault kind as an experiment writes it, and what the nemesis reads from it.
AS_WRITTEN: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "kill": ({"target": "leader"}, {"kind": "kill", "target": "leader"}),
    "stop": ({"target": "n2"}, {"kind": "stop", "target": "n2"}),
    "restart": ({}, {"kind": "restart", "target": "random"}),
    "pause": ({"target": "follower"}, {"kind": "pause", "target": "follower"}),
    "isolate": (
        {"target": "leader", "clients": "cut"},
        {"kind": "isolate", "target": "leader", "clients": "cut"},
    ),
    "majority-minority": ({"target": "leader"}, {"kind": "majority-minority", "target": "leader"}),
    "bridge": ({"target": "n3"}, {"kind": "bridge", "target": "n3"}),
    "partition": (
        {"groups": [["n1"], ["n2", "n3"]]},
        {"kind": "partition", "groups": (("n1",), ("n2", "n3"))},
    ),
    "one-way": (
        {"source": "leader", "destination": "n2"},
        {"kind": "one-way", "source": "leader", "destination": "n2"},
    ),
    "delay": (
        {"target": "n1", "delay": "100ms", "jitter": "10ms"},
        {"kind": "delay", "target": "n1", "delay": 0.1, "jitter": 0.01},
    ),
    "loss": ({"percent": 20}, {"kind": "loss", "percent": 20}),
    "duplicate": ({"percent": 5}, {"kind": "duplicate", "percent": 5}),
    "corrupt": ({"percent": 1.5}, {"kind": "corrupt", "percent": 1.5}),
    "bandwidth": ({"rate": "1mbit"}, {"kind": "bandwidth", "rate": "1mbit"}),
}


def test_every_fault_kind_has_an_example() -> None:
    assert set(AS_WRITTEN) == set(FAULT_KINDS)


@pytest.mark.parametrize("kind", AS_WRITTEN)
def test_a_fault_entry_is_the_spec_the_nemesis_reads(kind: str) -> None:
    fields, expected = AS_WRITTEN[kind]
    (window,) = with_faults({"kind": kind, "at": 5, "duration": 1} | fields).schedule()
    assert {name: getattr(window.fault, name) for name in expected} == expected
    assert "at" not in describe(window.fault)  # the timing is the experiment's, not the fault's


# Each invalid file: its text and the exact line (after "PATH:") it must produce.
INVALID = {
    "unknown field points at the key": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\n  ratee: 5\nfaults: []\n",
        "5:3: workload.ratee: unknown field; expected one of "
        "kind, clients, binding, rate, timeout, keys, consistency, "
        "read_consistency, write_consistency, read_mode, read_every, write_every",
    ),
    "wrong type": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\n  rate: fast\nfaults: []\n",
        '5:9: workload.rate: expected a number greater than 0 and at most 100000, got "fast"',
    ),
    "out of range": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\n  clients: 0\nfaults: []\n",
        "5:12: workload.clients: expected an integer from 1 to 10000, got 0",
    ),
    "bad duration": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\n  timeout: soon\nfaults: []\n",
        "5:12: workload.timeout: expected a duration greater than 0, at most 60s, like 500ms, "
        '5s or 2m, got "soon"',
    ),
    "unknown system": (
        "title: t\nsystem: mongo\nworkload:\n  kind: register\nfaults: []\n",
        '2:9: system: unknown system "mongo"; expected one of '
        "cassandra, etcd, redis, serf, zookeeper",
    ),
    "setting the system does not have": (
        "title: t\nsystem: etcd\ncluster:\n  settings:\n    tick_time_ms: 500\n"
        "workload:\n  kind: register\nfaults: []\n",
        "5:5: cluster.settings.tick_time_ms: unknown etcd setting; "
        "expected one of election_timeout_ms, heartbeat_interval_ms",
    ),
    "setting of the wrong type": (
        "title: t\nsystem: zookeeper\ncluster:\n  settings: {sync_limit: two}\n"
        "workload:\n  kind: register\nfaults: []\n",
        '4:26: cluster.settings.sync_limit: expected an integer from 1 to 100, got "two"',
    ),
    "consistency outside cassandra": (
        "title: t\nsystem: redis\nworkload:\n  kind: unique-writes\n  consistency: QUORUM\n"
        "faults: []\n",
        "5:16: workload.consistency: redis offers no consistency level per operation",
    ),
    "consistency level unknown": (
        "title: t\nsystem: cassandra\nworkload:\n  kind: unique-writes\n  consistency: MOST\n"
        "faults: []\n",
        '5:16: workload.consistency: expected one of ONE, QUORUM, ALL, got "MOST"',
    ),
    "yaml syntax error": (
        "title: t\nsystem: [etcd\nworkload:\n  kind: register\n",
        "3:9: invalid YAML: expected ',' or ']', but got ':'",
    ),
    "missing field points at the parent mapping": (
        "title: t\nsystem: etcd\nworkload:\n  clients: 3\nfaults: []\n",
        "4:3: workload.kind: required field is missing",
    ),
    "network fault without a duration": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - kind: isolate\n    target: leader\n    at: 5s\n",
        "6:5: faults[0].duration: required for isolate faults (how long until they are healed) "
        "unless random.duration is given",
    ),
    "unknown fault kind": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n  - kind: explode\n",
        "6:11: faults[0].kind: expected one of kill, stop, restart, pause, isolate, "
        "majority-minority, bridge, partition, one-way, delay, loss, duplicate, corrupt, "
        'bandwidth, got "explode"',
    ),
    "bad target inside a fault": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - kind: delay\n    delay: 1s\n    target: boss\n    at: 1s\n    duration: 1s\n",
        "8:13: faults[0].target: expected one of leader, follower, random, minority, majority, "
        'all-but-one, all, or a node name like n2, got "boss"',
    ),
    "field named like its fault kind": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - kind: delay\n    delay: fast\n    at: 1s\n    duration: 1s\n",
        "7:12: faults[0].delay: expected a duration greater than 0, at most 24h, like 500ms, "
        '5s or 2m, got "fast"',
    ),
    "rate the nemesis cannot shape": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: bandwidth, rate: 1Mbit, at: 5s, duration: 1s}\n",
        '6:29: faults[0].rate: expected a rate like 1mbit or 512kbit, got "1Mbit"',
    ),
    "fixed and drawn start both given": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - kind: pause\n    at: 1s\n    random: {at: [1s, 2s]}\n",
        "7:9: faults[0].at: give at or random.at, not both",
    ),
    "partition groups that overlap": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - kind: partition\n    groups: [[n1, n2], [n2, n3]]\n    at: 1s\n    duration: 1s\n",
        "7:13: faults[0].groups: expected two or more non-empty groups with no node twice, "
        "like [[n1], [n2, n3]]",
    ),
    "repeat that overlaps itself": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: kill, at: 5s, duration: 3s, repeat: {times: 2, every: 3s}}\n",
        "6:66: faults[0].repeat.every: expected more than the fault's duration (3s): "
        "each injection must heal before the next starts",
    ),
    "more followers than a cluster of three has": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: kill, target: follower, count: 3, at: 5s, duration: 3s}\n",
        "6:5: faults[0]: 3 follower node(s) asked for; there are 2",
    ),
    "count on a role that fixes how many": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: pause, target: leader, count: 2, at: 5s, duration: 3s}\n",
        "6:5: faults[0]: count applies to the roles random and follower, not 'leader'",
    ),
    "count on a bridge": (
        "title: t\nsystem: etcd\ncluster: {nodes: 5}\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: bridge, count: 2, at: 5s, duration: 3s}\n",
        "7:27: faults[0].count: expected no count: bridge decides how many nodes it takes",
    ),
    "any k beyond the cluster": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: kill, target: {any: 4}, at: 5s, duration: 3s}\n",
        "6:5: faults[0]: any: 4 asks for more than the 3 nodes",
    ),
    "any with another key": (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\nfaults:\n"
        "  - {kind: kill, target: {any: 2, of: followers}, at: 5s, duration: 3s}\n",
        "6:26: faults[0].target: expected {any: k} with k a number of nodes from 1 to 64",
    ),
    "data SLO on the membership workload": (
        "title: t\nsystem: serf\nworkload:\n  kind: membership\nfaults: []\n"
        "expect:\n  linearizable: true\n",
        "7:17: expect.linearizable: the membership workload records nothing the linearizability "
        "check judges",
    ),
    "key given twice": (
        "title: t\nsystem: etcd\nsystem: zookeeper\nworkload:\n  kind: register\nfaults: []\n",
        "3:1: system: duplicate key",
    ),
    "empty file": ("# nothing yet\n", "1:1: empty file; expected an experiment mapping"),
    "not a mapping": ("- title: t\n", "1:1: expected a mapping, got a list"),
}


@pytest.mark.parametrize(("text", "line"), INVALID.values(), ids=INVALID.keys())
def test_invalid_file_gives_one_exact_line(tmp_path: Path, text: str, line: str) -> None:
    path, message = problems(tmp_path, text)
    assert message == f"{path}:{line}"


def test_every_problem_gets_its_own_line_in_file_order(tmp_path: Path) -> None:
    text = (
        "title: t\nsystem: etcd\nworkload:\n  kind: register\n  rate: 0\n  color: red\nfaults: 3\n"
    )
    path, message = problems(tmp_path, text)
    assert message.splitlines() == [
        f"{path}:5:9: workload.rate: expected a number greater than 0 and at most 100000, got 0",
        f"{path}:6:3: workload.color: unknown field; expected one of "
        "kind, clients, binding, rate, timeout, keys, consistency, "
        "read_consistency, write_consistency, read_mode, read_every, write_every",
        f"{path}:7:9: faults: expected a list, got 3",
    ]


def test_faults_cannot_start_before_the_steady_state_is_checked(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "faults: []", "faults:\n  - {kind: kill, at: 2s}\n  - {kind: kill, random: {at: [4s, 9s]}}"
    )
    path, message = problems(tmp_path, text)
    why = (
        "expected at least steady_state.duration (5s): the workload's first seconds are "
        "the steady state, checked before any fault"
    )
    assert message.splitlines() == [
        f"{path}:6:22: faults[0].at: {why}",
        f"{path}:7:31: faults[1].random.at: {why}",
    ]


def test_validate_paths_expands_folders_and_names_missing_ones(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "good.yaml").write_text(MINIMAL)
    (tmp_path / "deep" / "bad.yaml").write_text(MINIMAL.replace("etcd", "mongo"))
    (tmp_path / "deep" / "notes.txt").write_text("not an experiment")
    (tmp_path / "empty").mkdir()
    errors = validate_paths([tmp_path / "deep", tmp_path / "missing", tmp_path / "empty"])
    assert errors == [
        f'{tmp_path / "deep" / "bad.yaml"}:2:9: system: unknown system "mongo"; '
        "expected one of cassandra, etcd, redis, serf, zookeeper",
        f"{tmp_path / 'missing'}: no such file or folder",
        f"{tmp_path / 'empty'}: no experiment files (*.yaml) in this folder",
    ]


def test_experiment_is_frozen() -> None:
    experiment = parse_experiment(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        experiment.seed = 1  # type: ignore[misc]
    assert isinstance(experiment, Experiment)
