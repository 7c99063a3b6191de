"""Protocol traffic without Docker: the counters' parser (on output captured from real
nodes), the sampler's bookkeeping, the rates per node and phase, and the report's chart
and table."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from test_report import build_run, figure, section_of

from chaos.artefacts import history_file, read_metrics
from chaos.backend import TrafficReading
from chaos.backend.docker import accounting
from chaos.checks import traffic
from chaos.checks.traffic import intervals, traffic_metrics
from chaos.experiment import load_experiment
from chaos.history import (
    Clock,
    FaultEvent,
    History,
    HistoryWriter,
    MalformedLine,
    Op,
    TrafficSample,
    from_json,
    load_history,
    to_json,
)
from chaos.report import write_run_report
from chaos.runner import judge_run
from chaos.traffic import TrafficSampler

S = 1_000_000_000
# `iptables-nft -t mangle -nvxL` of both chains in a toolbox node 192.168.0.2 that had just
# sent 100,000 bytes over TCP to its peer 192.168.0.3 (iptables 1.8.9, Debian 12); its
# peer 192.168.0.4 and the gateway 192.168.0.1 stayed silent.
CAPTURED = """\
Chain chaos-traffic-in (1 references)
    pkts      bytes target     prot opt in     out     source               destination
      12      632 RETURN     0    --  *      *       192.168.0.3          0.0.0.0/0
       0        0 RETURN     0    --  *      *       192.168.0.4          0.0.0.0/0
       0        0 RETURN     0    --  *      *       192.168.0.1          0.0.0.0/0
       3      180 RETURN     0    --  !lo    *       0.0.0.0/0            0.0.0.0/0
Chain chaos-traffic-out (1 references)
    pkts      bytes target     prot opt in     out     source               destination
      14   100736 RETURN     0    --  *      *       0.0.0.0/0            192.168.0.3
       0        0 RETURN     0    --  *      *       0.0.0.0/0            192.168.0.4
       2      120 RETURN     0    --  *      *       0.0.0.0/0            192.168.0.1
       0        0 RETURN     0    --  *      !lo     0.0.0.0/0            0.0.0.0/0
"""
PEERS = ["192.168.0.3", "192.168.0.4"]
GATEWAY = "192.168.0.1"
ZERO = dict.fromkeys(traffic.COUNTERS, 0)


# -- the counters in a node's namespace ------------------------------------------------


def test_captured_counters_are_split_into_peer_client_and_other_by_address() -> None:
    counters = accounting.parse(CAPTURED, PEERS, GATEWAY)

    assert counters == {
        **ZERO,
        "peer_in_bytes": 632,
        "peer_in_packets": 12,
        "peer_out_bytes": 100736,
        "peer_out_packets": 14,
        "client_out_bytes": 120,
        "client_out_packets": 2,
        "other_in_bytes": 180,
        "other_in_packets": 3,
    }


def test_a_listing_without_both_chains_means_a_new_namespace_and_a_stranger_is_refused() -> None:
    only_in = CAPTURED.split("Chain chaos-traffic-out")[0]

    assert accounting.parse(only_in, PEERS, GATEWAY) is None
    assert accounting.parse("Chain PREROUTING (policy ACCEPT 0 packets)\n", PEERS, GATEWAY) is None
    with pytest.raises(ValueError, match="no peer and not the gateway"):
        accounting.parse(CAPTURED, ["192.168.0.4"], GATEWAY)


def test_the_meter_counts_exactly_what_a_traffic_sample_records() -> None:
    assert set(accounting.COUNTERS) == set(traffic.COUNTERS)
    assert len(traffic.COUNTERS) == 12


def test_counting_rules_only_count_and_leave_the_filter_table_to_the_faults() -> None:
    script = accounting.install_script("iptables-nft", PEERS, GATEWAY)
    changes = [part for part in script.split(" && ") if " -A " in part or " -I " in part]

    assert changes and all("-t mangle" in part for part in changes)
    assert all(part.endswith("-j RETURN") for part in changes if " -A " in part)
    assert "-I PREROUTING 1 -j chaos-traffic-in" in script
    assert "-I POSTROUTING 1 -j chaos-traffic-out" in script


class FakeEntry:
    """A node's namespace as a meter enters it: the chains there or not, the scripts run."""

    reads_per_s = 10.0

    def __init__(self, installed: bool) -> None:
        self.installed = installed
        self.scripts: list[str] = []

    def run(self, name: str, script: str) -> str | None:
        self.scripts.append(script)
        if "-N chaos-traffic-in" in script:
            self.installed = True
        return CAPTURED if self.installed else "Chain PREROUTING (policy ACCEPT)\n"


