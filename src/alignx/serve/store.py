"""The memory store: users and their append-only, timestamped events in SQLite or PostgreSQL, by SQLAlchemy.

One URL switches SQLite (a file; WAL, busy timeout and `BEGIN IMMEDIATE` writes so concurrent
posts queue instead of failing; one writer at a time, so one process) and PostgreSQL (ordinary
transactions; any number of replicas). Rows are only ever inserted, except that deleting a user
removes every row of that user (derived `inferred` events too: they are rows of the same table,
kind `inferred`, naming the event they explain in `explains`) and that claims on pending work
come and go. The schema is versioned (alignx.serve.schema): opening a database behind this code fails.

What replicas sharing a database rely on is enforced by the database, not checked first: one
inferred event per raw event (a unique index on `explains`), one event per client idempotency key
and user (a unique index), one live claim per event awaiting the annotator (its primary key).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    cast,
    create_engine,
    delete,
    event,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, sessionmaker

from alignx.db_url import redact
from alignx.errors import OptionError, UserError
from alignx.serve.memory import ANNOTATABLE, Event, EventKind

KEY_PREFIX = "axk-"
SQLITE_BUSY_TIMEOUT_MS = 30_000
IDEMPOTENCY_KEY_MAX = 255
# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incrementing rowid.
EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "alignx_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # sha256 of the API key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    __tablename__ = "alignx_events"

    id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("alignx_users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    direction: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    explains: Mapped[int | None] = mapped_column(EVENT_ID, nullable=True)  # inferred events: the raw event's id
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX), nullable=True)

    __table_args__ = (
        Index("ix_alignx_events_explains", "explains", unique=True),
        Index("ix_alignx_events_idempotency", "user_id", "idempotency_key", unique=True),
    )


class ClaimRow(Base):
    """A replica annotating a raw event until `expires_at`; after that another may take the event over."""

    __tablename__ = "alignx_inference_claims"

    event_id: Mapped[int] = mapped_column(EVENT_ID, ForeignKey("alignx_events.id", ondelete="CASCADE"),
                                          primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    created_at: datetime


class UnknownUser(LookupError):
    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(f"no user {user_id!r}")


class IdempotencyConflict(UserError):
    """A client idempotency key that the user already used for a different request."""

    def __init__(self, key: str, stored: Event):
        self.stored = stored
        super().__init__(f"Idempotency-Key {key!r} was used for another request (event {stored.id}); "
                         "send a new key for a new request")


def _explained(session: Session, event_id: int) -> bool:
    """Whether an inferred event explains event `event_id`."""
    return bool(session.scalar(select(exists().where(EventRow.explains == event_id))))


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a fast unsalted hash is enough to keep them unreadable at rest."""
    return hashlib.sha256(key.encode()).hexdigest()


def as_utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def _event(row) -> Event:
    """An Event from an ORM row or a Core row (the same column names)."""
    direction = tuple(row.direction) if row.direction is not None else None
    return Event(row.id, row.user_id, EventKind(row.kind), as_utc(row.created_at), dict(row.data), direction)


