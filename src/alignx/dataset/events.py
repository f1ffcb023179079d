"""The event table: one row per piece of raw behaviour, read from a file (JSONL / JSON / Parquet / CSV)
with Arrow's readers and checked column-wise with pyarrow.compute.

An event is a user's comment on a post (`kind` = comment: `post`, `comment`), a choice between two responses
on a post (`pair`: `post`, `chosen`, `rejected`) or a description of the user (`demographic`: `text`), with an
optional `direction` (90 values in {0, 0.5, 1}) and an optional `timestamp` (ISO 8601 text or Unix seconds).
`EVENT_SCHEMA` is the table every reader returns (the service's reader, `alignx.dataset.store_events`, too);
text columns a kind does not use are null; `row` is the event's 1-based row number in its source.

The first bad row raises `EventError`: `FILE: row N: field F: problem` (one line, exit 2 in the CLI).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from alignx.errors import InputNotFound, UserError
from alignx.space import N_DIMENSIONS

TEXT_FIELDS = ("post", "comment", "chosen", "rejected", "text")
KINDS = {"comment": ("post", "comment"), "pair": ("post", "chosen", "rejected"), "demographic": ("text",)}
TIMESTAMP = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema([
    pa.field("user_id", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    *(pa.field(name, pa.string()) for name in TEXT_FIELDS),
    pa.field("direction", pa.list_(pa.float64())),
    pa.field("timestamp", TIMESTAMP),
    pa.field("row", pa.int64(), nullable=False),
])
EVENT_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
DIRECTION_VALUES = (0.0, 0.5, 1.0)


class EventError(UserError):
    """A bad event: names the source, the 1-based row and the field."""

    def __init__(self, source: str, row: int, field_name: str, problem: str):
        self.source, self.row, self.field, self.problem = source, row, field_name, problem
        super().__init__(f"{source}: row {row}: field {field_name}: {problem}")


def read_events(path: str | os.PathLike, *, user: str | None = None) -> pa.Table:
    """The checked event table of `path` (`EVENT_SCHEMA`), only `user`'s events when given."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise UserError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(EVENT_SUFFIXES)}")
    source = str(path)
    if suffix == ".parquet":
        raw = _read_parquet(path)
    elif suffix == ".csv":
        raw = _read_csv(path)
    else:
        raw = _read_json(path)
    table = normalise(raw, source)
    return check_events(table, source, user=user)


# ---------------------------------------------------------------- readers


