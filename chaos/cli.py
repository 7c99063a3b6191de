"""The `chaoslab` command line.

Every error a user can cause comes out as one line and a non-zero exit code;
a traceback means a bug in the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chaos import cluster, doctor, engine, images
from chaos.compare import ComparisonError, default_out_dir, write_comparison
from chaos.experiment import ExperimentError, find_experiments, load_experiment, validate_paths
from chaos.history import load_history
from chaos.images import ImageSource
from chaos.report import write_index, write_run_report
from chaos.runner import EXIT_CODES, REPORTS, Outcome, Run, RunInterrupted, judge_run
from chaos.systems import SYSTEMS, NotReady, UnknownSystem, make_system

app = typer.Typer(no_args_is_help=True, help="Chaos experiments on real clusters in Docker.")
images_app = typer.Typer(no_args_is_help=True, help="Build the images, with no registry.")
app.add_typer(images_app, name="images")
console = Console()

USER_ERRORS = (
    engine.EngineError,
    images.ImageError,
    NotReady,
    UnknownSystem,
    ExperimentError,
    ValueError,
)


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def show_progress(verbose: bool):
    """Build steps and suite messages on screen; raw tool output only with --verbose."""

    def progress(line: str) -> None:
        if verbose or not line.startswith(
            (
                " ",
                "Get:",
                "(Reading",
                "Selecting",
                "Preparing",
                "Unpacking",
                "Setting up",
                "I: ",
                "--->",
            )
        ):
            console.print(
                f"[dim]{line}[/dim]" if line.startswith("Step ") else line,
                highlight=False,
                soft_wrap=True,
            )

    return progress


def parse_settings(pairs: list[str]) -> dict[str, int | str]:
    settings: dict[str, int | str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE")
        settings[key] = int(value) if value.isdigit() else value
    return settings


@images_app.command("build")
def images_build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Images to build (default: all).")
    ] = None,
    upstream_base: Annotated[
        bool, typer.Option(help="Build FROM debian:bookworm-slim (needs a registry).")
    ] = False,
    cassandra_tarball: Annotated[
        Path | None,
        typer.Option(
            help="Build chaoslab/cassandra:tarball from this Apache Cassandra binary tarball "
            "(4.0, 4.1 or 5.0); run it with --image-source tarball.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Build the local images; an image whose recipe has not changed is not rebuilt."""
    try:
        if cassandra_tarball:
            builds = images.build_cassandra_tarball(
                cassandra_tarball, upstream_base, show_progress(verbose)
            )
        else:
            builds = images.build_all(names or [], upstream_base, show_progress(verbose))
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    if builds.built:
        console.print(f"built: {', '.join(builds.built)}", highlight=False, soft_wrap=True)
    if builds.current:
        console.print(f"current: {', '.join(builds.current)}", highlight=False, soft_wrap=True)


@app.command()
def up(
    system: Annotated[str, typer.Argument(help=f"One of: {', '.join(SYSTEMS)}.")],
    image_source: Annotated[str, typer.Option(help="local, official or tarball.")] = "local",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="A system setting, KEY=VALUE.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Bring a cluster up to ready and leave it running (remove it with `down`)."""
    try:
        if image_source not in images.IMAGE_SOURCES:
            raise ValueError(f"--image-source: expected one of {images.IMAGE_SOURCES}")
        chosen = make_system(system, parse_settings(set_ or []))
        source: ImageSource = image_source  # type: ignore[assignment]
        with cluster.running(chosen, source, keep=True, progress=show_progress(verbose)) as c:
            table = Table("node", "container", "client address")
            for node in c.nodes:
                host, port = c.client_address(node.name)
                table.add_row(node.name, node.container, f"{host}:{port}")
            console.print(table)
            console.print(f"{system} {chosen.version(c)} ready; run id [bold]{c.run_id}[/bold]")
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None


@app.command()
def down(
    run_id: Annotated[
        str | None, typer.Argument(help="The run to remove (default: every cluster).")
    ] = None,
) -> None:
    """Remove a cluster left running by `up` (or all of them)."""
    label = f"{cluster.LABEL_RUN}={run_id}" if run_id else f"{cluster.LABEL_MANAGED}=true"
    _remove(label)


@app.command()
def clean() -> None:
    """Remove every container, network and volume any chaoslab run left behind."""
    _remove(f"{cluster.LABEL_MANAGED}=true")


def _remove(label: str) -> None:
    try:
        removed = cluster.remove_labelled(label)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    left = cluster.leftovers(label)
    console.print(
        f"removed {removed['containers']} containers, {removed['networks']} networks, "
        f"{removed['volumes']} volumes"
    )
    if any(left.values()):
        raise fail(f"still present: {left}", 1)


@app.command("doctor")
def doctor_command() -> None:
    """Check Docker, Compose v2, images, memory and the kernel features faults rely on."""
    missing = 0
    for finding in doctor.diagnose():
        mark = "[green]ok[/green]  " if finding.ok else "[red]MISSING[/red]"
        console.print(f"{mark} {finding.name}: {finding.detail}", highlight=False)
        if not finding.ok:
            missing += 1
            if finding.fix:
                console.print(f"        fix: [bold]{finding.fix}[/bold]", highlight=False)
    if missing:
        raise typer.Exit(1)


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the catalogue).")
    ] = None,
) -> None:
    """Check experiment files without starting anything: one line per problem."""
    errors = validate_paths(paths or [])
    for line in errors:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(2)
    console.print("all experiments are valid")