def _engines(url: str) -> tuple[Engine, Engine]:
    """(reader, writer). SQLite gets two: plain deferred reads and `BEGIN IMMEDIATE` writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)
        return engine, engine
    if parsed.database in (None, "", ":memory:"):
        raise OptionError(f"--db {url}: an in-memory SQLite database would lose the memory; "
                         "pass a file, e.g. sqlite:///memory.db")

    def sqlite_engine(begin: str) -> Engine:
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is deferred and lazy).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")  # a committed event survives a power loss too
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            # IMMEDIATE takes the write lock up front, so a check-then-insert never hits SQLITE_BUSY_SNAPSHOT;
            # waiting writers queue on busy_timeout instead of failing.
            connection.exec_driver_sql(begin)

        return engine

    return sqlite_engine("BEGIN"), sqlite_engine("BEGIN IMMEDIATE")


class MemoryStore:
    """Users and events behind one SQLAlchemy URL; safe to share between threads."""

    def __init__(self, url: str, *, upgrade: bool = False):
        """Open the memory at `url`: an empty database is created; one at an older schema revision is upgraded
        when `upgrade`, else OptionError names the command that upgrades it (alignx.serve.schema)."""
        from alignx.serve.schema import prepare

        self.url = url
        self.backend = make_url(url).get_backend_name()
        if self.backend not in ("sqlite", "postgresql"):
            raise OptionError(f"--db {redact(url)}: the memory runs on SQLite "
                              f"or PostgreSQL, not {self.backend}")
        self._reader, self._writer = _engines(url)
        try:
            self.migration = prepare(self._writer, upgrade=upgrade)
        except BaseException:
            self.close()
            raise
        self._read = sessionmaker(self._reader, expire_on_commit=False)
        self._write = sessionmaker(self._writer, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.backend == "sqlite" else contextlib.nullcontext()

    def close(self) -> None:
        self._reader.dispose()
        self._writer.dispose()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        # SQLite has one writer at a time anyway; queueing this process's writers on a lock spares them
        # SQLite's busy handler, which sleeps up to 100 ms between retries. Other processes still use busy_timeout.
        with self._write_lock, self._write.begin() as session:
            yield session

    def ping(self) -> None:
        with self._read() as session:
            session.execute(select(1))

    # ------------------------------------------------------------ users

    def create_user(self, name: str) -> tuple[User, str]:
        """A new user and its API key (shown once; only its hash is stored)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = UserRow(id=uuid.uuid4().hex, name=name, key_hash=hash_key(key), created_at=datetime.now(timezone.utc))
        with self._writing() as session:
            session.add(row)
        return User(row.id, row.name, row.created_at), key

    def user_for_key(self, key: str) -> User | None:
        with self._read() as session:
            row = session.scalar(select(UserRow).where(UserRow.key_hash == hash_key(key)))
            return User(row.id, row.name, as_utc(row.created_at)) if row else None

    def get_user(self, user_id: str) -> User | None:
        with self._read() as session:
            row = session.get(UserRow, user_id)
            return User(row.id, row.name, as_utc(row.created_at)) if row else None

    def delete_user(self, user_id: str) -> int:
        """Remove the user and every event of theirs; the number of rows removed (0: no such user)."""
        with self._writing() as session:
            events = session.execute(delete(EventRow).where(EventRow.user_id == user_id)).rowcount
            users = session.execute(delete(UserRow).where(UserRow.id == user_id)).rowcount
        return events + users if users else 0

    # ------------------------------------------------------------ events

    def append(self, user_id: str, kind: EventKind, data: dict[str, Any],
               direction: Sequence[float] | None = None) -> Event:
        """Store one event stamped now (UTC); UnknownUser if the user does not exist (or was just deleted)."""
        return self.append_once(user_id, kind, data, direction)[0]

    def append_once(self, user_id: str, kind: EventKind, data: dict[str, Any],
                    direction: Sequence[float] | None = None, *, idempotency_key: str | None = None
                    ) -> tuple[Event, bool]:
        """Store one event as `append` does; (event, True). With `idempotency_key`, a key the user already sent
        stores nothing and gives (the stored event, False), or IdempotencyConflict when that event is another
        request's. Two posts racing with one key store one event: the database's unique index decides."""
        kind = EventKind(kind)
        sent = tuple(float(v) for v in direction) if direction is not None else None
        row = EventRow(user_id=user_id, kind=kind.value, created_at=datetime.now(timezone.utc), data=data,
                       direction=list(sent) if sent is not None else None, idempotency_key=idempotency_key)
        try:
            with self._writing() as session:
                if session.get(UserRow, user_id) is None:
                    raise UnknownUser(user_id)
                if idempotency_key is None or (stored := self._keyed(session, user_id, idempotency_key)) is None:
                    session.add(row)
                    session.flush()  # assigns the id inside the transaction
                    return _event(row), True
        except IntegrityError:
            if idempotency_key is None:
                raise
            with self._read() as session:  # a post with the same key committed between our check and insert
                stored = self._keyed(session, user_id, idempotency_key)
            if stored is None:
                raise
        if (stored.kind, stored.data, stored.direction) != (kind, data, sent):
            raise IdempotencyConflict(idempotency_key, stored)
        return stored, False

    @staticmethod
    def _keyed(session: Session, user_id: str, key: str) -> Event | None:
        row = session.scalar(select(EventRow).where(EventRow.user_id == user_id, EventRow.idempotency_key == key))
        return _event(row) if row is not None else None

    def events(self, user_id: str, *, kind: EventKind | None = None, after: int = 0,
               limit: int | None = None) -> list[Event]:
        """The user's events in the order they were stored (ids ascending), after event id `after`."""
        # Core rows, not ORM instances: a profile reads every event of the user, and this is several times faster.
        events = EventRow.__table__
        query = select(events).where(events.c.user_id == user_id, events.c.id > after).order_by(events.c.id)
        if kind is not None:
            query = query.where(events.c.kind == EventKind(kind).value)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [_event(row) for row in session.execute(query)]

    def count(self, user_id: str, kind: EventKind | None = None) -> int:
        query = select(func.count()).select_from(EventRow).where(EventRow.user_id == user_id)
        if kind is not None:
            query = query.where(EventRow.kind == EventKind(kind).value)
        with self._read() as session:
            return int(session.scalar(query) or 0)

    # ------------------------------------------------------------ derived events

    def pending_inference(self) -> list[Event]:
        """Every user's feedback and content events stored without a direction that no inferred event explains
        yet and no replica has a live claim on, ids ascending: what an annotator still has to do (after a
        restart, or a replica that died)."""
        raw, derived, claims = EventRow.__table__, aliased(EventRow), ClaimRow.__table__
        now = datetime.now(timezone.utc)
        # A missing direction is a JSON null (what the ORM writes for None) or, written otherwise, an SQL NULL.
        query = (select(raw)
                 .where(raw.c.kind.in_([k.value for k in ANNOTATABLE]),
                        or_(raw.c.direction.is_(None), cast(raw.c.direction, Text) == "null"),
                        ~exists().where(derived.explains == raw.c.id),
                        ~exists().where(claims.c.event_id == raw.c.id, claims.c.expires_at > now))
                 .order_by(raw.c.id))
        with self._read() as session:
            return [e for e in map(_event, session.execute(query)) if e.needs_inference]

    def claim(self, events: Sequence[Event], worker: str, seconds: float) -> list[Event]:
        """Those of `events` that `worker` may annotate now, each claimed for `seconds`: the ones no inferred
        event explains and no other worker holds a live claim on (an expired claim is taken over)."""
        if not events:
            return []
        from sqlalchemy.dialects import postgresql, sqlite

        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[self.backend]
        now = datetime.now(timezone.utc)
        expires = now + timedelta(seconds=seconds)
        ids = [e.id for e in events]
        with self._writing() as session:
            explained = set(session.scalars(select(EventRow.explains).where(EventRow.explains.in_(ids))))
            open_ids = [i for i in ids if i not in explained]
            if not open_ids:
                return []
            statement = insert(ClaimRow).values([{"event_id": i, "worker": worker, "expires_at": expires}
                                                 for i in open_ids])
            # The upsert takes a free or expired claim and leaves a live one alone, atomically per row.
            statement = statement.on_conflict_do_update(
                index_elements=[ClaimRow.event_id],
                set_={"worker": statement.excluded.worker, "expires_at": statement.excluded.expires_at},
                where=or_(ClaimRow.expires_at <= now, ClaimRow.worker == worker),
            ).returning(ClaimRow.event_id)
            claimed = set(session.scalars(statement))
        return [e for e in events if e.id in claimed]

    def append_inferred(self, explains: Event, annotator: str, direction: Sequence[float],
                        confidence: Sequence[float] | None = None) -> Event | None:
        """Store the derived event giving `explains` (a direction-less feedback or content event) the inferred
        `direction`, and drop the claim on it; None, storing nothing, when an inferred event already explains
        it (another replica's, even one racing this insert) or its user is gone."""
        data: dict[str, Any] = {"explains": explains.id, "annotator": annotator}
        if confidence is not None:
            data["confidence"] = [round(float(c), 4) for c in confidence]
        row = EventRow(user_id=explains.user_id, kind=EventKind.INFERRED.value, explains=explains.id,
                       created_at=datetime.now(timezone.utc), data=data, direction=[float(v) for v in direction])
        try:
            with self._writing() as session:
                if session.get(UserRow, explains.user_id) is None:
                    return None
                if _explained(session, explains.id):
                    return None
                session.add(row)
                session.flush()
                session.execute(delete(ClaimRow).where(ClaimRow.event_id == explains.id))
                return _event(row)
        except IntegrityError:  # the unique index on `explains`, when another replica stored its explanation first
            with self._read() as session:
                if _explained(session, explains.id):
                    return None
            raise
