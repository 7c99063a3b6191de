"""Studies: the file's validation, which cells a re-run skips, and each verdict rule on
synthetic figures (supported, contradicted, depends, not measured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.artefacts import write_json
from chaos.errors import SourceError
from chaos.study.model import Claim, LoadedStudy, load_study, parse_study
from chaos.study.plan import CELL_FILE, Cell, all_cells, mark_cell, sort_runs
from chaos.study.verdicts import Sample, judge
from chaos.sweep.plan import system_settings

CATALOGUE = Path(__file__).resolve().parents[2] / "experiments"
STUDY = Path(__file__).resolve().parents[2] / "studies" / "consensus-vs-gossip.yaml"


def study_text(rule: str, experiments: str = "[etcd/leader-crash, serf/leader-crash]") -> str:
    return f"""\
title: "a study"
catalogue: {CATALOGUE}
profiles:
  quick: {{repeats: 1, max_hours: 0.5}}
claims:
  - name: recovery-time
    family: consensus
    claim: "Recovery can be slower."
    question: "Is it?"
    experiments: {experiments}
    figures: [time_to_detect_s, unavailability_s]
    rule:
{rule}
"""


COMPARE = """\
      kind: compare
      side: higher
      margin: 0.2
      cases:
        - {label: "detect a crash", experiment: leader-crash, figure: time_to_detect_s}"""


def loaded_study(
    tmp_path: Path, rule: str = COMPARE, experiments: str | None = None
) -> LoadedStudy:
    path = tmp_path / "study.yaml"
    text = study_text(rule) if experiments is None else study_text(rule, experiments)
    path.write_text(text, encoding="utf-8")
    return load_study(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "study.yaml"
    with pytest.raises(SourceError) as refused:
        parse_study(text, path)
    return refused.value.lines


# -- validation ---------------------------------------------------------------------


def test_the_shipped_study_is_valid_and_has_the_eight_claims() -> None:
    loaded = load_study(STUDY)
    assert [c.name for c in loaded.study.claims] == [
        "consistency",
        "complexity",
        "recovery-time",
        "fault-tolerance",
        "decentralization",
        "robustness",
        "scalability",
        "convergence",
    ]


def test_an_unknown_field_is_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    text = study_text(COMPARE).replace(
        "    family: consensus", "    family: consensus\n    verdict: supported"
    )
    lines = problems(tmp_path, text)
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'study.yaml'}:8:5: claims[0].verdict: unknown field")


def test_an_experiment_missing_from_the_catalogue_is_named(tmp_path: Path) -> None:
    lines = problems(tmp_path, study_text(COMPARE, "[etcd/leader-crash, etcd/no-such]"))
    assert len(lines) == 1
    assert "claims[0].experiments[1]: no experiment" in lines[0]
    assert "no-such.yaml" in lines[0]


def test_a_case_on_an_experiment_the_claim_does_not_list_is_refused(tmp_path: Path) -> None:
    rule = COMPARE.replace("experiment: leader-crash", "experiment: pause")
    (line,) = problems(tmp_path, study_text(rule))
    assert "claims[0].rule.cases[0].experiment: expected one of the claim's experiments" in line
    assert "'pause'" in line


def test_an_unknown_figure_lists_the_known_ones(tmp_path: Path) -> None:
    rule = COMPARE.replace("figure: time_to_detect_s", "figure: speed")
    (line,) = problems(tmp_path, study_text(rule))
    assert "claims[0].rule.cases[0].figure: expected one of time_to_detect_s" in line
    assert 'got "speed"' in line


def test_a_case_on_a_figure_its_claim_does_not_list_is_refused(tmp_path: Path) -> None:
    rule = COMPARE.replace("figure: time_to_detect_s", "figure: blackout_s")
    (line,) = problems(tmp_path, study_text(rule))
    assert "claims[0].rule.cases[0].figure: expected one of the claim's figures" in line


def test_a_bound_case_without_a_bound_is_refused(tmp_path: Path) -> None:
    rule = COMPARE.replace("kind: compare\n      side: higher\n      margin: 0.2", "kind: bound")
    (line,) = problems(tmp_path, study_text(rule))
    assert "claims[0].rule.cases[0]: a bound case needs at_most or at_least" in line


def test_a_case_naming_an_unknown_system_is_refused(tmp_path: Path) -> None:
    rule = COMPARE.replace(
        "figure: time_to_detect_s}", "figure: time_to_detect_s, systems: [mongo]}"
    )
    (line,) = problems(tmp_path, study_text(rule))
    assert "claims[0].rule.cases[0].systems[0]: expected one of" in line and "'mongo'" in line


def test_an_unknown_rule_kind_names_the_kinds(tmp_path: Path) -> None:
    rule = COMPARE.replace("kind: compare", "kind: vote")
    lines = problems(tmp_path, study_text(rule))
    assert any(
        "claims[0].rule.kind: expected one of compare, bound, scaling" in line for line in lines
    )


# -- resume -------------------------------------------------------------------------


def fake_run(folder: Path, cell: Cell, run_id: str, version: str = "3.4.23") -> Path:
    """A run folder as the runner leaves one: its experiment, run.json, verdicts."""
    run_dir = folder / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "experiment.yaml").write_text(cell.experiment.model_dump_yaml(), encoding="utf-8")
    write_json(
        run_dir / "run.json",
        {
            "schema_version": 2,
            "run_id": run_id,
            "system": cell.system,
            "status": "held",
            "version": version,
            "settings": system_settings(cell.experiment),
            "started": f"2026-12-01T20:00:{len(run_id) % 60:02d}+0000",
        },
    )
    write_json(run_dir / "verdicts.json", {"schema_version": 2, "status": "held"})
    return run_dir


def etcd_cell(loaded: LoadedStudy) -> Cell:
    return next(c for c in all_cells(loaded) if c.system == "etcd")


def test_a_cell_with_a_matching_key_is_skipped(tmp_path: Path) -> None:
    loaded = loaded_study(tmp_path)
    cell = etcd_cell(loaded)
    mark_cell(fake_run(tmp_path / "runs", cell, "etcd-1"), cell)
    ledger = sort_runs([tmp_path / "runs"], [cell])
    assert ledger.missing([cell], 1) == []
    assert ledger.missing([cell], 3) == [(cell, 1), (cell, 2)]  # repeat 0 is used
    assert json.loads((tmp_path / "runs" / "etcd-1" / CELL_FILE).read_text())["system_version"]


def test_a_changed_setting_is_not_skipped(tmp_path: Path) -> None:
    loaded = loaded_study(tmp_path)
    cell = etcd_cell(loaded)
    mark_cell(fake_run(tmp_path / "runs", cell, "etcd-1"), cell)
    cluster = cell.experiment.cluster.model_copy(update={"settings": {"election_timeout_ms": 2000}})
    changed = Cell(cell.name, "", cell.experiment.model_copy(update={"cluster": cluster}))
    ledger = sort_runs([tmp_path / "runs"], [changed])
    assert ledger.missing([changed], 1) == [(changed, 0)]


def test_a_sweep_point_at_the_files_own_values_is_the_file_as_written(tmp_path: Path) -> None:
    from chaos.sweep import make_plan

    cell = etcd_cell(loaded_study(tmp_path))
    (same,) = make_plan(cell.experiment, ["election_timeout_ms=1000"], 1).points
    (other,) = make_plan(cell.experiment, ["election_timeout_ms=2000"], 1).points
    assert Cell(cell.name, same.label, same.experiment).key == cell.key
    assert Cell(cell.name, other.label, other.experiment).key != cell.key


def test_a_run_marked_by_another_suite_version_is_not_counted(tmp_path: Path) -> None:
    loaded = loaded_study(tmp_path)
    cell = etcd_cell(loaded)
    run_dir = fake_run(tmp_path / "runs", cell, "etcd-1")
    write_json(run_dir / CELL_FILE, {"cell_key": "0" * 16, "suite_version": "0.0.1"})
    assert sort_runs([tmp_path / "runs"], [cell]).missing([cell], 1) == [(cell, 0)]


def test_an_unmarked_run_made_outside_the_study_counts(tmp_path: Path) -> None:
    loaded = loaded_study(tmp_path)
    cell = etcd_cell(loaded)
    fake_run(tmp_path / "reports", cell, "etcd-1")
    ledger = sort_runs([tmp_path / "reports"], [cell])
    assert [c.by_study for c in ledger.runs_of(cell)] == [False]


def test_runs_of_an_older_system_version_are_not_pooled(tmp_path: Path) -> None:
    loaded = loaded_study(tmp_path)
    cell = etcd_cell(loaded)
    fake_run(tmp_path / "runs", cell, "etcd-a", version="3.4.0")
    fake_run(tmp_path / "runs", cell, "etcd-bb", version="3.5.0")  # started later
    ledger = sort_runs([tmp_path / "runs"], [cell])
    assert [c.summary.run_id for c in ledger.runs_of(cell)] == ["etcd-bb"]
    assert ledger.versions == {"etcd": "3.5.0"}


# -- verdicts -----------------------------------------------------------------------


def samples(system: str, family: str, *values: float, nodes: int = 3) -> list[Sample]:
    return [
        Sample(system, family, nodes, f"{system}-{nodes}-{i}", "1.0", value)
        for i, value in enumerate(values)
    ]


def claim_of(tmp_path: Path, rule: str, experiments: str | None = None) -> Claim:
    return loaded_study(tmp_path, rule, experiments).study.claims[0]


def test_compare_is_supported_when_consensus_is_slower_in_every_pair(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, COMPARE)
    verdict = judge(
        claim, {0: samples("a", "consensus", 9, 10, 11) + samples("b", "gossip", 1, 2, 3)}
    )
    assert verdict.outcome == "supported"
    assert "a 10.00 s [9.00 s-11.00 s] (3 runs)" in verdict.numbers[0]


def test_compare_is_contradicted_when_consensus_is_faster(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, COMPARE)
    verdict = judge(claim, {0: samples("a", "consensus", 1.5) + samples("b", "gossip", 5.5)})
    assert verdict.outcome == "contradicted"


def test_compare_within_the_margin_or_overlapping_intervals_is_no_support(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, COMPARE)
    close = judge(claim, {0: samples("a", "consensus", 1.6) + samples("b", "gossip", 1.5)})
    overlap = judge(
        claim, {0: samples("a", "consensus", 1, 5, 9) + samples("b", "gossip", 0.5, 2, 8)}
    )
    assert close.outcome == overlap.outcome == "contradicted"


def test_compare_depends_and_names_the_pairs_it_holds_for(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, COMPARE)
    verdict = judge(
        claim,
        {
            0: samples("a", "consensus", 10.6)
            + samples("b", "consensus", 0.6)
            + samples("c", "gossip", 5.5)
        },
    )
    assert verdict.outcome == "depends"
    holds, _, fails = verdict.condition.partition("Not for:")
    assert "(a > c)" in holds and "(b < c)" in fails
    case = verdict.cases[0]
    assert [i.text for i in case.items if not i.holds] == ["b 0.60 s (1 run) < c 5.50 s (1 run)"]


BOUND = """\
      kind: bound
      cases:
        - {label: "one down", experiment: leader-crash, figure: unavailability_s, at_most: 5}
        - {label: "contrast", experiment: leader-crash, figure: unavailability_s, at_most: 5,
           contrast: true}"""


def test_bound_gives_each_outcome_and_never_weighs_a_contrast(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, BOUND)
    gossip_fails = samples("g", "gossip", 99)
    held = judge(
        claim, {0: samples("a", "consensus", 1) + samples("b", "consensus", 2), 1: gossip_fails}
    )
    failed = judge(
        claim, {0: samples("a", "consensus", 6) + samples("b", "consensus", float("inf"))}
    )
    mixed = judge(
        claim, {0: samples("a", "consensus", 1) + samples("b", "consensus", float("inf"))}
    )
    assert (held.outcome, failed.outcome, mixed.outcome) == ("supported", "contradicted", "depends")
    assert "Not for: one down (b)" in mixed.condition
    assert any("b never" in item.text for item in mixed.cases[0].items)
    assert all(not run.startswith("g-") for run in held.runs)


def test_nothing_measured_gives_no_verdict(tmp_path: Path) -> None:
    verdict = judge(claim_of(tmp_path, BOUND), {})
    assert verdict.outcome == "not measured"
    assert verdict.runs == ()


SCALING = """\
      kind: scaling
      at_most_ratio: 2
      cases:
        - {label: "detect", experiment: leader-crash, figure: time_to_detect_s}"""


def test_scaling_compares_the_largest_cluster_with_the_smallest(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, SCALING)
    flat = samples("s", "gossip", 5, nodes=3) + samples("s", "gossip", 7, nodes=16)
    steep = samples("t", "gossip", 5, nodes=3) + samples("t", "gossip", 20, nodes=16)
    assert judge(claim, {0: flat}).outcome == "supported"
    assert judge(claim, {0: steep}).outcome == "contradicted"
    both = judge(claim, {0: flat + steep})
    assert both.outcome == "depends"
    assert "(s x1.40)" in both.condition and "(t x4.00)" in both.condition


def test_scaling_at_one_size_only_is_not_measured(tmp_path: Path) -> None:
    claim = claim_of(tmp_path, SCALING)
    assert judge(claim, {0: samples("s", "gossip", 5, 6, nodes=3)}).outcome == "not measured"


def test_a_rerun_makes_only_the_runs_still_missing(tmp_path: Path) -> None:
    from chaos.study import run_study

    loaded = loaded_study(tmp_path)
    made: list[str] = []

    def run_one(cell: Cell, repeat: int, folder: Path) -> Path:
        made.append(cell.name)
        return fake_run(folder, cell, f"{cell.system}-{repeat}-{len(made)}")

    first = run_study(loaded, "quick", tmp_path / "study", run_one, say=lambda _: None)
    again = run_study(loaded, "quick", tmp_path / "study", run_one, say=lambda _: None)
    assert sorted(made) == ["etcd/leader-crash", "serf/leader-crash"]
    assert (first.made, again.made, again.already) == (2, 0, 2)
    assert (tmp_path / "study" / "index.html").is_file()
