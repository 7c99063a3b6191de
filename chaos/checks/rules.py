"""How to read a run's history: what its system means by its answers and its own views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chaos.checks.availability import ONE_GROUP
from chaos.checks.detection import DetectionRule


@dataclass(frozen=True)
class Rules:
    """What a run's system means by its answers and its views, as run.json records it.

    - `detection`: how the system's own view shows a fault (see detection.py);
    - `sharded`: whether keys live on different shards (hash slots, token
      ranges) or the whole cluster is one group;
    - `shard_names`: a label per key for reports (the slot a key hashes to);
    - `refusals_are_service`: whether a refused compare-and-set is a real
      answer (False for clients that refused from an unsynced local read).
    """

    detection: DetectionRule = "membership"
    sharded: bool = False
    shard_names: Mapping[str, str] = field(default_factory=dict)
    refusals_are_service: bool = True

    def shard_of(self, key: str | None) -> str:
        if not self.sharded:
            return ONE_GROUP
        return self.shard_names.get(str(key), str(key))
