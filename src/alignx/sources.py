"""Data sources: where records are read from, and the one rule for `--split`.

A source is a .json / .jsonl / .parquet file, a folder of split files (`train.jsonl`, `test.jsonl`, ...),
a folder laid out like a hub dataset, or a hub dataset id. Files are streamed, never loaded whole; what
cannot be parsed comes back as a `FieldProblem` for `alignx.records` to report with its record number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from alignx.errors import InputNotFound, OptionError, UserError
from alignx.hub import hub_errors

FILE_SUFFIXES = (".json", ".jsonl", ".parquet")


class FieldProblem(ValueError):
    """What is wrong with one field of a raw record (or with the record as JSON), before the record number
    and source are known; `alignx.records` turns it into a `RecordError`."""

    def __init__(self, field_name: str, problem: str):
        self.field, self.problem = field_name, problem
        super().__init__(f"{field_name}: {problem}")


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


# Files of a dataset folder that describe it and hold no records (`alignx build` writes stats.json).
METADATA_FILES = ("stats.json",)


def split_files(folder: Path) -> dict[str, Path]:
    """`{split: file}` of a folder holding one `SPLIT.jsonl` / `.json` / `.parquet` file per split."""
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and p.name not in METADATA_FILES}


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

    if Path(spec).is_dir():
        try:
            available = datasets.get_dataset_split_names(spec)
        except (datasets.exceptions.DatasetNotFoundError, ValueError, OSError) as e:
            raise UserError(f"{spec}: cannot read this folder as a dataset: {e}") from None
    else:
        with hub_errors("dataset", spec, repo_type="dataset",
                        errors=(datasets.exceptions.DatasetNotFoundError, OSError)):
            available = datasets.get_dataset_split_names(spec)
    return choose_split(spec, available, split, default)


def iter_raw(source: str | os.PathLike, split: str | None = None, *,
             default_split: str = EVAL_SPLIT) -> Iterator[tuple[int, object]]:
    """Yield (1-based record number, parsed JSON object or the FieldProblem for unparsable input).

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
                yield number, FieldProblem("(record)", f"invalid JSON on line {number}: {e.msg} at column {e.colno}")


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
            yield 1, FieldProblem("(file)", "invalid JSON: a .json file must hold an array of records")
            return
        pos += 1
        while True:
            skip(" \t\r\n")
            if buffer[pos : pos + 1] == "]":
                return
            if started:
                if buffer[pos : pos + 1] != ",":
                    yield number + 1, FieldProblem("(record)", "invalid JSON: expected ',' or ']' between records")
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
                    yield number, FieldProblem("(record)", f"invalid JSON: {e.msg}")
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

    with hub_errors("dataset", spec, repo_type="dataset", errors=(datasets.exceptions.DatasetNotFoundError, OSError)):
        dataset = datasets.load_dataset(spec, split=split, streaming=True)
    yield from enumerate(dataset, 1)
