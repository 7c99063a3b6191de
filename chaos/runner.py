"""The one place that knows the order of a run, and guarantees heal and tear-down.

    cluster up → observers → workload → steady state → faults on schedule →
    heal → settle → workload stops → final read → checks → artefacts → down

A run's artefacts land in `reports/<run-id>/` as they are produced:
`experiment.yaml` (as run), `run.json` (versions, settings, nodes),
`history.jsonl` (operations, fault events and observations, streamed),
`metrics.json` and `verdicts.json`. Leaving by any path (an SLO failure, an
exception, Ctrl-C, SIGTERM) heals every fault before the cluster goes.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chaos.artefacts import (
    SCHEMA,
    RunRecord,
    Verdicts,
    history_file,
    read_run,
    rules_of,
    write_json,
)
from chaos.backend.docker import DockerBackend, cluster
from chaos.backend.docker import build as images
from chaos.backend.docker.events import ContainerWatch
from chaos.checks.base import Verdict, worst
from chaos.checks.compose import judge
from chaos.checks.measure import measure, results_of
from chaos.display import LiveDisplay, RunStatus
from chaos.errors import ArtefactError, ChaosError, RunFailed
from chaos.experiment import Experiment, load_run_experiment
from chaos.experiment.predictions import run_predictions
from chaos.faults import Nemesis
from chaos.history import Clock, History, HistoryWriter, load_history
from chaos.images import ImageSource
from chaos.interrupts import Terminated, signals_raise
from chaos.observer import Observer
from chaos.systems import make_system
from chaos.systems.base import NotReady
from chaos.traffic import TrafficSampler
from chaos.workload import Workload, workload_keys

REPORTS = Path("reports")  # relative to where the suite is run, as `git` or `pytest` work
Status = Literal["held", "slo-failed", "unknown", "unhealthy", "error", "interrupted"]
EXIT_CODES: dict[Status, int] = {
    "held": 0,
    "slo-failed": 1,
    "unknown": 1,
    "unhealthy": 1,
    "error": 2,
    "interrupted": 130,
}
# How long the cluster may take, once the run is over, to be whole again as the
# system sees itself (every node up and serving); longer, and the run is unhealthy.
HEALTH_TIMEOUT_S = 60.0
# An open-loop workload that starts operations this late measures the harness, not the system.
MAX_LAG_MS = 1000.0


class RunInterrupted(BaseException):
    """Ctrl-C or SIGTERM stopped a run; everything was healed and torn down first.

    A BaseException, as KeyboardInterrupt is, so that nothing on the way out
    mistakes it for a failure to report and carry on from.
    """

    def __init__(self, run_dir: Path, signal_name: str, exit_code: int, cleanup: str) -> None:
        self.run_dir, self.signal_name, self.exit_code, self.cleanup = (
            run_dir,
            signal_name,
            exit_code,
            cleanup,
        )
        super().__init__(f"interrupted by {signal_name}: {run_dir}; {cleanup}")


@dataclass
class Outcome:
    """What became of one run."""

    run_dir: Path
    status: Status
    verdicts: list[Verdict] = field(default_factory=list)
    error: str | None = None


class RunFile:
    """run.json, written as soon as the run starts and updated as it learns more,
    so an interrupted run still says what it was and how it ended."""

    def __init__(self, path: Path, facts: dict[str, Any]) -> None:
        self.path = path
        self.facts = dict(facts)
        write_json(path, self.facts)

    def update(self, **facts: Any) -> None:
        self.facts.update(facts)
        write_json(self.path, self.facts)


class Run:
    """One repetition of one experiment."""

    def __init__(
        self,
        experiment: Experiment,
        *,
        repeat: int = 0,
        image_source: ImageSource | None = None,
        seed: int | None = None,
        keep: bool = False,
        reports: Path = REPORTS,
    ) -> None:
        if seed is not None:  # one seed draws the schedule, the targets and the operations
            experiment = experiment.model_copy(update={"seed": seed})
        self.experiment = experiment
        self.repeat = repeat
        self.windows = experiment.schedule(repeat)  # drawn once: played and recorded alike
        self.image_source: ImageSource = image_source or experiment.cluster.image_source
        self.seed = experiment.seed
        self.keep = keep
        self.system = make_system(
            experiment.system, experiment.cluster.settings, nodes=experiment.nodes
        )
        self.spec = experiment.workload
        self.run_id = cluster.new_run_id(experiment.system)
        self.run_dir = reports / self.run_id
        self.status = RunStatus(experiment.title, experiment.system)

    def execute(self) -> Outcome:
        """Run, judge and record; raises RunInterrupted (after cleaning up) on Ctrl-C/SIGTERM."""
        self.run_dir.mkdir(parents=True)
        (self.run_dir / "experiment.yaml").write_text(self.experiment.model_dump_yaml())
        self.record = RunFile(self.run_dir / "run.json", self._facts())
        clock = Clock()
        writer = HistoryWriter(
            self.run_dir / "history.jsonl", clock, {"run_id": self.run_id, "seed": self.seed}
        )
        try:
            with signals_raise(), LiveDisplay(self.status) as display:
                self.display = display
                self._run(clock, writer)
                self.status.phase = "checking"
                display.refresh()
        except ChaosError as error:
            return self._finish("error", [], str(error))
        except (KeyboardInterrupt, Terminated) as stop:
            writer.close()
            raise self._interrupted(stop) from None
        except Exception as error:  # a bug or an unforeseen failure: keep the evidence
            (self.run_dir / "error.log").write_text(traceback.format_exc())
            message = f"{type(error).__name__}: {error} (traceback in error.log)"
            return self._finish("error", [], message)
        finally:
            writer.close()
        return self.judge()

    def judge(self) -> Outcome:
        """Checks and verdicts from the files alone (also how `report` rebuilds them)."""
        history = load_history(self.run_dir / "history.jsonl")
        outcome = judge_run(self.run_dir, self.experiment, history)
        self.record.update(status=outcome.status)
        return outcome

    def _finish(self, status: Status, verdicts: list[Verdict], error: str | None) -> Outcome:
        write_json(
            self.run_dir / "verdicts.json",
            Verdicts(status=status, error=error).model_dump(mode="json"),
        )
        self.record.update(status=status)
        return Outcome(self.run_dir, status, verdicts, error)

    def _interrupted(self, stop: BaseException) -> RunInterrupted:
        """Record the interruption and say what became of the cluster."""
        name, code = ("SIGTERM", 143) if isinstance(stop, Terminated) else ("SIGINT", 130)
        left = cluster.leftovers(f"{cluster.LABEL_RUN}={self.run_id}")
        if self.keep and any(left.values()):
            cleanup = f"cluster kept, healed ({len(left['containers'])} containers)"
        elif any(left.values()):
            cleanup = f"left behind {left}; remove with `chaoslab clean {self.run_id}`"
        else:
            cleanup = "cluster removed, nothing left"
        self._finish("interrupted", [], f"interrupted by {name}")
        return RunInterrupted(self.run_dir, name, code, cleanup)

    def _facts(self) -> dict[str, Any]:
        """What is known of the run before anything starts."""
        return {
            "schema_version": SCHEMA,
            "run_id": self.run_id,
            "title": self.experiment.title,
            "system": self.system.name,
            "family": self.system.family,
            "protocol": self.system.protocol,
            "status": "running",
            "image_source": self.image_source,
            "settings": self.system.settings,
            "node_count": self.system.node_count,
            "rules": self.system.rules(workload_keys(self.spec)),
            "seed": self.seed,
            "repeat": self.repeat,
            "schedule": [
                {"fault": w.index, "kind": w.fault.kind, "start_s": w.start, "heal_s": w.end}
                for w in self.windows
            ],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "predictions": run_predictions(
                self.experiment, self.system.settings, self.system.node_count
            ),
        }

    def _wait_until(self, deadline: float, workload: Workload | None = None) -> None:
        while (left := deadline - time.monotonic()) > 0:
            if workload:
                self.status.ok_per_s, self.status.errors_per_s = workload.throughput()
            self.display.refresh()
            time.sleep(min(left, 0.25))

    def _run(self, clock: Clock, writer: HistoryWriter) -> None:
        exp, status = self.experiment, self.status
        status.phase = "cluster up"
        self.display.refresh()
        images.ensure(["toolbox"], "local", status.note)
        with cluster.running(
            self.system, self.image_source, self.run_id, self.keep, progress=status.note
        ) as running:
            self.backend = DockerBackend()
            self._describe(running)
            workload = Workload(self.system, running, self.spec, writer, seed=self.seed)
            observer = Observer(self.system, running, writer)
            driver_watch = watch = traffic = None
            try:
                observer.start()
                driver_watch = self.system.watch_driver(running, clock.now, writer.write)
                with Nemesis(
                    running.nodes,
                    run_id=self.run_id,
                    emit=writer.write,
                    clock=clock,
                    leader_of=lambda: self.system.leader(running),
                    seed=self.seed,
                    backend=self.backend,
                ) as nemesis:
                    label = f"{cluster.LABEL_RUN}={self.run_id}"
                    watch = ContainerWatch(label, clock, writer.write, nemesis.acting_on).start()
                    meter = self.backend.traffic_meter(nemesis.toolbox, running.nodes)
                    traffic = TrafficSampler(meter, running.names, writer).start()
                    workload.start()
                    start = time.monotonic()
                    status.phase = "steady state"
                    self._wait_until(start + exp.steady_state.duration, workload)
                    self._check_steady_state(workload)
                    self._play(nemesis, workload, start)
                    status.phase = "settling"
                    self._wait_until(time.monotonic() + exp.settle, workload)
                    traffic.stop()  # while the helpers it reads through are still there
                status.phase = "stopping workload"
                self.display.refresh()
                workload.stop()
                self.record.update(schedule_lag=workload.lag.to_dict())
                status.phase = "final read"
                self.display.refresh()
                workload.final_read()
                status.phase = "checking the cluster is whole"
                self.display.refresh()
                self._final_health(running)
            finally:
                if watch is not None:
                    watch.close()
                if traffic is not None:
                    traffic.stop()
                workload.stop()
                workload.close()
                observer.stop()
                if driver_watch is not None:
                    driver_watch.close()
                self._keep_logs(running)

    def _keep_logs(self, running: cluster.Cluster) -> None:
        """Every node's output, killed ones included, and the files its system names, into
        logs/<node>.log before the cluster goes; a node that cannot give them is noted."""
        folder = self.run_dir / "logs"
        folder.mkdir(exist_ok=True)
        for node in running.refresh():
            parts = []
            try:
                parts.append(self.backend.logs(node).decode(errors="replace"))
                for path in self.system.log_files:
                    code, text = running.exec(node.name, ["cat", path])
                    if code == 0:
                        parts.append(f"\n==> {path} <==\n{text}")
            except Exception as missing:  # a node removed or unreachable: say so, go on
                parts.append(f"\n(logs incomplete: {type(missing).__name__}: {missing})\n")
            (folder / f"{node.name}.log").write_text("".join(parts), encoding="utf-8")

    def _final_health(self, running: cluster.Cluster) -> None:
        """Whether the cluster ended whole as the system sees itself: every node up, serving."""
        try:
            waited = self.system.wait_ready(running, timeout=HEALTH_TIMEOUT_S)
        except NotReady as unhealthy:
            self.record.update(final_health={"whole": False, "reason": str(unhealthy)})
            self.status.note(f"the cluster is not whole: {unhealthy}")
        else:
            self.record.update(final_health={"whole": True, "waited_s": round(waited, 3)})

    def _check_steady_state(self, workload: Workload) -> None:
        ok, errors = workload.throughput(self.experiment.steady_state.duration)
        rate = ok / (ok + errors) if ok + errors else 0.0
        wanted = self.experiment.steady_state.min_success_rate
        if rate < wanted:
            raise RunFailed(
                f"steady state not met before the first fault: success rate {rate:.3f} "
                f"< {wanted} over {self.experiment.steady_state.duration:g}s"
            )
        self.status.note(f"steady state held: success rate {rate:.3f}")

    def _play(self, nemesis: Nemesis, workload: Workload, start: float) -> None:
        actions = sorted(
            [(w.start, 1, w) for w in self.windows]
            + [(w.end, 0, w) for w in self.windows if w.end is not None],
            key=lambda action: (action[0], action[1]),
        )
        fault_ids: dict[int, int] = {}
        for offset, is_injection, window in actions:
            self._wait_until(start + offset, workload)
            name = f"{window.fault.kind}#{window.index}"
            if is_injection:
                self.status.phase = f"fault: {window.fault.kind}"
                fault_ids[id(window)] = nemesis.inject(window.fault)
                self.status.active_faults.append(name)
                self.status.note(f"injected {name}")
            else:
                nemesis.heal(fault_ids.pop(id(window)))
                self.status.active_faults.remove(name)
                self.status.note(f"healed {name}")

    def _describe(self, running: cluster.Cluster) -> None:
        self.record.update(
            version=self.system.version(running),
            images=running.image_refs,
            driver={
                **self.system.driver_settings(),
                **self.spec.driver_choices(),
            },
            nodes=[vars(node) for node in running.nodes],
            up_seconds=running.up_seconds,
        )


def health_problems(run: RunRecord, history: History) -> list[str]:
    """Why the cluster cannot be trusted: changed from outside, or not whole at the end."""
    problems = [
        f"{event.node}: {event.action} at {event.time / 1e9:.2f} s, not done by the suite"
        for event in history.externals
    ]
    health = run.final_health
    if isinstance(health, dict) and not health.get("whole", True):
        problems.append(f"not whole at the end: {health.get('reason', 'unknown')}")
    lag = run.schedule_lag
    if isinstance(lag, dict) and float(lag.get("max_ms") or 0) > MAX_LAG_MS:
        problems.append(
            f"the workload fell {lag['max_ms'] / 1000:.1f} s behind its schedule "
            f"({lag.get('late')} operations late): this machine, not the system, was slow then"
        )
    return problems


def judge_run(run_dir: Path, experiment: Experiment, history: History) -> Outcome:
    """Metrics and verdicts of a finished run, written next to its history.

    An interrupted run is measured but not judged; a run whose cluster was
    broken from outside, or not whole at the end, is `unhealthy` whatever its
    SLOs say.
    """
    run = read_run(run_dir)
    names = experiment.check_names
    metrics = measure(history, rules_of(run), names)
    verdicts = judge(results_of(metrics), names, experiment.expect.model_dump())
    problems = health_problems(run, history)
    error = None
    status: Status = {"held": "held", "unknown": "unknown", "failed": "slo-failed"}[worst(verdicts)]
    if run.status == "interrupted":
        status, error = "interrupted", "the run was interrupted: measured, not judged"
    elif not any(op.f != "final-read" for op in history.ops):
        status, error = "error", "the history holds no workload operation: nothing to judge"
        verdicts = []  # nothing was measured: the run failed, not an SLO
    elif problems:
        status, error = "unhealthy", "; ".join(problems)
    write_json(run_dir / "metrics.json", metrics.to_json())
    write_json(
        run_dir / "verdicts.json",
        Verdicts(
            status=status,
            error=error,
            problems=problems,
            verdicts=[v.to_dict() for v in verdicts],
        ).model_dump(mode="json"),
    )
    return Outcome(run_dir, status, verdicts, error)


def rejudge(run_dir: Path) -> Outcome:
    """`chaoslab report`: the run's metrics and verdicts again, from its files alone. Every
    file is read and checked before anything is written, so a damaged folder is left as it
    was, with one line saying what is wrong."""
    if not run_dir.is_dir():
        raise ArtefactError(f"{run_dir}: no such run folder")
    read_run(run_dir)
    experiment = load_run_experiment(run_dir / "experiment.yaml")
    path = history_file(run_dir)
    history = load_history(path)
    if not any(op.f != "final-read" for op in history.ops):
        raise ArtefactError(f"{path}: no workload operation recorded: nothing to judge")
    return judge_run(run_dir, experiment, history)
