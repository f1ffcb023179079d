"""The memory as the releases before Alembic made it: users and their append-only events.

Inferred events are rows of the events table (kind `inferred`) naming the event they explain in `data`.
A database these releases made has these tables and no version table; alignx.serve.schema reads it as
this revision.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "alignx_users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alignx_users_key_hash", "alignx_users", ["key_hash"], unique=True)
    op.create_table(
        "alignx_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("alignx_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("direction", sa.JSON, nullable=True),
    )
    op.create_index("ix_alignx_events_user_id", "alignx_events", ["user_id"])


def downgrade() -> None:
    op.drop_table("alignx_events")
    op.drop_table("alignx_users")
