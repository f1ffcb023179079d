"""The annotator interface: items in, one `Annotation` per item out, in whatever order answers arrive.

An item is a UGC comment (`records.Comment`) or a PAIR choice (`records.Choice`); their `direction`
fields are ignored (that is what is being inferred). A record's own prompt/chosen/rejected is a
`Choice` too. Answers stream back as `(index, annotation)` so the caller can store each as soon as it
exists: a crash loses only the answers still in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from alignx.errors import UserError
from alignx.records import Choice, Comment, Record

Item = Comment | Choice


@dataclass(frozen=True, slots=True)
class Annotation:
    """A backend's answer for one item: a direction (1 / 0 / 0.5, the released order) or why there is none.

    `confidence`, where the backend has one, is the probability it gives its own answer per dimension.
    `tokens` counts what the answer cost (prompt + completion) for backends that bill by token."""

    direction: tuple[float, ...] | None
    confidence: tuple[float, ...] | None = None
    error: str | None = None
    tokens: int = 0

    @classmethod
    def failed(cls, reason: str, tokens: int = 0) -> Annotation:
        return cls(direction=None, error=reason, tokens=tokens)


class AnnotatorError(UserError):
    """A backend that cannot be used at all (unreachable, wrong model, missing key, not an inferencer)."""


@runtime_checkable
class Annotator(Protocol):
    spec: str  # as the user wrote it, e.g. "local:runs/inferencer" or "openai:gpt-4o-mini"
    can_describe: bool  # whether `describe` writes text (a chat model) or always refuses (a classifier)

    @property
    def identity(self) -> str:
        """What the cache keys on besides the item: changes whenever the answers could change
        (another model, retrained weights, another prompt)."""
        ...

    def annotate(self, items: Sequence[Item]) -> Iterator[tuple[int, Annotation]]:
        """Yield `(index into items, annotation)` once for every item, as answers arrive."""
        ...

    def describe(self, items: Sequence[Item]) -> str:
        """A short natural-language description of the user behind `items` (DEMO persona text);
        raises AnnotatorError where the backend cannot write text."""
        ...

    def close(self) -> None: ...


def annotate_all(annotator: Annotator, items: Sequence[Item]) -> list[Annotation]:
    """Every item's annotation, in item order."""
    out: list[Annotation | None] = [None] * len(items)
    for index, annotation in annotator.annotate(items):
        out[index] = annotation
    missing = [i for i, a in enumerate(out) if a is None]
    if missing:
        raise RuntimeError(f"{annotator.spec} answered no annotation for items {missing[:5]}")
    return out  # type: ignore[return-value]


def item_kind(item: Item) -> str:
    return "comment" if isinstance(item, Comment) else "pair"


def item_fields(item: Item) -> dict[str, str]:
    """The item's texts by released field name (no direction)."""
    if isinstance(item, Comment):
        return {"prompt": item.prompt, "comment": item.comment}
    return {"prompt": item.prompt, "chosen": item.chosen, "rejected": item.rejected}


def item_key(item: Item) -> str:
    """Content hash of the item's texts: equal texts share one answer, whatever record they sit in."""
    payload = json.dumps({"kind": item_kind(item), **item_fields(item)}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def strip_direction(item: Item) -> Item:
    if isinstance(item, Comment):
        return Comment(item.prompt, item.comment)
    return Choice(item.prompt, item.chosen, item.rejected)


def record_items(record: Record) -> list[tuple[Item, tuple[float, ...] | None]]:
    """Every item of a record with its direction (None where it has none): the record's own choice, then its
    UGC comments, then its PAIR choices."""
    own = Choice(record.prompt, record.chosen, record.rejected)
    return [(own, record.direction)] + [(c, c.direction) for c in record.ugc] + [(p, p.direction)
                                                                                 for p in record.pairs]


def with_directions(record: Record, directions: Sequence[tuple[float, ...] | None]) -> Record:
    """`record` with its items' directions replaced, in `record_items` order."""

    own, ugc, pairs = directions[0], directions[1:1 + len(record.ugc)], directions[1 + len(record.ugc):]
    return dataclasses.replace(
        record, direction=own,
        ugc=tuple(dataclasses.replace(c, direction=d) for c, d in zip(record.ugc, ugc, strict=True)),
        pairs=tuple(dataclasses.replace(p, direction=d) for p, d in zip(record.pairs, pairs, strict=True)))
