"""Tenants: list, create, read, update; enabling and disabling SCIM; who am I."""

from __future__ import annotations

from fastapi import APIRouter

from scimhub.admin.deps import (
    Context,
    CurrentPrincipal,
    Manager,
    Operator,
    Reader,
    TenantAdmin,
)
from scimhub.admin.errors import error_responses, forbidden
from scimhub.admin.models import (
    PrincipalOut,
    TenantCreate,
    TenantList,
    TenantOut,
    TenantUpdate,
)
from scimhub.tenancy import tenants

router = APIRouter(tags=["tenants"])


@router.get(
    "/me",
    summary="The principal behind this admin key",
    response_model=PrincipalOut,
    responses=error_responses(401),
)
def me(principal: CurrentPrincipal, ctx: Context) -> PrincipalOut:
    slug = None
    if principal.tenant_id is not None:
        with ctx.db.read() as conn:
            tenant = tenants.get_tenant_by_id(conn, principal.tenant_id)
        slug = tenant.slug if tenant else None
    return PrincipalOut.of(principal, slug)


@router.get(
    "/tenants",
    summary="List tenants (operators: every tenant; others: their own)",
    response_model=TenantList,
    responses=error_responses(401),
)
def list_tenants(principal: CurrentPrincipal, ctx: Context) -> TenantList:
    with ctx.db.read() as conn:
        if principal.is_operator:
            found = tenants.list_tenants(conn)
        else:
            own = tenants.get_tenant_by_id(conn, principal.tenant_id or "")
            found = [own] if own else []
    return TenantList(tenants=[TenantOut.of(t) for t in found])


@router.post(
    "/tenants",
    summary="Create a tenant (operators)",
    status_code=201,
    response_model=TenantOut,
    responses=error_responses(400, 401, 403, 409),
)
def create_tenant(_operator: Operator, ctx: Context, body: TenantCreate) -> TenantOut:
    with ctx.db.write() as conn:
        tenant = tenants.create_tenant(
            conn,
            body.slug,
            body.name,
            plan_includes_scim=body.plan_includes_scim,
            scim_enabled=body.scim_enabled,
        )
    return TenantOut.of(tenant)


@router.get(
    "/tenants/{tenant}",
    summary="Read a tenant",
    response_model=TenantOut,
    responses=error_responses(401, 404),
)
def get_tenant(access: Reader) -> TenantOut:
    return TenantOut.of(access.tenant)


@router.patch(
    "/tenants/{tenant}",
    summary="Update a tenant: name (owners, admins), status and plan (operators)",
    response_model=TenantOut,
    responses=error_responses(400, 401, 403, 404),
)
def update_tenant(access: TenantAdmin, ctx: Context, body: TenantUpdate) -> TenantOut:
    if (
        body.status is not None or body.plan_includes_scim is not None
    ) and not access.principal.is_operator:
        raise forbidden("changing a tenant's status or plan needs an operator key")
    with ctx.db.write() as conn:
        tenant = tenants.update_tenant(
            conn,
            access.tenant.slug,
            name=body.name,
            status=body.status,
            plan_includes_scim=body.plan_includes_scim,
        )
    return TenantOut.of(tenant)


@router.post(
    "/tenants/{tenant}/scim/enable",
    summary="Enable SCIM for the tenant (owners, admins, security admins)",
    response_model=TenantOut,
    tags=["scim"],
    responses=error_responses(401, 403, 404),
)
def enable_scim(access: Manager, ctx: Context) -> TenantOut:
    with ctx.db.write() as conn:
        tenant = tenants.update_tenant(conn, access.tenant.slug, scim_enabled=True)
    return TenantOut.of(tenant)


@router.post(
    "/tenants/{tenant}/scim/disable",
    summary="Disable SCIM for the tenant: its tokens are refused until it is enabled again",
    response_model=TenantOut,
    tags=["scim"],
    responses=error_responses(401, 403, 404),
)
def disable_scim(access: Manager, ctx: Context) -> TenantOut:
    with ctx.db.write() as conn:
        tenant = tenants.update_tenant(conn, access.tenant.slug, scim_enabled=False)
    return TenantOut.of(tenant)
