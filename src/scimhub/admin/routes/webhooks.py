"""Webhook endpoints: create (the secret is in the response), list, show, change, delete;
each endpoint's deliveries, its delivery log (every attempt), dead letters and replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from scimhub.admin.deps import Context, Manager
from scimhub.admin.errors import error_responses
from scimhub.admin.models import (
    AttemptList,
    AttemptOut,
    DeliveryList,
    DeliveryOut,
    NewWebhook,
    Replayed,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)
from scimhub.events import delivery, endpoints

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[str, Path(description="The webhook endpoint's id.")]
Limit = Annotated[int, Query(ge=1, le=1000)]
BASE = "/tenants/{tenant}/webhooks"


@router.get(BASE, summary="List the tenant's webhook endpoints", response_model=WebhookList,
            responses=error_responses(401, 403, 404))  # fmt: skip
def list_webhooks(access: Manager, ctx: Context) -> WebhookList:
    with ctx.db.read() as conn:
        found = endpoints.list_endpoints(conn, access.tenant.id)
    return WebhookList(webhooks=[WebhookOut.of(e) for e in found])


@router.post(
    BASE,
    summary="Add a webhook endpoint: the response shows its signing secret",
    status_code=201,
    response_model=NewWebhook,
    responses=error_responses(400, 401, 403, 404),
)
def create_webhook(access: Manager, ctx: Context, body: WebhookCreate) -> NewWebhook:
    with ctx.db.write() as conn:
        created = endpoints.add_endpoint(
            conn,
            access.tenant.id,
            body.url,
            event_types=body.events,
            description=body.description,
            created_by=access.actor,
        )
    return NewWebhook(**WebhookOut.of(created).model_dump(), secret=created.secret)


@router.get(BASE + "/{webhook_id}", summary="Show a webhook endpoint",
            response_model=WebhookOut, responses=error_responses(401, 403, 404))  # fmt: skip
def get_webhook(access: Manager, ctx: Context, webhook_id: WebhookId) -> WebhookOut:
    with ctx.db.read() as conn:
        return WebhookOut.of(endpoints.get_endpoint(conn, access.tenant.id, webhook_id))


@router.patch(
    BASE + "/{webhook_id}",
    summary="Change a webhook endpoint (URL, event filter, enabled, secret rotation)",
    response_model=NewWebhook | WebhookOut,
    responses=error_responses(400, 401, 403, 404),
)
def update_webhook(
    access: Manager, ctx: Context, webhook_id: WebhookId, body: WebhookUpdate
) -> NewWebhook | WebhookOut:
    given: dict[str, Any] = {}
    if "events" in body.model_fields_set:
        given["event_types"] = body.events
    with ctx.db.write() as conn:
        updated = endpoints.update_endpoint(
            conn,
            access.tenant.id,
            webhook_id,
            url=body.url,
            enabled=body.enabled,
            description=body.description,
            rotate_secret=body.rotate_secret,
            **given,
        )
    if body.rotate_secret:
        return NewWebhook(**WebhookOut.of(updated).model_dump(), secret=updated.secret)
    return WebhookOut.of(updated)


@router.delete(BASE + "/{webhook_id}", summary="Delete a webhook endpoint and its log",
               status_code=204, responses=error_responses(401, 403, 404))  # fmt: skip
def delete_webhook(access: Manager, ctx: Context, webhook_id: WebhookId) -> Response:
    with ctx.db.write() as conn:
        endpoints.remove_endpoint(conn, access.tenant.id, webhook_id)
    return Response(status_code=204)


@router.get(
    BASE + "/{webhook_id}/deliveries",
    summary="The endpoint's deliveries (one per event), oldest first; `status=dead` "
    "lists its dead letters",
    response_model=DeliveryList,
    responses=error_responses(400, 401, 403, 404),
)
def list_deliveries(
    access: Manager,
    ctx: Context,
    webhook_id: WebhookId,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
) -> DeliveryList:
    with ctx.db.read() as conn:
        endpoints.get_endpoint(conn, access.tenant.id, webhook_id)
        rows = delivery.list_deliveries(conn, webhook_id, status=status, after=after, limit=limit)
    items = [DeliveryOut(**{**r, "sequence": r["feed_seq"]}) for r in rows]
    cursor = str(items[-1].id) if len(items) == limit else None
    return DeliveryList(deliveries=items, next_cursor=cursor)


@router.get(
    BASE + "/{webhook_id}/attempts",
    summary="The delivery log: every attempt, newest first, with status and latency",
    response_model=AttemptList,
    responses=error_responses(400, 401, 403, 404),
)
def list_attempts(
    access: Manager,
    ctx: Context,
    webhook_id: WebhookId,
    before: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
) -> AttemptList:
    with ctx.db.read() as conn:
        endpoints.get_endpoint(conn, access.tenant.id, webhook_id)
        rows = delivery.delivery_log(conn, webhook_id, before=before, limit=limit)
    items = [AttemptOut(**r) for r in rows]
    cursor = str(items[-1].id) if len(items) == limit else None
    return AttemptList(attempts=items, next_cursor=cursor)


@router.post(
    BASE + "/{webhook_id}/deliveries/{delivery_id}/replay",
    summary="Queue a dead-lettered (or delivered) delivery again",
    response_model=Replayed,
    responses=error_responses(401, 403, 404, 409),
)
def replay_delivery(
    access: Manager, ctx: Context, webhook_id: WebhookId, delivery_id: int
) -> Replayed:
    with ctx.db.write() as conn:
        endpoints.get_endpoint(conn, access.tenant.id, webhook_id)
        delivery.replay(conn, webhook_id, delivery_id)
    return Replayed(replayed=1)


@router.post(
    BASE + "/{webhook_id}/dead-letters/replay",
    summary="Queue every dead-lettered delivery of the endpoint again",
    response_model=Replayed,
    responses=error_responses(401, 403, 404),
)
def replay_dead_letters(access: Manager, ctx: Context, webhook_id: WebhookId) -> Replayed:
    with ctx.db.write() as conn:
        endpoints.get_endpoint(conn, access.tenant.id, webhook_id)
        count = delivery.replay_dead(conn, webhook_id)
    return Replayed(replayed=count)
