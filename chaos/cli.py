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
    console().print(text, style=style, markup=False, highlight=False)


def user_errors(command: F) -> F:
    """Turn the suite's own errors into one line and their exit code; let bugs through."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chaos.errors import ChaosError

        try:
            return command(*args, **kwargs)
        except ChaosError as error:
            for line in str(error).splitlines() or [type(error).__name__]:
                say(f"error: {line}", "red")
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
) -> None:
    """Run experiments. Exit 0: every SLO held; 1: an SLO failed or the cluster was unhealthy;
    2: a run itself failed; 130/143: interrupted by SIGINT/SIGTERM (after cleaning up)."""
    from chaos.experiment import load_experiment
    from chaos.experiment.predictions import early_heals
    from chaos.report import write_index, write_run_report
    from chaos.runner import EXIT_CODES, Run, RunInterrupted

    source = _image_source(image_source)
    experiments = [load_experiment(file) for file in files]
    for file, experiment in zip(files, experiments, strict=True):
        for line in early_heals(experiment):
            say(f"warning: {file}: {line}", "yellow")
    worst = 0
    try:
        for experiment in experiments:
            for index in range(repeat or experiment.repeats):
                console().rule(f"{experiment.title} (run {index + 1})")
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
) -> None:
    """Compare runs across systems: recovery distributions, data safety, and why they differ."""
    from chaos.compare import default_out_dir, write_comparison
    from chaos.report import write_index

    out_dir = out or default_out_dir(REPORTS)
    page = write_comparison(run_dirs, out_dir)
    if out_dir.resolve().parent == REPORTS.resolve():
        write_index(REPORTS)
    say(f"comparison: {page}")


if __name__ == "__main__":
    app()
