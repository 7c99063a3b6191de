"""Runs compared across systems, built only from the files the runs left behind.

`write_comparison` reads each run's run.json, experiment.yaml, metrics.json and
verdicts.json (never history.jsonl, never Docker) and writes `index.html`
(one self-contained page, Plotly inlined, from `chaos.report`'s page kit)
and `comparison.json`. How runs are grouped and which statistics are shown
is spelled out once, in `METHOD`, which both files carry.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, NamedTuple

import plotly.graph_objects as go
import yaml
from plotly.subplots import make_subplots

from chaos.artefacts import load_metrics, read_json
from chaos.report import badge, html_table, page, plot_div, section, show
from chaos.systems import SYSTEMS
from chaos.systems.cassandra import GOSSIP_INTERVAL, conviction_band, conviction_seconds

# The figures compared, as docs/metrics.md defines and names them.
MEASURES = {
    "time_to_detect_s": "time to detect (the system's own verdict)",
    "unavailability_s": "worst shard unavailable",
    "blackout_s": "whole-cluster blackout",
    "throughput_recovered_s": "throughput recovered",
    "recovery_after_heal_s": "recovery after heal",
}
NEVER = math.inf
CONFIDENCE = 0.95
MIN_RUNS_FOR_INTERVAL = 3
TOO_FEW = "too few runs for an interval"
FAMILY_ORDER = {"consensus": 0, "gossip": 1}
FAMILY_COLOURS = {"consensus": "#1f5fbf", "gossip": "#e07b00"}
# Faults after which the target is silent to its peers: what every failure detector times out on.
SILENCING = frozenset({"kill", "stop", "restart", "pause", "isolate", "majority-minority"})
# Faults that end the process: the kernel closes its sockets, so peers see them drop at once.
PROCESS_DEATH = frozenset({"kill", "stop", "restart"})

METHOD = {
    "grouping": (
        "Runs are compared when they ran the same scenario: the experiment title without its"
        " system prefix ('etcd: leader crash' and 'Redis Cluster: leader crash' are both"
        " 'leader crash'; the catalogue names every experiment '<System>: <scenario>') together"
        " with the fault kinds experiment.yaml injected, so an edited experiment that kept its"
        " title but changed its faults is not mixed in. Within a scenario, runs of one system,"
        " version and settings form one series: two versions or two timeouts are never pooled."
    ),
    "per_run_value": (
        "One value per run and measure: the worst over the run's faults that took effect, as"
        " the SLO verdicts take the worst (the windows of a flapping fault are not independent"
        " samples). Measures are those of the run report: time to detect (fault start to the"
        " first observation showing it), cluster unavailable (how long no client was served),"
        " time to recover (until throughput holds 90 % of the baseline for 1 s; clients bound"
        " to a lost node keep it low until the heal) and recovery after heal."
    ),
    "never": (
        "A measure that never happened (never detected, service never back) ranks as"
        " infinitely late: it is drawn as a red x above the axis, and a median, p95 or bound"
        " that lands on it reads 'never'."
    ),
    "median_p95": (
        "The median is the usual one (mean of the two middle values for an even count); p95"
        " is nearest-rank, an observed value, which is the maximum with fewer than 20 runs."
    ),
    "interval": (
        "The interval for the median is the distribution-free order-statistic one,"
        " [x(k), x(n-k+1)] with the largest k whose binomial coverage is at least 95 %: exact,"
        " no resampling and so no seed. It needs 6 runs; 3 to 5 runs get min-max with its true,"
        " lower coverage (75 %, 87.5 %, 93.75 %); fewer than 3 get none."
    ),
}


class ComparisonError(ValueError):
    """A path given to compare is not a run (nor a folder of runs), or a run file is unreadable."""


@dataclass(frozen=True)
class RunSummary:
    """One run as the comparison sees it: who ran, what was injected, what was measured.

    `values` maps a measure to seconds (NEVER where it never happened); a
    measure is absent when no fault took effect in the run.
    """

    run_dir: Path
    run: dict[str, Any]
    run_id: str
    system: str
    family: str
    protocol: str
    version: str
    title: str
    faults: tuple[dict[str, Any], ...]
    metrics: dict[str, Any]
    status: str
    values: dict[str, float]

    @property
    def settings(self) -> dict[str, Any]:
        """The run's settings over the system's defaults, which older run files may leave out."""
        defaults = SYSTEMS[self.system].defaults if self.system in SYSTEMS else {}
        return {**defaults, **(self.run.get("settings") or {})}

    @property
    def nodes(self) -> int:
        """Cluster size, which SWIM's suspicion timeout scales with; the suite runs 3 nodes."""
        return len(self.run.get("nodes") or []) or 3

    @property
    def scenario(self) -> str:
        """The title without its system prefix: 'Redis Cluster: leader crash' -> 'leader crash'."""
        _, colon, rest = self.title.partition(": ")
        return " ".join((rest if colon else self.title).split()).lower()

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return tuple(sorted({str(f.get("kind", "?")) for f in self.faults}))


