"""The `chaoslab` command line.

Every error a user can cause is a `ChaosError` and comes out as one line of
plain text (user data is never read as markup) and a non-zero exit code; a
traceback means a bug in the suite. Commands import what they use when they
run, so `chaoslab --help` loads no client driver, chart library or Docker SDK.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from chaos.baseline.store import Store
    from chaos.runner import Outcome

# Plain help (no rich formatting): rich's markdown machinery alone costs ~150 ms a start.
app = typer.Typer(
    no_args_is_help=True,
    help="Chaos experiments on real clusters in Docker.",
    rich_markup_mode=None,
)
images_app = typer.Typer(
    no_args_is_help=True, help="Build the images, with no registry.", rich_markup_mode=None
)
app.add_typer(images_app, name="images")
baseline_app = typer.Typer(
    no_args_is_help=True,
    help="Baselines of each experiment's figures, and their trend over the nights.",
    rich_markup_mode=None,
)
app.add_typer(baseline_app, name="baseline")
_BASELINE_OPTION = typer.Option(
    "--baseline",
    metavar="DIR",
    help="A baseline folder (chaoslab baseline save): judge each experiment's runs against it.",
)
REPORTS = Path("reports")
F = TypeVar("F", bound=Callable[..., Any])
# Tool output the image build streams, shown only with --verbose.
_NOISE = (" ", "Get:", "(Reading", "Selecting", "Preparing", "Unpacking", "Setting up", "I: ")


@functools.cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    """One line of plain text: whatever it holds is printed, never interpreted."""
    console().print(text, style=style, markup=False, highlight=False, emoji=False)


def user_errors(command: F) -> F:
    """Turn the suite's own errors into one line and their exit code; let bugs through."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chaos.errors import ChaosError
        from chaos.fields import printable

        try:
            return command(*args, **kwargs)
        except ChaosError as error:
            for line in str(error).splitlines() or [type(error).__name__]:
                say(f"error: {printable(line)}", "red")
            raise typer.Exit(error.exit_code) from None

    return guarded  # type: ignore[return-value]


