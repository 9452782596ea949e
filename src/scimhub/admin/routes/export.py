"""Exports of users and groups as JSON and CSV, streamed (see `scimhub.admin.export`).
Exports hold personal data: owners, admins, security admins and operators only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from scimhub.admin import export
from scimhub.admin.deps import Context, Exporter, TenantAccess
from scimhub.admin.errors import error_responses
from scimhub.db.engine import Database
from scimhub.scim.schema import GROUP, USER, ResourceType
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant
from scimhub.web.request import scim_base_url

router = APIRouter(tags=["export"])

_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tenant", "resource_type", "exported_at", "resources"],
    "properties": {
        "tenant": {"type": "string"},
        "resource_type": {"type": "string", "enum": ["User", "Group"]},
        "exported_at": {"type": "string", "format": "date-time"},
        "resources": {"type": "array", "items": {"type": "object"}},
    },
}


def _json_doc(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"{what} as a JSON document, streamed",
            "content": {"application/json": {"schema": _JSON_SCHEMA}},
        },
        **error_responses(401, 403, 404),
    }


def _csv_doc(what: str, columns: tuple[str, ...]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"{what} as CSV with a header row, streamed. Columns: "
            + ", ".join(columns),
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 404),
    }


Render = Callable[[Database, Tenant, ResourceType, str], Iterator[bytes]]


def _stream(
    settings: Settings,
    db: Database,
    request: Request,
    access: TenantAccess,
    rt: ResourceType,
    render: Render,
    media_type: str,
    extension: str,
) -> StreamingResponse:
    tenant = access.tenant
    base_url = scim_base_url(settings, request, tenant.slug)
    filename = f"{tenant.slug}-{rt.endpoint.strip('/').lower()}.{extension}"
    return StreamingResponse(
        render(db, tenant, rt, base_url),
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@router.get(
    "/tenants/{tenant}/export/users.json",
    summary="Export every user as JSON (owners, admins, security admins)",
    response_class=StreamingResponse,
    responses=_json_doc("The tenant's users"),
)
def export_users_json(access: Exporter, ctx: Context, request: Request) -> StreamingResponse:
    return _stream(
        ctx.settings, ctx.db, request, access, USER, export.json_export, "application/json", "json"
    )


@router.get(
    "/tenants/{tenant}/export/users.csv",
    summary="Export every user as CSV (owners, admins, security admins)",
    response_class=StreamingResponse,
    responses=_csv_doc("The tenant's users", export.USER_COLUMNS),
)
def export_users_csv(access: Exporter, ctx: Context, request: Request) -> StreamingResponse:
    return _stream(
        ctx.settings,
        ctx.db,
        request,
        access,
        USER,
        export.csv_export,
        "text/csv; charset=utf-8",
        "csv",
    )


@router.get(
    "/tenants/{tenant}/export/groups.json",
    summary="Export every group with its member ids as JSON (owners, admins, security admins)",
    response_class=StreamingResponse,
    responses=_json_doc("The tenant's groups"),
)
def export_groups_json(access: Exporter, ctx: Context, request: Request) -> StreamingResponse:
    return _stream(
        ctx.settings, ctx.db, request, access, GROUP, export.json_export, "application/json", "json"
    )


@router.get(
    "/tenants/{tenant}/export/groups.csv",
    summary="Export every group with its member ids as CSV (owners, admins, security admins)",
    response_class=StreamingResponse,
    responses=_csv_doc("The tenant's groups", export.GROUP_COLUMNS),
)
def export_groups_csv(access: Exporter, ctx: Context, request: Request) -> StreamingResponse:
    return _stream(
        ctx.settings,
        ctx.db,
        request,
        access,
        GROUP,
        export.csv_export,
        "text/csv; charset=utf-8",
        "csv",
    )