def _read_json(path: Path) -> pa.Table:
    import pyarrow.json as pj

    schema = pa.schema([pa.field("kind", pa.string()), *(pa.field(n, pa.string()) for n in TEXT_FIELDS),
                        pa.field("direction", pa.list_(pa.float64()))])
    if path.suffix.lower() == ".json" and _starts_with_array(path):
        return _from_python(path, _json_array_rows(path))
    try:
        return pj.read_json(path, read_options=pj.ReadOptions(block_size=16 << 20),
                            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer",
                                                          newlines_in_values=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        _diagnose_json(path, e)
        raise  # unreachable: _diagnose_json always raises


def _starts_with_array(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4096).lstrip()
    return head.startswith(b"[")


def _json_array_rows(path: Path):
    from alignx.sources import _iter_json_array

    yield from _iter_json_array(path)


def _from_python(path: Path, rows) -> pa.Table:
    """A JSON array file (small by nature): read in Python, each row checked like a JSONL line."""
    checked = [_check_raw(str(path), number, obj) for number, obj in rows]
    columns = {name: [r.get(name) for r in checked] for name in ("user_id", "kind", *TEXT_FIELDS, "direction",
                                                                  "timestamp")}
    columns["user_id"] = [None if v is None else str(v) for v in columns["user_id"]]
    columns["timestamp"] = [_python_timestamp(v, str(path), i + 1) for i, v in enumerate(columns["timestamp"])]
    types = {"user_id": pa.string(), "kind": pa.string(), **{n: pa.string() for n in TEXT_FIELDS},
             "direction": pa.list_(pa.float64()), "timestamp": TIMESTAMP}
    return pa.table({name: pa.array(values, type=types[name]) for name, values in columns.items()})


def _diagnose_json(path: Path, error: Exception) -> None:
    """Arrow could not read the file: find the first bad line in Python and name it."""
    with path.open(encoding="utf-8", errors="replace") as f:
        row = 0
        for line in f:
            if not line.strip():
                continue
            row += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise EventError(str(path), row, "(event)", f"invalid JSON: {e.msg} at column {e.colno}") from None
            _check_raw(str(path), row, obj)
            _python_timestamp(obj.get("timestamp"), str(path), row)
    raise UserError(f"{path}: cannot read the events: {error}")


def _check_raw(source: str, row: int, obj: object) -> dict:
    """Types of one raw event (the slow path, used to name what Arrow refused)."""
    if not isinstance(obj, dict):
        raise EventError(source, row, "(event)", f"must be a JSON object, got {type(obj).__name__}")
    uid = obj.get("user_id")
    if uid is not None and (isinstance(uid, bool) or not isinstance(uid, str | int)):
        raise EventError(source, row, "user_id", f"must be text or an integer, got {type(uid).__name__}")
    for name in ("kind", *TEXT_FIELDS):
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise EventError(source, row, name, f"must be text, got {type(value).__name__}")
    direction = obj.get("direction")
    if direction is not None:
        problem = _direction_problem(direction)
        if problem:
            raise EventError(source, row, "direction", problem)
    return obj


def _direction_problem(value: object) -> str | None:
    from alignx.space import direction_problem

    return direction_problem(value)


def _python_timestamp(value: object, source: str, row: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(source, row, "timestamp", f"{value!r} is not an ISO 8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise EventError(source, row, "timestamp", f"must be ISO 8601 text or Unix seconds, got {type(value).__name__}")


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
        wanted = [n for n in ("user_id", "kind", *TEXT_FIELDS, "direction", "timestamp") if n in names]
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"{path}: cannot read as Parquet: {e}") from None


def _read_csv(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    names = ("user_id", "kind", *TEXT_FIELDS, "direction", "timestamp")
    try:
        table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(block_size=16 << 20),
                              parse_options=pcsv.ParseOptions(newlines_in_values=True),
                              convert_options=pcsv.ConvertOptions(
                                  column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                  null_values=[""], quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as e:
        raise UserError(f"{path}: cannot read as CSV: {e}") from None
    if "direction" in table.column_names:
        table = table.set_column(table.column_names.index("direction"), "direction",
                                 _csv_directions(table["direction"], str(path)))
    return table


def _csv_directions(column: pa.ChunkedArray, source: str) -> pa.Array:
    """JSON lists written as text (`[1, 0, 0.5, ...]`) -> list<double>, vectorised; the slow path names a bad row."""
    text = column.combine_chunks()
    stripped = pc.replace_substring_regex(text, r"[\[\]\s]", "")
    try:
        if not pc.all(pc.or_kleene(pc.is_null(text), pc.match_substring_regex(text, r"^\s*\[.*\]\s*$"))).as_py():
            raise pa.ArrowInvalid("not a list")
        lists = pc.split_pattern(stripped, ",")
        values = pc.cast(pc.list_flatten(lists), pa.float64())
        return pa.ListArray.from_arrays(lists.offsets, values, mask=pc.is_null(text))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        for i, value in enumerate(text.to_pylist()):
            if value is None:
                continue
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                raise EventError(source, i + 1, "direction", f"{value[:40]!r} is not a JSON list of "
                                 f"{N_DIMENSIONS} numbers") from None
            problem = _direction_problem(parsed)
            if problem:
                raise EventError(source, i + 1, "direction", problem) from None
        raise


# ---------------------------------------------------------------- normalising and checking


def normalise(raw: pa.Table, source: str) -> pa.Table:
    """`raw` (any reader's columns) as `EVENT_SCHEMA`: missing columns null, user_id as text, timestamps in UTC,
    `row` numbered from 1. Nulls are kept for `check_events` to report."""
    n = raw.num_rows
    columns = {}
    for name in ("user_id", "kind", *TEXT_FIELDS):
        if name not in raw.column_names:
            columns[name] = pa.nulls(n, pa.string())
            continue
        column = raw[name]
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            if name == "user_id" and (pa.types.is_integer(column.type) or pa.types.is_null(column.type)):
                column = pc.cast(column, pa.string())
            elif pa.types.is_null(column.type):
                column = pc.cast(column, pa.string())
            else:
                bad = _first_valid(column)
                raise EventError(source, bad + 1, name, f"must be text, got {column.type}")
        columns[name] = pc.cast(column, pa.string())
    columns["direction"] = _directions(raw["direction"] if "direction" in raw.column_names else None, n, source)
    columns["timestamp"] = _timestamps(raw["timestamp"] if "timestamp" in raw.column_names else None, n, source)
    columns["row"] = pa.array(np.arange(1, n + 1, dtype=np.int64))
    return pa.Table.from_arrays([_as_array(columns[f.name]) for f in EVENT_SCHEMA], schema=_nullable(EVENT_SCHEMA))


def _nullable(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field nullable (before the check that rejects the nulls)."""
    return pa.schema([f.with_nullable(True) for f in schema])


def _as_array(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _first_valid(column) -> int:
    valid = np.flatnonzero(pc.is_valid(column).to_numpy(zero_copy_only=False))
    return int(valid[0]) if valid.size else 0


def _directions(column, n: int, source: str) -> pa.Array:
    if column is None or pa.types.is_null(column.type):
        return pa.nulls(n, pa.list_(pa.float64()))
    column = _as_array(column)
    if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
            or pa.types.is_fixed_size_list(column.type)):
        raise EventError(source, _first_valid(column) + 1, "direction",
                         f"must be a list of {N_DIMENSIONS} numbers, got {column.type}")
    try:
        return pc.cast(column, pa.list_(pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise EventError(source, _first_valid(column) + 1, "direction",
                         f"must be a list of {N_DIMENSIONS} numbers, got {column.type}") from None


def _timestamps(column, n: int, source: str) -> pa.Array:
    if column is None:
        return pa.nulls(n, TIMESTAMP)
    column = _as_array(column)
    kind = column.type
    if pa.types.is_null(kind):
        return pa.nulls(n, TIMESTAMP)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return pc.cast(pc.assume_timezone(column, "UTC"), TIMESTAMP)
        return pc.cast(column, TIMESTAMP)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        numeric = pc.match_substring_regex(column, r"^\s*-?\d+(\.\d*)?\s*$")
        if pc.all(pc.or_kleene(pc.is_null(column), numeric)).as_py():  # Unix seconds written as text (CSV)
            column = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
            kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        micros = pc.cast(pc.round(pc.multiply(pc.cast(column, pa.float64()), 1e6)), pa.int64())
        return pc.cast(micros, TIMESTAMP)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            return pc.cast(column, TIMESTAMP)
        except pa.ArrowInvalid:
            pass
        try:
            return pc.cast(pc.assume_timezone(pc.cast(column, pa.timestamp("us")), "UTC"), TIMESTAMP)
        except pa.ArrowInvalid:
            pass
        values = [_python_timestamp(v, source, i + 1) for i, v in enumerate(column.to_pylist())]
        return pa.array(values, type=TIMESTAMP)
    raise EventError(source, _first_valid(column) + 1, "timestamp",
                     f"must be ISO 8601 text or Unix seconds, got {kind}")


def check_events(table: pa.Table, source: str, *, user: str | None = None) -> pa.Table:
    """`table` (EVENT_SCHEMA, nulls allowed) checked; EventError for the first bad row (then the first bad field
    in schema order). Only `user`'s events are kept when given (after the check: a bad row anywhere is an error)."""
    problems: list[tuple[int, int, str, str]] = []  # (index, field order, field, problem)
    order = {name: i for i, name in enumerate(EVENT_SCHEMA.names)}

    def first(mask, field_name: str, problem) -> None:
        mask = pc.fill_null(mask, False) if isinstance(mask, pa.Array | pa.ChunkedArray) else mask
        index = pc.index(mask, True).as_py()
        if index is not None and index >= 0:
            text = problem(index) if callable(problem) else problem
            problems.append((index, order[field_name], field_name, text))

    user_id, kind = table["user_id"], table["kind"]
    first(pc.is_null(user_id), "user_id", "missing")
    first(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(user_id)), 0), "user_id", "is empty")
    first(pc.is_null(kind), "kind", "missing")
    unknown = pc.invert(pc.is_in(kind, value_set=pa.array(list(KINDS))))
    first(unknown, "kind", lambda i: f"unknown kind {kind[i].as_py()!r}; use comment, pair or demographic")
    for name in TEXT_FIELDS:
        needed = pc.is_in(kind, value_set=pa.array([k for k, fields in KINDS.items() if name in fields]))
        column = table[name]
        first(pc.and_(needed, pc.is_null(column)), name, lambda i: f"missing (a {kind[i].as_py()} event needs it)")
        first(pc.and_(needed, pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)), name, "is empty")
    direction = table["direction"]
    first(pc.and_(pc.is_valid(direction), pc.not_equal(pc.list_value_length(direction), N_DIMENSIONS)),
          "direction", lambda i: f"must have {N_DIMENSIONS} values, got {len(direction[i])}")
    values = pc.list_flatten(direction)
    bad_values = pc.invert(pc.fill_null(pc.is_in(values, value_set=pa.array(DIRECTION_VALUES)), False))
    if pc.any(bad_values).as_py():
        flat = pc.index(bad_values, True).as_py()
        parents = pc.list_parent_indices(direction)
        index = parents[flat].as_py()
        offset = flat - _list_start(direction, index)
        problems.append((index, order["direction"], "direction",
                         f"value {values[flat].as_py()!r} at position {offset} is not one of 0, 0.5, 1"))
    if problems:
        index, _, name, problem = min(problems)
        raise EventError(source, table["row"][index].as_py(), name, problem)
    if user is not None:
        table = table.filter(pc.equal(user_id, user))
    return table.cast(EVENT_SCHEMA)


def _list_start(lists, index: int) -> int:
    """The position in the flattened values of list `index`'s first value."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    return int(lengths[:index].sum())
