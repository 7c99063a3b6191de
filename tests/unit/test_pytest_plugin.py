"""The pytest plugin: what it collects, how markers select, and how an outcome is reported.

Inner pytest sessions run in this process (`pytester.runpytest`), so the
plugin's `Run` is replaced by a stub that returns a chosen `Outcome` without
Docker, and the HTML report writers by no-ops. What is tested is the plugin's
own logic: which files become items, their markers, and the mapping of an
outcome to pass, failure or error with its message in JUnit XML. A real run
through the plugin is `tests/integration/test_pytest_plugin_real.py`.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chaos import pytest_plugin
from chaos.checks.base import Verdict
from chaos.errors import NotReady
from chaos.experiment import CATALOGUE, Experiment
from chaos.runner import Outcome, Status

pytest_plugins = ["pytester"]

# This process imported the plugin already, so pytest cannot rewrite its asserts: say nothing.
PLUGIN = ("-p", "chaos.pytest_plugin", "-W", "ignore::pytest.PytestAssertRewriteWarning")
# etcd: consensus; serf: gossip; zookeeper: consensus, and a different fault.
CHOSEN = ("etcd/leader-crash.yaml", "serf/leader-crash.yaml", "zookeeper/pause.yaml")

HELD = Verdict("max_time_to_detect", 10.0, 1.234, "held")
LATE = Verdict("max_unavailability", 10.0, 12.5, "failed")
LOST = Verdict("lost_writes", 0, 3, "failed")


@dataclass
class StubRuns:
    """Stands in for `chaos.runner.Run`: records each run, returns the outcome set per system."""

    root: Path
    outcomes: dict[str, tuple[Status, list[Verdict], str | None]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    raises: Exception | None = None

    def __call__(self, experiment: Experiment, **options: Any) -> StubRuns.Execution:
        if self.raises:
            raise self.raises
        self.calls.append({"system": experiment.system, **options})
        status, verdicts, error = self.outcomes.get(experiment.system, ("held", [HELD], None))
        run_dir = self.root / f"{experiment.system}-run{len(self.calls)}"
        return self.Execution(Outcome(run_dir, status, verdicts, error))

    @dataclass
    class Execution:
        outcome: Outcome

        def execute(self) -> Outcome:
            return self.outcome


@pytest.fixture
def experiments(pytester: pytest.Pytester) -> Path:
    """A folder laid out like the catalogue, with three of its files."""
    for name in CHOSEN:
        target = pytester.path / "experiments" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CATALOGUE / name, target)
    return pytester.path / "experiments"


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StubRuns:
    stub = StubRuns(tmp_path / "reports")
    monkeypatch.setattr(pytest_plugin, "Run", stub)
    monkeypatch.setattr(pytest_plugin, "write_run_report", lambda run_dir: run_dir)
    monkeypatch.setattr(pytest_plugin, "write_index", lambda reports: reports)
    return stub


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def junit(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def test_folder_of_experiments_collects_one_item_per_file(
    pytester: pytest.Pytester, experiments: Path
) -> None:
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "experiments")

    assert collected(result) == [
        "experiments/etcd/leader-crash.yaml::leader-crash",
        "experiments/serf/leader-crash.yaml::leader-crash",
        "experiments/zookeeper/pause.yaml::pause",
    ]


def test_chaos_repeat_makes_one_item_per_repetition(
    pytester: pytest.Pytester, experiments: Path
) -> None:
    given = "experiments/serf/leader-crash.yaml"
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "--chaos-repeat", "2", given)

    assert collected(result) == [f"{given}::leader-crash[run1]", f"{given}::leader-crash[run2]"]


def test_repository_root_run_collects_no_experiments(
    pytester: pytest.Pytester, experiments: Path
) -> None:
    """`pytest` or `pytest .` must never start clusters: only a pointed-at experiments/ does."""
    pytester.makepyfile(test_plain="def test_plain(): pass")
    elsewhere = pytester.path / "fixtures" / "leader-crash.yaml"
    elsewhere.parent.mkdir()
    shutil.copy(experiments / "etcd" / "leader-crash.yaml", elsewhere)

    for args in ([], ["."], ["fixtures"]):
        result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", *args)
        assert not any(".yaml" in line for line in collected(result)), args

    named = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "fixtures/leader-crash.yaml")
    assert collected(named) == ["fixtures/leader-crash.yaml::leader-crash"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("chaos", ["etcd", "serf", "zookeeper"]),
        ("chaos and etcd", ["etcd"]),
        ("consensus", ["etcd", "zookeeper"]),
        ("gossip and leader", ["serf"]),
        ("consensus and not etcd", ["zookeeper"]),
    ],
)
def test_markers_select_by_system_and_tag(
    pytester: pytest.Pytester, experiments: Path, expression: str, expected: list[str]
) -> None:
    result = pytester.runpytest(
        *PLUGIN, "--collect-only", "-q", "--strict-markers", "-m", expression, "experiments"
    )

    assert [line.split("/")[1] for line in collected(result)] == expected


def test_invalid_file_is_a_collection_error_with_file_line_column(
    pytester: pytest.Pytester, experiments: Path
) -> None:
    broken = experiments / "etcd" / "leader-crash.yaml"
    broken.write_text(broken.read_text().replace("clients: 6", "clients: 6\n  rate: fast"))

    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "experiments")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "experiments/etcd/leader-crash.yaml:8:9: workload.rate: "
            'expected a number greater than 0 and at most 100000, got "fast"'
        ]
    )
    result.stdout.fnmatch_lines(["*1 error*"])


def test_every_slo_held_passes_with_the_run_dir_in_junit(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    result = pytester.runpytest(*PLUGIN, "--junitxml=junit.xml", "experiments/etcd")

    result.assert_outcomes(passed=1)
    (case,) = junit(pytester.path / "junit.xml")
    assert list(case) == [case.find("properties")]
    assert properties(case) == {
        "run_dir": str(runs.root / "etcd-run1"),
        "report": str(runs.root / "etcd-run1" / "index.html"),
    }


def test_failed_slo_fails_listing_measured_against_expected(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    runs.outcomes["serf"] = ("slo-failed", [HELD, LATE, LOST], None)

    result = pytester.runpytest(*PLUGIN, "--junitxml=junit.xml", "experiments")

    result.assert_outcomes(passed=2, failed=1)
    message = "\n".join(
        [
            "2 SLOs failed: max_unavailability, lost_writes",
            "  max_unavailability: FAILED: measured 12.500s, expected 10.000s",
            "  lost_writes: FAILED: measured 3, expected 0",
            f"run dir: {runs.root / 'serf-run2'}",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ Serf: leader crash _*",
            *message.splitlines(),
            "FAILED experiments/serf/leader-crash.yaml::leader-crash - 2 SLOs failed: *",
        ]
    )
    failure = junit(pytester.path / "junit.xml")[1].find("failure")
    assert failure is not None
    assert failure.get("message") == message


def test_failed_run_is_an_error_not_a_failure(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    error = "cluster not ready after 60 s: n2 sees 2 members"
    runs.outcomes["zookeeper"] = ("error", [], error)

    result = pytester.runpytest(*PLUGIN, "--junitxml=junit.xml", "experiments")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of ZooKeeper: pause _*",
            f"run failed: {error}",
            "ERROR experiments/zookeeper/pause.yaml::pause - *run failed: *",
        ]
    )
    case = junit(pytester.path / "junit.xml")[2]
    assert case.find("failure") is None
    reported = case.find("error")
    assert reported is not None
    run_dir = runs.root / "zookeeper-run3"
    # "Failed: " is how pytest names an explicit pytest.fail; the error element is the point.
    message = f'failed on setup with "Failed: run failed: {error}\nrun dir: {run_dir}"'
    assert reported.get("message") == message
    assert properties(case)["run_dir"] == str(run_dir)


def test_run_that_cannot_start_is_an_error_with_its_reason(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    runs.raises = NotReady("etcd n1 did not answer within 30 s")

    result = pytester.runpytest(*PLUGIN, "experiments/etcd")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*run failed: etcd n1 did not answer within 30 s"])


def test_options_reach_the_run(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    pytester.runpytest(
        *PLUGIN,
        "--chaos-repeat=2",
        "--chaos-seed=7",
        "--chaos-image-source=official",
        "--chaos-reports=out",
        "experiments/serf",
    ).assert_outcomes(passed=2)

    options = {"image_source": "official", "seed": 7, "reports": pytester.path / "out"}
    assert runs.calls == [
        {"system": "serf", "repeat": 0, **options},
        {"system": "serf", "repeat": 1, **options},
    ]


def test_file_defaults_apply_without_options(
    pytester: pytest.Pytester, experiments: Path, runs: StubRuns
) -> None:
    pytester.runpytest(*PLUGIN, "experiments/etcd").assert_outcomes(passed=1)

    assert runs.calls == [
        {
            "system": "etcd",
            "repeat": 0,
            "image_source": None,
            "seed": None,
            "reports": pytester.path / pytest_plugin.REPORTS,  # reports/ where pytest runs
        }
    ]


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome(Path("r/x"), "held", [HELD]), None),
        (
            Outcome(Path("r/x"), "slo-failed", [HELD, LOST]),
            "1 SLO failed: lost_writes\n"
            "  lost_writes: FAILED: measured 3, expected 0\n"
            "run dir: r/x",
        ),
        (Outcome(Path("r/x"), "error", [], "boom"), "run failed: boom\nrun dir: r/x"),
    ],
)
def test_failure_message_names_each_failed_slo_and_the_run_dir(
    outcome: Outcome, expected: str | None
) -> None:
    assert pytest_plugin.failure_message(outcome) == expected
