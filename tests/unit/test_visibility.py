"""t-visibility curves from hand-built probe histories, and the probe's own workload."""

from __future__ import annotations

import pytest

from chaos.checks.compose import applicable
from chaos.checks.visibility import POINTS_MS, VisibilityCheck, visibility
from chaos.history import FaultEvent, History, Op, OpType
from chaos.workload import (
    VISIBILITY_KEY,
    OperationGenerator,
    WorkloadSpec,
    intervals,
    workload_keys,
)

MS = 1_000_000


class Probe:
    """Builds a probe history: writes through n1, reads through the other nodes."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.ids = 0

    def op(
        self,
        f: str,
        node: str,
        value: int | None,
        invoked: float,
        completed: float,
        outcome: OpType = "ok",
    ) -> None:
        given = value if f == "write" else None
        self.ops.append(
            Op("invoke", self.ids, self.ids, f, VISIBILITY_KEY, given, int(invoked * MS), node)
        )
        self.ops.append(
            Op(outcome, self.ids, self.ids, f, VISIBILITY_KEY, value, int(completed * MS), node)
        )
        self.ids += 1

    def write(self, value: int, invoked: float, acked: float) -> None:
        self.op("write", "n1", value, invoked, acked)

    def read(self, node: str, value: int | None, invoked: float, outcome: OpType = "ok") -> None:
        self.op("read", node, value, invoked, invoked + 2, outcome)

    def history(self, *faults: FaultEvent) -> History:
        return History(ops=sorted(self.ops, key=lambda op: op.time), faults=list(faults))


def test_the_probability_of_a_fresh_read_is_per_10_ms_after_the_acknowledgement() -> None:
    probe = Probe()
    probe.write(1, 0, 100)
    probe.read("n2", None, 105)  # 5 ms after the ack: not yet
    probe.read("n3", 1, 106)  # fresh
    probe.read("n2", 1, 115)  # 15 ms
    probe.read("n3", None, 117)  # 17 ms: stale
    probe.read("n2", 1, 150)  # 50 ms
    probe.read("n3", 1, 155)
    probe.read("n1", None, 120)  # the writer's own node is no sample
    result = visibility(probe.history())
    assert (result.writer, result.writes_acknowledged) == ("n1", 1)
    every = result.curve("rest")
    assert every is not None and (every.samples, every.fresh, every.unserved) == (6, 4, 0)
    points = {p.after_ms: (p.reads, p.fresh, p.probability) for p in every.points}
    assert points[0] == (2, 1, 0.5)
    assert points[10] == (2, 1, 0.5)
    assert points[50] == (2, 2, 1.0)
    assert points[100] == (0, 0, None)
    assert [p.after_ms for p in every.points] == list(POINTS_MS)
    assert every.bins[:2] == ((2, 1), (2, 1))
    assert every.fresh_99_ms == 50  # every sample from 20 ms on was fresh; the first is at 50
    n2 = result.curve("rest", "n2")
    assert n2 is not None and (n2.samples, n2.fresh) == (3, 2)


def test_a_newer_value_than_the_last_acknowledged_is_fresh_and_an_older_one_is_not() -> None:
    probe = Probe()
    probe.write(1, 0, 10)
    probe.write(2, 1000, 1500)  # acknowledged late
    probe.read("n2", 2, 1200)  # t = 1190 ms after write 1's ack, and it already shows 2
    probe.read("n3", 1, 1600)  # 100 ms after write 2's ack, still 1
    curve = visibility(probe.history()).curve("rest")
    assert curve is not None
    assert (curve.samples, curve.fresh) == (2, 1)
    point = next(p for p in curve.points if p.after_ms == 100)
    assert (point.reads, point.fresh) == (1, 0)


def fault(stage: str, at_ms: float) -> FaultEvent:
    return FaultEvent(int(at_ms * MS), 0, "isolate", stage, ("n3",))  # type: ignore[arg-type]


def test_samples_are_split_at_rest_during_the_fault_and_after_by_their_writes_ack() -> None:
    probe = Probe()
    for second, value in enumerate(range(1, 6)):
        start = second * 1000
        probe.write(value, start, start + 5)
        probe.read("n2", value, start + 25)
        # n3 is cut off from 2 s to 4 s: it sees nothing new then, and fails one read.
        probe.read("n3", value if second not in (2, 3) else 2 if second == 3 else 1, start + 25)
    probe.read("n3", None, 2500, outcome="info")
    faults = (fault("requested", 2000), fault("effective", 2100), fault("heal-requested", 4000))
    result = visibility(probe.history(*faults))
    rest, during, after = (result.curve(phase) for phase in ("rest", "fault", "after"))
    assert rest is not None and (rest.samples, rest.fresh, rest.unserved) == (4, 4, 0)
    assert during is not None and (during.samples, during.fresh, during.unserved) == (4, 2, 1)
    assert after is not None and (after.samples, after.fresh) == (2, 2)
    n3 = result.curve("fault", "n3")
    assert n3 is not None and (n3.samples, n3.fresh, n3.unserved) == (2, 0, 1)
    assert n3.points[2].probability == 0.0  # 20-30 ms after the ack


def test_a_curve_that_is_never_99_percent_fresh_says_so() -> None:
    probe = Probe()
    probe.write(1, 0, 10)
    probe.read("n2", None, 500)
    curve = visibility(probe.history()).curve("rest")
    assert curve is not None and curve.fresh_99_ms is None


def test_the_check_applies_to_the_visibility_workload_only_and_judges_nothing() -> None:
    assert applicable("visibility") == ("staleness", "visibility")
    assert "visibility" not in applicable("register")
    assert VisibilityCheck().judge(visibility(History()), {}) == []


# -- the probe as a workload --------------------------------------------------------------


def test_the_probe_writes_through_the_first_node_and_reads_through_the_others() -> None:
    spec = WorkloadSpec(kind="visibility", consistency="ONE")
    assert (spec.read_every, spec.write_every, spec.keys) == (0.01, 1.0, None)
    assert intervals(spec, 3) == [1.0, 0.01, 0.01]
    assert workload_keys(spec) == [VISIBILITY_KEY]
    generator = OperationGenerator(spec, seed=0)
    first, second = generator.next(0), generator.next(0)
    assert (first.f, second.f, second.value - first.value) == ("write", "write", 1)
    assert {generator.next(p).f for p in (1, 2)} == {"read"}


def test_the_probe_paces_itself() -> None:
    spec = WorkloadSpec(kind="visibility", read_every=0.02, write_every=2.0)
    assert intervals(spec, 5) == [2.0] + [0.02] * 4
    assert intervals(WorkloadSpec(kind="register", clients=4, rate=100), 3) == [0.04] * 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clients", 9, "one client per node"),
        ("rate", 5.0, "it has no rate"),
        ("keys", 2, "it has no keys"),
        ("binding", "driver", "per-node only"),
    ],
)
def test_the_probe_refuses_what_it_sets_itself(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkloadSpec.model_validate({"kind": "visibility", field: value})


def test_the_probe_accepts_its_own_defaults_written_out() -> None:
    written = WorkloadSpec(kind="visibility").model_dump(exclude_none=True)
    assert WorkloadSpec.model_validate(written).kind == "visibility"


def test_only_the_probe_has_a_pace() -> None:
    with pytest.raises(ValueError, match="only the visibility workload has a pace"):
        WorkloadSpec.model_validate({"kind": "register", "read_every": 0.01})
