"""`stats.json` of a built dataset: what was read, kept, skipped and written, counted as the build goes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignx.records import PAIR, UGC, Record
from alignx.space import N_DIMENSIONS

TRAIN, TEST = "train", "test"


@dataclass
class Stats:
    events_read: int = 0
    events_by_kind: Counter = field(default_factory=Counter)
    duplicates_dropped: int = 0
    users_seen: int = 0
    users_skipped: int = 0  # fewer than --min-items events
    events_in_skipped_users: int = 0
    users_without_pairs: int = 0
    users: Counter = field(default_factory=Counter)  # split -> users with records
    records: Counter = field(default_factory=Counter)  # split -> records
    ugc_sizes: Counter = field(default_factory=Counter)
    pair_sizes: Counter = field(default_factory=Counter)
    with_direction: int = 0
    without_direction: int = 0
    items_with_direction: int = 0
    items_without_direction: int = 0
    with_demographic: int = 0
    coverage: np.ndarray = field(default_factory=lambda: np.zeros(N_DIMENSIONS, dtype=np.int64))

    def to_dict(self, settings: dict[str, Any], source: str) -> dict[str, Any]:
        total = sum(self.records.values())
        return {
            "source": source,
            "settings": settings,
            "events": {"read": self.events_read, "by_kind": dict(sorted(self.events_by_kind.items())),
                       "duplicates_dropped": self.duplicates_dropped,
                       "in_skipped_users": self.events_in_skipped_users},
            "users": {"seen": self.users_seen, "skipped_min_items": self.users_skipped,
                      "without_pairs": self.users_without_pairs,
                      TRAIN: self.users[TRAIN], TEST: self.users[TEST]},
            "records": {TRAIN: self.records[TRAIN], TEST: self.records[TEST], "total": total},
            "persona_sizes": {UGC: histogram(self.ugc_sizes), PAIR: histogram(self.pair_sizes)},
            "directions": {"records_with": self.with_direction, "records_without": self.without_direction,
                           "items_with": self.items_with_direction, "items_without": self.items_without_direction},
            "demographic": {"records_with": self.with_demographic},
            "dimension_coverage": {
                "dimensions_covered": int((self.coverage > 0).sum()),
                "non_neutral_records_per_dimension": [int(v) for v in self.coverage]},
        }


def histogram(counter: Counter) -> dict[str, int]:
    return {str(size): counter[size] for size in sorted(counter)}


def count_record(record: Record, stats: Stats) -> None:
    if record.direction is None:
        stats.without_direction += 1
    else:
        stats.with_direction += 1
        stats.coverage += np.asarray(record.direction) != 0.5
    for item in (*record.ugc, *record.pairs):
        if item.direction is None:
            stats.items_without_direction += 1
        else:
            stats.items_with_direction += 1
    if record.demographic is not None:
        stats.with_demographic += 1