def show_progress(verbose: bool) -> Callable[[str], None]:
    """Build steps and suite messages on screen; raw tool output only with --verbose."""

    def progress(line: str) -> None:
        if verbose or not line.startswith((*_NOISE, "--->")):
            say(line, "dim" if line.startswith("Step ") else None)

    return progress


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs, each value read as a YAML scalar (so 500 is a number and lan
    a string, as in an experiment file); the system's settings model checks them."""
    import yaml

    from chaos.errors import InputError

    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            settings[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            settings[key] = value
    return settings


def _image_source(value: str | None) -> Any:
    from chaos.errors import InputError
    from chaos.images import IMAGE_SOURCES

    if value is not None and value not in IMAGE_SOURCES:
        raise InputError(f"--image-source: expected one of {', '.join(IMAGE_SOURCES)}")
    return value


@images_app.command("build")
@user_errors
def images_build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Images to build (default: all).")
    ] = None,
    upstream_base: Annotated[
        bool, typer.Option(help="Build FROM debian:bookworm-slim (needs a registry).")
    ] = False,
    tarball: Annotated[
        Path | None,
        typer.Option(
            help="Build NAME's image from this release tarball of its product (where its "
            "system builds from one); run it with --image-source tarball.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Build the local images; an image whose recipe has not changed is not rebuilt."""
    from chaos.backend.docker import build as images
    from chaos.errors import InputError

    if tarball is not None:
        if len(names or []) != 1:
            raise InputError("--tarball: name the one image to build from it")
        builds = images.build_from_tarball(names[0], tarball, upstream_base, show_progress(verbose))  # type: ignore[index]
    else:
        builds = images.build_all(names or [], upstream_base, show_progress(verbose))
    if builds.built:
        say(f"built: {', '.join(builds.built)}")
    if builds.current:
        say(f"current: {', '.join(builds.current)}")


@app.command()
@user_errors
def up(
    system: Annotated[str, typer.Argument(help="A system: chaoslab list shows them.")],
    nodes: Annotated[int | None, typer.Option(min=1, help="How many nodes.")] = None,
    image_source: Annotated[str, typer.Option(help="local, official or tarball.")] = "local",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="A system setting, KEY=VALUE.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Bring a cluster up to ready and leave it running (remove it with `down RUN_ID`)."""
    from pydantic import ValidationError

    from chaos.backend.docker import cluster
    from chaos.errors import InputError
    from chaos.experiment.source import message
    from chaos.systems import system_class

    source = _image_source(image_source)
    kind = system_class(system)
    if source not in kind.image_sources:
        sources = ", ".join(kind.image_sources)
        raise InputError(f"--image-source {source}: {system} runs from {sources} images")
    settings = parse_settings(set_ or [])
    try:
        kind.parse_settings(settings)
    except ValidationError as exc:
        lines = [
            f"--set {'.'.join(map(str, error['loc'])) or 'settings'}: {message(error, ())}"
            for error in exc.errors()
        ]
        raise InputError("\n".join(lines)) from None
    chosen = kind(settings, nodes)
    with cluster.running(
        chosen, source, keep=True, progress=show_progress(verbose), owner="kept"
    ) as running:
        for node in running.nodes:
            host, port = running.client_address(node.name)
            say(f"{node.name}  {node.container}  {host}:{port}")
        say(f"{system} {chosen.version(running)} ready; run id {running.run_id}")


@app.command()
@user_errors
def down(
    run_id: Annotated[str | None, typer.Argument(help="The run to remove.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every chaoslab cluster on the machine, anyone's.")
    ] = False,
) -> None:
    """Remove a cluster left running by `up` (or, with --all, every one on the machine)."""
    from chaos.backend.docker import cluster
    from chaos.errors import InputError

    if bool(run_id) == all_:
        raise InputError("down: give a run id, or --all for every cluster on the machine")
    if run_id and not cluster.run_exists(run_id):
        raise InputError(f"down: no cluster of run {run_id!r} on this machine")
    _remove(f"{cluster.LABEL_RUN}={run_id}" if run_id else f"{cluster.LABEL_MANAGED}=true")


@app.command()
@user_errors
def clean(
    run_id: Annotated[str | None, typer.Argument(help="Only this run's leftovers.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also runs still alive and clusters kept by `up`.")
    ] = False,
) -> None:
    """Remove what killed runs left behind: runs whose process is gone (or one run, or all)."""
    from chaos.backend.docker import cluster

    if run_id or all_:
        _remove(f"{cluster.LABEL_RUN}={run_id}" if run_id else f"{cluster.LABEL_MANAGED}=true")
        return
    orphans, alive = cluster.orphaned_runs()
    for run, owner in alive:
        say(f"left alone: {run} ({owner}); remove it with `chaoslab clean {run}`")
    if not orphans:
        say("nothing left behind by a killed run")
    for run in orphans:
        _remove(f"{cluster.LABEL_RUN}={run}")


def _remove(label: str) -> None:
    from chaos.backend.docker import cluster

    removed = cluster.remove_labelled(label)
    left = cluster.leftovers(label)
    say(
        f"removed {removed['containers']} containers, {removed['networks']} networks, "
        f"{removed['volumes']} volumes"
    )
    if any(left.values()):
        say(f"error: still present: {left}", "red")
        raise typer.Exit(1)


@app.command("doctor")
def doctor_command() -> None:
    """Check Docker, Compose v2, images, memory and the kernel features faults rely on."""
    from chaos.backend.docker import doctor

    missing = 0
    for finding in doctor.diagnose():
        say(f"{'ok     ' if finding.ok else 'MISSING'} {finding.name}: {finding.detail}")
        if not finding.ok:
            missing += 1
            if finding.fix:
                say(f"        fix: {finding.fix}")
    if missing:
        raise typer.Exit(1)


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the catalogue).")
    ] = None,
) -> None:
    """Check experiment files without starting anything: one line per problem, and a warning
    for a fault that heals before the system's own model detects it."""
    from chaos.experiment import review_paths

    review = review_paths(paths or [])
    for line in review.warnings:
        say(f"warning: {line}", "yellow")
    for line in review.errors:
        say(line)
    if review.errors:
        raise typer.Exit(2)
    say("all experiments are valid")


