"""Read access to the tenant's users and groups, for the host app: SCIM filters,
sorting, index or cursor paging, and the SCIM representation of each resource, with
`meta.createdProvider` / `meta.updatedProvider` added (which provider segment created
and last changed it; null for the bare tenant URL)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from scimhub.admin.deps import AdminContext, Context, Reader, TenantAccess
from scimhub.admin.directory import annotate, provenance
from scimhub.admin.errors import error_responses, not_found
from scimhub.admin.models import ResourcePage, Text
from scimhub.resources.service import ResourceService
from scimhub.scim.errors import NotFound as ScimNotFound
from scimhub.scim.listing import parse_query_params
from scimhub.scim.projection import Projection
from scimhub.scim.schema import GROUP, USER, ResourceType
from scimhub.web.request import scim_base_url

router = APIRouter(tags=["directory"])

MAX_INT = 2_147_483_647


class ListParams:
    """The SCIM list parameters (RFC 7644 §3.4.2, RFC 9865), as query parameters."""

    def __init__(
        self,
        filter: Annotated[
            Text | None,
            Query(
                max_length=4096,
                description='A SCIM filter, e.g. `userName eq "ada@example.com"` or '
                '`meta.lastModified gt "2025-01-01T00:00:00Z"`.',
            ),
        ] = None,
        start_index: Annotated[
            int | None,
            Query(alias="startIndex", ge=1, le=MAX_INT, description="1-based index paging."),
        ] = None,
        count: Annotated[
            int | None,
            Query(ge=0, le=MAX_INT, description="Page size (at most the deployment's maximum)."),
        ] = None,
        cursor: Annotated[
            Text | None,
            Query(
                max_length=4096,
                description="Cursor paging: empty for the first page, then `next_cursor`.",
            ),
        ] = None,
        sort_by: Annotated[
            Text | None, Query(alias="sortBy", max_length=512, description="An attribute path.")
        ] = None,
        sort_order: Annotated[
            Literal["ascending", "descending"] | None, Query(alias="sortOrder")
        ] = None,
        attributes: Annotated[
            Text | None, Query(max_length=4096, description="Comma-separated attributes.")
        ] = None,
        excluded_attributes: Annotated[
            Text | None, Query(alias="excludedAttributes", max_length=4096)
        ] = None,
    ) -> None:
        given: dict[str, Any] = {
            "filter": filter,
            "startIndex": start_index,
            "count": count,
            "cursor": cursor,
            "sortBy": sort_by,
            "sortOrder": sort_order,
            "attributes": attributes,
            "excludedAttributes": excluded_attributes,
        }
        self.params = {k: str(v) for k, v in given.items() if v is not None}


class ItemParams:
    def __init__(
        self,
        attributes: Annotated[Text | None, Query(max_length=4096)] = None,
        excluded_attributes: Annotated[
            Text | None, Query(alias="excludedAttributes", max_length=4096)
        ] = None,
    ) -> None:
        self.projection = Projection.parse(attributes, excluded_attributes)


ResourceId = Annotated[str, Path(description="The resource's SCIM `id`.")]


def _service(ctx: AdminContext, rt: ResourceType) -> ResourceService:
    return ctx.services[rt.name]


def _list(
    ctx: AdminContext,
    request: Request,
    access: TenantAccess,
    rt: ResourceType,
    params: ListParams,
) -> ResourcePage:
    tenant = access.tenant
    query = parse_query_params(
        params.params,
        default_count=ctx.settings.default_page_size,
        max_count=ctx.settings.max_page_size,
    )
    base_url = scim_base_url(ctx.settings, request, tenant.slug)
    body = _service(ctx, rt).search(tenant.id, query, base_url)
    resources: list[dict[str, Any]] = body["Resources"]
    with ctx.db.read() as conn:
        found = provenance(conn, rt, tenant.id, [r["id"] for r in resources if "id" in r])
    return ResourcePage(
        total_results=body.get("totalResults"),
        start_index=body.get("startIndex"),
        items_per_page=body["itemsPerPage"],
        next_cursor=body.get("nextCursor"),
        resources=[annotate(r, found.get(r.get("id", ""))) for r in resources],
    )


def _get(
    ctx: AdminContext,
    request: Request,
    access: TenantAccess,
    rt: ResourceType,
    id: str,
    params: ItemParams,
) -> dict[str, Any]:
    tenant = access.tenant
    base_url = scim_base_url(ctx.settings, request, tenant.slug)
    try:
        result = _service(ctx, rt).get(tenant.id, id, params.projection, base_url)
    except ScimNotFound:
        raise not_found(f"no {rt.name.lower()} {id!r} in this tenant") from None
    with ctx.db.read() as conn:
        found = provenance(conn, rt, tenant.id, [id])
    return annotate(result.body, found.get(id))


_LIST_ERRORS = error_responses(400, 401, 404)


@router.get(
    "/tenants/{tenant}/users",
    summary="List and filter the tenant's users (SCIM filter, sort, index or cursor paging)",
    response_model=ResourcePage,
    responses=_LIST_ERRORS,
)
def list_users(
    access: Reader, ctx: Context, request: Request, params: Annotated[ListParams, Depends()]
) -> ResourcePage:
    return _list(ctx, request, access, USER, params)


@router.get(
    "/tenants/{tenant}/users/{id}",
    summary="Read one user (its SCIM representation, with its groups)",
    response_model=dict[str, Any],
    responses=_LIST_ERRORS,
)
def get_user(
    access: Reader,
    ctx: Context,
    request: Request,
    id: ResourceId,
    params: Annotated[ItemParams, Depends()],
) -> dict[str, Any]:
    return _get(ctx, request, access, USER, id, params)


@router.get(
    "/tenants/{tenant}/groups",
    summary="List and filter the tenant's groups (SCIM filter, sort, index or cursor paging)",
    response_model=ResourcePage,
    responses=_LIST_ERRORS,
)
def list_groups(
    access: Reader, ctx: Context, request: Request, params: Annotated[ListParams, Depends()]
) -> ResourcePage:
    return _list(ctx, request, access, GROUP, params)


@router.get(
    "/tenants/{tenant}/groups/{id}",
    summary="Read one group (its SCIM representation, with its members)",
    response_model=dict[str, Any],
    responses=_LIST_ERRORS,
)
def get_group(
    access: Reader,
    ctx: Context,
    request: Request,
    id: ResourceId,
    params: Annotated[ItemParams, Depends()],
) -> dict[str, Any]:
    return _get(ctx, request, access, GROUP, id, params)
