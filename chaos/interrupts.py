"""Ctrl-C and SIGTERM become exceptions, and clean-up cannot be interrupted.

Python turns SIGINT into KeyboardInterrupt but lets SIGTERM kill the process
outright, skipping every `finally`. Inside `signals_raise()` both unwind the
stack, so heal and tear-down run. Inside `shielded()` (the clean-up itself)
further signals are noted, not obeyed: a second Ctrl-C cannot leave
iptables rules or containers behind.
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


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received signal {signal.Signals(signum).name}")


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM raises `Terminated` (SIGINT already raises KeyboardInterrupt)."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def shielded(notice: Callable[[str], None] = print) -> Iterator[None]:
    """Run clean-up to the end, whatever signal arrives meanwhile."""
    if not _in_main_thread():
        yield
        return

    def postpone(signum: int, frame: FrameType | None) -> None:
        notice(f"{signal.Signals(signum).name}: still cleaning up, please wait")

    previous = {sig: signal.signal(sig, postpone) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
