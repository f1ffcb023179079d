"""The memory database's schema version: the Alembic revisions in alignx/serve/migrations, checked at every open.

An empty database is created at the newest revision. A database at an older one, or one a release before Alembic
made (its tables but no version table: revision 0001), is upgraded only when asked (`alignx db upgrade --db URL`,
or `alignx serve --db-upgrade`); otherwise opening it fails with one line naming that command, so no code runs on
a schema it was not written for. Checking and migrating happen under a lock (PostgreSQL: a transaction-scoped
advisory lock; SQLite: BEGIN IMMEDIATE), so replicas that start together create or upgrade a database once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from alignx.db_url import redact
from alignx.errors import OptionError

VERSION_TABLE = "alignx_schema_version"
FIRST = "0001"  # what the releases before Alembic made
PRE_ALEMBIC_TABLE = "alignx_events"
_ADVISORY_LOCK = 0x616C69676E78  # b"alignx": one lock id for every alignx process on a PostgreSQL database


@dataclass(frozen=True)
class Migration:
    before: str | None  # None: the database was empty
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("alignx.serve").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts():
    """The revisions shipped with this code (read from their files once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The revision this code is written for."""
    return _scripts().get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The database's revision: its version table's, FIRST for a pre-Alembic database, None for an empty one."""
    from alembic.runtime.migration import MigrationContext

    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables:
        return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    return FIRST if PRE_ALEMBIC_TABLE in tables else None


def _problem(current: str | None, shown_url: str) -> tuple[bool, str] | None:
    """Why code at head() cannot use a database at `current`, and whether upgrading mends it; None when it can
    (an empty database is created)."""
    wanted = head()
    if current is None or current == wanted:
        return None
    known = {script.revision for script in _scripts().walk_revisions()}
    if current not in known:
        return False, (f"--db {shown_url}: the memory is at schema revision {current}, which this alignx does not "
                       f"know (it needs {wanted}); a newer alignx wrote it, so run that one")
    return True, (f"--db {shown_url}: the memory is at schema revision {current} and this alignx needs {wanted}; "
                  f"upgrade it with `alignx db upgrade --db {shown_url}` (or start alignx serve with --db-upgrade)")


def prepare(writer: Engine, *, upgrade: bool) -> Migration:
    """Bring the database `writer` opens to head(): create it when empty, upgrade it when `upgrade`; OptionError
    when it is behind and not `upgrade`, or ahead of this code. `writer` must begin transactions that write (the
    store's SQLite writer begins IMMEDIATE)."""
    from alembic import command

    shown_url = redact(writer.url)
    with writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        before = current_revision(connection)
        problem = _problem(before, shown_url)
        if problem is not None and not (upgrade and problem[0]):
            raise OptionError(problem[1])
        if before != head():
            config = _config(connection)
            if before == FIRST and not inspect(connection).has_table(VERSION_TABLE):
                command.stamp(config, FIRST)  # a pre-Alembic database: its tables are revision 0001's
            command.upgrade(config, "head")
    return Migration(before, head())
