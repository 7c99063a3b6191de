"""The pure parts of link faults and probes: rates, command lines, parsing."""

from __future__ import annotations

import pytest

from chaos.faults import link, probe
from chaos.faults.spec import LinkSpec, parse_fault


def spec(**fields) -> LinkSpec:
    return parse_fault(fields)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("rate", "bits"), [("1mbit", 1e6), ("500kbit", 5e5), ("2mbps", 1.6e7), ("10gbit", 1e10)]
)
def test_tc_rates_in_bits_per_second(rate, bits):
    assert link.rate_bits(rate) == bits


def test_netem_arguments():
    assert link.netem_args(spec(kind="delay", delay="100ms", jitter="10ms")) == [
        "delay",
        "100ms",
        "10ms",
    ]
    assert link.netem_args(spec(kind="loss", percent=12.5)) == ["loss", "12.5%"]


def test_shaper_daemonises_with_its_queue_seed_and_duplicate_mark():
    args = link.shaper_args(spec(kind="duplicate", percent=30), queue=4, seed=99)
    assert args[:5] == ["nfqueue-shaper", "--queue", "4", "--seed", "99"]
    assert args[5:7] == ["--duplicate", "30"]
    assert "--daemon" in args and link.pidfile(4) in args


def test_shaper_rule_queues_only_the_peers_and_lets_duplicates_pass_first():
    script = link.shaper_install("iptables-nft", spec(kind="delay", delay=0.05), 5, ["10.0.0.2"], 1)
    rules = script.split("&& iptables-nft -w -N chaos-5-out", 1)[1]
    assert rules.index("--mark 0xc4a05 -j RETURN") < rules.index("-j NFQUEUE")
    assert "-d 10.0.0.2 -j NFQUEUE --queue-num 5 --queue-bypass" in rules


def test_shaper_removal_stops_queueing_before_stopping_the_shaper():
    script = link.shaper_remove("iptables-nft", 5)
    assert script.index("-D OUTPUT -j chaos-5-out") < script.index("kill -TERM")


def test_loss_drops_inbound_with_the_statistic_match():
    (rule,) = link.loss_rules(["10.0.0.3"], 25)
    assert rule == ["-s", "10.0.0.3", "-m", "statistic", "--mode", "random",
                    "--probability", "0.250000", "-j", "DROP"]  # fmt: skip


def test_tc_tree_gives_each_fault_its_own_class_and_filter_priority():
    script = link.tc_install("eth0", 7, ["10.0.0.2", "10.0.0.3"], "1mbit", ["delay", "5ms", "0ms"])
    assert "classid 1:107 htb rate 1mbit" in script
    assert "parent 1:107 handle 107: netem delay 5ms 0ms" in script
    assert script.count("prio 7 u32 match ip dst") == 2
    assert "htb default 1" in script  # unmatched traffic stays unshaped


def test_loss_attempts_expect_a_few_losses():
    assert link.loss_attempts(50) == 20
    assert link.loss_attempts(5) == 80
    assert link.loss_attempts(0.1) == 200


def test_probe_output_parsing():
    out = "10.0.0.2:9 reached=3 lost=1 median_us=1500\n10.0.0.3:9 reached=0 lost=4 median_us=-1\n"
    reach = probe.parse_tcp(out)
    assert reach["10.0.0.2"] == probe.Reach(3, 1, 1.5)
    assert reach["10.0.0.3"].median_ms is None and reach["10.0.0.3"].lost_fraction == 1.0


def test_probe_command_targets_the_closed_probe_port():
    assert probe.tcp_command(["10.0.0.2"], 100, 3) == "netprobe tcp -t 100 -n 3 10.0.0.2:9"
