"""Persona views of a record: what the model is told about the user.

UGC, PAIR and DEMO are the record's history parts; PROFILE is the preference text rendered
from the history's directions (or a benchmark's supplied `profile`); STATED is the preference in
the user's own words; ALL is UGC + PAIR + DEMO + STATED; NONE is nothing (the universal baseline).
Training draws a random view per record.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from alignx.errors import UserError
from alignx.options import parse_option
from alignx.records import Choice, Comment, Record
from alignx.space import aggregate

MAX_HISTORY_ITEMS = 4


class Persona(str, Enum):
    UGC = "ugc"
    PAIR = "pair"
    DEMO = "demo"
    PROFILE = "profile"
    STATED = "stated"
    ALL = "all"
    NONE = "none"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str | Persona) -> Persona:
        return parse_option(cls, name, "persona")


class PersonaError(UserError):
    """The record lacks the part a persona type needs."""


@dataclass(frozen=True, slots=True)
class PersonaView:
    ugc: tuple[Comment, ...] = ()
    pairs: tuple[Choice, ...] = ()
    demographic: str | None = None
    profile: str | None = None
    stated: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.ugc or self.pairs or self.demographic or self.profile or self.stated)


def history_profile(items: Sequence[Comment | Choice]) -> str | None:
    """Profile text of the history items that carry directions; None when none do."""
    directions = [item.direction for item in items if item.direction is not None]
    return aggregate(directions).text if directions else None


def record_profile(record: Record) -> str:
    """The PROFILE persona: a supplied `profile` wins, else the profile of all history items."""
    text = record.profile or history_profile(record.ugc + record.pairs)
    if text is None:
        raise PersonaError(
            "persona 'profile' needs history items with 'Preference Direction' or a 'profile' field; "
            "this record has neither"
        )
    return text


def persona_view(record: Record, persona: Persona | str) -> PersonaView:
    """The part of `record` that `persona` shows; PersonaError when the record lacks it."""
    persona = Persona.parse(persona)
    if persona is Persona.NONE:
        return PersonaView()
    if persona is Persona.PROFILE:
        return PersonaView(profile=record_profile(record))
    if persona is Persona.UGC:
        view = PersonaView(ugc=record.ugc)
    elif persona is Persona.PAIR:
        view = PersonaView(pairs=record.pairs)
    elif persona is Persona.DEMO:
        view = PersonaView(demographic=record.demographic)
    elif persona is Persona.STATED:
        view = PersonaView(stated=record.stated)
    else:
        view = PersonaView(ugc=record.ugc, pairs=record.pairs, demographic=record.demographic, stated=record.stated)
    if view.is_empty:
        raise PersonaError(f"persona '{persona.value}' is absent from this record ({_parts(record)})")
    return view


def _parts(record: Record) -> str:
    parts = [name for name, present in (("ugc", record.ugc), ("pair", record.pairs),
                                        ("demo", record.demographic), ("profile", record.profile),
                                        ("stated", record.stated)) if present]
    return "it has " + ", ".join(parts) if parts else "it has no persona parts"


def sample_training_view(record: Record, rng: random.Random, *, with_demographic: bool = False) -> PersonaView:
    """The released training draw: 0-4 UGC and 0-4 PAIR items; if both draws are 0, take all (up to 4 each).

    The view's profile is rendered from the drawn items' directions (what PBA reads).
    Unlike the released script, a zero draw never reuses another record's items.
    """
    n_ugc = min(rng.randint(0, MAX_HISTORY_ITEMS), len(record.ugc))
    n_pair = min(rng.randint(0, MAX_HISTORY_ITEMS), len(record.pairs))
    if not (n_ugc or n_pair):
        n_ugc = min(MAX_HISTORY_ITEMS, len(record.ugc))
        n_pair = min(MAX_HISTORY_ITEMS, len(record.pairs))
    ugc = tuple(rng.sample(record.ugc, n_ugc))
    pairs = tuple(rng.sample(record.pairs, n_pair))
    return PersonaView(
        ugc=ugc,
        pairs=pairs,
        demographic=record.demographic if with_demographic else None,
        profile=history_profile(ugc + pairs),
    )
