"""The suite's own errors: one root, so every caller can tell them from bugs.

Anything raised as a `ChaosError` is something a user can act on, and its
message says what: the CLI prints it as one line, the runner records it as
the run's error, the pytest plugin reports it without a traceback. Any
other exception is a bug in the suite and keeps its traceback.
"""

from __future__ import annotations


class ChaosError(Exception):
    """An error the suite expects and explains; the message is complete and one line each."""

    exit_code = 2


class InputError(ChaosError, ValueError):
    """A file, a setting or an option the suite cannot use as given."""


class EnvironmentProblem(ChaosError, RuntimeError):
    """This machine lacks what a run needs (Docker, Compose, an image, a kernel feature)."""


class RunError(ChaosError, RuntimeError):
    """A run that could not be judged: a cluster never ready, a fault never proven."""
