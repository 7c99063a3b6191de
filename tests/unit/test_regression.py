"""The regression verdict's statistics on synthetic nights, seeded: how often noise alone fails
a night, how often a real shift is caught, and the exact p-value, minimum effect and floors
behind each line.

The noise is that of real etcd failovers: lognormal, with 1.2-2.4 s as its central 95 %
(median 1.70 s, sigma = ln 2 / (2 x 1.96) = 0.177); latencies the same shape around 300 ms.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from chaos.baseline.figures import BY_NAME
from chaos.baseline.night import Night
from chaos.baseline.regression import ALPHA, MIN_RUNS, NIGHTLY_REPEATS, Shift, judgeable, p_worse
from chaos.baseline.verdict import judge
from chaos.compare.statistics import NEVER

MEDIAN_S = math.sqrt(1.2 * 2.4)
SIGMA = math.log(2.4 / 1.2) / (2 * 1.96)
CV = math.sqrt(math.exp(SIGMA**2) - 1)
TRIALS = 1000
SECONDS = ("time_to_detect_s", "blackout_s", "unavailability_s", "recovery_after_heal_s")
WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "nightly-chaos.yml"


def night(values: dict[str, Any], **facts: Any) -> Night:
    """A night of etcd's leader crash at the default settings, with these figures."""
    runs = max(len(v) for v in values.values())
    return Night(
        **{
            "system": "etcd",
            "experiment": "etcd: leader crash",
            "started": "2026-12-01T02:23:00+0000",
            "runs": tuple(f"etcd-run-{facts.get('night', 0)}-{i}" for i in range(runs)),
            "version": "3.4.23",
            "image_source": "local",
            "settings": {"election_timeout_ms": 1000, "heartbeat_interval_ms": 100},
            "nodes": 3,
            "shape": {"faults": "f1"},
            "values": {name: tuple(v) for name, v in values.items()},
            **{k: v for k, v in facts.items() if k != "night"},
        }
    )


def noisy(rng: np.random.Generator, runs: int, shift: float = 1.0) -> dict[str, list[float]]:
    """Five independent figures of one night (the worst case for a verdict over all of them)."""
    draw = {name: MEDIAN_S * shift * rng.lognormal(0, SIGMA, runs) for name in SECONDS}
    draw["latency_p99_during_ms"] = 300 * shift * rng.lognormal(0, SIGMA, runs)
    return {name: [float(v) for v in values] for name, values in draw.items()}


def caught(runs: int, shift: float, seed: int) -> float:
    """How often a shift of time to detect alone fails the night, at `runs` vs `runs`
    (printed: `pytest -s` shows the measured rates)."""
    rng = np.random.default_rng(seed)
    detect = BY_NAME["time_to_detect_s"]
    hits = 0
    for _ in range(TRIALS):
        before = MEDIAN_S * rng.lognormal(0, SIGMA, runs)
        after = MEDIAN_S * shift * rng.lognormal(0, SIGMA, runs)
        hits += Shift.of(detect, before.tolist(), after.tolist()).regressed
    print(f"{shift - 1:+.0%} shift at {runs} vs {runs} runs: caught {rate(hits, TRIALS)}")
    return hits / TRIALS


def rate(hits: int, trials: int) -> str:
    return f"{hits} of {trials} ({hits / trials:.1%})"


@pytest.mark.parametrize("runs", [NIGHTLY_REPEATS, MIN_RUNS])
def test_noise_alone_fails_at_most_five_percent_of_nights(runs: int) -> None:
    """At the nightly's count, and at the fewest a baseline can be made of."""
    rng = np.random.default_rng(18)
    failed_nights = failed_figures = tested = 0
    for trial in range(TRIALS):
        baseline = night(noisy(rng, runs))
        tonight = night(noisy(rng, runs), night=trial + 1)
        judgement = judge(tonight, baseline)
        assert len(judgement.shifts) == 5
        failed_nights += judgement.regressed
        failed_figures += len(judgement.regressions)
        tested += len(judgement.shifts)
    print(
        f"noise alone at {runs} vs {runs} runs (CV {CV:.0%}): failed"
        f" {rate(failed_nights, TRIALS)} nights of five figures,"
        f" {rate(failed_figures, tested)} figures"
    )
    assert failed_nights / TRIALS <= 0.05
    assert failed_figures / tested <= 0.05


def test_a_fifty_percent_slower_failover_is_caught_80_percent_of_nights() -> None:
    assert caught(NIGHTLY_REPEATS, 1.5, seed=50) >= 0.8


def test_five_runs_a_night_would_miss_that_shift_too_often() -> None:
    """Why the nightly runs each experiment NIGHTLY_REPEATS times, not the 5 that can be judged."""
    assert MIN_RUNS == 5
    assert caught(5, 1.5, seed=5) < 0.8 <= caught(NIGHTLY_REPEATS, 1.5, seed=5)


def test_the_nightly_workflow_runs_the_count_the_power_was_measured_at() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["chaos"]["steps"]
    commands = " ".join(str(step.get("run", "")) for step in steps)
    assert f"--chaos-repeat {NIGHTLY_REPEATS}" in commands
    assert "--chaos-baseline" in commands
    assert "chaoslab baseline save" in commands


