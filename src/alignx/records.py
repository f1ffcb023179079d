"""AlignX records: the typed model, validation with precise errors, streaming load and atomic save.

Field names are the released ones ("Preference Direction", "User-Generated Content", ...).
Persona parts are optional (benchmark files lack some); a part that is present must be
well-formed, and every problem is reported as `file: record N: field F: problem`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.atomic import atomic_write
from alignx.errors import InputNotFound, OptionError, Unreachable, UserError, record_prefix
from alignx.space import direction_problem

PROMPT, CHOSEN, REJECTED, COMMENT = "prompt", "chosen", "rejected", "comment"
DIRECTION = "Preference Direction"
DEMOGRAPHIC = "Demographic Information"
UGC = "User-Generated Content"
PAIR = "Pair-wise Comparative Feedback"
PROFILE = "profile"
KNOWN_FIELDS = (PROMPT, CHOSEN, REJECTED, DIRECTION, DEMOGRAPHIC, UGC, PAIR, PROFILE)

FILE_SUFFIXES = (".json", ".jsonl", ".parquet")


class RecordError(UserError):
    """A bad record: names the source, the 1-based record number and the field."""

    def __init__(self, source: str, number: int, field_name: str, problem: str):
        self.source, self.number, self.field, self.problem = source, number, field_name, problem
        super().__init__(f"{record_prefix(source, number)}: field {field_name}: {problem}")


class _FieldError(ValueError):
    def __init__(self, field_name: str, problem: str):
        self.field, self.problem = field_name, problem
        super().__init__(f"{field_name}: {problem}")


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
    extra: Mapping[str, Any] = field(default_factory=dict)  # other fields, kept for round trips

    @classmethod
    def from_dict(cls, obj: object) -> Record:
        """Build a record from a released-format mapping; raises _FieldError on the first problem."""
        if not isinstance(obj, Mapping):
            raise _FieldError("(record)", f"must be a JSON object, got {type(obj).__name__}")
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
            raise _FieldError(name, "missing")
        return ""
    if not isinstance(value, str):
        raise _FieldError(name, f"must be text, got {type(value).__name__}")
    if nonempty and not value.strip():
        raise _FieldError(name, "is empty")
    return value


def _direction(obj: Mapping, name: str) -> tuple[float, ...] | None:
    value = obj.get(DIRECTION)
    if value is None:
        return None
    problem = direction_problem(value)
    if problem is not None:
        raise _FieldError(name, problem)
    return tuple(float(v) for v in value)


def _items(obj: Mapping, key: str) -> Iterator[tuple[str, Mapping]]:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, list | tuple):
        raise _FieldError(f"'{key}'", f"must be a list, got {type(value).__name__}")
    for i, item in enumerate(value, 1):
        where = f"'{key}' item {i}"
        if not isinstance(item, Mapping):
            raise _FieldError(where, f"must be an object, got {type(item).__name__}")
        yield where, item


# ---------------------------------------------------------------- reading


# The one rule for `--split`, everywhere: a source with one split is read whole; a source with several
# is read at the split the command names, else at the command's own default (evaluation reads `test`,
# training `train`), else it is an error that lists the splits. Training never falls back to `test`.
EVAL_SPLIT = "test"
TRAIN_SPLIT = "train"


def choose_split(source: str, available: Sequence[str], split: str | None, default: str) -> str:
    """The split of `source` to read, by the rule above; OptionError naming the splits otherwise."""
    names = ", ".join(available) or "none"
    if split is not None:
        if split not in available:
            raise OptionError(f"{source} has no split {split!r}; its splits: {names}")
        return split
    if len(available) == 1:
        return available[0]
    if default in available:
        return default
    raise OptionError(f"{source} has splits {names}; pass --split to choose one")


@dataclass(frozen=True)
class DataInput:
    """What a data source resolves to: a local file (`path`) or a `datasets` dataset (`dataset`, `split`)."""

    path: Path | None = None
    dataset: str | None = None
    split: str | None = None

    @property
    def key(self) -> str:
        """Identifies the data actually read: a file's path, size and mtime, or a dataset id and split."""
        if self.path is not None:
            stat = self.path.stat()
            return f"{self.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        return f"{self.dataset}:{self.split}"


def split_files(folder: Path) -> dict[str, Path]:
    """`{split: file}` of a folder holding one `SPLIT.jsonl` / `.json` / `.parquet` file per split."""
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in FILE_SUFFIXES}


