"""Retention: events (with their deliveries and log), sent or dead emails and audit
records older than each tenant's retention are deleted, by the worker, in short
transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select

from scimhub.db.engine import Database
from scimhub.db.tables import audit_log, emails, events, tenant_settings
from scimhub.events.tenant_settings import (
    DEFAULT_AUDIT_RETENTION_DAYS,
    DEFAULT_EVENT_RETENTION_DAYS,
)


def purge(db: Database, now: datetime | None = None) -> int:
    """Deletes what every tenant's retention lets go; returns how many rows."""
    now = now or datetime.now(UTC)
    with db.read() as conn:
        custom = conn.execute(
            select(
                tenant_settings.c.tenant_id,
                tenant_settings.c.event_retention_days,
                tenant_settings.c.audit_retention_days,
            )
        ).all()
    configured = [r.tenant_id for r in custom]
    deleted = 0
    with db.write() as conn:
        event_default = now - timedelta(days=DEFAULT_EVENT_RETENTION_DAYS)
        audit_default = now - timedelta(days=DEFAULT_AUDIT_RETENTION_DAYS)
        deleted += conn.execute(
            delete(events).where(
                events.c.occurred_at < event_default,
                events.c.feed_seq.is_not(None),
                events.c.tenant_id.not_in(configured),
            )
        ).rowcount
        deleted += conn.execute(
            delete(emails).where(
                emails.c.created_at < event_default,
                emails.c.status != "pending",
                emails.c.tenant_id.not_in(configured),
            )
        ).rowcount
        deleted += conn.execute(
            delete(audit_log).where(
                audit_log.c.at < audit_default,
                or_(audit_log.c.tenant_id.is_(None), audit_log.c.tenant_id.not_in(configured)),
            )
        ).rowcount
        for row in custom:
            cut = now - timedelta(days=row.event_retention_days)
            deleted += conn.execute(
                delete(events).where(
                    events.c.tenant_id == row.tenant_id,
                    events.c.occurred_at < cut,
                    events.c.feed_seq.is_not(None),
                )
            ).rowcount
            deleted += conn.execute(
                delete(emails).where(
                    emails.c.tenant_id == row.tenant_id,
                    emails.c.created_at < cut,
                    emails.c.status != "pending",
                )
            ).rowcount
            deleted += conn.execute(
                delete(audit_log).where(
                    audit_log.c.tenant_id == row.tenant_id,
                    audit_log.c.at < now - timedelta(days=row.audit_retention_days),
                )
            ).rowcount
    return deleted