def _meter(entry: FakeEntry) -> accounting.IptablesMeter:
    ips = {"n1": "192.168.0.2", "n2": PEERS[0], "n3": PEERS[1]}
    return accounting.IptablesMeter(entry, ips, "iptables-nft", GATEWAY)


def test_a_read_lists_once_and_installs_only_where_the_chains_are_missing() -> None:
    fresh_namespace, counted_already = FakeEntry(installed=False), FakeEntry(installed=True)

    first = _meter(fresh_namespace).read("n1")
    again = _meter(fresh_namespace).read("n1")
    later = _meter(counted_already).read("n1")
    reset = _meter(counted_already).read("n1", reset=True)

    assert first is not None and first.fresh
    assert again is not None and not again.fresh
    assert later is not None and not later.fresh and len(counted_already.scripts) == 2
    assert (
        reset is not None and reset.fresh and "-N chaos-traffic-in" in counted_already.scripts[-1]
    )
    assert sum("-N chaos-traffic-in" in script for script in fresh_namespace.scripts) == 1


# -- the sampler -----------------------------------------------------------------------


class FakeMeter:
    """Readings in turn (None: the node could not be read), and the reset flags asked."""

    def __init__(self, readings: list[TrafficReading | None], reads_per_s: float = 20) -> None:
        self.reads_per_s = reads_per_s
        self.readings = readings
        self.resets: list[bool] = []
        self.closed = False
        self.done = threading.Event()

    def read(self, name: str, reset: bool = False) -> TrafficReading | None:
        self.resets.append(reset)
        if len(self.resets) >= len(self.readings):
            self.done.set()
        return (
            self.readings[len(self.resets) - 1] if len(self.resets) <= len(self.readings) else None
        )

    def close(self) -> None:
        self.closed = True


def _reading(peer_out: int, fresh: bool = False) -> TrafficReading:
    return TrafficReading({**ZERO, "peer_out_bytes": peer_out}, fresh)


def test_sampler_stamps_each_installation_and_records_no_sample_for_an_unreadable_node(
    tmp_path: Path,
) -> None:
    meter = FakeMeter([_reading(0, fresh=True), _reading(100), None, _reading(5, fresh=True)])
    writer = HistoryWriter(tmp_path / "history.jsonl", Clock())
    sampler = TrafficSampler(meter, ["n1"], writer, interval=0.001).start()
    assert meter.done.wait(10)
    sampler.stop()
    writer.close()
    samples = load_history(tmp_path / "history.jsonl").traffic[:3]

    assert meter.resets[:4] == [True, False, False, False]
    assert meter.closed
    assert [s.peer_out_bytes for s in samples] == [0, 100, 5]
    assert samples[0].since == samples[1].since < samples[2].since <= samples[2].time


def test_a_large_cluster_is_read_less_often_so_the_reads_stay_within_budget(
    tmp_path: Path,
) -> None:
    writer = HistoryWriter(tmp_path / "history.jsonl", Clock())
    names = [f"n{i}" for i in range(64)]
    small = TrafficSampler(FakeMeter([], reads_per_s=20), names[:5], writer)
    large = TrafficSampler(FakeMeter([], reads_per_s=20), names, writer)
    costly = TrafficSampler(FakeMeter([], reads_per_s=2), names[:5], writer)
    writer.close()

    assert small.interval == 1.0
    assert large.interval == pytest.approx(3.2)
    assert costly.interval == pytest.approx(2.5)