def read_summary(run_dir: Path) -> RunSummary:
    """A run folder's files; its history only where its metrics predate today's figures."""
    try:
        run = read_json(run_dir / "run.json")
        verdicts = read_json(run_dir / "verdicts.json")
        path = run_dir / "experiment.yaml"
        experiment = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        experiment = experiment if isinstance(experiment, dict) else {}
        workload = experiment.get("workload") or {}
        register = isinstance(workload, dict) and workload.get("kind") == "register"
        metrics = load_metrics(run_dir, linearizability=register)
    except (ValueError, yaml.YAMLError) as exc:
        raise ComparisonError(f"{run_dir}: a run file is unreadable: {exc}") from None
    recovered = (metrics.get("recovery") or {}).get("faults") or []
    faults = tuple(f for f in experiment.get("faults") or [] if isinstance(f, dict)) or tuple(
        {"kind": item["fault"]["kind"]} for item in recovered
    )
    return RunSummary(
        run_dir=run_dir,
        run=run,
        run_id=str(run.get("run_id") or run_dir.name),
        system=str(run.get("system", "?")),
        family=str(run.get("family", "?")),
        protocol=str(run.get("protocol", "?")),
        version=str(run.get("version", "unknown version")),
        title=str(run.get("title") or experiment.get("title") or run_dir.name),
        faults=faults,
        metrics=metrics,
        status=str(verdicts.get("status", "error")),
        values=run_values(recovered),
    )


