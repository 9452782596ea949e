"""The pull feed of a tenant's events, and the tenant's event, audit and email settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scimhub.admin.deps import Context, Manager
from scimhub.admin.errors import error_responses
from scimhub.admin.models import EventFeed, EventSettingsOut, EventSettingsUpdate
from scimhub.events import feed, tenant_settings
from scimhub.events.endpoints import check_types

router = APIRouter(tags=["events"])


@router.get(
    "/tenants/{tenant}/events",
    summary="The event feed: events after a cursor, in order",
    description="For apps that cannot receive webhooks. Poll with `after` set to the "
    "last response's `next_cursor` (absent: from the oldest event kept). Events are in "
    "publication order, durable, and kept for the tenant's `event_retention_days`.",
    response_model=EventFeed,
    responses=error_responses(400, 401, 403, 404),
)
def read_events(
    access: Manager,
    ctx: Context,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = 100,
    types: Annotated[
        str | None, Query(description="Comma-separated event types (absent: all).")
    ] = None,
) -> EventFeed:
    position = feed.parse_cursor(after)
    wanted = check_types([t.strip() for t in types.split(",") if t.strip()]) if types else None
    with ctx.db.read() as conn:
        found, cursor = feed.read_feed(conn, access.tenant.id, position, limit, wanted)
    return EventFeed(events=found, next_cursor=str(cursor))


@router.get(
    "/tenants/{tenant}/event-settings",
    summary="Retention of events and audit records, and email settings",
    response_model=EventSettingsOut,
    responses=error_responses(401, 403, 404),
)
def get_event_settings(access: Manager, ctx: Context) -> EventSettingsOut:
    with ctx.db.read() as conn:
        return EventSettingsOut.of(tenant_settings.get_settings(conn, access.tenant.id))


@router.patch(
    "/tenants/{tenant}/event-settings",
    summary="Change retention and email settings",
    response_model=EventSettingsOut,
    responses=error_responses(400, 401, 403, 404),
)
def update_event_settings(
    access: Manager, ctx: Context, body: EventSettingsUpdate
) -> EventSettingsOut:
    with ctx.db.write() as conn:
        values = tenant_settings.update_settings(
            conn, access.tenant.id, **body.model_dump(exclude_unset=True)
        )
    return EventSettingsOut.of(values)
