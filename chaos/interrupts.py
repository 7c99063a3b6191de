"""Ctrl-C and SIGTERM become exceptions, and clean-up cannot be interrupted.

Python turns SIGINT into KeyboardInterrupt but lets SIGTERM kill the process
outright, skipping every `finally`. Inside `signals_raise()` both unwind the
stack, so heal and tear-down run. Inside `shielded()` (the clean-up itself)
further signals are held until it is done: a second Ctrl-C cannot leave
iptables rules or containers behind, and still stops the program after.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(BaseException):
    """SIGTERM was received; unwinds like KeyboardInterrupt."""


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler that unwinds the stack, so `finally` blocks (and healing) run."""
    raise Terminated(f"received signal {signal.Signals(signum).name}")


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM raises `Terminated` (SIGINT already raises KeyboardInterrupt)."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def shielded(notice: Callable[[str], None] | None = None) -> Iterator[None]:
    """Run clean-up to the end, holding SIGINT and SIGTERM back; then deliver the first.

    A second Ctrl-C during tear-down waits for it instead of cutting it short,
    and still takes effect afterwards. Only the main thread receives signals;
    elsewhere this is a no-op.
    """
    if not _in_main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)
        if notice:
            notice(f"{signal.Signals(signum).name}: still cleaning up, please wait")

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signal.raise_signal(held[0])
