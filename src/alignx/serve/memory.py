"""Preference memory as a pure function of a user's events: profile, overrides, guard, ICA history.

Events are append-only; everything here is recomputed from them, so a contradicting event
moves a mean instead of deleting anything, and a change of operator policy (guard,
half-life) applies to the whole history.

Two layers: what the user said (feedback, content, demographic text, edits; a direction only where the
client sent one) and what was derived from it (`inferred` events: an annotator's direction for one
direction-less feedback or content event, naming that event and the annotator). The profile counts each
direction once: the client's where it sent one, else the derived one; edits win over both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import numpy as np

from alignx.errors import UserError
from alignx.personas import PersonaView
from alignx.records import Choice, Comment
from alignx.space import LABEL_SEPARATOR, N_DIMENSIONS, aggregate, dimension, dimensions, parse_profile, render_means

NEUTRAL = 0.5
SECONDS_PER_DAY = 86_400.0


class EventKind(str, Enum):
    CONTENT = "content"  # UGC: the user's comment on a post
    FEEDBACK = "feedback"  # pairwise: chosen over rejected
    DEMOGRAPHIC = "demographic"  # free text about the user
    EDIT = "edit"  # explicit profile overrides {"set": {"<index>": 0 | 0.5 | 1 | None}}
    INFERRED = "inferred"  # derived: {"explains": <event id>, "annotator": <spec>} and the inferred direction


# Kinds whose events carry behaviour an annotator can explain (when the client sent no direction).
ANNOTATABLE = (EventKind.FEEDBACK, EventKind.CONTENT)

# Where a dimension's value comes from (UserProfile.sources).
SOURCE_EDIT, SOURCE_CLIENT, SOURCE_INFERRED, SOURCE_MIXED = "edit", "client", "inferred", "mixed"


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    user_id: str
    kind: EventKind
    created_at: datetime  # timezone-aware UTC
    data: dict[str, Any]
    direction: tuple[float, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "kind": self.kind.value, "created_at": self.created_at.isoformat(), **self.data}
        if self.direction is not None:
            out["direction"] = list(self.direction)
        return out

    @property
    def needs_inference(self) -> bool:
        """Feedback or content sent without a direction: an annotator may derive one."""
        return self.kind in ANNOTATABLE and self.direction is None


class GuardError(UserError):
    """An edit tried to turn a guarded (universal-value) dimension negative."""

    def __init__(self, index: int):
        self.index = index
        super().__init__(
            f"dimension {index} ({dimension(index).positive}) is a guarded universal value and may not be set "
            "negative (0); set 0.5 or 1, or ask the operator"
        )


def check_edit(values: dict[int, float | None], guarded: Sequence[int]) -> None:
    """Raise GuardError for the first guarded dimension an edit would set to the negative pole."""
    for index in sorted(values):
        if index in guarded and values[index] is not None and values[index] < NEUTRAL:
            raise GuardError(index)


def guarded_negatives(direction: Sequence[float] | None, guarded: Sequence[int]) -> list[int]:
    """Guarded dimensions a direction votes negative on (they are read as neutral in the profile)."""
    if direction is None:
        return []
    return [i for i in guarded if direction[i] < NEUTRAL]


@dataclass
class UserProfile:
    inferred: np.ndarray  # (90,) float32 means of the events' directions (guard applied), 0.5 when none
    directions: np.ndarray  # (90,) the inferred means with the overrides written over them
    overrides: dict[int, float] = field(default_factory=dict)
    evidence: int = 0  # events whose directions went into the mean
    counts: dict[str, int] = field(default_factory=dict)
    guarded: tuple[int, ...] = ()
    # Per dimension: how many of those events vote off neutral there (after the guard), and where the
    # value comes from: "edit", "client", "inferred", "mixed" (client and inferred) or None (no evidence).
    support: np.ndarray = field(default_factory=lambda: np.zeros(N_DIMENSIONS, dtype=np.int64))
    sources: tuple[str | None, ...] = (None,) * N_DIMENSIONS

    @property
    def text(self) -> str:
        """The released rendering of the final means; empty while nothing is known about the user.

        Guarded means never fall below 0.5, but the released all-neutral fallback renders every
        dimension at the minimum negative; those guarded labels are dropped.
        """
        if self.evidence == 0 and not any(v != NEUTRAL for v in self.overrides.values()):
            return ""
        text = render_means(self.directions)
        vector = parse_profile(text)
        if not any(vector[i] == 0.0 for i in self.guarded):
            return text
        return LABEL_SEPARATOR.join(
            d.positive if v == 1.0 else d.negative
            for d, v in zip(dimensions(), vector, strict=True)
            if v != NEUTRAL and not (d.index in self.guarded and v == 0.0)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "directions": [round(float(v), 6) for v in self.directions],
            "inferred": [round(float(v), 6) for v in self.inferred],
            "profile": self.text,
            "overrides": {str(i): v for i, v in sorted(self.overrides.items())},
            "evidence_count": self.evidence,
            "feedback_count": self.counts.get(EventKind.FEEDBACK.value, 0),
            "content_count": self.counts.get(EventKind.CONTENT.value, 0),
            "demographic_count": self.counts.get(EventKind.DEMOGRAPHIC.value, 0),
            "edit_count": self.counts.get(EventKind.EDIT.value, 0),
            "inferred_count": self.counts.get(EventKind.INFERRED.value, 0),
            "dimensions": [{"index": i, "mean": round(float(self.directions[i]), 6), "support": int(self.support[i]),
                            "source": self.sources[i]} for i in range(N_DIMENSIONS)],
        }


def recency_weights(times: Sequence[datetime], half_life_days: float) -> list[float]:
    """0.5 ** (age / half-life): an event one half-life older than another counts half as much.

    Ages are taken from the newest event rather than from now: a weighted mean does not change when every
    weight is scaled, and this way the newest weight is 1, so old histories never underflow to all zeros.
    """
    half_life = half_life_days * SECONDS_PER_DAY
    newest = max(times)
    return [0.5 ** ((newest - t).total_seconds() / half_life) for t in times]


def overrides_of(events: Iterable[Event]) -> dict[int, float]:
    """Fold the edit events in order: the latest value per dimension wins, None clears it."""
    out: dict[int, float] = {}
    for event in events:
        if event.kind is not EventKind.EDIT:
            continue
        for key, value in event.data.get("set", {}).items():
            if value is None:
                out.pop(int(key), None)
            else:
                out[int(key)] = float(value)
    return out


def first_explanations(events: Sequence[Event]) -> list[Event]:
    """`events` less any inferred event explaining an event that an earlier one already explains (the store
    refuses those, but two processes sharing a database may race)."""
    seen: set[int] = set()
    out = []
    for event in events:
        if event.kind is EventKind.INFERRED:
            if event.data.get("explains") in seen:
                continue
            seen.add(event.data.get("explains"))
        out.append(event)
    return out


def build_profile(
    events: Sequence[Event],
    *,
    guarded: Sequence[int] = (),
    half_life_days: float | None = None,
) -> UserProfile:
    """The user's profile: the released aggregate over directions, guard, optional recency, overrides.

    The directions are those the client sent with feedback or content and those of `inferred` events; a
    direction-less event adds nothing itself (its derived event carries the direction), so none counts twice.
    """
    events = first_explanations(events)
    counts: dict[str, int] = {}
    for event in events:
        counts[event.kind.value] = counts.get(event.kind.value, 0) + 1
    directional = [e for e in events if e.direction is not None]
    client_votes = inferred_votes = np.zeros(N_DIMENSIONS, dtype=bool)
    support = np.zeros(N_DIMENSIONS, dtype=np.int64)
    if directional:
        stack = np.asarray([e.direction for e in directional], dtype=np.float32)  # (N, 90)
        if guarded:
            column = stack[:, list(guarded)]
            # A personal vote against a universal value counts as no vote.
            stack[:, list(guarded)] = np.where(column < NEUTRAL, NEUTRAL, column)
        weights = None
        if half_life_days is not None:
            weights = recency_weights([e.created_at for e in directional], half_life_days)
        inferred = aggregate(stack, weights=weights).means
        votes = stack != NEUTRAL  # (N, 90)
        derived = np.asarray([e.kind is EventKind.INFERRED for e in directional])
        support = votes.sum(axis=0)
        client_votes, inferred_votes = votes[~derived].any(axis=0), votes[derived].any(axis=0)
    else:
        inferred = np.full(N_DIMENSIONS, NEUTRAL, dtype=np.float32)
    # An edit made while the operator had the guard off does not survive turning it on.
    overrides = {i: v for i, v in overrides_of(events).items() if not (i in guarded and v < NEUTRAL)}
    final = inferred.copy()
    for index, value in overrides.items():
        final[index] = value
    sources = tuple(
        SOURCE_EDIT if i in overrides
        else SOURCE_MIXED if client_votes[i] and inferred_votes[i]
        else SOURCE_CLIENT if client_votes[i]
        else SOURCE_INFERRED if inferred_votes[i]
        else None
        for i in range(N_DIMENSIONS)
    )
    return UserProfile(inferred, final, overrides, len(directional), counts, tuple(guarded), support, sources)


def history_view(events: Sequence[Event], items: int) -> PersonaView:
    """ICA: the `items` most recent UGC comments and choices, oldest first, and the latest demographic."""
    ugc = [e for e in events if e.kind is EventKind.CONTENT][-items:]
    pairs = [e for e in events if e.kind is EventKind.FEEDBACK][-items:]
    demographic = next((e.data["text"] for e in reversed(events) if e.kind is EventKind.DEMOGRAPHIC), None)
    return PersonaView(
        ugc=tuple(Comment(e.data["prompt"], e.data["comment"], e.direction) for e in ugc),
        pairs=tuple(Choice(e.data["prompt"], e.data["chosen"], e.data["rejected"], e.direction) for e in pairs),
        demographic=demographic,
    )
