"""What the chat annotator asks and how its answer is read back.

The system message lists the 90 dimensions (`index | positive pole | negative pole`, from the packaged
table); the user message is one item. The model names only the non-neutral dimensions, as JSON:
`{"dimensions": [{"index": 12, "pole": "positive"}, ...]}`; an empty list is an answer (all neutral).
Servers that enforce a JSON schema get `RESPONSE_FORMAT`; the others are read robustly (code fences,
prose around the object, an index written as a string or as a pole label), and anything that still
does not read is an `AnswerError` whose message is the reason the item is re-asked or recorded as failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache

from alignx.annotate.base import Item, item_fields, item_kind
from alignx.personas import PersonaView
from alignx.prompts import history_text
from alignx.reask import Unreadable
from alignx.records import Choice, Comment
from alignx.space import N_DIMENSIONS, dimensions

Messages = list[dict[str, str]]

POLES = {"positive": 1.0, "negative": 0.0}

SYSTEM_TEMPLATE = """\
You annotate the preferences that a person's online behaviour reveals, on the {count} dimensions below.
Each line is: index | positive pole | negative pole.

{table}

You are shown either a comment the person wrote on a post, or two responses to a post of which the \
person preferred (chose) one over the other (rejected). Decide which poles the comment expresses, or \
which poles explain why the chosen response was preferred to the rejected one. Most dimensions are \
neutral for any one item: name only the dimensions the item clearly shows, with the pole it shows.

Answer with one JSON object and nothing else:
{{"dimensions": [{{"index": <dimension index>, "pole": "positive" or "negative"}}, ...]}}
An empty list means the item shows no dimension."""

COMMENT_TEMPLATE = """\
*Post:*
{prompt}

*Comment:*
{comment}

Which poles does this comment express? Answer with the JSON object, naming only the non-neutral dimensions."""

PAIR_TEMPLATE = """\
*Post:*
{prompt}

*Chosen:*
{chosen}

*Rejected:*
{rejected}

Which poles explain why the chosen response was preferred? Answer with the JSON object, naming only the \
non-neutral dimensions."""

CORRECTION_TEMPLATE = "Your answer could not be read: {reason}. Answer again with only the JSON object."

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "dimensions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "enum": list(range(N_DIMENSIONS))},
                    "pole": {"type": "string", "enum": list(POLES)},
                },
                "required": ["index", "pole"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["dimensions"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "preference_directions", "strict": True, "schema": ANSWER_SCHEMA},
}

DESCRIBE_SYSTEM = "You write short descriptions of people from what they do online."
DESCRIBE_TEMPLATE = """\
{history}
Describe this person in one or two sentences, in the third person: their demographics, personality and \
tastes, only as far as the behaviour above shows them. Answer with the description only."""


class AnswerError(Unreadable):
    """An answer that does not read as a direction; the message is the reason, e.g. `not JSON: ...`."""


@cache
def system_prompt() -> str:
    table = "\n".join(f"{d.index} | {d.positive} | {d.negative}" for d in dimensions())
    return SYSTEM_TEMPLATE.format(count=N_DIMENSIONS, table=table)


@cache
def prompt_version() -> str:
    """Hash of everything the model is told: the cache keys on it, so a changed prompt is asked again."""
    told = [system_prompt(), COMMENT_TEMPLATE, PAIR_TEMPLATE, CORRECTION_TEMPLATE, RESPONSE_FORMAT]
    return hashlib.sha256(json.dumps(told, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def annotation_messages(item: Item) -> Messages:
    template = COMMENT_TEMPLATE if item_kind(item) == "comment" else PAIR_TEMPLATE
    return [{"role": "system", "content": system_prompt()},
            {"role": "user", "content": template.format(**item_fields(item))}]


def correction_messages(messages: Messages, answer: str, reason: str) -> Messages:
    """The conversation with the unreadable answer and why it failed: a re-ask that shows the model its mistake."""
    return [*messages, {"role": "assistant", "content": answer},
            {"role": "user", "content": CORRECTION_TEMPLATE.format(reason=reason)}]


def describe_messages(items: Sequence[Item]) -> Messages:
    """The user's UGC and PAIR items in the released block format, and the request for a DEMO-style text."""
    view = PersonaView(ugc=tuple(i for i in items if isinstance(i, Comment)),
                       pairs=tuple(i for i in items if isinstance(i, Choice)))
    return [{"role": "system", "content": DESCRIBE_SYSTEM},
            {"role": "user", "content": DESCRIBE_TEMPLATE.format(history=history_text(view))}]


