"""SIGTERM unwinds like Ctrl-C, and clean-up cannot be interrupted."""

from __future__ import annotations

import os
import signal

import pytest

from chaos.interrupts import Terminated, shielded, signals_raise


def test_sigterm_raises_so_finally_blocks_run() -> None:
    cleaned = []
    with pytest.raises(Terminated), signals_raise():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            cleaned.append(True)
    assert cleaned == [True]


def test_shielded_clean_up_finishes_then_delivers_a_second_ctrl_c() -> None:
    notices: list[str] = []
    finished = False
    with pytest.raises(KeyboardInterrupt), shielded(notices.append):
        os.kill(os.getpid(), signal.SIGINT)
        finished = True
    assert finished, "the clean-up ran to its end before the signal took effect"
    assert notices == ["SIGINT: still cleaning up, please wait"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
