"""Fault schedules: timing forms, seeded draws, and validation before any container starts."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.faults.schedule import ScheduleError, plan
from chaos.faults.spec import PartitionSpec, ProcessSpec, parse_seconds

RANDOM = {
    "random": {
        "count": 6,
        "start": "10s",
        "duration": ["2s", "5s"],
        "gap": ["1s", "3s"],
        "faults": [{"kind": "kill"}, {"kind": "partition", "shape": "isolate"}],
    }
}


def test_a_fault_at_an_offset_for_a_duration():
    schedule = plan(
        [{"kind": "partition", "shape": "majority-minority", "at": "5s", "duration": "10s"}], 1
    )
    (step,) = schedule.steps
    assert (step.at, step.duration) == (5.0, 10.0)
    assert isinstance(step.spec, PartitionSpec) and step.spec.shape == "majority-minority"
    actions = [(a.time, a.verb) for a in schedule.actions()]
    assert actions == [(5.0, "inject"), (15.0, "heal")]


def test_flapping_repeats_on_for_duration_then_off_for_interval():
    entry = {"kind": "pause", "target": "leader", "at": 1, "duration": 2, "repeat": 3}
    schedule = plan([entry | {"interval": "500ms"}], 0)
    assert [(s.at, s.duration) for s in schedule.steps] == [(1.0, 2.0), (3.5, 2.0), (6.0, 2.0)]


def test_heal_comes_before_the_next_injection_at_the_same_moment():
    schedule = plan([{"kind": "kill", "at": 0, "duration": 1, "repeat": 2}], 0)
    verbs = [(a.time, a.verb, a.step.index) for a in schedule.actions()]
    assert verbs == [(0, "inject", 0), (1, "heal", 0), (1, "inject", 1), (2, "heal", 1)]


def test_an_instantaneous_fault_has_no_heal():
    schedule = plan([{"kind": "restart", "target": "n1", "at": "3s"}], 0)
    assert [a.verb for a in schedule.actions()] == ["inject"]


def test_the_same_seed_draws_the_same_faults_and_times():
    assert plan([RANDOM], seed=42) == plan([RANDOM], seed=42)
    assert plan([RANDOM], seed=42).steps != plan([RANDOM], seed=43).steps


def test_drawn_steps_are_marked_and_recorded_with_the_seed():
    schedule = plan([RANDOM, {"kind": "kill", "at": 0, "duration": 1}], seed=7)
    record = schedule.describe()
    assert record["seed"] == 7
    assert [s["drawn"] for s in record["steps"]] == [False] + [True] * 6
    assert record["steps"][1]["fault"]["kind"] in ("kill", "partition")


def test_steps_are_numbered_in_time_order():
    schedule = plan([{"kind": "kill", "at": 9, "duration": 1}, {"kind": "stop", "at": 2}], 0)
    assert [(s.index, s.spec.kind) for s in schedule.steps] == [(0, "stop"), (1, "kill")]


@given(st.integers(0, 2**32), st.integers(1, 20))
def test_drawn_faults_never_overlap_and_stay_in_their_ranges(seed, count):
    entry = {"random": RANDOM["random"] | {"count": count}}
    steps = plan([entry], seed).steps
    assert len(steps) == count
    assert steps[0].at >= 10 + 1
    assert all(2 <= step.duration <= 5 for step in steps)
    for step, following in itertools.pairwise(steps):
        assert 1 - 1e-9 <= following.at - (step.at + step.duration) <= 3 + 1e-3


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "kill", "repeat": 2}, "needs `duration`"),
        ({"kind": "kill", "at": "soon"}, "not a duration"),
        ({"kind": "explode"}, "kind"),
        ({"kind": "partition", "shape": "groups"}, "needs `groups`"),
        ({"kind": "partition", "shape": "one-way", "from": "n1"}, "one-way needs"),
        ({"kind": "delay", "delay": "10ms", "jitter": "20ms"}, "jitter"),
        ({"kind": "loss"}, "needs `percent`"),
        ({"kind": "bandwidth", "rate": "fast"}, "tc units"),
        ({"kind": "kill", "colour": "red"}, "colour"),
        ({"random": {"count": 1, "duration": [5, 1], "gap": [1, 2], "faults": [{}]}}, "reversed"),
    ],
)
def test_invalid_entries_are_rejected_with_their_number(entry, message):
    with pytest.raises(ScheduleError, match="fault entry 1") as error:
        plan([entry], 0)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "seconds"), [(5, 5.0), ("5s", 5.0), ("250ms", 0.25), ("2m", 120.0), ("1.5", 1.5)]
)
def test_durations_read_numbers_and_units(text, seconds):
    assert parse_seconds(text) == seconds


def test_process_spec_defaults_to_a_random_target():
    (step,) = plan([{"kind": "stop", "at": 1}], 0).steps
    assert isinstance(step.spec, ProcessSpec) and step.spec.target == "random"
