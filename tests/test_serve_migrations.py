"""The memory's schema versions (Alembic): a database the releases before Alembic made is refused with one line
naming the upgrade, then upgraded in place on SQLite and PostgreSQL with every row and every profile kept; the
migrations make exactly the schema the code declares; a database ahead of the code is refused."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ADMIN, make_direction
from typer.testing import CliRunner

from alignx.cli import app as cli
from alignx.errors import OptionError
from alignx.serve.memory import Event, EventKind, build_profile
from alignx.serve.schema import FIRST, VERSION_TABLE, current_revision, head
from alignx.serve.store import Base, MemoryStore

OLD_SCHEMA = Path(__file__).parent / "data" / "memory_schema_before_alembic.{}.sql"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
TABLES = ("alignx_users", "alignx_events")


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url)


def old_memory(url: str) -> dict[str, list[Event]]:
    """A database as the release before Alembic left it: its DDL, two users, every event kind, and (as two processes
    racing could store) a second inferred event for an event already explained. The events of each user."""
    engine = engine_for(url)
    users = sa.table("alignx_users", sa.column("id"), sa.column("name"), sa.column("key_hash"),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    events = sa.table("alignx_events", sa.column("user_id"), sa.column("kind"),
                      sa.column("created_at", sa.DateTime(timezone=True)), sa.column("data", sa.JSON),
                      sa.column("direction", sa.JSON))
    rows = [  # (user, kind, data, direction)
        ("ann", "feedback", {"prompt": "p1", "chosen": "short", "rejected": "long"}, make_direction(d16=1)),
        ("ann", "content", {"prompt": "p2", "comment": "ha, a joke"}, None),
        ("ann", "inferred", {"explains": 2, "annotator": "local:old"}, make_direction(d73=1)),
        ("ann", "inferred", {"explains": 2, "annotator": "local:old"}, make_direction(d73=0)),  # the race's loser
        ("ann", "edit", {"set": {"3": 1.0}}, None),
        ("ann", "demographic", {"text": "a nurse"}, None),
        ("bob", "feedback", {"prompt": "p3", "chosen": "long", "rejected": "short"}, make_direction(d16=0)),
        ("bob", "feedback", {"prompt": "p4", "chosen": "a", "rejected": "b"}, None),  # still to be explained
    ]
    dialect = sa.engine.make_url(url).get_backend_name()
    with engine.begin() as conn:
        ddl = OLD_SCHEMA.with_name(OLD_SCHEMA.name.format(dialect)).read_text()
        for statement in "\n".join(line for line in ddl.splitlines() if not line.startswith("--")).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        conn.execute(users.insert(), [{"id": name, "name": name, "key_hash": f"hash-{name}", "created_at": T0}
                                      for name in ("ann", "bob")])
        conn.execute(events.insert(), [
            {"user_id": user, "kind": kind, "created_at": T0 + timedelta(minutes=i), "data": data,
             "direction": direction} for i, (user, kind, data, direction) in enumerate(rows, start=1)])  # ids 1, 2, ...
    engine.dispose()
    out: dict[str, list[Event]] = {"ann": [], "bob": []}
    for i, (user, kind, data, direction) in enumerate(rows, start=1):
        out[user].append(Event(i, user, EventKind(kind), T0 + timedelta(minutes=i), data,
                               tuple(direction) if direction is not None else None))
    return out


def counts(url: str) -> dict[str, int]:
    engine = engine_for(url)
    with engine.connect() as conn:
        out = {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() for table in TABLES}
    engine.dispose()
    return out


def revision(url: str) -> str | None:
    engine = engine_for(url)
    with engine.connect() as conn:
        out = current_revision(conn)
    engine.dispose()
    return out


def schema_differences(url: str) -> list:
    """What Alembic's autogenerate would change to make the database match the code's tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = engine_for(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, kind, parent: name != VERSION_TABLE, "compare_type": True})
        out = compare_metadata(context, Base.metadata)
    engine.dispose()
    return out


def test_an_older_memory_is_refused_then_upgraded_in_place_with_rows_and_profiles_kept(db_url, monkeypatch):
    before = old_memory(db_url)
    profiles = {user: build_profile(events, guarded=(40, 42, 43)).to_json() for user, events in before.items()}
    stored = counts(db_url)
    assert revision(db_url) == FIRST != head()

    with pytest.raises(OptionError, match=r"schema revision 0001 and this alignx needs 0002; upgrade it with "
                                          r"`alignx db upgrade --db .*` \(or start alignx serve with --db-upgrade\)"):
        MemoryStore(db_url)
    monkeypatch.setenv("ALIGNX_ADMIN_TOKEN", ADMIN)
    refused = CliRunner().invoke(cli, ["serve", "--no-chat", "--db", db_url])
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1
    assert "alignx db upgrade --db" in refused.output
    assert revision(db_url) == FIRST and counts(db_url) == stored  # refusing changed nothing

    upgraded = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "upgraded from schema revision 0001 to 0002" in upgraded.output
    assert revision(db_url) == head() and counts(db_url) == stored
    assert schema_differences(db_url) == []

    store = MemoryStore(db_url)
    try:
        for user, events in before.items():
            after = store.events(user)
            assert after == events  # every row, every field
            assert build_profile(after, guarded=(40, 42, 43)).to_json() == profiles[user]
        # The first explanation of event 2 is the one the upgrade marks; the loser keeps its row, unmarked.
        assert store.append_inferred(before["ann"][1], "local:new", make_direction(d73=1)) is None
        assert [e.id for e in store.pending_inference()] == [8]  # bob's direction-less feedback only
        assert store.append_inferred(before["bob"][1], "local:new", make_direction(d16=1)) is not None
        assert store.pending_inference() == []
    finally:
        store.close()
    again = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert again.exit_code == 0 and "already at schema revision 0002" in again.output


def test_serve_db_upgrade_upgrades_before_serving(db_url):
    old_memory(db_url)
    store = MemoryStore(db_url, upgrade=True)
    store.close()
    assert (store.migration.before, store.migration.after) == (FIRST, head())
    assert revision(db_url) == head()


def test_a_new_memory_is_made_by_the_migrations_exactly_as_the_code_declares_it(db_url):
    store = MemoryStore(db_url)
    store.close()
    assert (store.migration.before, store.migration.after) == (None, head())
    assert schema_differences(db_url) == []
    reopened = MemoryStore(db_url)  # at head: opens without asking for an upgrade
    reopened.close()
    assert not reopened.migration.changed


def test_a_memory_ahead_of_the_code_is_refused(db_url):
    MemoryStore(db_url).close()
    engine = engine_for(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    for upgrade in (False, True):
        with pytest.raises(OptionError, match="schema revision 9999, which this alignx does not know"):
            MemoryStore(db_url, upgrade=upgrade)