def resolve_input(source: str | os.PathLike, split: str | None = None, *, default_split: str = EVAL_SPLIT) -> DataInput:
    """Where `source` is read from: a file, a folder of split files, or (another folder or a hub id)
    a `datasets` dataset, with the split chosen by `choose_split`."""
    spec = str(source)
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() not in FILE_SUFFIXES:
            raise UserError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(FILE_SUFFIXES)}")
        return DataInput(path=path)
    if path.is_dir() and (files := split_files(path)):
        return DataInput(path=files[choose_split(spec, list(files), split, default_split)])
    if not path.is_dir() and (path.suffix.lower() in FILE_SUFFIXES or spec.startswith((".", "/", "~"))):
        raise InputNotFound(f"{spec}: no such file or folder")
    return DataInput(dataset=spec, split=_hub_split(spec, split, default_split))


def _hub_split(spec: str, split: str | None, default: str) -> str:
    """The split of a hub dataset (or a folder laid out like one) to read, by the one rule."""
    import datasets

    try:
        available = datasets.get_dataset_split_names(spec)
    except (datasets.exceptions.DatasetNotFoundError, ConnectionError, OSError) as e:
        if Path(spec).is_dir():
            raise UserError(f"{spec}: cannot read this folder as a dataset: {e}") from None
        raise Unreachable("dataset", spec, e) from None
    return choose_split(spec, available, split, default)


def iter_raw(source: str | os.PathLike, split: str | None = None, *,
             default_split: str = EVAL_SPLIT) -> Iterator[tuple[int, object]]:
    """Yield (1-based record number, parsed JSON object or the _FieldError for unparsable input).

    `source` is a .json / .jsonl / .parquet file, a folder of split files (`train.jsonl`, `test.jsonl`,
    ...), a local folder laid out like a hub dataset, or a hub dataset id; files are streamed, never
    loaded whole. `split` and `default_split` follow the one rule of `choose_split`.
    """
    data = resolve_input(source, split, default_split=default_split)
    if data.path is None:
        yield from _iter_hub(data.dataset, data.split)
        return
    suffix = data.path.suffix.lower()
    if suffix == ".jsonl":
        yield from _iter_jsonl(data.path)
    elif suffix == ".json":
        yield from _iter_json_array(data.path)
    else:
        yield from _iter_parquet(data.path)


def _iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as e:
                yield number, _FieldError("(record)", f"invalid JSON on line {number}: {e.msg} at column {e.colno}")


def _iter_json_array(path: Path, chunk_size: int = 1 << 20) -> Iterator[tuple[int, object]]:
    """Stream the elements of a top-level JSON array without loading the file whole."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as f:
        buffer, pos, number, started, eof = "", 0, 0, False, False

        def fill() -> bool:
            nonlocal buffer, pos, eof
            chunk = f.read(chunk_size)
            buffer, pos, eof = buffer[pos:] + chunk, 0, not chunk
            return bool(chunk)

        def skip(chars: str) -> None:
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in chars:
                    pos += 1
                if pos < len(buffer) or not fill():
                    return

        skip(" \t\r\n")
        if buffer[pos : pos + 1] != "[":
            yield 1, _FieldError("(file)", "invalid JSON: a .json file must hold an array of records")
            return
        pos += 1
        while True:
            skip(" \t\r\n")
            if buffer[pos : pos + 1] == "]":
                return
            if started:
                if buffer[pos : pos + 1] != ",":
                    yield number + 1, _FieldError("(record)", "invalid JSON: expected ',' or ']' between records")
                    return
                pos += 1
                skip(" \t\r\n")
            number, started = number + 1, True
            while True:
                try:
                    obj, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as e:
                    if not eof and fill():
                        continue
                    yield number, _FieldError("(record)", f"invalid JSON: {e.msg}")
                    return
                if end == len(buffer) and not eof and fill():
                    continue  # a number at the buffer's edge may continue in the next chunk
                break
            pos = end
            yield number, obj


def _iter_parquet(path: Path, batch_size: int = 1024) -> Iterator[tuple[int, object]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _iter_hub(spec: str, split: str) -> Iterator[tuple[int, object]]:
    """A local folder laid out like a hub dataset, or a hub id, through `datasets` (streamed)."""
    import datasets

    try:
        dataset = datasets.load_dataset(spec, split=split, streaming=True)
    except (datasets.exceptions.DatasetNotFoundError, ConnectionError, OSError) as e:
        raise Unreachable("dataset", spec, e) from None
    yield from enumerate(dataset, 1)


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
    if isinstance(obj, _FieldError):
        raise RecordError(source, number, obj.field, obj.problem)
    try:
        return Record.from_dict(obj)
    except _FieldError as e:
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
