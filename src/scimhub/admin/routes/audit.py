"""The audit trail: query by time, resource, actor and outcome with cursor paging, and
an export (JSON Lines, streamed page by page)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from scimhub.admin.deps import Context, Manager
from scimhub.admin.errors import error_responses
from scimhub.admin.models import AuditPage, AuditRecordOut, Instant
from scimhub.audit.log import stored_text
from scimhub.audit.query import MAX_LIMIT, AuditQuery, query
from scimhub.db.engine import Database

router = APIRouter(tags=["audit"])

Outcome = Annotated[str | None, Query(pattern="^(success|refused|failed)$")]
Source = Annotated[str | None, Query(pattern="^(scim|admin)$")]
Text = Annotated[str | None, Query(max_length=200)]


def _query(
    since: datetime | None,
    until: datetime | None,
    resource_type: str | None,
    resource_id: str | None,
    actor: str | None,
    outcome: str | None,
    source: str | None,
    cursor: int | None,
    limit: int,
) -> AuditQuery:
    return AuditQuery(
        since=since,
        until=until,
        resource_type=resource_type,
        # The trail stores U+0000 as U+FFFD (PostgreSQL refuses it); search alike.
        resource_id=stored_text(resource_id) if resource_id is not None else None,
        actor=stored_text(actor) if actor is not None else None,
        outcome=outcome,
        source=source,
        before=cursor,
        limit=limit,
    )


@router.get(
    "/tenants/{tenant}/audit",
    summary="Audit records, newest first",
    description="Filter by time (`since` inclusive, `until` exclusive), resource, actor "
    "(`token:<id>`, `admin:<principal id>`), outcome and source; page with `cursor` "
    "set to the last response's `next_cursor`.",
    response_model=AuditPage,
    responses=error_responses(400, 401, 403, 404),
)
def read_audit(
    access: Manager,
    ctx: Context,
    since: Instant | None = None,
    until: Instant | None = None,
    resource_type: Annotated[str | None, Query(pattern="^(User|Group)$")] = None,
    resource_id: Text = None,
    actor: Text = None,
    outcome: Outcome = None,
    source: Source = None,
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> AuditPage:
    q = _query(since, until, resource_type, resource_id, actor, outcome, source, cursor, limit)
    with ctx.db.read() as conn:
        records, next_cursor = query(conn, access.tenant.id, q)
    return AuditPage(
        records=[AuditRecordOut(**r) for r in records],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )


def _lines(db: Database, tenant_id: str, q: AuditQuery) -> Iterator[bytes]:
    while True:
        with db.read() as conn:
            records, next_cursor = query(conn, tenant_id, q)
        for record in records:
            yield (AuditRecordOut(**record).model_dump_json() + "\n").encode()
        if next_cursor is None:
            return
        q = replace(q, before=next_cursor)


@router.get(
    "/tenants/{tenant}/audit/export.jsonl",
    summary="Export the audit records (JSON Lines, newest first), same filters",
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "One record a line."},
        **error_responses(400, 401, 403, 404),
    },
    response_class=StreamingResponse,
)
def export_audit(
    access: Manager,
    ctx: Context,
    since: Instant | None = None,
    until: Instant | None = None,
    resource_type: Annotated[str | None, Query(pattern="^(User|Group)$")] = None,
    resource_id: Text = None,
    actor: Text = None,
    outcome: Outcome = None,
    source: Source = None,
) -> StreamingResponse:
    q = _query(since, until, resource_type, resource_id, actor, outcome, source, None, 500)
    return StreamingResponse(
        _lines(ctx.db, access.tenant.id, q),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{access.tenant.slug}-audit.jsonl"'},
    )
