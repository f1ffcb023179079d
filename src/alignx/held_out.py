"""Held-out evidence: split each user's evidence in two, one part for the generator, the other for a judge.

A judge that reads the same evidence the generator was shown rewards copying it (the zero-shot reward of the
user's chosen texts ranks a copy of them first by construction). So with `alignx generate --hold-out` the
generator sees only the *shown* part and `alignx judge --judge reward:SPEC` reads only the *held-out* part.

The split is deterministic and reads nothing of the evidence it splits: the record's PAIR choices alternate
(held out, shown, held out, ...), the first one held out or shown as the bit `seed_bit` draws from the
record's post, chosen and rejected responses; one choice alone is held out. A record without PAIR choices
holds out its stated preference instead. UGC and the demographic text are always shown.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from alignx.personas import Persona, PersonaError, PersonaView, persona_view
from alignx.records import Record

METHOD = "pair-alternate"  # recorded in the generation file's meta, so a judge can tell what the generator saw


@dataclass(frozen=True)
class Split:
    shown: tuple[int, ...]  # indices of the PAIR choices the generator sees
    held: tuple[int, ...]  # indices of the PAIR choices only the judge reads
    stated_held: bool  # no PAIR choices: the stated preference is held out

    def to_dict(self) -> dict:
        return {"shown": list(self.shown), "held": list(self.held), "stated_held": self.stated_held}


def seed_bit(record: Record) -> int:
    """0 or 1 from the record's post, chosen and rejected responses (never from the evidence being split)."""
    text = "\x1f".join((record.prompt, record.chosen, record.rejected))
    return hashlib.sha256(text.encode("utf-8")).digest()[0] & 1


def split_evidence(record: Record) -> Split:
    """Which PAIR choices are shown and which held out (or whether the stated preference is held out)."""
    n = len(record.pairs)
    if n == 0:
        return Split((), (), stated_held=record.stated is not None)
    first = 0 if n == 1 else seed_bit(record)
    held = tuple(i for i in range(n) if (i - first) % 2 == 0)
    return Split(tuple(i for i in range(n) if i not in held), held, stated_held=False)


def shown_record(record: Record) -> Record:
    """The record as the generator sees it: the shown PAIR choices only, no stated preference if it is held out."""
    split = split_evidence(record)
    return replace(record, pairs=tuple(record.pairs[i] for i in split.shown),
                   stated=None if split.stated_held else record.stated)


def shown_view(record: Record, persona: Persona) -> PersonaView:
    """The part of the shown record that `persona` shows; empty (the universal prompt) when holding out left
    nothing of it (a lone PAIR choice, a stated preference)."""
    try:
        return persona_view(shown_record(record), persona)
    except PersonaError:
        return PersonaView()


def held_out_view(record: Record) -> PersonaView:
    """What the judge reads: the held-out PAIR choices, or the held-out stated preference; empty when neither."""
    split = split_evidence(record)
    if split.held:
        return PersonaView(pairs=tuple(record.pairs[i] for i in split.held))
    return PersonaView(stated=record.stated) if split.stated_held else PersonaView()
