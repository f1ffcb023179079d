"""Several replicas on one database: one inferred event per raw event, idempotent posts, claims on pending work.

- `alignx_events.explains`: the raw event an inferred event explains, unique, so a second replica's insert
  fails instead of storing a second explanation. Filled from `data.explains` for the inferred events already
  stored: the first per raw event gets it; a later duplicate (two processes raced before this revision) keeps
  NULL and its row, and the profile, which counts the first explanation only, is unchanged.
- `alignx_events.idempotency_key`: a client's key for a post, unique per user, so a retried post is stored once.
- `alignx_inference_claims`: which replica is annotating an event, until when.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

EVENT_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("alignx_events", sa.Column("explains", EVENT_ID, nullable=True))
    op.add_column("alignx_events", sa.Column("idempotency_key", sa.String(255), nullable=True))
    events = sa.table("alignx_events", sa.column("id", EVENT_ID), sa.column("kind", sa.String),
                      sa.column("data", sa.JSON), sa.column("explains", EVENT_ID))
    explained = events.c.data["explains"].as_integer()
    first = sa.select(sa.func.min(events.c.id)).where(events.c.kind == "inferred").group_by(explained)
    op.execute(events.update().where(events.c.kind == "inferred", events.c.id.in_(first)).values(explains=explained))
    op.create_index("ix_alignx_events_explains", "alignx_events", ["explains"], unique=True)
    op.create_index("ix_alignx_events_idempotency", "alignx_events", ["user_id", "idempotency_key"], unique=True)
    op.create_table(
        "alignx_inference_claims",
        sa.Column("event_id", EVENT_ID, sa.ForeignKey("alignx_events.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alignx_inference_claims")
    op.drop_index("ix_alignx_events_idempotency", "alignx_events")
    op.drop_index("ix_alignx_events_explains", "alignx_events")
    op.drop_column("alignx_events", "idempotency_key")
    op.drop_column("alignx_events", "explains")