def parse_answer(text: str) -> tuple[float, ...]:
    """The direction an answer names: 1.0 / 0.0 at the named poles, 0.5 elsewhere; AnswerError if unreadable."""
    entries = _entries(_load_json(text))
    vector = [0.5] * N_DIMENSIONS
    named: dict[int, float] = {}
    for entry in entries:
        index, value = _read_entry(entry)
        if value is None:
            continue
        if named.get(index, value) != value:
            raise AnswerError(f"dimension {index} is named both positive and negative")
        named[index] = vector[index] = value
    return tuple(vector)


def _load_json(text: str) -> object:
    """The JSON value of `text`, tolerating code fences and prose around one outermost {...} object."""
    body = text.strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        pass
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise AnswerError(f"not JSON: no {{...}} object in {_snippet(body)}")
    try:
        return json.loads(body[start:end + 1])
    except json.JSONDecodeError as e:
        raise AnswerError(f"not JSON: {e.msg} in {_snippet(body[start:end + 1])}") from None


def _entries(value: object) -> list[object]:
    if isinstance(value, dict):
        value = value.get("dimensions")
    if not isinstance(value, list):
        raise AnswerError('not the asked JSON: expected {"dimensions": [...]}')
    return value


def _read_entry(entry: object) -> tuple[int, float | None]:
    """(dimension index, pole value) of one entry; value None for an entry that says `neutral`."""
    if not isinstance(entry, dict) or "index" not in entry:
        raise AnswerError(f'entry {_snippet(_text(entry))} has no "index"')
    key, pole = entry["index"], entry.get("pole")
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < N_DIMENSIONS:
            raise AnswerError(f"unknown dimension {key} (indices are 0..{N_DIMENSIONS - 1})")
        index, label_value = key, None
    elif isinstance(key, str) and key.strip().lower() in _labels():
        index, label_value = _labels()[key.strip().lower()]
    else:
        raise AnswerError(f"unknown dimension {_snippet(_text(key))}")
    value = _pole_value(index, pole) if pole is not None else label_value
    if value is None and pole is None:
        raise AnswerError(f'entry for dimension {index} has no "pole"')
    if label_value is not None and value is not None and value != label_value:
        raise AnswerError(f"entry names the label {key!r} but the pole {pole!r}")
    return index, value


def _pole_value(index: int, pole: object) -> float | None:
    """A pole written as positive/negative, as one of the dimension's labels, or as 1/0; None for neutral."""
    if isinstance(pole, int | float) and not isinstance(pole, bool) and pole in (0, 0.5, 1):
        return None if pole == 0.5 else float(pole)
    if isinstance(pole, str):
        word = pole.strip().lower()
        if word in POLES:
            return POLES[word]
        if word == "neutral":
            return None
        hit = _labels().get(word)
        if hit is not None and hit[0] == index:
            return hit[1]
    raise AnswerError(f"pole {_snippet(_text(pole))} of dimension {index} is neither positive nor negative")


@cache
def _labels() -> dict[str, tuple[int, float]]:
    """Every pole label, lower-cased -> (dimension index, pole value)."""
    out: dict[str, tuple[int, float]] = {}
    for d in dimensions():
        out[d.positive.lower()] = (d.index, 1.0)
        out[d.negative.lower()] = (d.index, 0.0)
    return out


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _snippet(text: str, limit: int = 80) -> str:
    """`text` quoted on one line, cut to `limit` characters: reasons stay one line in reports."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "...")