def run_values(recovered: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Each measure's worst over the faults that took effect; NEVER where one never happened.

    Detection is left out where the system's own view had nothing to show (a
    consensus system's follower): there it is not late, it does not apply.
    """
    took_effect = [item for item in recovered if item["fault"].get("effective_ns") is not None]
    values = {}
    for measure in MEASURES:
        applicable = [item for item in took_effect if _applies(item, measure)]
        if applicable:
            values[measure] = max(_fault_seconds(item, measure) for item in applicable)
    return values


def _applies(item: dict[str, Any], measure: str) -> bool:
    return measure != "time_to_detect_s" or bool((item.get("detection") or {}).get("observable"))


def _fault_seconds(item: dict[str, Any], measure: str) -> float:
    value = item.get(measure)
    return NEVER if value is None else float(value)


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Run folders in the order given; a folder holding runs (such as reports/) gives them all."""
    found: dict[Path, None] = {}
    for path in paths:
        if (path / "run.json").is_file():
            found[path.resolve()] = None
            continue
        inside = (
            sorted(p for p in path.iterdir() if (p / "run.json").is_file()) if path.is_dir() else []
        )
        if not inside:
            raise ComparisonError(f"{path}: not a run folder (no run.json) and holds no runs")
        found.update(dict.fromkeys(p.resolve() for p in inside))
    if not found:
        raise ComparisonError("no runs to compare: give run folders such as reports/<run-id>/")
    return list(found)


def median_interval(n: int) -> tuple[int, float] | None:
    """Rank k of the order-statistic interval [x(k), x(n-k+1)] for a median of n, and its coverage.

    The narrowest such interval whose coverage reaches 95 %; below 6 values none
    does, so min-max (k = 1) with its lower coverage; below 3 values, none.
    """
    if n < MIN_RUNS_FOR_INTERVAL:
        return None

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = max((k for k in range(1, (n + 1) // 2 + 1) if coverage(k) >= CONFIDENCE), default=1)
    return k, coverage(k)


@dataclass(frozen=True)
class Distribution:
    """One measure across a series' runs, in seconds, sorted; NEVER ranks last."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def never(self) -> int:
        return self.values.count(NEVER)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        return self.values[-(-95 * self.n // 100) - 1]

    @property
    def interval(self) -> tuple[float, float, float] | None:
        """(low, high, coverage) of the median's interval, or None with too few runs."""
        found = median_interval(self.n)
        if found is None:
            return None
        k, coverage = found
        return self.values[k - 1], self.values[self.n - k], coverage

    def interval_text(self) -> str:
        if self.interval is None:
            return TOO_FEW
        low, high, coverage = self.interval
        return f"{_secs(low)} - {_secs(high)} ({round(coverage * 100, 2):g} % coverage)"

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "n": self.n,
            "never": self.never,
            "values": [_json_seconds(v) for v in self.values],
            "median": _json_seconds(self.median),
            "p95": _json_seconds(self.p95),
            "min": _json_seconds(self.values[0]),
            "max": _json_seconds(self.values[-1]),
            "median_interval": None
            if interval is None
            else {
                "low": _json_seconds(interval[0]),
                "high": _json_seconds(interval[1]),
                "coverage": interval[2],
            },
            "interval_note": self.interval_note,
        }

    @property
    def interval_note(self) -> str:
        if self.interval is None:
            return TOO_FEW
        if self.interval[2] < CONFIDENCE:
            return "min-max of fewer than 6 runs: its coverage is below 95 %"
        return "order-statistic interval: coverage at least 95 %"


def _json_seconds(value: float) -> float | str:
    return "never" if value == NEVER else value


def _secs(value: float) -> str:
    return "never" if value == NEVER else f"{value:.2f} s"


@dataclass(frozen=True)
class Series:
    """The runs of one system, version and settings in one scenario."""

    label: str
    runs: tuple[RunSummary, ...]

    @property
    def first(self) -> RunSummary:
        return self.runs[0]

    def samples(self, measure: str) -> list[tuple[str, float]]:
        """(run id, seconds) of every run that measured `measure`."""
        return [(r.run_id, r.values[measure]) for r in self.runs if measure in r.values]

    def distribution(self, measure: str) -> Distribution | None:
        values = [value for _, value in self.samples(measure)]
        return Distribution(tuple(sorted(values))) if values else None

    def safety(self) -> dict[str, Any]:
        """Data safety summed over the runs that were checked, and the SLO outcomes."""
        checked = [r.metrics for r in self.runs if r.metrics]
        lost = [int((m.get("lost_writes") or {}).get("lost_count") or 0) for m in checked]
        stale = [m.get("stale_reads") or {} for m in checked]
        return {
            "runs_checked": len(checked),
            "lost_writes": sum(lost),
            "runs_with_lost_writes": sum(1 for count in lost if count),
            "stale_reads": sum(int(s.get("stale_count") or 0) for s in stale),
            "reads_checked": sum(int(s.get("reads_checked") or 0) for s in stale),
            "linearizability": dict(
                Counter(
                    str((m.get("linearizability") or {}).get("verdict", "not checked"))
                    for m in checked
                )
            ),
            "slo_status": dict(Counter(r.status for r in self.runs)),
        }


@dataclass(frozen=True)
class Group:
    """One scenario's series, consensus systems first."""

    scenario: str
    fault_kinds: tuple[str, ...]
    series: tuple[Series, ...]


def group_runs(runs: Sequence[RunSummary]) -> list[Group]:
    """Scenarios by name; inside each, one series per system, version and settings."""
    grouped: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], list[RunSummary]]] = (
        defaultdict(lambda: defaultdict(list))
    )
    for run in runs:
        key = (
            FAMILY_ORDER.get(run.family, len(FAMILY_ORDER)),
            run.system,
            run.version,
            json.dumps(run.settings, sort_keys=True, default=str),
        )
        grouped[(run.scenario, run.fault_kinds)][key].append(run)
    groups = []
    for (scenario, kinds), by_series in sorted(grouped.items()):
        names = Counter((key[1], key[2]) for key in by_series)
        series = []
        for key, members in sorted(by_series.items()):
            label = f"{key[1]} {key[2]}"
            if names[(key[1], key[2])] > 1:
                label += f" ({show(members[0].settings)})"
            ordered = sorted(members, key=lambda r: (str(r.run.get("started", "")), r.run_id))
            series.append(Series(label, tuple(ordered)))
        groups.append(Group(scenario, kinds, tuple(series)))
    return groups