@app.command("list")
def list_experiments(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the catalogue).")
    ] = None,
) -> None:
    """The experiments, one line each, with their description."""
    table = Table("system", "experiment", "description")
    try:
        for path in find_experiments(paths or []):
            loaded = load_experiment(path)
            table.add_row(loaded.system, path.stem, loaded.description or "")
    except ExperimentError as exc:
        raise fail(str(exc)) from None
    console.print(table)


def _print_outcome(outcome: Outcome) -> None:
    for verdict in outcome.verdicts:
        style = "green" if verdict.held else "red"
        console.print(f"  {verdict.line()}", style=style, markup=False, highlight=False)
    if outcome.error:
        label = {"unhealthy": "cluster unhealthy", "interrupted": "interrupted"}.get(
            outcome.status, "run failed"
        )
        console.print(f"  {label}: {outcome.error}", style="red", markup=False, highlight=False)
    console.print(
        f"  {outcome.status}: {outcome.run_dir / 'index.html'}", markup=False, highlight=False
    )


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="Experiment files.")],
    repeat: Annotated[int | None, typer.Option(help="Repetitions (default: the file's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the file's).")] = None,
    keep: Annotated[bool, typer.Option(help="Leave the (healed) cluster running.")] = False,
    image_source: Annotated[
        str | None, typer.Option(help="local, official or tarball (default: the file's).")
    ] = None,
    reports: Annotated[
        Path, typer.Option(help="Where run folders and the runs index go.")
    ] = REPORTS,
) -> None:
    """Run experiments. Exit 0: every SLO held; 1: an SLO failed or the cluster was unhealthy;
    2: a run itself failed; 130/143: interrupted by SIGINT/SIGTERM (after cleaning up)."""
    try:
        if image_source is not None and image_source not in images.IMAGE_SOURCES:
            raise ValueError(f"--image-source: expected one of {images.IMAGE_SOURCES}")
        experiments = [load_experiment(file) for file in files]
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    worst = 0
    try:
        for experiment in experiments:
            for index in range(repeat or experiment.repeats):
                console.rule(f"{experiment.title} (run {index + 1})")
                outcome = Run(
                    experiment,
                    repeat=index,
                    image_source=image_source,  # type: ignore[arg-type]
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
        console.print(
            f"interrupted by {stop.signal_name}: run folder {stop.run_dir}; {stop.cleanup}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(stop.exit_code) from None
    raise typer.Exit(worst)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run folder under reports/.")]) -> None:
    """Recompute a run's metrics and verdicts from its files alone."""
    try:
        experiment = load_experiment(run_dir / "experiment.yaml")
        outcome = judge_run(run_dir, experiment, load_history(run_dir / "history.jsonl"))
    except (*USER_ERRORS, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    write_run_report(run_dir)
    write_index(run_dir.parent)
    _print_outcome(outcome)
    # An interrupted run is shown as such; as `report`'s answer it is a run not judged.
    raise typer.Exit(2 if outcome.status == "interrupted" else EXIT_CODES[outcome.status])


@app.command()
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
    out_dir = out or default_out_dir(REPORTS)
    try:
        page = write_comparison(run_dirs, out_dir)
    except ComparisonError as exc:
        raise fail(str(exc)) from None
    if out_dir.resolve().parent == REPORTS.resolve():
        write_index(REPORTS)
    console.print(f"comparison: {page}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    app()
