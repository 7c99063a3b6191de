"""The live view of a run: phase, ops/s, errors, active faults, elapsed time.

The runner only sets fields of a `RunStatus`; how it is shown (a rich panel
on a terminal, plain lines in CI logs) is decided here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table


@dataclass
class RunStatus:
    """What a person watching a run wants to know at a glance."""

    experiment: str
    system: str
    phase: str = "starting"
    ok_per_s: float = 0.0
    errors_per_s: float = 0.0
    active_faults: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, event: str) -> None:
        self.events = [*self.events[-4:], f"{time.monotonic() - self.started:6.1f}s  {event}"]


class LiveDisplay:
    """A rich panel redrawn four times a second; plain lines when not on a terminal."""

    def __init__(self, status: RunStatus, console: Console | None = None) -> None:
        self.status = status
        self.console = console or Console()
        self._live: Live | None = None
        self._last_phase = ""

    def __enter__(self) -> LiveDisplay:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live:
            self._live.update(self._render())
            self._live.__exit__(kind, error, trace)

    def refresh(self) -> None:
        if self._live:
            self._live.update(self._render())
        elif self.status.phase != self._last_phase:
            self._last_phase = self.status.phase
            self.console.print(
                f"[{time.monotonic() - self.status.started:6.1f}s] {self.status.system}: "
                f"{self.status.phase}",
                highlight=False,
            )

    def _render(self) -> Table:
        s = self.status
        table = Table.grid(padding=(0, 2))
        table.add_row("experiment", f"[bold]{s.experiment}[/bold] ({s.system})")
        table.add_row("phase", f"[cyan]{s.phase}[/cyan]")
        table.add_row("elapsed", f"{time.monotonic() - s.started:.1f} s")
        table.add_row("ok ops/s", f"{s.ok_per_s:.0f}")
        table.add_row("errors/s", f"[red]{s.errors_per_s:.0f}[/red]" if s.errors_per_s else "0")
        table.add_row("active faults", ", ".join(s.active_faults) or "none")
        for event in s.events:
            table.add_row("", f"[dim]{event}[/dim]")
        return table