class FaultShape(NamedTuple):
    """What about a scenario's faults decides which timeout a system waits out."""

    on_leader: bool  # some fault is aimed at the leader
    silences: bool  # every fault leaves its target silent to its peers
    kills: bool  # every fault ends the process, so its sockets close at once

    @classmethod
    def of(cls, faults: Sequence[dict[str, Any]]) -> FaultShape:
        kinds = {str(f.get("kind")) for f in faults}
        return cls(
            on_leader=any(f.get("target") == "leader" for f in faults),
            silences=bool(kinds) and kinds <= SILENCING,
            kills=bool(kinds) and kinds <= PROCESS_DEATH,
        )


@dataclass(frozen=True)
class Mechanism:
    """How a system notices a fault, what stops meanwhile and how a node rejoins, each a clause
    naming the values the run had; `detect_s` is the time to detect those values predict."""

    detects: str
    serves: str
    rejoins: str
    detail: str = ""
    detect_s: tuple[float, float] | None = None

    def clause(self, measure: str) -> str:
        """The clause that governs `measure`."""
        if measure == "time_to_detect_s":
            return self.detects
        if measure == "recovery_after_heal_s":
            return self.rejoins
        return self.serves


def _etcd(run: RunSummary, shape: FaultShape) -> Mechanism:
    timeout = run.settings["election_timeout_ms"]
    beat = run.settings["heartbeat_interval_ms"]
    low, high = float(timeout) / 1000, 2 * float(timeout) / 1000
    return Mechanism(
        detects=(
            f"a follower that hears no heartbeat (sent every heartbeat_interval_ms={beat}) for its"
            " election timeout, randomised between 1x and 2x election_timeout_ms="
            f"{timeout} ({low:g}-{high:g} s), starts an election"
        ),
        serves=(
            "nothing commits without a leader, so the whole cluster waits for the election;"
            " losing a follower needs none, as a majority still commits"
        ),
        rejoins="a restarted member rejoins as a follower and catches up from the leader's log",
        detect_s=(low, high) if shape.on_leader and shape.silences else None,
    )


def _zookeeper(run: RunSummary, shape: FaultShape) -> Mechanism:
    tick = run.settings["tick_time_ms"]
    sync, init = run.settings["sync_limit"], run.settings["init_limit"]
    sync_s, init_s = float(tick) * float(sync) / 1000, float(tick) * float(init) / 1000
    predicted = None
    if shape.on_leader and shape.silences:
        predicted = (0.0, init_s) if shape.kills else (sync_s, sync_s + init_s)
    return Mechanism(
        detects=(
            "followers drop a leader they have not heard from for syncLimit x tickTime ="
            f" {sync} x {tick} ms = {sync_s:g} s"
            + (
                "; a SIGKILLed leader's sockets close at once, so here the election starts"
                " immediately"
                if shape.kills
                else ""
            )
        ),
        serves=(
            "the ensemble serves nothing until a new leader has synced a quorum, which must"
            f" happen within initLimit x tickTime = {init} x {tick} ms = {init_s:g} s"
        ),
        rejoins=(
            "a restarted server rejoins as a follower and syncs with the leader (within"
            f" initLimit x tickTime = {init_s:g} s) before it serves its clients"
        ),
        detect_s=predicted,
    )


def _cassandra(run: RunSummary, shape: FaultShape) -> Mechanism:
    threshold = run.settings["phi_convict_threshold"]
    convict = conviction_seconds(float(threshold))
    return Mechanism(
        detects=(
            f"phi accrual over {GOSSIP_INTERVAL:g} s gossip convicts a silent peer once phi passes"
            f" phi_convict_threshold={threshold}: after ≈ {convict:.1f} s of silence on Cassandra"
            f" {run.version}"
        ),
        serves=(
            "there is no leader: any node coordinates, and with consistency="
            f"{run.settings.get('consistency', '?')} over 3 replicas the others keep serving;"
            " only clients bound to the lost node stop"
        ),
        rejoins=(
            "a restarted node starts its JVM and replays its commit log before gossip marks it up"
        ),
        detail=(
            "Phi is the silence divided by the mean heartbeat interval and by ln 10, so"
            " conviction takes threshold x ln 10 gossip rounds: 18.4 s at the default 8, scaled"
            " by the threshold, less up to one round (the last heartbeat came before the"
            " fault) and plus up to one (the detector is read once a round)."
        ),
        detect_s=conviction_band(float(threshold)) if shape.silences else None,
    )


