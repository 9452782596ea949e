"""The outbox: events written in the transaction of the change they describe.

`emit(conn, tenant_id, type, …)` is the one way to record an event; `EventObserver` is
the `ChangeObserver` that emits the events of every SCIM write. What they insert commits
with the change or not at all (a change without its event, or an event without its
change, cannot happen). The statements are built once; a write adds one INSERT (one
multi-row INSERT when a group write adds or removes members)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from scimhub.db.prepared import Prepared
from scimhub.db.tables import events, tenants
from scimhub.events import kinds
from scimhub.resources.changes import Change, Origin
from scimhub.resources.render import timestamp, to_scim
from scimhub.scim.schema import USER
from scimhub.settings import Settings

# Every SCIM write runs it: compiled once, sent straight to the driver (db/prepared.py).
_INSERT_EVENT = Prepared(
    insert(events), keys=("id", "tenant_id", "type", "resource_key", "occurred_at", "payload")
)
_SLUG_OF = select(tenants.c.slug)

# tenant id → slug. Slugs never change (tenancy/tenants.py), so this never goes stale.
_slugs: dict[str, str] = {}


def new_event_id() -> str:
    # 128 random bits in hex, as long as a UUID's, at a third of uuid4()'s cost.
    return f"evt_{os.urandom(16).hex()}"


def tenant_slug(conn: Connection, tenant_id: str) -> str:
    slug = _slugs.get(tenant_id)
    if slug is None:
        slug = conn.execute(_SLUG_OF.where(tenants.c.id == tenant_id)).scalar_one()
        _slugs[tenant_id] = slug
    return slug


def event_row(
    conn: Connection,
    tenant_id: str,
    type: str,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    data: Any = None,
    changes: dict[str, Any] | None = None,
    origin: Origin | None = None,
    extra: dict[str, Any] | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The row of one event (for `_INSERT_EVENT`), its payload complete but for the
    feed sequence, which the dispatcher adds when it publishes the event."""
    if type not in kinds.KINDS:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(kinds.KINDS)}")
    now = now or datetime.now(UTC)
    event_id = new_event_id()
    origin = origin or Origin()
    payload: dict[str, Any] = {
        "id": event_id,
        "type": type,
        "timestamp": timestamp(now),
        "tenant": tenant_slug(conn, tenant_id),
        "tenant_id": tenant_id,
        "provider": origin.provider,
        "actor": origin.actor,
        "request_id": origin.request_id,
        "resource": (
            {"type": resource_type, "id": resource_id} if resource_type is not None else None
        ),
        "data": data,
        "changes": changes or {},
    }
    if extra:
        payload.update(extra)
    if key is None and resource_type is not None:
        key = f"{resource_type}:{resource_id}"
    return {
        "id": event_id,
        "tenant_id": tenant_id,
        "type": type,
        "resource_key": key,
        "occurred_at": now,
        "payload": payload,
    }


def emit(
    conn: Connection,
    tenant_id: str,
    type: str,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    data: Any = None,
    changes: dict[str, Any] | None = None,
    origin: Origin | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Records one event in the outbox on `conn` (the caller's transaction: the event
    commits with the caller's change, or not at all) and returns its id.

    `type` is one of `kinds.KINDS` (ValueError otherwise). `resource_type` and
    `resource_id` name what it is about; deliveries to each endpoint are ordered per
    resource. `data` is the resource as the app sees it, `changes` what changed
    (`{attr: {"before", "after"}}`), `extra` more top-level payload fields.

    The lifecycle rules call it for roles, e.g.
    `emit(conn, tenant_id, "role.granted", resource_type="User", resource_id=user_id,
    data={"role": "admin", "user_id": user_id}, origin=origin)`."""
    row = event_row(
        conn,
        tenant_id,
        type,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        changes=changes,
        origin=origin,
        extra=extra,
    )
    _INSERT_EVENT.execute(conn, row)
    return str(row["id"])


class EventObserver:
    """The `ChangeObserver` that writes the events of each SCIM write to the outbox."""

    def __init__(self, settings: Settings) -> None:
        self.public_url = settings.public_url.rstrip("/")

    def __call__(self, conn: Connection, change: Change) -> None:
        rt = change.rt
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        kind = kinds.resource_kind(change)
        stored = change.after or change.before
        if kind is not None and stored is not None:
            base = f"{self.public_url}/scim/v2/{tenant_slug(conn, change.tenant_id)}"
            if change.origin.provider:
                base += f"/{change.origin.provider}"
            data = to_scim(rt, stored, base)
            if rt is not USER and stored.member_count is not None:
                # Group payloads carry no member list (it may be huge); member events do.
                data["memberCount"] = stored.member_count
            before = change.before.data if change.before else None
            after = change.after.data if change.after else None
            rows.append(
                event_row(
                    conn,
                    change.tenant_id,
                    kind,
                    resource_type=rt.name,
                    resource_id=change.id,
                    data=data,
                    changes=kinds.diff(before, after),
                    origin=change.origin,
                    now=now,
                )
            )
        delta = change.after.delta if change.after is not None else None
        if delta is not None:
            for member_id, member_type in delta.added:
                rows.append(
                    self._member(conn, change, kinds.MEMBER_ADDED, member_id, member_type, now)
                )
            for member_id in delta.removed:
                rows.append(self._member(conn, change, kinds.MEMBER_REMOVED, member_id, None, now))
        if rows:
            _INSERT_EVENT.executemany(conn, rows)

    def _member(
        self,
        conn: Connection,
        change: Change,
        kind: str,
        member_id: str,
        member_type: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        group_name = change.after.data.get("displayName") if change.after else None
        member: dict[str, Any] = {"value": member_id}
        if member_type is not None:
            member["type"] = member_type
        return event_row(
            conn,
            change.tenant_id,
            kind,
            resource_type=change.rt.name,
            resource_id=change.id,
            data={
                "group": {"id": change.id, "displayName": group_name},
                "member": member,
            },
            origin=change.origin,
            now=now,
        )
