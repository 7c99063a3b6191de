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

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from docker.errors import DockerException
from python_on_whales.exceptions import DockerException as ComposeError

from chaos import cluster, engine, images
from chaos.checks.measure import measure
from chaos.checks.slo import Verdict, evaluate
from chaos.display import LiveDisplay, RunStatus
from chaos.experiment import Experiment, FaultWindow
from chaos.faults import FaultError, Nemesis
from chaos.history import Clock, History, HistoryWriter, load_history
from chaos.images import ImageSource
from chaos.observer import Observer
from chaos.systems import NotReady, make_system
from chaos.workload import Workload, WorkloadSpec

REPORTS = images.ROOT / "reports"
Status = Literal["held", "slo-failed", "error"]
EXIT_CODES: dict[Status, int] = {"held": 0, "slo-failed": 1, "error": 2}


class RunFailed(RuntimeError):
    """The run itself failed (not an SLO): it cannot be judged."""


# What makes a run fail without a bug in the suite: Docker or Compose missing or
# refusing, an image that cannot be built, a cluster never ready, a fault that
# never took effect, a steady state not met.
RUN_ERRORS = (
    RunFailed,
    NotReady,
    images.ImageError,
    FaultError,
    engine.EngineError,
    ComposeError,
    DockerException,
)


@dataclass
class Outcome:
    """What became of one run."""

    run_dir: Path
    status: Status
    verdicts: list[Verdict] = field(default_factory=list)
    error: str | None = None


def nemesis_spec(window: FaultWindow) -> dict[str, Any]:
    """The experiment's fault, in the nemesis' terms (shapes are partition kinds there)."""
    fault = window.fault
    data = fault.model_dump(exclude={"at", "duration", "repeat", "random"}, exclude_none=True)
    kind = data.pop("kind")
    if kind in ("isolate", "majority-minority", "bridge"):
        target = data.pop("target")
        place = {"isolate": "target", "majority-minority": "minority", "bridge": "bridge"}[kind]
        return {"kind": "partition", "shape": kind, place: target, **data}
    if kind == "partition":
        return {"kind": "partition", "shape": "groups", **data}
    if kind == "one-way":
        return {
            "kind": "partition",
            "shape": "one-way",
            "from": data.pop("source"),
            "to": data.pop("destination"),
            **data,
        }
    return {"kind": kind, **data}


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


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
        settings = dict(experiment.cluster.settings)
        if experiment.workload.consistency is not None:  # the client's consistency level
            settings["consistency"] = experiment.workload.consistency
        self.system = make_system(experiment.system, settings)
        self.run_id = cluster.new_run_id(experiment.system)
        self.run_dir = reports / self.run_id
        self.status = RunStatus(experiment.title, experiment.system)

    def execute(self) -> Outcome:
        self.run_dir.mkdir(parents=True)
        (self.run_dir / "experiment.yaml").write_text(self.experiment.model_dump_yaml())
        clock = Clock()
        writer = HistoryWriter(
            self.run_dir / "history.jsonl", clock, {"run_id": self.run_id, "seed": self.seed}
        )
        try:
            with LiveDisplay(self.status) as display:
                self.display = display
                self._run(clock, writer)
                self.status.phase = "checking"
                display.refresh()
        except RUN_ERRORS as error:
            return self._finish("error", [], str(error))
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
        return judge_run(self.run_dir, self.experiment, history)

    def _finish(self, status: Status, verdicts: list[Verdict], error: str | None) -> Outcome:
        write_json(self.run_dir / "verdicts.json", {"status": status, "error": error})
        return Outcome(self.run_dir, status, verdicts, error)

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
            self._describe(running)
            spec = WorkloadSpec(
                kind=exp.workload.kind,
                clients=exp.workload.clients,
                binding=exp.workload.binding,
                rate=exp.workload.rate,
                timeout=exp.workload.timeout,
                keys=exp.workload.keys or 3,
            )
            workload = Workload(self.system, running, spec, writer, seed=self.seed)
            observer = Observer(self.system, running, writer)
            driver_watch = None
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
                    image=images.IMAGES["toolbox"].local_tag,
                ) as nemesis:
                    workload.start()
                    start = time.monotonic()
                    status.phase = "steady state"
                    self._wait_until(start + exp.steady_state.duration, workload)
                    self._check_steady_state(workload)
                    self._play(nemesis, workload, start)
                    status.phase = "settling"
                    self._wait_until(time.monotonic() + exp.settle, workload)
                status.phase = "stopping workload"
                self.display.refresh()
                workload.stop()
                status.phase = "final read"
                self.display.refresh()
                workload.final_read()
            finally:
                workload.stop()
                workload.close()
                observer.stop()
                if driver_watch is not None:
                    driver_watch.close()

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
                fault_ids[id(window)] = nemesis.inject(nemesis_spec(window))
                self.status.active_faults.append(name)
                self.status.note(f"injected {name}")
            else:
                nemesis.heal(fault_ids.pop(id(window)))
                self.status.active_faults.remove(name)
                self.status.note(f"healed {name}")

    def _describe(self, running: cluster.Cluster) -> None:
        write_json(
            self.run_dir / "run.json",
            {
                "run_id": self.run_id,
                "title": self.experiment.title,
                "system": self.system.name,
                "family": self.system.family,
                "protocol": self.system.protocol,
                "version": self.system.version(running),
                "image_source": self.image_source,
                "images": running.image_refs,
                "settings": self.system.settings,
                "driver": self.system.driver_settings(),
                "nodes": [vars(node) for node in running.nodes],
                "seed": self.seed,
                "repeat": self.repeat,
                "schedule": [
                    {"fault": w.index, "kind": w.fault.kind, "start_s": w.start, "heal_s": w.end}
                    for w in self.windows
                ],
                "up_seconds": running.up_seconds,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )


def judge_run(run_dir: Path, experiment: Experiment, history: History) -> Outcome:
    """Metrics and verdicts of a finished run, written next to its history."""
    metrics, recovery = measure(history, linearizability=experiment.workload.kind == "register")
    write_json(run_dir / "metrics.json", metrics)
    verdicts = evaluate(experiment.expect.model_dump(), metrics, recovery)
    status: Status = "held" if all(v.held for v in verdicts) else "slo-failed"
    write_json(
        run_dir / "verdicts.json",
        {"status": status, "error": None, "verdicts": [v.to_dict() for v in verdicts]},
    )
    return Outcome(run_dir, status, verdicts)