class Probe(NamedTuple):
    """memberlist's failure-detector timing for one Serf profile."""

    interval_s: float
    timeout_s: float
    suspicion_mult: int


# memberlist's DefaultLANConfig, DefaultWANConfig and DefaultLocalConfig: Serf's three profiles.
SERF_PROFILES = {
    "lan": Probe(1.0, 0.5, 4),
    "wan": Probe(5.0, 3.0, 6),
    "local": Probe(1.0, 0.2, 3),
}


def _serf(run: RunSummary, shape: FaultShape) -> Mechanism:
    profile = str(run.settings["profile"])
    if profile not in SERF_PROFILES:
        return _unmodelled(run)
    probe = SERF_PROFILES[profile]
    nodes = run.nodes
    suspicion = probe.suspicion_mult * max(1.0, math.log10(nodes)) * probe.interval_s
    first_ack = probe.timeout_s + suspicion
    return Mechanism(
        detects=(
            f"SWIM with profile={profile} probes a peer every {probe.interval_s:g} s (ack timeout"
            f" {probe.timeout_s * 1000:g} ms), then suspects a silent one and declares it failed"
            f" after the suspicion timeout, {probe.suspicion_mult} x max(1, log10 {nodes} nodes)"
            f" x {probe.interval_s:g} s = {suspicion:g} s"
        ),
        serves=(
            "there is no leader: every agent answers from its own view, so only the lost agent"
            " stops answering"
        ),
        rejoins=(
            "a restarted agent rejoins and gossips that it is alive; peers take it back within a"
            f" few probe intervals ({probe.interval_s:g} s)"
        ),
        detail=(
            "The suspicion timeout grows with log(cluster size); Lifeguard stretches it up to 6x"
            " while no other member confirms the suspicion."
        ),
        detect_s=(first_ack, first_ack + (nodes - 1) * probe.interval_s)
        if shape.silences
        else None,
    )


def _redis(run: RunSummary, shape: FaultShape) -> Mechanism:
    timeout = run.settings["cluster_node_timeout_ms"]
    seconds = float(timeout) / 1000
    predicted = None
    if shape.silences:
        # Peers ping every node at least every node-timeout / 2, so a silent one is flagged
        # between 1x and 1.5x node-timeout; promoting its replica adds 0.5-1 s.
        predicted = (
            (seconds + 0.5, 1.5 * seconds + 1.0) if shape.on_leader else (seconds, 1.5 * seconds)
        )
    return Mechanism(
        detects=(
            f"a node silent for cluster_node_timeout_ms={timeout} is PFAIL, then FAIL once a"
            " majority of masters agree, and a replica of a failed master is promoted after a"
            " further 0.5-1 s (+1 s per rank)"
        ),
        serves=(
            "only the lost master's slots stop serving until its replica is promoted; the other"
            " masters never stop"
        ),
        rejoins="the old master returns as a replica of the promoted one and resynchronises",
        detail=(
            "Failure reports count for 2 x node-timeout; the replica waits 500 ms + 0-500 ms"
            " random + 1 s per rank before asking the masters for votes."
        ),
        detect_s=predicted,
    )


MECHANISMS: dict[str, Callable[[RunSummary, FaultShape], Mechanism]] = {
    "etcd": _etcd,
    "zookeeper": _zookeeper,
    "cassandra": _cassandra,
    "serf": _serf,
    "redis": _redis,
}


def mechanism(series: Series) -> Mechanism:
    """The model of the series' system at its settings; a plain note for a system with none."""
    run = series.first
    model = MECHANISMS.get(run.system, lambda run, _: _unmodelled(run))
    return model(run, FaultShape.of(run.faults))


def _unmodelled(run: RunSummary) -> Mechanism:
    unknown = f"no model of {run.system} at {show(run.settings)} here"
    return Mechanism(detects=unknown, serves=unknown, rejoins=unknown)


def explain_series(series: Series) -> str:
    """What the series' settings predict, and how its measured median compares."""
    model = mechanism(series)
    parts = [
        f"{series.label} ({series.first.family}, {series.first.protocol}): {model.detects}.",
        f"{_capital(model.serves)}. {_capital(model.rejoins)}.",
    ]
    if model.detail:
        parts.append(model.detail)
    detect = series.distribution("time_to_detect_s")
    if model.detect_s is not None and detect is not None:
        parts.append(_against(detect.median, model.detect_s))
    return " ".join(parts)


