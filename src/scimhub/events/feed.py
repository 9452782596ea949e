"""The pull feed: a tenant's published events in feed order, after a cursor.

The cursor is the `sequence` of the last event the reader handled (as a string); events
get their sequence when the dispatcher publishes them, in commit order, so a reader that
has seen n never later finds a smaller one appear. Kept for the tenant's event
retention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from scimhub.db.tables import events
from scimhub.tenancy.errors import InvalidInput

MAX_LIMIT = 1000


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isdigit() or len(after) > 18:
        raise InvalidInput(
            f"invalid cursor {after!r}: use a previous next_cursor", code="invalid_cursor"
        )
    return int(after)


def read_feed(
    conn: Connection,
    tenant_id: str,
    after: int,
    limit: int,
    types: tuple[str, ...] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(events, next cursor) for up to `limit` events after `after`."""
    q = (
        select(events.c.feed_seq, events.c.payload)
        .where(
            events.c.tenant_id == tenant_id,
            events.c.feed_seq.is_not(None),
            events.c.feed_seq > after,
        )
        .order_by(events.c.feed_seq)
        .limit(limit)
    )
    if types:
        q = q.where(events.c.type.in_(types))
    rows = conn.execute(q).all()
    out = [{**r.payload, "sequence": r.feed_seq} for r in rows]
    if rows:
        return out, int(rows[-1].feed_seq)
    if types:
        # Nothing of these types: move the cursor past what was looked at, so the next
        # poll does not scan it again.
        top = conn.execute(
            select(func.max(events.c.feed_seq)).where(
                events.c.tenant_id == tenant_id, events.c.feed_seq.is_not(None)
            )
        ).scalar()
        return out, max(after, int(top or 0))
    return out, after
