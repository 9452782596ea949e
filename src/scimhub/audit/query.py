"""Reading the audit trail: by time, resource, actor and outcome, newest first, with a
cursor (the `seq` of the last record seen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from scimhub.db.tables import audit_log

MAX_LIMIT = 1000
OUTCOMES = ("success", "refused", "failed")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    since: datetime | None = None
    until: datetime | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    actor: str | None = None
    outcome: str | None = None
    source: str | None = None
    # The `seq` of the last record of the previous page: older records follow.
    before: int | None = None
    limit: int = 100


def query(
    conn: Connection, tenant_id: str, q: AuditQuery
) -> tuple[list[dict[str, Any]], int | None]:
    """(records, cursor of the next page or None)."""
    stmt = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if q.since is not None:
        stmt = stmt.where(audit_log.c.at >= q.since)
    if q.until is not None:
        stmt = stmt.where(audit_log.c.at < q.until)
    if q.resource_type is not None:
        stmt = stmt.where(audit_log.c.resource_type == q.resource_type)
    if q.resource_id is not None:
        stmt = stmt.where(audit_log.c.resource_id == q.resource_id)
    if q.actor is not None:
        stmt = stmt.where(audit_log.c.actor == q.actor)
    if q.outcome is not None:
        stmt = stmt.where(audit_log.c.outcome == q.outcome)
    if q.source is not None:
        stmt = stmt.where(audit_log.c.source == q.source)
    if q.before is not None:
        stmt = stmt.where(audit_log.c.seq < q.before)
    rows = conn.execute(stmt.order_by(audit_log.c.seq.desc()).limit(q.limit + 1)).all()
    more = len(rows) > q.limit
    out = [dict(r._mapping) for r in rows[: q.limit]]
    for record in out:
        record.pop("tenant_id", None)
    return out, (int(out[-1]["seq"]) if more else None)