def _against(median: float, predicted: tuple[float, float]) -> str:
    low, high = predicted
    window = f"the {low:.1f}-{high:.1f} s these settings predict"
    if median == NEVER:
        return f"The median run never detected the fault, against {window}."
    if median < low:
        return (
            f"Median time to detect {_secs(median)}: faster than {window}; something other"
            " than the timeout noticed first."
        )
    if median > high:
        return (
            f"Median time to detect {_secs(median)}: slower than {window}; the rest is time"
            " the settings do not govern (the election or gossip spreading the news, and how"
            " often each node's view is sampled)."
        )
    return f"Median time to detect {_secs(median)}: within {window}."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def explain_differences(group: Group) -> list[str]:
    """Per measure: every series' median, by family, the gap, and the clause behind each."""
    lines = []
    for measure, name in MEASURES.items():
        present = [(s, d) for s in group.series if (d := s.distribution(measure)) is not None]
        if len(present) < 2:
            continue
        by_family: dict[str, list[str]] = defaultdict(list)
        for series, dist in present:
            by_family[series.first.family].append(f"{series.label} {_secs(dist.median)}")
        listing = "; ".join(f"{family}: {', '.join(v)}" for family, v in by_family.items())
        (fast, fast_d), (slow, slow_d) = (
            min(present, key=lambda p: p[1].median),
            max(present, key=lambda p: p[1].median),
        )
        if slow_d.median == fast_d.median:
            gap = "No difference in the medians"
        elif slow_d.median == NEVER:
            gap = f"{slow.label} never got there in {slow_d.never} of {slow_d.n} runs"
        elif fast_d.median > 0:
            gap = f"{slow.label} took {slow_d.median / fast_d.median:.1f}x as long as {fast.label}"
        else:
            gap = f"{fast.label} measured none, {slow.label} {_secs(slow_d.median)}"
        why = "; ".join(f"{s.label}: {mechanism(s).clause(measure)}" for s, _ in present)
        lines.append(f"{_capital(name)} (median) — {listing}. {gap}. Why: {why}.")
    return lines


def group_figure(group: Group) -> go.Figure:
    """Box and strip plots per measure, one box per series, coloured by family."""
    fig = make_subplots(
        rows=-(-len(MEASURES) // 2),
        cols=2,
        subplot_titles=[f"{name} (s)" for name in MEASURES.values()],
        horizontal_spacing=0.08,
        vertical_spacing=0.12,
    )
    shown: set[str] = set()
    for index, measure in enumerate(MEASURES):
        cell = {"row": index // 2 + 1, "col": index % 2 + 1}
        samples = [(s, s.samples(measure)) for s in group.series]
        finite = [v for _, runs in samples for _, v in runs if v != NEVER]
        ceiling = max(finite, default=0.0) * 1.15 or 1.0
        for series, runs in samples:
            family = series.first.family
            colour = FAMILY_COLOURS.get(family, "#7a8599")
            label = escape(series.label)
            seen = [(run_id, v) for run_id, v in runs if v != NEVER]
            if seen:
                fig.add_trace(
                    go.Box(
                        x=[label] * len(seen),
                        y=[v for _, v in seen],
                        text=[escape(run_id) for run_id, _ in seen],
                        name=escape(family),
                        legendgroup=family,
                        showlegend=family not in shown,
                        boxpoints="all",
                        jitter=0.4,
                        pointpos=0,
                        marker={"color": colour, "size": 7},
                        line={"color": colour},
                        hovertemplate="%{text}<br>%{y:.2f} s<extra></extra>",
                    ),
                    **cell,
                )
                shown.add(family)
            never = [run_id for run_id, v in runs if v == NEVER]
            if never:
                fig.add_trace(
                    go.Scatter(
                        x=[label] * len(never),
                        y=[ceiling] * len(never),
                        hovertext=[escape(run_id) for run_id in never],
                        text=["never"] * len(never),
                        textposition="middle right",
                        mode="markers+text",
                        name="never happened",
                        legendgroup="never",
                        showlegend="never" not in shown,
                        marker={"symbol": "x", "size": 11, "color": "#d62728"},
                        hovertemplate="%{hovertext}: never<extra></extra>",
                    ),
                    **cell,
                )
                shown.add("never")
    fig.update_xaxes(categoryorder="array", categoryarray=[escape(s.label) for s in group.series])
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=900,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.12},
        boxmode="overlay",
    )
    return fig