# -- rates -----------------------------------------------------------------------------


def _sample(time_s: float, node: str, since_s: float, peer_out: int, **more: int) -> TrafficSample:
    counters = {**ZERO, "peer_out_bytes": peer_out, **more}
    return TrafficSample(int(time_s * S), node, int(since_s * S), **counters)


def test_intervals_count_from_zero_at_an_installation_and_never_span_an_absence() -> None:
    samples = [
        _sample(1, "n1", 0.5, 100),
        _sample(2, "n1", 0.5, 300),
        # killed from 2 s; back in a new namespace whose counters started at 5.5 s
        _sample(6, "n1", 5.5, 40),
    ]

    spans = intervals(samples)["n1"]

    assert [(i.start_ns / S, i.end_ns / S, i.counts["peer_out_bytes"]) for i in spans] == [
        (0.5, 1, 100),
        (1, 2, 200),
        (5.5, 6, 40),
    ]


def _history(samples: list[TrafficSample], healed_s: float | None = 20) -> History:
    """A workload from 0 to 30 s with one kill of n1 requested at 10 s."""
    ops = [Op("invoke", 0, 0, "read", "k", None, 0), Op("ok", 0, 0, "read", "k", 1, 30 * S)]
    faults = [FaultEvent(10 * S, 1, "kill", "requested", ("n1",))]
    if healed_s is not None:
        faults.append(FaultEvent(int(healed_s * S), 1, "kill", "heal-requested", ("n1",)))
    return History(ops=ops, faults=faults, traffic=samples)


def _steady(node: str, per_s: int, seconds: range, since_s: float, **per_s_more: int) -> list:
    return [
        _sample(
            t, node, since_s, per_s * (t - since_s), **{k: v * t for k, v in per_s_more.items()}
        )
        for t in seconds
    ]


def test_rates_per_phase_leave_out_a_killed_node_and_rate_it_again_after_its_restart() -> None:
    samples = [
        *_steady("n1", 1000, range(1, 10), since_s=0),  # then killed at 10 s
        *_steady("n1", 3000, range(22, 31), since_s=21),  # restarted, catching up
        *_steady("n2", 500, range(1, 31), since_s=0, client_in_bytes=50),
    ]

    result = traffic_metrics(_history(samples))
    assert result is not None
    rest, fault, recovery = result.phases
    by_node = {p.phase: {n.node: n for n in p.nodes} for p in result.phases}

    assert (rest.phase, rest.start_ns, rest.end_ns) == ("rest", 1 * S, 10 * S)
    assert by_node["rest"]["n1"].peer_out.bytes_per_s == pytest.approx(1000)
    assert by_node["rest"]["n1"].covered_s == pytest.approx(8)  # its samples stop at 9 s
    assert by_node["rest"]["n2"].client_bytes_per_s == pytest.approx(50)
    assert rest.median_peer_bytes_per_s == pytest.approx(750)
    assert rest.cluster_peer_bytes_per_s == pytest.approx(1500)
    assert (fault.phase, fault.fault_id) == ("fault", 1)
    assert [n.node for n in fault.nodes] == ["n2"]  # n1 was down: not rated, not zero
    assert recovery.phase == "recovery" and (recovery.start_ns, recovery.end_ns) == (
        20 * S,
        30 * S + 1,
    )
    assert by_node["recovery"]["n1"].peer_bytes_per_s == pytest.approx(3000)
    assert by_node["recovery"]["n1"].peak_peer_bytes_per_s == pytest.approx(3000)
    assert result.interval_s == pytest.approx(1)


