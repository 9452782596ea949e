"""Writing the audit trail. One prebuilt INSERT per record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from scimhub.db.engine import Database
from scimhub.db.prepared import Prepared
from scimhub.db.tables import audit_log, tenants
from scimhub.resources.changes import NOBODY, Change, Origin

log = logging.getLogger("scimhub.audit")

# Every SCIM write runs it: compiled once, sent straight to the driver (db/prepared.py).
_INSERT = Prepared(
    insert(audit_log),
    keys=(
        *("tenant_id", "at", "source", "provider", "actor", "request_id", "user_agent"),
        *("operation", "resource_type", "resource_id", "before", "after", "outcome"),
        *("status", "error"),
    ),
)

# Attribute names whose values never enter the audit trail (compared case-insensitively).
SECRET_NAMES = frozenset({"password", "secret", "token", "client_secret", "api_key", "apikey"})
REDACTED = "[redacted]"


def stored_text(value: str) -> str:
    # PostgreSQL refuses U+0000 in text and jsonb; a refused request may well carry one.
    return value.replace("\x00", "\ufffd")


def redact(value: Any) -> Any:
    """A copy with every secret-named attribute's value replaced, at any depth (and
    U+0000 replaced, which PostgreSQL cannot store)."""
    # Runs over every SCIM write's before and after: the checks are inlined.
    if isinstance(value, str):
        return value if "\x00" not in value else value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k if type(k) is str and "\x00" not in k else stored_text(str(k))
            out[key] = REDACTED if key.lower() in SECRET_NAMES else redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Entry:
    operation: str
    outcome: str  # "success" | "refused" | "failed"
    tenant_id: str | None = None
    source: str = "scim"
    origin: Origin = NOBODY
    resource_type: str | None = None
    resource_id: str | None = None
    before: Any = None
    after: Any = None
    status: int | None = None
    error: str | None = None


def _row(entry: Entry, now: datetime) -> dict[str, Any]:
    origin = entry.origin

    def clean(value: str | None, limit: int) -> str | None:
        return stored_text(value[:limit]) if value else None

    return {
        "tenant_id": entry.tenant_id,
        "at": now,
        "source": entry.source,
        "provider": clean(origin.provider, 63),
        "actor": clean(origin.actor, 200),
        "request_id": clean(origin.request_id, 64),
        "user_agent": clean(origin.user_agent, 500),
        "operation": stored_text(entry.operation),
        "resource_type": entry.resource_type,
        "resource_id": clean(entry.resource_id, 64),
        "before": redact(entry.before),
        "after": redact(entry.after),
        "outcome": entry.outcome,
        "status": entry.status,
        "error": clean(entry.error, 2000),
    }


def record(conn: Connection, entry: Entry) -> None:
    """Records on the caller's connection (its transaction)."""
    _INSERT.execute(conn, _row(entry, datetime.now(UTC)))


_OPERATION = {"create": "create", "replace": "replace", "patch": "patch", "delete": "delete"}


class AuditObserver:
    """The `ChangeObserver` auditing every SCIM write, in the write's transaction."""

    def __call__(self, conn: Connection, change: Change) -> None:
        record(
            conn,
            Entry(
                operation=_OPERATION[change.action],
                outcome="success",
                tenant_id=change.tenant_id,
                origin=change.origin,
                resource_type=change.rt.name,
                resource_id=change.id,
                before=change.before.data if change.before else None,
                after=change.after.data if change.after else None,
                status=None,
            ),
        )


def tenant_id_of(conn: Connection, slug: str) -> str | None:
    if not isinstance(slug, str) or not slug or len(slug) > 63 or "\x00" in slug:
        return None
    found = conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).scalar()
    return str(found) if found is not None else None


def record_detached(db: Database, entry: Entry, *, tenant_slug: str | None = None) -> None:
    """Records a refused or failed request in its own short transaction (the request's
    rolled back). Best effort: a failure to record is logged, never raised, so it can
    never turn the client's 4xx into a 500. Requests to a tenant that does not exist
    are not recorded (there is nobody to show them to)."""
    try:
        with db.write() as conn:
            tenant_id = entry.tenant_id
            if tenant_id is None and tenant_slug is not None:
                tenant_id = tenant_id_of(conn, tenant_slug)
                if tenant_id is None:
                    return
            _INSERT.execute(conn, _row(_with_tenant(entry, tenant_id), datetime.now(UTC)))
    except Exception:
        log.exception("could not record a refused request in the audit trail")


def _with_tenant(entry: Entry, tenant_id: str | None) -> Entry:
    return replace(entry, tenant_id=tenant_id)
