"""Alembic's entry point for the memory schema: run on the connection `alignx.serve.schema` hands over.

The caller opens the transaction and holds the lock (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE),
so two replicas starting at once on an empty or older database migrate it once.
"""

from alembic import context

from alignx.serve.schema import VERSION_TABLE

context.configure(connection=context.config.attributes["connection"], version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
