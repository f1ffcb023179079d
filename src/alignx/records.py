"""AlignX records: the typed model, validation with precise errors, streaming load and atomic save.
Where records come from (files, split folders, the hub) and the split rule live in `alignx.sources`.

Field names are the released ones ("Preference Direction", "User-Generated Content", ...).
Persona parts are optional (benchmark files lack some); a part that is present must be
well-formed, and every problem is reported as `file: record N: field F: problem`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.atomic import atomic_write
from alignx.errors import UserError, record_prefix
from alignx.sources import EVAL_SPLIT, FILE_SUFFIXES, FieldProblem, iter_raw
from alignx.space import direction_problem

PROMPT, CHOSEN, REJECTED, COMMENT = "prompt", "chosen", "rejected", "comment"
DIRECTION = "Preference Direction"
DEMOGRAPHIC = "Demographic Information"
UGC = "User-Generated Content"
PAIR = "Pair-wise Comparative Feedback"
PROFILE = "profile"
STATED = "Stated Preference"  # the user's preference in their own words
GROUND_TRUTH_PERSONA = "ground_truth_persona"  # P-Soups' stated preference; read as STATED, kept as it is
KNOWN_FIELDS = (PROMPT, CHOSEN, REJECTED, DIRECTION, DEMOGRAPHIC, UGC, PAIR, PROFILE, STATED)


class RecordError(UserError):
    """A bad record: names the source, the 1-based record number and the field."""

    def __init__(self, source: str, number: int, field_name: str, problem: str):
        self.source, self.number, self.field, self.problem = source, number, field_name, problem
        super().__init__(f"{record_prefix(source, number)}: field {field_name}: {problem}")


@dataclass(frozen=True, slots=True)
class Comment:
    """A UGC history item: the user's comment on another post."""

    prompt: str
    comment: str
    direction: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A PAIR history item: the user's choice between two responses on another post."""

    prompt: str
    chosen: str
    rejected: str
    direction: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Record:
    prompt: str
    chosen: str
    rejected: str
    direction: tuple[float, ...] | None = None
    demographic: str | None = None
    ugc: tuple[Comment, ...] = ()
    pairs: tuple[Choice, ...] = ()
    profile: str | None = None  # an already-rendered preference text (P-Soups style)
    stated: str | None = None  # the preference as the user put it ("Stated Preference", P-Soups' ground truth)
    extra: Mapping[str, Any] = field(default_factory=dict)  # other fields, kept for round trips

    @classmethod
    def from_dict(cls, obj: object) -> Record:
        """Build a record from a released-format mapping; raises FieldProblem on the first problem."""
        if not isinstance(obj, Mapping):
            raise FieldProblem("(record)", f"must be a JSON object, got {type(obj).__name__}")
        return cls(
            prompt=_text(obj, PROMPT, PROMPT, required=True, nonempty=True),
            chosen=_text(obj, CHOSEN, CHOSEN, required=True, nonempty=True),
            rejected=_text(obj, REJECTED, REJECTED, required=True, nonempty=True),
            direction=_direction(obj, f"'{DIRECTION}'"),
            demographic=_text(obj, DEMOGRAPHIC, f"'{DEMOGRAPHIC}'") or None,
            ugc=tuple(
                Comment(
                    prompt=_text(item, PROMPT, f"{where} '{PROMPT}'", required=True),
                    comment=_text(item, COMMENT, f"{where} '{COMMENT}'", required=True),
                    direction=_direction(item, f"{where} '{DIRECTION}'"),
                )
                for where, item in _items(obj, UGC)
            ),
            pairs=tuple(
                Choice(
                    prompt=_text(item, PROMPT, f"{where} '{PROMPT}'", required=True),
                    chosen=_text(item, CHOSEN, f"{where} '{CHOSEN}'", required=True),
                    rejected=_text(item, REJECTED, f"{where} '{REJECTED}'", required=True),
                    direction=_direction(item, f"{where} '{DIRECTION}'"),
                )
                for where, item in _items(obj, PAIR)
            ),
            profile=_text(obj, PROFILE, PROFILE) or None,
            stated=_text(obj, STATED, f"'{STATED}'") or _text(obj, GROUND_TRUTH_PERSONA, GROUND_TRUTH_PERSONA) or None,
            extra={k: v for k, v in obj.items() if k not in KNOWN_FIELDS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The released-format mapping; absent optional parts are left out."""
        out: dict[str, Any] = {PROMPT: self.prompt, CHOSEN: self.chosen, REJECTED: self.rejected}
        if self.direction is not None:
            out[DIRECTION] = list(self.direction)
        if self.demographic is not None:
            out[DEMOGRAPHIC] = self.demographic
        if self.ugc:
            out[UGC] = [_with_direction({PROMPT: c.prompt, COMMENT: c.comment}, c.direction) for c in self.ugc]
        if self.pairs:
            out[PAIR] = [
                _with_direction({PROMPT: p.prompt, CHOSEN: p.chosen, REJECTED: p.rejected}, p.direction)
                for p in self.pairs
            ]
        if self.profile is not None:
            out[PROFILE] = self.profile
        if self.stated is not None and self.stated != self.extra.get(GROUND_TRUTH_PERSONA):
            out[STATED] = self.stated
        out.update(self.extra)
        return out


def _with_direction(item: dict[str, Any], direction: tuple[float, ...] | None) -> dict[str, Any]:
    if direction is not None:
        item[DIRECTION] = list(direction)
    return item


def _text(obj: Mapping, key: str, name: str, *, required: bool = False, nonempty: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise FieldProblem(name, "missing")
        return ""
    if not isinstance(value, str):
        raise FieldProblem(name, f"must be text, got {type(value).__name__}")
    if nonempty and not value.strip():
        raise FieldProblem(name, "is empty")
    return value


def _direction(obj: Mapping, name: str) -> tuple[float, ...] | None:
    value = obj.get(DIRECTION)
    if value is None:
        return None
    problem = direction_problem(value)
    if problem is not None:
        raise FieldProblem(name, problem)
    return tuple(float(v) for v in value)


def _items(obj: Mapping, key: str) -> Iterator[tuple[str, Mapping]]:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, list | tuple):
        raise FieldProblem(f"'{key}'", f"must be a list, got {type(value).__name__}")
    for i, item in enumerate(value, 1):
        where = f"'{key}' item {i}"
        if not isinstance(item, Mapping):
            raise FieldProblem(where, f"must be an object, got {type(item).__name__}")
        yield where, item


def iter_records(source: str | os.PathLike, split: str | None = None, *,
                 default_split: str = EVAL_SPLIT) -> Iterator[Record]:
    """Validated records from `source`; the first bad one raises RecordError."""
    for number, obj in iter_raw(source, split, default_split=default_split):
        yield parse_record(obj, str(source), number)


def load_records(source: str | os.PathLike, split: str | None = None, limit: int | None = None, *,
                 default_split: str = EVAL_SPLIT) -> list[Record]:
    """The first `limit` records (all when None) as a list; for data that fits in memory."""
    out = []
    for record in iter_records(source, split, default_split=default_split):
        if limit is not None and len(out) >= limit:
            break
        out.append(record)
    return out


def parse_record(obj: object, source: str, number: int) -> Record:
    if isinstance(obj, FieldProblem):
        raise RecordError(source, number, obj.field, obj.problem)
    try:
        return Record.from_dict(obj)
    except FieldProblem as e:
        raise RecordError(source, number, e.field, e.problem) from None


def validate(source: str | os.PathLike, split: str | None = None) -> Iterator[tuple[int, RecordError | None]]:
    """(record number, error or None) for every record, continuing past bad ones where possible."""
    for number, obj in iter_raw(source, split):
        try:
            parse_record(obj, str(source), number)
        except RecordError as e:
            yield number, e
        else:
            yield number, None


# ---------------------------------------------------------------- writing


def write_records(records: Iterable[Record | Mapping[str, Any]], path: str | os.PathLike) -> int:
    """Write records atomically (JSONL, JSON array or Parquet by suffix); returns the count."""
    rows = (r.to_dict() if isinstance(r, Record) else dict(r) for r in records)
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise UserError(f"{target}: unknown file type {suffix!r}; use one of {', '.join(FILE_SUFFIXES)}")
    with atomic_write(target) as tmp:
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(list(rows))
            pq.write_table(table, tmp)
            return table.num_rows
        count = 0
        with open(tmp, "w", encoding="utf-8") as f:
            if suffix == ".json":
                f.write("[\n")
            for row in rows:
                if suffix == ".json":
                    f.write(",\n" if count else "")
                f.write(json.dumps(row, ensure_ascii=False))
                if suffix == ".jsonl":
                    f.write("\n")
                count += 1
            if suffix == ".json":
                f.write("\n]\n")
        return count
