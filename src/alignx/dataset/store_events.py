"""The service's memory as build input: `alignx build --db URL` reads the events table, read-only.

Kinds map onto the build's: content -> comment, feedback -> pair, demographic -> demographic (edits
are the user's view of their profile, not behaviour, and are left out). A raw event that the
service's annotator explained gets the direction of its derived `inferred` event. Deleted users
have no rows left, so they are in no later build. `events_table` is the same mapping for the
service's export route, on the events it has read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alignx.db_url import redact
from alignx.errors import OptionError
from alignx.serve.memory import EventKind
from alignx.serve.store import EventRow, as_utc

KINDS = {EventKind.CONTENT.value: "comment", EventKind.FEEDBACK.value: "pair",
         EventKind.DEMOGRAPHIC.value: "demographic"}
CHUNK = 10_000


def read_only_engine(url: str):
    """An engine that cannot write: SQLite opened with mode=ro (a missing file is an error, not a new
    database), other backends with read-only transactions."""
    from pathlib import Path

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise OptionError(f"--db {url!r} is not a database URL; pass e.g. sqlite:///memory.db") from None
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not path.is_file():
            raise OptionError(f"--db {url}: no such database file {path}")
        return create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    return create_engine(url, execution_options={"postgresql_readonly": True})


def events_from_store(url: str, user: str | None = None):
    """Every behaviour event of the memory at `url` (of `user` only, if given) as a table of
    `alignx.dataset.events.EVENT_SCHEMA`, ordered by user and time; `row` is the event id."""
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    engine = read_only_engine(url)
    events = EventRow.__table__
    # The columns every schema revision has, so a memory not yet upgraded can be read too.
    columns = [events.c[name] for name in ("id", "user_id", "kind", "created_at", "data", "direction")]
    wanted = [*KINDS, EventKind.INFERRED.value]
    query = select(*columns).where(events.c.kind.in_(wanted)).order_by(events.c.user_id, events.c.id)
    if user is not None:
        query = query.where(events.c.user_id == user)
    try:
        with engine.connect() as connection:
            return events_table(connection.execution_options(yield_per=CHUNK).execute(query))
    except OperationalError as e:
        raise OptionError(f"--db {redact(engine.url)}: cannot read the service's "
                          f"events ({e.orig})") from None
    finally:
        engine.dispose()


def events_table(rows: Iterable[Any]):
    """The EVENT_SCHEMA table of `rows` (database rows of the events table, or `alignx.serve.memory.Event`s), in
    their order: edits left out, and each inferred event's direction given to the event it explains (the first
    inferred event of each, as the profile counts it)."""
    import pyarrow as pa

    from alignx.dataset.events import EVENT_SCHEMA

    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    inferred: dict[int, list[float]] = {}
    for row in rows:
        kind = EventKind(row.kind)
        if kind is EventKind.INFERRED:
            inferred.setdefault(int(row.data["explains"]), row.direction)
        elif kind.value in KINDS:
            _append(columns, row, KINDS[kind.value])
    # A derived event is written after the event it explains, so directions are filled in afterwards.
    columns["direction"] = [d if d is not None else inferred.get(event_id)
                            for d, event_id in zip(columns["direction"], columns["row"], strict=True)]
    return pa.table(columns, schema=EVENT_SCHEMA)


def _append(columns: dict[str, list[Any]], row: Any, kind: str) -> None:
    data = row.data
    columns["user_id"].append(row.user_id)
    columns["kind"].append(kind)
    columns["post"].append(data.get("prompt"))
    columns["comment"].append(data.get("comment"))
    columns["chosen"].append(data.get("chosen"))
    columns["rejected"].append(data.get("rejected"))
    columns["text"].append(data.get("text"))
    columns["direction"].append(list(row.direction) if row.direction is not None else None)
    columns["timestamp"].append(as_utc(row.created_at))
    columns["row"].append(row.id)