def _stats_rows(group: Group) -> list[Sequence[str]]:
    rows: list[Sequence[str]] = []
    for measure, name in MEASURES.items():
        for series in group.series:
            dist = series.distribution(measure)
            if dist is None:
                continue
            runs = f"{dist.n}" + (f" ({dist.never} never)" if dist.never else "")
            rows.append(
                (
                    escape(name),
                    _series_cell(series),
                    escape(runs),
                    f"<strong>{escape(_secs(dist.median))}</strong>",
                    escape(_secs(dist.p95)),
                    escape(f"{_secs(dist.values[0])} - {_secs(dist.values[-1])}"),
                    escape(dist.interval_text()),
                )
            )
    return rows


def _series_cell(series: Series) -> str:
    family = series.first.family
    return f"{escape(series.label)} <span class='family {escape(family)}'>{escape(family)}</span>"


def _safety_rows(group: Group) -> list[Sequence[str]]:
    rows: list[Sequence[str]] = []
    for series in group.series:
        safety = series.safety()
        lost = f"{safety['lost_writes']} ({safety['runs_with_lost_writes']} runs with any)"
        rows.append(
            (
                _series_cell(series),
                escape(f"{len(series.runs)} ({safety['runs_checked']} checked)"),
                " ".join(f"{badge(s)} x{n}" for s, n in sorted(safety["slo_status"].items())),
                escape(lost),
                escape(f"{safety['stale_reads']} of {safety['reads_checked']} reads"),
                escape(
                    ", ".join(f"{v} x{n}" for v, n in sorted(safety["linearizability"].items()))
                ),
            )
        )
    return rows


def _group_section(index: int, group: Group) -> str:
    runs = sum(len(s.runs) for s in group.series)
    body = (
        f"<p class=note>Fault: {escape(', '.join(group.fault_kinds))} · {runs} runs · consensus"
        " systems left, gossip systems right; each point is one run.</p>"
        + plot_div(f"group-{index}")
        + "<h3>Recovery across repeats</h3>"
        + html_table(
            ("measure", "system", "runs", "median", "p95", "min - max", "interval for the median"),
            _stats_rows(group),
        )
        + "<h3>Data safety</h3>"
        + html_table(
            ("system", "runs", "SLO verdicts", "lost writes", "stale reads", "linearizability"),
            _safety_rows(group),
        )
        + "<h3>Why they differ</h3><ul>"
        + "".join(f"<li>{escape(line)}</li>" for line in explain_differences(group))
        + "</ul><h3>What each system's settings predict</h3>"
        + "".join(f"<p>{escape(explain_series(s))}</p>" for s in group.series)
    )
    return section(f"Scenario: {group.scenario}", body)


def _systems(groups: Sequence[Group]) -> list[Series]:
    """One series per system, version and settings across all scenarios, for the versions table."""
    pooled: dict[str, list[RunSummary]] = defaultdict(list)
    for group in groups:
        for series in group.series:
            key = f"{series.first.system} {series.first.version} {show(series.first.settings)}"
            pooled[key].extend(series.runs)
    ordered = sorted(
        pooled.values(),
        key=lambda runs: (FAMILY_ORDER.get(runs[0].family, len(FAMILY_ORDER)), runs[0].system),
    )
    return [Series(runs[0].system, tuple(runs)) for runs in ordered]


def _versions_header(systems: Sequence[Series], created: str) -> str:
    """Every version that ran, up front; a warning names Cassandra's, which varies the most."""
    blocks = "".join(
        f"<div class=version><span>{escape(s.first.system)}</span>"
        f"<strong>{escape(s.first.version)}</strong></div>"
        for s in systems
    )
    cassandra = sorted({s.first.version for s in systems if s.first.system == "cassandra"})
    warning = (
        f"<p class=warn>Cassandra results here come from Cassandra {escape(', '.join(cassandra))}"
        + (
            ", not 5.0: they describe that release's gossip and failure detector."
            if any(not v.startswith("5.") for v in cassandra)
            else "."
        )
        + "</p>"
        if cassandra
        else ""
    )
    runs = sum(len(s.runs) for s in systems)
    return (
        f"<header><div><h1>Consensus vs gossip: {runs} runs compared</h1>"
        f"<p class=sub>created {escape(created)} · the versions that ran are on the right</p>"
        f"</div><div class=versions>{blocks}</div></header>{warning}"
    )


