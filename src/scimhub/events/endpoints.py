"""Webhook endpoints: per tenant, each with its own secret and event filter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from scimhub.db.prepared import Prepared
from scimhub.db.tables import webhook_endpoints
from scimhub.events.kinds import KINDS
from scimhub.events.signing import new_secret
from scimhub.tenancy.errors import InvalidInput, NotFound

MAX_URL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    tenant_id: str
    url: str
    secret: str
    # None: every event type.
    event_types: tuple[str, ...] | None
    enabled: bool
    description: str | None
    created_at: datetime
    created_by: str | None

    def wants(self, event_type: str) -> bool:
        return self.enabled and (self.event_types is None or event_type in self.event_types)


def _endpoint(row: Row[Any]) -> Endpoint:
    types = row.event_types
    return Endpoint(
        id=row.id,
        tenant_id=row.tenant_id,
        url=row.url,
        secret=row.secret,
        event_types=tuple(types) if types is not None else None,
        enabled=bool(row.enabled),
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def check_url(url: object) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url: an http(s) URL is required", code="invalid_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"url: not an http(s) URL: {url!r}", code="invalid_url")
    return url


def check_types(types: object) -> tuple[str, ...] | None:
    if types is None:
        return None
    if not isinstance(types, (list, tuple)) or not types:
        raise InvalidInput("events: a non-empty list of event types", code="invalid_event_type")
    unknown = [t for t in types if t not in KINDS]
    if unknown:
        raise InvalidInput(
            f"events: unknown event type(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(KINDS)}",
            code="invalid_event_type",
        )
    return tuple(dict.fromkeys(types))


def add_endpoint(
    conn: Connection,
    tenant_id: str,
    url: str,
    *,
    event_types: list[str] | tuple[str, ...] | None = None,
    description: str | None = None,
    created_by: str | None = None,
) -> Endpoint:
    endpoint = Endpoint(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        url=check_url(url),
        secret=new_secret(),
        event_types=check_types(event_types),
        enabled=True,
        description=description,
        created_at=datetime.now(UTC),
        created_by=created_by,
    )
    conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint.id,
            tenant_id=tenant_id,
            url=endpoint.url,
            secret=endpoint.secret,
            event_types=list(endpoint.event_types) if endpoint.event_types else None,
            enabled=True,
            description=description,
            created_at=endpoint.created_at,
            created_by=created_by,
        )
    )
    return endpoint


def get_endpoint(conn: Connection, tenant_id: str, endpoint_id: str) -> Endpoint:
    """NotFound ("webhook_not_found") unless the tenant has this endpoint."""
    row = None
    if isinstance(endpoint_id, str) and 0 < len(endpoint_id) <= 36 and "\x00" not in endpoint_id:
        row = conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.id == endpoint_id,
                webhook_endpoints.c.tenant_id == tenant_id,
            )
        ).first()
    if row is None:
        raise NotFound(
            f"no webhook endpoint {endpoint_id!r} in this tenant", code="webhook_not_found"
        )
    return _endpoint(row)


def list_endpoints(conn: Connection, tenant_id: str) -> list[Endpoint]:
    rows = conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.tenant_id == tenant_id)
        .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
    )
    return [_endpoint(r) for r in rows]


# Sent straight to the driver (db/prepared.py): the worker asks on every round that
# publishes, and SQLAlchemy's execute path cost more than the rest of the round.
_ENABLED_OF_TENANT = Prepared(
    select(webhook_endpoints).where(
        webhook_endpoints.c.tenant_id == bindparam("tenant_id"),
        webhook_endpoints.c.enabled.is_(True),
    )
)


def all_enabled(conn: Connection, tenant_ids: set[str]) -> dict[str, list[Endpoint]]:
    """The enabled endpoints of these tenants, by tenant id."""
    return {
        tenant_id: [_endpoint(r) for r in _ENABLED_OF_TENANT.all(conn, {"tenant_id": tenant_id})]
        for tenant_id in sorted(tenant_ids)
    }


_UNSET: Any = object()


def update_endpoint(
    conn: Connection,
    tenant_id: str,
    endpoint_id: str,
    *,
    url: str | None = None,
    event_types: Any = _UNSET,
    enabled: bool | None = None,
    description: str | None = None,
    rotate_secret: bool = False,
) -> Endpoint:
    """Changes the given fields; `event_types=None` means every type. NotFound."""
    get_endpoint(conn, tenant_id, endpoint_id)
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = check_url(url)
    if event_types is not _UNSET:
        checked = check_types(event_types)
        values["event_types"] = list(checked) if checked else None
    if enabled is not None:
        values["enabled"] = enabled
    if description is not None:
        values["description"] = description
    if rotate_secret:
        values["secret"] = new_secret()
    if values:
        conn.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values)
        )
    return get_endpoint(conn, tenant_id, endpoint_id)


def remove_endpoint(conn: Connection, tenant_id: str, endpoint_id: str) -> None:
    """Deletes the endpoint with its deliveries and their log. NotFound."""
    get_endpoint(conn, tenant_id, endpoint_id)
    conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
