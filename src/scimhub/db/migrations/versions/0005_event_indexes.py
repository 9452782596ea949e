"""The outbox's indexes cover published events only.

Every SCIM write inserts its events with no feed sequence; the dispatcher gives them one
later, in batches. The indexes on `feed_seq`, `(tenant_id, feed_seq)` and `occurred_at`
serve the feed, subscribers and retention, which read published events only: as partial
indexes (`WHERE feed_seq IS NOT NULL`) they are written when the dispatcher publishes a
batch, not by each write. A partial index on `seq` over unpublished events is the
dispatcher's queue. `uq_events_id` goes: nothing looks an event up by id, and its
random keys cost every write a page at a random place in the index. A SCIM create
touched five B-trees of `events`, now two (docs/benchmarks.md, "POST /Users").

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = ("uq_events_id", "uq_events_feed_seq", "ix_events_tenant_feed_seq", "ix_events_occurred_at")


def _partial(published: bool) -> dict[str, Any]:
    where = sa.text("feed_seq IS NOT NULL" if published else "feed_seq IS NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    for name in _OLD:
        op.drop_index(name, table_name="events")
    op.create_index("uq_events_feed_seq", "events", ["feed_seq"], unique=True, **_partial(True))
    op.create_index(
        "ix_events_tenant_feed_seq", "events", ["tenant_id", "feed_seq"], **_partial(True)
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"], **_partial(True))
    op.create_index("ix_events_unpublished", "events", ["seq"], **_partial(False))


def downgrade() -> None:
    for name in ("uq_events_feed_seq", "ix_events_tenant_feed_seq", "ix_events_occurred_at"):
        op.drop_index(name, table_name="events")
    op.drop_index("ix_events_unpublished", table_name="events")
    op.create_index("uq_events_id", "events", ["id"], unique=True)
    op.create_index("uq_events_feed_seq", "events", ["feed_seq"], unique=True)
    op.create_index("ix_events_tenant_feed_seq", "events", ["tenant_id", "feed_seq"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