def _systems_table(systems: Sequence[Series]) -> str:
    rows = [
        (
            f"<strong>{escape(s.first.system)}</strong>",
            f"<span class='family {escape(s.first.family)}'>{escape(s.first.family)}</span>"
            f" / {escape(s.first.protocol)}",
            f"<strong>{escape(s.first.version)}</strong>",
            f"<code>{escape(show(s.first.settings))}</code>",
            escape(str(s.first.run.get("image_source", "?"))),
            escape(str(len(s.runs))),
        )
        for s in systems
    ]
    return html_table(
        ("system", "family / protocol", "version", "settings", "images", "runs"), rows
    )


def _runs_table(groups: Sequence[Group], out_dir: Path) -> str:
    rows = []
    for group in groups:
        for series in group.series:
            for run in series.runs:
                report = run.run_dir / "index.html"
                name = escape(run.run_id)
                link = (
                    f"<a href='{escape(_relative(report, out_dir))}'>{name}</a>"
                    if report.exists()
                    else name
                )
                rows.append(
                    (
                        link,
                        escape(group.scenario),
                        escape(series.label),
                        escape(str(run.run.get("repeat", "?"))),
                        escape(str(run.run.get("started", ""))),
                        badge(run.status),
                    )
                )
    return html_table(("run", "scenario", "system", "repeat", "started", "status"), rows)


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start.resolve())).as_posix()


def render_comparison(groups: Sequence[Group], out_dir: Path, created: str) -> str:
    systems = _systems(groups)
    method = "".join(f"<p>{escape(text)}</p>" for text in METHOD.values())
    body = [
        _versions_header(systems, created),
        section("Systems and versions that ran", _systems_table(systems)),
        *(_group_section(index, group) for index, group in enumerate(groups)),
        section("How to read this", method),
        section("Runs compared", _runs_table(groups, out_dir)),
    ]
    figures = {f"group-{index}": group_figure(group) for index, group in enumerate(groups)}
    return page("chaoslab comparison", "\n".join(body), figures)


def comparison_dict(groups: Sequence[Group], out_dir: Path, created: str) -> dict[str, Any]:
    """Everything the page shows, as data: the method, every number, every explanation."""
    return {
        "created": created,
        "method": METHOD,
        "systems": [
            {
                "system": s.first.system,
                "family": s.first.family,
                "protocol": s.first.protocol,
                "version": s.first.version,
                "settings": s.first.settings,
                "runs": len(s.runs),
            }
            for s in _systems(groups)
        ],
        "groups": [
            {
                "scenario": group.scenario,
                "fault_kinds": list(group.fault_kinds),
                "series": [_series_dict(series) for series in group.series],
                "differences": explain_differences(group),
            }
            for group in groups
        ],
        "runs": [
            {
                "run_id": run.run_id,
                "path": _relative(run.run_dir, out_dir),
                "system": run.system,
                "version": run.version,
                "scenario": group.scenario,
                "status": run.status,
            }
            for group in groups
            for series in group.series
            for run in series.runs
        ],
    }


def _series_dict(series: Series) -> dict[str, Any]:
    run = series.first
    predicted = mechanism(series).detect_s
    return {
        "label": series.label,
        "system": run.system,
        "family": run.family,
        "protocol": run.protocol,
        "version": run.version,
        "settings": run.settings,
        "runs": [r.run_id for r in series.runs],
        "measures": {
            m: dist.to_dict() for m in MEASURES if (dist := series.distribution(m)) is not None
        },
        "predicted_time_to_detect_s": list(predicted) if predicted else None,
        "safety": series.safety(),
        "explanation": explain_series(series),
    }


def default_out_dir(reports: Path) -> Path:
    """Where a comparison goes unless told: reports/compare-<timestamp>/, next to the runs."""
    return reports / f"compare-{time.strftime('%Y%m%dT%H%M%S')}"


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Path:
    """Write `out_dir/index.html` and `out_dir/comparison.json`; return the page's path.

    A folder that holds runs (such as reports/) stands for every run in it.
    """
    groups = group_runs([read_summary(d) for d in find_runs(run_dirs)])
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.json").write_text(
        json.dumps(comparison_dict(groups, out_dir, created), indent=2), encoding="utf-8"
    )
    out = out_dir / "index.html"
    out.write_text(render_comparison(groups, out_dir, created), encoding="utf-8")
    return out
