"""The operations the search works on, and what each completion means.

Completions mean what `chaos.history.Op` says: `ok` took effect between
invoke and completion, `fail` did not happen (dropped), `info` or no
completion may take effect at any time after the invoke, with no upper bound
(an indeterminate read constrains nothing and is dropped). One `fail` is
evidence: a cas refused without an error (`chaos.history.served`) is the
system's answer that the register did not hold the expected value (for an
expected None: that the key existed). It is a determinate operation that
writes nothing and is legal only where the register holds another value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from chaos.history import History, Op, pair_operations, served

OpPair = tuple[Op, Op | None]

REGISTER_FUNCTIONS = frozenset({"read", "write", "cas"})

NOTHING = object()  # what a write observes and a read writes

OBSERVING = ("read", "cas")  # what needs a value (a refusal needs any other)

WRITING = ("write", "cas")  # what may store one


@dataclass(slots=True, eq=False)  # not frozen: a frozen init is slow at 100,000 operations
class Call:
    """A register operation as the search sees it.

    `f` is `read`, `write`, `cas` or `refused` (a cas the system refused).
    `arg` is the value a read returned or a cas expected; `new` the value a
    write or cas stores. `complete` is None for an indeterminate operation.
    """

    f: str
    arg: Hashable
    new: Hashable
    invoke: int
    complete: int | None
    pair: OpPair

    def observed(self) -> Hashable:
        """The register value this operation needs to see, or `NOTHING`."""
        return self.arg if self.f in OBSERVING else NOTHING

    def written(self) -> Hashable:
        """The value this operation may store, or `NOTHING`."""
        return self.new if self.f in WRITING else NOTHING


def freeze(value: Any) -> Hashable:
    """A value read back from JSON, with lists made tuples so it can go in a set."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def calls_by_key(
    history: History, refused_cas_evidence: bool = True
) -> dict[str | None, list[Call]]:
    by_key: dict[str | None, list[Call]] = defaultdict(list)
    for invoke, completion in pair_operations(history.ops):
        if invoke.f not in REGISTER_FUNCTIONS:
            continue
        outcome = completion.type if completion else "info"
        # A cas refused without an error is the system's answer; another failure did not happen.
        refused = refused_cas_evidence and invoke.f == "cas" and outcome == "fail"
        refused = refused and served(completion)
        if (outcome == "fail" and not refused) or (outcome == "info" and invoke.f == "read"):
            continue
        complete = completion.time if completion and outcome != "info" else None
        f = "refused" if refused else invoke.f
        if invoke.f == "read":
            arg, new = freeze(completion.value if completion else None), None
        elif invoke.f == "write":
            arg, new = None, freeze(invoke.value)
        else:
            expected, stored = invoke.value
            arg, new = freeze(expected), freeze(stored)
        by_key[invoke.key].append(Call(f, arg, new, invoke.time, complete, (invoke, completion)))
    for calls in by_key.values():
        calls.sort(key=lambda c: c.invoke)
    return by_key