@app.command("list")
@user_errors
def list_experiments(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the catalogue).")
    ] = None,
) -> None:
    """The experiments, one line each, with their description; then the systems."""
    from chaos.experiment import find_experiments, load_experiment
    from chaos.systems import SYSTEMS

    for path in find_experiments(paths or []):
        loaded = load_experiment(path)
        say(f"{loaded.system:<10} {path.stem:<20} {loaded.description or ''}")
    say(f"systems: {', '.join(SYSTEMS)}")


def _print_outcome(outcome: Outcome) -> None:
    for verdict in outcome.verdicts:
        say(f"  {verdict.line()}", "green" if verdict.held else "red")
    if outcome.error:
        label = {"unhealthy": "cluster unhealthy", "interrupted": "interrupted"}.get(
            outcome.status, "run failed"
        )
        say(f"  {label}: {outcome.error}", "red")
    say(f"  {outcome.status}: {outcome.run_dir / 'index.html'}")


@app.command()
@user_errors
def run(
    files: Annotated[list[Path], typer.Argument(help="Experiment files.")],
    repeat: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Repetitions (default: the file's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the file's).")] = None,
    keep: Annotated[bool, typer.Option(help="Leave the (healed) cluster running.")] = False,
    image_source: Annotated[
        str | None, typer.Option(help="local, official or tarball (default: the file's).")
    ] = None,
    reports: Annotated[Path, typer.Option(help="Where run folders and the runs index go.")] = (
        REPORTS
    ),
    baseline: Annotated[Path | None, _BASELINE_OPTION] = None,
) -> None:
    """Run experiments. Exit 0: every SLO held; 1: an SLO failed, the cluster was unhealthy or
    (with --baseline) a figure regressed; 2: a run itself failed; 130/143: interrupted by
    SIGINT/SIGTERM (after cleaning up)."""
    from rich.text import Text

    from chaos.errors import InputError
    from chaos.experiment import load_experiment
    from chaos.experiment.predictions import early_heals
    from chaos.report import write_index, write_run_report
    from chaos.runner import EXIT_CODES, Run, RunInterrupted
    from chaos.systems import SYSTEMS

    source = _image_source(image_source)
    experiments = [load_experiment(file) for file in files]
    for file, experiment in zip(files, experiments, strict=True):
        for line in early_heals(experiment):
            say(f"warning: {file}: {line}", "yellow")
    for file, experiment in zip(files, experiments, strict=True):
        sources = SYSTEMS[experiment.system].image_sources
        if source is not None and source not in sources:
            message = f"{experiment.system} runs from {', '.join(sources)} images"
            raise InputError(f"--image-source {source}: {file}: {message}")
    store = _store(baseline)
    worst = 0
    try:
        for experiment in experiments:
            night = []
            for index in range(repeat or experiment.repeats):
                console().rule(Text(f"{experiment.title} (run {index + 1})"))  # as written
                outcome = Run(
                    experiment,
                    repeat=index,
                    image_source=source,
                    seed=seed,
                    keep=keep,
                    reports=reports,
                ).execute()
                write_run_report(outcome.run_dir)
                _print_outcome(outcome)
                write_index(outcome.run_dir.parent)
                worst = max(worst, EXIT_CODES[outcome.status])
                night.append(outcome.run_dir)
            if store is not None:
                worst = max(worst, _against_baseline(night, store, write=True))
    except RunInterrupted as stop:
        write_run_report(stop.run_dir)
        write_index(stop.run_dir.parent)
        say(f"interrupted by {stop.signal_name}: run folder {stop.run_dir}; {stop.cleanup}")
        raise typer.Exit(stop.exit_code) from None
    raise typer.Exit(worst)


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder under reports/.")],
    single_file: Annotated[
        bool,
        typer.Option(
            "--single-file",
            help="Inline the chart library: one page that opens anywhere (for a ticket),"
            " instead of loading the reports folder's shared copy.",
        ),
    ] = False,
) -> None:
    """Recompute a run's metrics and verdicts from its files alone."""
    from chaos.report import write_index, write_run_report
    from chaos.runner import EXIT_CODES, rejudge

    outcome = rejudge(run_dir)
    write_run_report(run_dir, single_file=single_file)
    write_index(run_dir.parent)
    _print_outcome(outcome)
    # An interrupted run is shown as such; as `report`'s answer it is a run not judged.
    raise typer.Exit(2 if outcome.status == "interrupted" else EXIT_CODES[outcome.status])


