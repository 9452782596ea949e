"""Publishing: committed outbox rows get their feed sequence and fan out to webhook
deliveries and emails, in one short write transaction per batch.

One dispatcher runs at a time (on PostgreSQL an advisory transaction lock; on SQLite the
write lock), so feed sequence numbers are handed out in commit order: a feed reader or a
subscriber that has seen `feed_seq` n never later finds a smaller one appear. Events of
one resource were committed in order (their writes lock the resource's row), so they
are published in order too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update

from scimhub.db.engine import Database
from scimhub.db.prepared import Prepared
from scimhub.db.tables import deliveries, emails, events
from scimhub.events import kinds
from scimhub.events.endpoints import all_enabled
from scimhub.events.tenant_settings import TenantSettings, get_settings
from scimhub.settings import Settings

BATCH = 500
# Any constant: the key of the dispatcher's advisory lock on PostgreSQL.
_LOCK_KEY = 0x5C1A_0B0E


# The round's statements go straight to the driver (db/prepared.py): through
# SQLAlchemy's execute path they cost ~0.3 ms each here, most of a round's work.
def _queue(*columns: Any, limit: int = BATCH) -> Prepared:
    """The oldest `limit` unpublished events, with these columns."""
    return Prepared(
        select(*columns).where(events.c.feed_seq.is_(None)).order_by(events.c.seq).limit(limit)
    )


_PENDING = _queue(events.c.seq, limit=1)
_EVENT_KEYS = (events.c.seq, events.c.id, events.c.tenant_id, events.c.type, events.c.resource_key)
_UNPUBLISHED = _queue(*_EVENT_KEYS)
# With email configured, the payloads too (emails_for reads them); decoding every
# payload costs more than publishing the event, so only then.
_UNPUBLISHED_WITH_PAYLOAD = _queue(*_EVENT_KEYS, events.c.payload)
# `IS NOT NULL` lets the planner use the partial index over published events.
_TOP = Prepared(select(func.max(events.c.feed_seq)).where(events.c.feed_seq.is_not(None)))
_PUBLISH = Prepared(
    update(events)
    .where(events.c.seq == bindparam("b_seq"))
    .values(feed_seq=bindparam("b_feed_seq"))
)
_INSERT_DELIVERY = insert(deliveries)
_INSERT_EMAIL = insert(emails)


def _recipient(user: dict[str, Any] | None) -> str | None:
    """A user's primary email, else its first one."""
    found = [e for e in (user or {}).get("emails") or () if isinstance(e, dict) and e.get("value")]
    primary = [e for e in found if e.get("primary") is True]
    chosen = primary or found
    return str(chosen[0]["value"]) if chosen else None


def emails_for(event: dict[str, Any], tenant: TenantSettings) -> list[tuple[str, str]]:
    """(template, recipient) of each email an event causes under the tenant's settings."""
    kind = event["type"]
    out: list[tuple[str, str]] = []
    if kind == kinds.USER_CREATED:
        to = _recipient(event.get("data"))
        if to and tenant.welcome_email:
            out.append(("welcome", to))
        if to and tenant.sso_ready_email:
            out.append(("sso_ready", to))
    elif kind in (kinds.TOKEN_CREATED, kinds.TOKEN_REGENERATED):
        out.extend(("token_created", to) for to in tenant.admin_emails)
    elif kind == kinds.TOKEN_REVOKED:
        out.extend(("token_revoked", to) for to in tenant.admin_emails)
    return out


def dispatch(db: Database, settings: Settings) -> int:
    """Publishes up to one batch of committed events; returns how many."""
    with db.read() as conn:  # the common case, nothing to do, takes no write lock
        if _PENDING.first(conn, {}) is None:
            return 0
    now = datetime.now(UTC)
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        rows = (_UNPUBLISHED_WITH_PAYLOAD if settings.smtp_host else _UNPUBLISHED).all(conn, {})
        if not rows:
            return 0
        top = int(_TOP.first(conn, {})[0] or 0)
        tenant_ids = {r.tenant_id for r in rows}
        endpoints = all_enabled(conn, tenant_ids)
        tenant_settings = (
            {t: get_settings(conn, t) for t in tenant_ids} if settings.smtp_host else {}
        )
        published: list[dict[str, Any]] = []
        new_deliveries: list[dict[str, Any]] = []
        new_emails: list[dict[str, Any]] = []
        for n, row in enumerate(rows, start=1):
            feed_seq = top + n
            published.append({"b_seq": row.seq, "b_feed_seq": feed_seq})
            for endpoint in endpoints[row.tenant_id]:
                if endpoint.wants(row.type):
                    new_deliveries.append(
                        {
                            "endpoint_id": endpoint.id,
                            "event_seq": row.seq,
                            "feed_seq": feed_seq,
                            "resource_key": row.resource_key or row.id,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
            if row.tenant_id in tenant_settings:
                for template, to in emails_for(row.payload, tenant_settings[row.tenant_id]):
                    new_emails.append(
                        {
                            "tenant_id": row.tenant_id,
                            "event_id": row.id,
                            "template": template,
                            "recipient": to,
                            "context": row.payload,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        _PUBLISH.executemany(conn, published)
        if new_deliveries:
            conn.execute(_INSERT_DELIVERY, new_deliveries)
        if new_emails:
            conn.execute(_INSERT_EMAIL, new_emails)
    return len(rows)