def test_a_clear_regression_reads_as_the_issue_asks() -> None:
    shift = Shift.of(
        BY_NAME["time_to_detect_s"], [1.50, 1.55, 1.58, 1.60, 1.65], [3.5, 3.6, 3.71, 3.8, 3.9]
    )
    assert shift.regressed
    assert shift.p == pytest.approx(1 / math.comb(10, 5))
    assert shift.line() == "time to detect 1.58 s → 3.71 s, +135 %, p = 0.004, 5 vs 5 runs"


def test_a_small_shift_on_a_quiet_machine_is_significant_but_no_regression() -> None:
    before = [1.00 + i / 100 for i in range(8)]
    shift = Shift.of(BY_NAME["time_to_detect_s"], before, [v * 1.1 for v in before])
    assert shift.p is not None and shift.p < 0.001
    assert not shift.regressed and shift.outcome == "held"
    assert "under the minimum effect: +25 % and +0.20 s" in shift.line()


def test_a_large_relative_shift_under_the_floor_is_no_regression() -> None:
    before = [0.05 + i / 1000 for i in range(8)]
    shift = Shift.of(BY_NAME["blackout_s"], before, [v * 3 for v in before])
    assert shift.significant and shift.growth < BY_NAME["blackout_s"].floor
    assert not shift.regressed


def test_too_few_runs_are_not_judged_rather_than_passed_silently() -> None:
    assert not judgeable(4, 4) and judgeable(5, 5) and judgeable(4, 5)
    shift = Shift.of(BY_NAME["time_to_detect_s"], [1.5] * 4, [9.0, 9.1, 9.2, 9.3])
    assert shift.p is None and shift.outcome == "not judged" and not shift.regressed
    assert shift.line().endswith(f"4 vs 4 runs: too few to reach p ≤ {ALPHA:g}")


def _brute_force_p(before: list[float], after: list[float]) -> float:
    """P(U >= U observed) over every split of the pooled values, ties counted half."""

    def u(xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
        return sum((x > y) + 0.5 * (x == y) for x in xs for y in ys)

    pooled = [*before, *after]
    observed = u(tuple(after), tuple(before))
    count = total = 0
    for chosen in itertools.combinations(range(len(pooled)), len(after)):
        rest = tuple(pooled[i] for i in range(len(pooled)) if i not in chosen)
        total += 1
        count += u(tuple(pooled[i] for i in chosen), rest) >= observed - 1e-9
    return count / total


def test_tied_counts_get_the_exact_p_value_of_every_split() -> None:
    before, after = [0.0] * 7 + [1.0], [0.0, 1.0, 2.0, 2.0, 3.0, 1.0, 2.0, 4.0]
    assert p_worse(before, after) == pytest.approx(_brute_force_p(before, after))
    shift = Shift.of(BY_NAME["lost_writes"], before, after)
    assert shift.regressed
    assert shift.line().startswith("lost writes 0 → 2, +2, p = 0.00")


def test_identical_values_give_p_one() -> None:
    assert p_worse([0.0] * 8, [0.0] * 8) == 1.0


def test_a_recovery_that_never_happened_tonight_is_a_regression() -> None:
    before = [1.2 + i / 10 for i in range(8)]
    shift = Shift.of(BY_NAME["recovery_after_heal_s"], before, [NEVER] * 8)
    assert shift.regressed
    assert "→ never, never happened" in shift.line()
    back = Shift.of(BY_NAME["recovery_after_heal_s"], [NEVER] * 8, before)
    assert not back.regressed


@pytest.mark.parametrize(
    ("facts", "change"),
    [
        ({"settings": {"election_timeout_ms": 3000, "heartbeat_interval_ms": 100}}, "settings"),
        ({"version": "3.5.17"}, "version 3.4.23 → 3.5.17"),
        ({"image_source": "official"}, "image source local → official"),
        ({"shape": {"faults": "f2"}}, "the experiment's faults edited"),
    ],
)
def test_a_change_of_version_or_settings_is_reported_as_such_not_as_a_regression(
    facts: dict[str, Any], change: str
) -> None:
    rng = np.random.default_rng(3)
    baseline = night(noisy(rng, NIGHTLY_REPEATS))
    slower = night(noisy(rng, NIGHTLY_REPEATS, shift=2.5), night=1, **facts)
    judgement = judge(slower, baseline)
    assert judgement.outcome == "changed" and not judgement.regressed
    assert not judgement.regressions
    assert any(c.startswith(change) for c in judgement.changes)
    assert all(s.regressed for s in judgement.shifts), "the shift is still measured"
    assert judgement.lines()[1].startswith("  moved with the change: ")
    same = judge(night(noisy(rng, NIGHTLY_REPEATS, shift=2.5), night=2), baseline)
    assert same.outcome == "regressed"


def test_the_settings_change_names_the_setting_and_both_values() -> None:
    baseline = night({"time_to_detect_s": [1.5] * 5})
    slower = night(
        {"time_to_detect_s": [3.5] * 5},
        night=1,
        settings={"election_timeout_ms": 3000, "heartbeat_interval_ms": 100},
    )
    assert judge(slower, baseline).changes == ("settings election_timeout_ms 1000 → 3000",)


def test_without_a_baseline_the_night_is_the_first() -> None:
    judgement = judge(night({"time_to_detect_s": [1.5] * 8}), None)
    assert judgement.outcome == "first" and not judgement.shifts
    assert judgement.lines() == ["etcd: leader crash: no baseline yet (8 runs can become it)"]
