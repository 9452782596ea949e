"""The provisioning lifecycle for the host app (docs/lifecycle.md): the access check,
the tenant's lifecycle policy and verified domains, roles, hand-made grants, and
accounts created outside SCIM."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from scimhub.admin import access_check
from scimhub.admin.deps import (
    AdminContext,
    Context,
    Manager,
    Reader,
    TenantAccess,
    TenantSlug,
    administers,
    bearer_scheme,
    context,
)
from scimhub.admin.errors import ApiError, error_responses, forbidden, not_found, unauthorized
from scimhub.admin.models import (
    AccessOut,
    AccountCreate,
    AccountUpdate,
    GrantList,
    GrantOut,
    PolicyOut,
    PolicyUpdate,
    RoleCreate,
    RoleList,
    RoleOut,
)
from scimhub.lifecycle import accounts, policies, roles
from scimhub.lifecycle.access import grants_of
from scimhub.lifecycle.roles import Role
from scimhub.resources.render import to_scim
from scimhub.resources.service import Preconditions
from scimhub.resources.sqlpaging import check_storable
from scimhub.resources.users import UserStore
from scimhub.scim.errors import NotFound as ScimNotFound
from scimhub.scim.projection import Projection
from scimhub.scim.resource import normalize
from scimhub.scim.schema import USER, USER_URN
from scimhub.web.request import scim_base_url

router = APIRouter(tags=["lifecycle"])

UserId = Annotated[str, Path(description="The user's SCIM `id`.")]
RoleKey = Annotated[str, Path(description="A role key, e.g. `billing`.")]
Domain = Annotated[str, Path(description="An email domain, e.g. `example.com`.")]


def _policy_out(conn: Any, tenant_id: str) -> PolicyOut:
    return PolicyOut(**policies.describe(conn, tenant_id))


def _role_out(role: Role) -> RoleOut:
    return RoleOut(
        key=role.key,
        name=role.name,
        external_id=role.external_id,
        source=role.source,  # type: ignore[arg-type]
        privileged=role.privileged,
        group_id=role.group_id,
    )


def _storable(*values: str) -> None:
    """No id, key or domain holds U+0000 (PostgreSQL would refuse it as a parameter)."""
    if any("\x00" in v for v in values):
        raise not_found("no such resource in this tenant")


def _require_user(conn: Any, tenant_id: str, id: str) -> None:
    _storable(id)
    if UserStore(conn.dialect.name).get(conn, tenant_id, id) is None:
        raise not_found(f"no user {id!r} in this tenant")


# -- the access check ---------------------------------------------------------------------


@router.get(
    "/tenants/{tenant}/users/{id}/access",
    summary="The access check: may this user act, with which roles (call it per request)",
    response_model=AccessOut,
    responses=error_responses(401, 404),
)
async def get_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    tenant: TenantSlug,
    id: UserId,
) -> AccessOut:
    # web/app.py serves this path with admin/access_check.py's plain route first; this
    # route documents it in the OpenAPI and answers the same where the admin app is used
    # on its own.
    if credentials is None or not credentials.credentials.strip():
        raise unauthorized(access_check.NO_KEY)
    ctx = context(request)
    key_id, answer = await run_in_threadpool(
        access_check.check, ctx, credentials.credentials.strip(), tenant, id
    )
    await run_in_threadpool(ctx.record_key_use, key_id)
    return answer


# -- policy and domains -------------------------------------------------------------------


@router.get(
    "/tenants/{tenant}/lifecycle",
    summary="The tenant's lifecycle policy and verified domains",
    response_model=PolicyOut,
    responses=error_responses(401, 404),
)
def get_policy(access: Reader, ctx: Context) -> PolicyOut:
    with ctx.db.read() as conn:
        return _policy_out(conn, access.tenant.id)


@router.patch(
    "/tenants/{tenant}/lifecycle",
    summary="Change the lifecycle policy (owners, admins, security admins)",
    response_model=PolicyOut,
    responses=error_responses(400, 401, 403, 404),
)
def update_policy(access: Manager, ctx: Context, body: PolicyUpdate) -> PolicyOut:
    given: dict[str, Any] = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k == "default_role_key"
    }
    with ctx.db.write() as conn:
        policies.update_policy(conn, access.tenant.id, **given)
        return _policy_out(conn, access.tenant.id)


@router.put(
    "/tenants/{tenant}/lifecycle/domains/{domain}",
    summary="Record a verified email domain of the tenant (the host app verified it)",
    response_model=PolicyOut,
    responses=error_responses(400, 401, 403, 404),
)
def add_domain(access: Manager, ctx: Context, domain: Domain) -> PolicyOut:
    with ctx.db.write() as conn:
        policies.add_domain(conn, access.tenant.id, domain)
        return _policy_out(conn, access.tenant.id)


@router.delete(
    "/tenants/{tenant}/lifecycle/domains/{domain}",
    summary="Forget a verified domain",
    response_model=PolicyOut,
    responses=error_responses(401, 403, 404),
)
def remove_domain(access: Manager, ctx: Context, domain: Domain) -> PolicyOut:
    _storable(domain)
    with ctx.db.write() as conn:
        if not policies.remove_domain(conn, access.tenant.id, domain):
            raise not_found(f"no verified domain {domain!r}")
        return _policy_out(conn, access.tenant.id)


# -- roles and grants ---------------------------------------------------------------------


@router.get(
    "/tenants/{tenant}/roles",
    summary="The tenant's roles, and which SCIM group each maps",
    response_model=RoleList,
    responses=error_responses(401, 404),
)
def list_roles(access: Reader, ctx: Context) -> RoleList:
    with ctx.db.read() as conn:
        return RoleList(roles=[_role_out(r) for r in roles.list_roles(conn, access.tenant.id)])


@router.post(
    "/tenants/{tenant}/roles",
    summary="Define a role of the app (`owner` and `admin` are privileged)",
    status_code=201,
    response_model=RoleOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def create_role(access: Manager, ctx: Context, body: RoleCreate) -> RoleOut:
    with ctx.db.write() as conn:
        role = roles.create_app_role(
            conn, access.tenant.id, body.key, body.name or body.key, external_id=body.external_id
        )
    return _role_out(role)


@router.get(
    "/tenants/{tenant}/users/{id}/grants",
    summary="Every role the user holds and where each comes from",
    response_model=GrantList,
    responses=error_responses(401, 404),
)
def list_grants(access: Reader, ctx: Context, id: UserId) -> GrantList:
    with ctx.db.read() as conn:
        _require_user(conn, access.tenant.id, id)
        return _grant_list(conn, access.tenant.id, id)


def _grant_list(conn: Any, tenant_id: str, id: str) -> GrantList:
    default = policies.get_policy(conn, tenant_id).default_role_key
    found = grants_of(conn, tenant_id, id, default)
    return GrantList(
        grants=[
            GrantOut(role_key=g.role_key, source=g.source, via_group=g.via_group) for g in found
        ]
    )


def _change_grant(
    access: TenantAccess, ctx: AdminContext, id: str, key: str, *, grant: bool
) -> GrantList:
    """Grant or revoke a hand-made grant; the user's grants after it, read in the same
    transaction."""
    tenant_id = access.tenant.id
    with ctx.db.write() as conn:
        _require_user(conn, tenant_id, id)
        _storable(key)
        role = roles.get_role(conn, tenant_id, key)
        if role is not None and role.privileged and not administers(access.principal):
            raise forbidden(f"granting or revoking {key!r} needs the owner or admin role")
        if grant:
            change = roles.grant(conn, tenant_id, id, key, by=access.actor)
        else:
            change = roles.revoke(conn, tenant_id, id, key)
            if change is None:
                raise not_found(f"the user holds no hand-made grant of {key!r}")
        ctx.rules.emit(conn, [change] if change else [])
        return _grant_list(conn, tenant_id, id)


@router.put(
    "/tenants/{tenant}/users/{id}/grants/{role_key}",
    summary="Grant a role by hand (the IdP replaces hand grants after the first sync)",
    response_model=GrantList,
    responses=error_responses(401, 403, 404),
)
def grant_role(access: Manager, ctx: Context, id: UserId, role_key: RoleKey) -> GrantList:
    return _change_grant(access, ctx, id, role_key, grant=True)


@router.delete(
    "/tenants/{tenant}/users/{id}/grants/{role_key}",
    summary="Revoke a hand-made grant",
    response_model=GrantList,
    responses=error_responses(401, 403, 404),
)
def revoke_role(access: Manager, ctx: Context, id: UserId, role_key: RoleKey) -> GrantList:
    return _change_grant(access, ctx, id, role_key, grant=False)


# -- accounts created outside SCIM ---------------------------------------------------------


@router.post(
    "/tenants/{tenant}/users",
    summary="Create an account outside SCIM (JIT on first SSO login, or by an admin)",
    status_code=201,
    response_model=dict[str, Any],
    responses=error_responses(400, 401, 403, 404, 409),
)
def create_account(
    access: Manager, ctx: Context, request: Request, body: AccountCreate
) -> dict[str, Any]:
    tenant_id = access.tenant.id
    data = normalize(USER, {"schemas": [USER_URN], **body.model_dump()})
    with ctx.db.write() as conn:
        stored = UserStore(ctx.db.dialect).insert(conn, tenant_id, data)
        accounts.set_state(conn, tenant_id, stored.id, app_created=True)
    return to_scim(USER, stored, scim_base_url(ctx.settings, request, access.tenant.slug))


@router.patch(
    "/tenants/{tenant}/users/{id}",
    summary="Change an account: its app attributes always; its SCIM attributes only while "
    "SCIM is disabled (the IdP is their source of truth)",
    response_model=dict[str, Any],
    responses=error_responses(400, 401, 403, 404, 409),
)
def update_account(
    access: Manager, ctx: Context, request: Request, id: UserId, body: AccountUpdate
) -> dict[str, Any]:
    tenant = access.tenant
    if body.attributes and tenant.scim_enabled:
        raise ApiError(
            409,
            "scim_managed",
            "SCIM is enabled for this tenant: its identity provider is the source of truth "
            f"for {', '.join(sorted(body.attributes))}; change them in the IdP (or disable "
            "SCIM first)",
        )
    if body.app_attributes is not None:
        # PostgreSQL jsonb cannot hold U+0000: 400 rather than a failed write.
        check_storable(body.app_attributes, "app_attributes")
    base_url = scim_base_url(ctx.settings, request, tenant.slug)
    try:
        if body.attributes:
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": body.attributes}],
            }
            ctx.services[USER.name].patch(
                tenant.id, id, patch, Preconditions(), Projection(), base_url
            )
        with ctx.db.write() as conn:
            _require_user(conn, tenant.id, id)
            if body.app_attributes is not None:
                accounts.set_state(conn, tenant.id, id, app_attributes=body.app_attributes)
        result = ctx.services[USER.name].get(tenant.id, id, Projection(), base_url)
    except ScimNotFound:
        raise not_found(f"no user {id!r} in this tenant") from None
    return result.body