@app.command()
@user_errors
def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN_DIR", help="Run folders, or a folder of runs (reports/)."),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: reports/compare-<timestamp>/).")
    ] = None,
    baseline: Annotated[Path | None, _BASELINE_OPTION] = None,
) -> None:
    """Compare runs across systems: recovery distributions, data safety, and why they differ.
    With --baseline, each experiment's runs are also judged against its baseline: exit 1 when
    a figure regressed."""
    from chaos.compare import default_out_dir, write_comparison
    from chaos.fields import printable
    from chaos.report import write_index

    out_dir = out or default_out_dir(REPORTS)
    page = write_comparison(
        run_dirs, out_dir, warn=lambda line: say(f"warning: {printable(line)}", "yellow")
    )
    if out_dir.resolve().parent == REPORTS.resolve():
        write_index(REPORTS)
    say(f"comparison: {page}")
    store = _store(baseline)
    if store is not None:
        raise typer.Exit(_against_baseline(run_dirs, store, write=False))


@app.command()
@user_errors
def sweep(
    file: Annotated[
        Path | None, typer.Argument(help="The experiment file to sweep.", dir_okay=False)
    ] = None,
    over: Annotated[
        list[str] | None,
        typer.Option(
            "--over",
            metavar="NAME=V1,V2,...",
            help="A parameter and its values: nodes, a setting of the system, or "
            "faults[N].duration; several --over sweep their cross product.",
        ),
    ] = None,
    repeat: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Runs per point (default: the file's).")
    ] = None,
    max_runs: Annotated[
        int, typer.Option(min=1, help="Refuse a sweep of more runs than this.")
    ] = 60,
    max_hours: Annotated[
        float, typer.Option(min=0, help="Refuse a sweep estimated to take longer.")
    ] = 4.0,
    at_most: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Make at most this many of the runs still needed, then stop (continue "
            "later with --out).",
        ),
    ] = None,
    reports: Annotated[
        Path, typer.Option(help="Where the sweep folder goes: REPORTS/sweep-<timestamp>/.")
    ] = REPORTS,
    out: Annotated[
        Path | None,
        typer.Option(help="The sweep folder itself; one holding this sweep is continued."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the file's).")] = None,
    image_source: Annotated[
        str | None, typer.Option(help="local, official or tarball (default: the file's).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate every point, estimate, and stop.")
    ] = False,
    summarize: Annotated[
        Path | None,
        typer.Option(
            "--summarize",
            metavar="DIR",
            help="Rebuild the summary of the sweep folder DIR from its files, and stop.",
        ),
    ] = None,
) -> None:
    """Run one experiment across values of its parameters, each point --repeat times, into one
    folder with a summary of each figure against the swept value beside what the system's
    settings predict. A sweep measures, it does not judge: exit 0 when every run was
    measured, 2 when a run failed, 130/143 when interrupted (after cleaning up)."""
    from chaos.errors import InputError
    from chaos.experiment import load_experiment
    from chaos.sweep import Bounds, Sweep, default_folder, make_plan, run_in_docker
    from chaos.sweep.execution import unfinished_sweeps
    from chaos.systems import system_class

    if summarize is not None:
        if file is not None or over:
            raise InputError("--summarize DIR rebuilds a summary: give no FILE or --over")
        _write_sweep_summary(summarize)
        return
    if file is None:
        raise InputError("sweep: give an experiment FILE (or --summarize DIR)")
    source = _image_source(image_source)
    plan = make_plan(load_experiment(file), over or [], repeat, seed, str(file))
    sources = system_class(plan.base.system).image_sources
    if source is not None and source not in sources:
        raise InputError(
            f"--image-source {source}: {plan.base.system} runs from {', '.join(sources)} images"
        )
    folder = out or default_folder(reports)
    if out is None:
        for earlier in unfinished_sweeps(reports, plan):
            say(f"note: {earlier} holds this sweep; give --out {earlier} to continue it")
    job = Sweep(
        plan,
        folder,
        run_in_docker(source),
        Bounds(max_runs=max_runs, max_hours=max_hours),
        say=say,
        at_most=at_most,
    )
    if dry_run:
        planned = job.check()
        for point in plan.points:
            say(f"  {point.label}: {len(job.ledger.runs_of(point))} of {plan.repeats} measured")
        say(f"{plan.describe()}; to run: {planned.text()}; folder {folder}")
        return
    result = job.execute()
    say(
        f"sweep: {result.made} runs made ({result.errors} failed), {result.already} already "
        f"measured; summary {result.page}"
    )
    raise typer.Exit(result.exit_code)


@app.command("sweep-report")
@user_errors
def sweep_report(
    folder: Annotated[Path, typer.Argument(help="A sweep folder (reports/sweep-<timestamp>/).")],
) -> None:
    """Rebuild a sweep's summary (sweep.json, index.html) from its folder's files alone."""
    _write_sweep_summary(folder)


def _write_sweep_summary(folder: Path) -> None:
    import json

    from chaos.sweep import SUMMARY_FILE, write_summary

    page = write_summary(folder)
    written = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    aside = len(written["set_aside"])
    say(f"sweep summary of {written['runs_counted']} runs ({aside} set aside): {page}")


@app.command()
@user_errors
def study(
    file: Annotated[Path, typer.Argument(help="A study file (studies/*.yaml).", dir_okay=False)],
    profile: Annotated[
        str, typer.Option(help="quick (one run of the most telling cells) or full.")
    ] = "quick",
    report_only: Annotated[
        bool,
        typer.Option("--report-only", help="Run nothing: build the report from run folders."),
    ] = False,
    runs: Annotated[
        list[Path] | None,
        typer.Option(
            "--runs",
            metavar="DIR",
            help="Count the run folders under DIR too (default: reports/); repeatable.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="The study folder (default: reports/study-<name>/), its runs inside."),
    ] = None,
    lock: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Hold an exclusive lock on FILE during each run."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate, list the runs still needed, and stop.")
    ] = False,
    single_file: Annotated[
        bool, typer.Option("--single-file", help="Inline the chart library in the page.")
    ] = False,
    image_source: Annotated[
        str | None, typer.Option(help="local, official or tarball (default: each file's).")
    ] = None,
) -> None:
    """Run a study's cells that are not measured yet (a re-run skips those measured with the
    same suite version, system version and settings), then write its report: each claim's
    verdict computed from the figures by the file's rule. Exit 0, or 2 when a run failed."""
    from chaos.errors import InputError
    from chaos.study import default_folder, load_study, run_study, todo, write_report
    from chaos.sweep import run_in_docker

    if profile not in ("quick", "full"):
        raise InputError(f"--profile: expected quick or full, got {profile!r}")
    loaded = load_study(file)
    if profile not in loaded.study.profiles:
        raise InputError(f"{file}: profiles: has no {profile} profile")
    folder = out or default_folder(REPORTS, loaded)
    extra = runs if runs is not None else [REPORTS]
    if report_only:
        page, summary = write_report(loaded, folder, extra, "report-only", single_file)
        for claim in summary["claims"]:
            say(f"  {claim['name']:<17} {claim['verdict']:<13} {claim['condition']}")
        say(f"study report: {page}")
        return
    if dry_run:
        from chaos.study.plan import planned

        missing, ledger = todo(loaded, profile, folder, extra)
        for cell, repeat in missing:
            say(f"  to run: {cell.label} (repeat {repeat + 1})")
        measured = sum(map(len, ledger.counted.values()))
        say(f"{measured} runs measured already; to run: {planned(missing).text()}")
        return
    run_one = run_in_docker(_image_source(image_source))
    result = run_study(
        loaded,
        profile,
        folder,
        lambda cell, repeat, into: run_one(cell.experiment, repeat, into),
        extra,
        lock,
        say,
    )
    if single_file:
        write_report(loaded, folder, extra, profile, single_file=True)
    say(
        f"study: {result.made} runs made ({result.errors} failed), {result.already} already "
        f"measured, {result.seconds / 60:.1f} min; report {result.page}"
    )
    raise typer.Exit(result.exit_code)