def test_an_interval_across_a_phase_edge_counts_in_proportion_to_its_overlap() -> None:
    # 4000 bytes in [8 s, 12 s], the fault requested at 10 s: half belongs to each phase.
    samples = [_sample(8, "n1", 0, 0), _sample(12, "n1", 0, 4000), _sample(13, "n1", 0, 4000)]

    result = traffic_metrics(_history(samples, healed_s=None))
    assert result is not None
    rest, fault = result.phases

    assert rest.nodes[0].peer_out.bytes_per_s == pytest.approx(2000 / 9)  # 1 s to 10 s
    assert fault.nodes[0].covered_s == pytest.approx(3)
    assert fault.nodes[0].peer_out.bytes_per_s == pytest.approx(2000 / 3)
    assert [p.phase for p in result.phases] == ["rest", "fault"]  # never healed: no recovery


def test_a_history_without_samples_has_no_traffic_figures() -> None:
    assert traffic_metrics(_history([])) is None


# -- the record, the metrics and the report --------------------------------------------


def test_a_traffic_sample_survives_its_line_and_a_bad_counter_is_named() -> None:
    sample = _sample(2, "n3", 1, 1234, client_in_packets=7)
    line = to_json(sample)

    assert from_json(line) == sample
    broken = json.loads(line) | {"peer_in_bytes": "12"}
    with pytest.raises(MalformedLine, match='a traffic sample\'s "peer_in_bytes"'):
        from_json(json.dumps(broken))


def _with_traffic(run_dir: Path) -> Path:
    """The report tests' run with both nodes' traffic sampled every 0.5 s; n1 is killed
    from 1.0 s to 2.0 s and counts again from 2.2 s."""
    with history_file(run_dir).open("a", encoding="utf-8") as lines:
        for tenth in range(1, 30, 5):
            time_s = tenth / 10
            for node, since in (("n1", 0.0 if time_s < 1 else 2.2), ("n2", 0.0)):
                if node == "n1" and 1.0 <= time_s < 2.3:
                    continue
                counters = {"peer_in_packets": int(10 * time_s), "client_in_bytes": 10}
                sample = _sample(time_s, node, since, int(2000 * (time_s - since)), **counters)
                lines.write(to_json(sample) + "\n")
    experiment = load_experiment(run_dir / "experiment.yaml")
    judge_run(run_dir, experiment, load_history(history_file(run_dir)))
    return run_dir


def test_metrics_file_holds_traffic_and_reads_back(tmp_path: Path) -> None:
    run_dir = _with_traffic(build_run(tmp_path / "reports"))
    stored = json.loads((run_dir / "metrics.json").read_text())
    metrics = read_metrics(run_dir)

    assert [p["phase"] for p in stored["traffic"]["phases"]] == ["fault", "recovery"]
    assert metrics is not None and metrics.traffic is not None
    assert metrics.traffic.phase("fault", 1) is not None


def test_older_metrics_without_traffic_read_as_none(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "reports")
    stored = json.loads((run_dir / "metrics.json").read_text())
    stored.pop("traffic")
    (run_dir / "metrics.json").write_text(json.dumps(stored))

    metrics = read_metrics(run_dir)

    assert metrics is not None and metrics.traffic is None


def test_report_draws_peer_traffic_per_node_with_the_fault_and_tabulates_it(
    tmp_path: Path,
) -> None:
    run_dir = _with_traffic(build_run(tmp_path / "reports"))
    html = write_run_report(run_dir).read_text()
    chart = figure(html, "traffic")
    table = section_of(html, "Protocol traffic")

    assert sorted(t["name"] for t in chart["data"]) == ["n1", "n2"]
    n1 = next(t for t in chart["data"] if t["name"] == "n1")
    assert None in n1["x"]  # the kill is a gap, not a zero
    assert all(y is None or y > 0 for y in n1["y"])
    assert any(shape.get("fillcolor") for shape in chart["layout"]["shapes"])  # the fault
    assert "during #1" in table and "recovery after #1" in table and "median" in table


def test_a_run_without_traffic_samples_has_no_traffic_section(tmp_path: Path) -> None:
    html = write_run_report(build_run(tmp_path / "reports")).read_text()

    assert "Protocol traffic" not in html
