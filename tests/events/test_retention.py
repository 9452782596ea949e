"""Retention (events/retention.py): published events and audit records older than their
tenant's retention go; newer ones, unpublished events and other tenants' stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from scimhub.audit.log import Entry, record
from scimhub.db.engine import Database
from scimhub.db.tables import audit_log, events
from scimhub.events import emit
from scimhub.events.retention import purge
from scimhub.events.tenant_settings import update_settings
from scimhub.tenancy.tenants import Tenant

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _event(db: Database, tenant: Tenant, age_days: float, *, published: bool = True) -> str:
    with db.write() as conn:
        id = emit(conn, tenant.id, "user.created", resource_type="User", resource_id="u1")
        moment = NOW - timedelta(days=age_days)
        seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.feed_seq), 0))).scalar()
        conn.execute(
            sa.update(events)
            .where(events.c.id == id)
            .values(occurred_at=moment, feed_seq=(seq or 0) + 1 if published else None)
        )
    return id


def _audit(db: Database, tenant: Tenant, age_days: float) -> None:
    with db.write() as conn:
        record(conn, Entry(operation="create", outcome="success", tenant_id=tenant.id))
        newest = conn.execute(sa.select(sa.func.max(audit_log.c.seq))).scalar()
        moment = NOW - timedelta(days=age_days)
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == newest).values(at=moment))


def _event_ids(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(sa.select(events.c.id)).scalars())


def _audit_ages(db: Database, tenant: Tenant) -> list[int]:
    with db.read() as conn:
        moments = conn.execute(
            sa.select(audit_log.c.at).where(audit_log.c.tenant_id == tenant.id)
        ).scalars()
        return sorted(round((NOW - m).total_seconds() / 86400) for m in moments)


def test_retention_keeps_what_each_tenant_asks_for(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    with db.write() as conn:
        update_settings(conn, other_tenant.id, event_retention_days=7, audit_retention_days=30)
    # Defaults (90 days of events, 365 of audit) for `tenant`.
    kept_default = _event(db, tenant, 60)
    gone_default = _event(db, tenant, 100)
    unpublished = _event(db, tenant, 100, published=False)
    kept_custom = _event(db, other_tenant, 3)
    gone_custom = _event(db, other_tenant, 10)
    for days in (200, 400):
        _audit(db, tenant, days)
    for days in (20, 40):
        _audit(db, other_tenant, days)

    deleted = purge(db, now=NOW)

    left = _event_ids(db)
    assert {kept_default, unpublished, kept_custom} <= left
    assert gone_default not in left and gone_custom not in left
    assert _audit_ages(db, tenant) == [200]
    assert _audit_ages(db, other_tenant) == [20]
    assert deleted >= 4
    # Nothing more to do the second time.
    assert purge(db, now=NOW) == 0