def _store(folder: Path | None) -> Store | None:
    """The baseline folder, checked before anything runs; None without --baseline."""
    from chaos.baseline.store import Store

    return None if folder is None else Store(folder)


def _against_baseline(run_dirs: list[Path], store: Store, write: bool) -> int:
    """Each night among the runs judged against its baseline, printed (and with `write`, in
    each run's folder and report); 1 when a figure regressed."""
    from chaos.baseline.verdict import judge_runs
    from chaos.fields import printable
    from chaos.report import write_run_report

    judgements, unreadable = judge_runs(run_dirs, store.baseline, write=write)
    for line in unreadable:
        say(f"warning: not judged against the baseline: {printable(line)}", "yellow")
    colours = {"regressed": "red", "held": "green", "changed": "yellow", "first": None}
    for judgement in judgements:
        for line in judgement.lines():
            say(line, colours[judgement.outcome])
    if write:
        for run_dir in run_dirs:
            write_run_report(run_dir)
    return 1 if any(judgement.regressed for judgement in judgements) else 0


@baseline_app.command("save")
@user_errors
def baseline_save(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN_DIR", help="Run folders, or a folder of runs (reports/)."),
    ],
    to: Annotated[Path, typer.Option("--to", metavar="DIR", help="The baseline folder.")],
) -> None:
    """Record each experiment's runs as a night in the baseline folder; a night that did not
    regress against the baseline there (and counted enough runs) becomes the new baseline."""
    from chaos.baseline.store import Store
    from chaos.fields import printable

    saved, unreadable = Store(to).save(run_dirs)
    for line in unreadable:
        say(f"warning: not saved: {printable(line)}", "yellow")
    for item in saved:
        say(item.line())


@baseline_app.command("trend")
@user_errors
def baseline_trend(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The baseline folder.")],
    out: Annotated[Path, typer.Option(help="Where the page goes.")] = REPORTS / "trend.html",
) -> None:
    """Write the trend page: each experiment's figures over its nights, changes marked,
    regressions highlighted."""
    from chaos.baseline.store import Store
    from chaos.baseline.trend import write_trend

    say(f"trend: {write_trend(Store(folder), out)}")


@baseline_app.command("matrix")
@user_errors
def baseline_matrix(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the catalogue).")
    ] = None,
) -> None:
    """The systems the experiments run on, as one line of JSON: the nightly workflow's job
    matrix, so a system that joins the catalogue gets its job."""
    import json

    from chaos.experiment import find_experiments, load_experiment

    systems = sorted({load_experiment(path).system for path in find_experiments(paths or [])})
    typer.echo(json.dumps(systems))


if __name__ == "__main__":
    app()
