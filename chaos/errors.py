"""The suite's own errors, every one of them: one root, so every caller can tell them from bugs.

Anything raised as a `ChaosError` is something a user can act on, and its
message says what, one complete line per problem: the CLI prints it plainly,
the runner records it as the run's error, the pytest plugin reports it
without a traceback. Any other exception is a bug in the suite and keeps its
traceback (in the run's error.log).
"""

from __future__ import annotations

from collections.abc import Sequence


class ChaosError(Exception):
    """An error the suite expects and explains."""

    exit_code = 2


# -- what the user gave -------------------------------------------------------------


class InputError(ChaosError, ValueError):
    """A file, a setting or an option the suite cannot use as given."""


class SourceError(InputError):
    """A file that cannot be read as what it should be; `lines` holds one line per problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class ExperimentError(SourceError):
    """An experiment file that cannot run."""


class UnknownSystem(InputError):
    """A system name no installed package provides."""


class ArtefactError(InputError):
    """A run folder's file the suite cannot read; the message names it and what is wrong."""


class ComparisonError(ArtefactError):
    """A path given to compare is not a run (nor a folder of runs)."""


# -- what this machine has ----------------------------------------------------------


class EnvironmentProblem(ChaosError, RuntimeError):
    """This machine lacks what a run needs (Docker, Compose, memory, a kernel feature)."""


class BackendError(EnvironmentProblem):
    """Docker or Compose is missing, unreachable or refusing; the message says what it said."""


class ImageError(EnvironmentProblem):
    """An image cannot be built or found; the message says what to do."""


# -- what happened in a run ---------------------------------------------------------


class RunError(ChaosError, RuntimeError):
    """A run that could not be judged: a cluster never ready, a fault never proven."""


class RunFailed(RunError):
    """The run itself failed (not an SLO), e.g. its steady state did not hold."""


class NotReady(RunError):
    """The cluster did not become ready in time; the message says what was last seen."""


class FaultError(RunError):
    """A fault could not be injected, proven or healed."""


class FaultNotEffective(FaultError):
    """The fault's effect was not observed before the verification deadline."""


class TargetError(FaultError, ValueError):
    """A target cannot be resolved: unknown node, no leader right now, or a bad role."""


class ToolboxError(FaultError):
    """A helper could not be started, or a command in a node's namespace failed."""


class NodeDown(ToolboxError):
    """The node's container is not running, so it has no namespace to act in."""
