"""Admin API keys. A tenant key is minted for a new principal with a role; nobody
mints a key with more authority than their own:

| caller          | may mint                                  |
|-----------------|-------------------------------------------|
| operator        | any tenant role; operator keys            |
| owner           | owner, admin, security-admin, member      |
| admin           | admin, security-admin, member (not owner) |
| security-admin  | security-admin, member                    |
| member          | nothing                                   |

The same table says whose keys a caller may revoke (and anyone who may manage keys may
revoke their own). Listing and revoking a tenant's keys needs the managing roles.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from scimhub.admin.deps import MANAGE_ROLES, Context, Manager, Operator
from scimhub.admin.errors import ApiError, error_responses, forbidden
from scimhub.admin.models import (
    AdminKeyCreate,
    AdminKeyList,
    AdminKeyOut,
    NewAdminKey,
    OperatorKeyCreate,
    PrincipalOut,
)
from scimhub.tenancy import principals

router = APIRouter(tags=["admin keys"])

MINTABLE: dict[str, frozenset[str]] = {
    "operator": frozenset({"owner", "admin", "security-admin", "member"}),
    "owner": frozenset({"owner", "admin", "security-admin", "member"}),
    "admin": frozenset({"admin", "security-admin", "member"}),
    "security-admin": frozenset({"security-admin", "member"}),
    "member": frozenset(),
}


@router.post(
    "/tenants/{tenant}/admin-keys",
    summary="Create an admin key for a new principal of the tenant; the response shows it once",
    description="Keys never carry more authority than their maker's: operators and owners "
    "may mint any tenant role, admins all but owner, security admins security-admin and "
    f"member; members none (403 for callers without the {MANAGE_ROLES} role).",
    status_code=201,
    response_model=NewAdminKey,
    responses=error_responses(400, 401, 403, 404),
)
def create_admin_key(access: Manager, ctx: Context, body: AdminKeyCreate) -> NewAdminKey:
    caller = access.principal.role
    if body.role not in MINTABLE.get(caller, frozenset()):
        allowed = ", ".join(sorted(MINTABLE.get(caller, frozenset()))) or "none"
        raise forbidden(
            f"a {caller} may not create {body.role} keys (allowed: {allowed}); "
            f"{'an operator or owner' if body.role == 'owner' else 'an owner'} may"
        )
    with ctx.db.write() as conn:
        key, principal = principals.create_admin_key(
            conn,
            tenant_id=access.tenant.id,
            role=body.role,
            name=body.name,
            created_by=access.actor,
        )
    return NewAdminKey(key=key, principal=PrincipalOut.of(principal, access.tenant.slug))


KeyId = Annotated[str, Path(description="The admin key's id (from the admin key list).")]


@router.get(
    "/tenants/{tenant}/admin-keys",
    summary="List the tenant's admin keys (never the keys themselves)",
    description=f"Every key of the tenant's principals, revoked ones too, oldest first "
    f"(403 for callers without the {MANAGE_ROLES} role).",
    response_model=AdminKeyList,
    responses=error_responses(401, 403, 404),
)
def list_admin_keys(access: Manager, ctx: Context) -> AdminKeyList:
    with ctx.db.read() as conn:
        found = principals.list_tenant_admin_keys(conn, access.tenant.id)
    return AdminKeyList(admin_keys=[AdminKeyOut.of(entry) for entry in found])


@router.post(
    "/tenants/{tenant}/admin-keys/{key_id}/revoke",
    summary="Revoke an admin key: the very next request with it gets 401",
    description="Idempotent (a revoked key keeps its first `revoked_at`). Nobody revokes a "
    "key with more authority than their own (the same rule as creating one: admins cannot "
    f"revoke owners' keys); anyone with the {MANAGE_ROLES} role may revoke their own key. "
    "Another tenant's key is a 404.",
    response_model=AdminKeyOut,
    responses=error_responses(401, 403, 404),
)
def revoke_admin_key(access: Manager, ctx: Context, key_id: KeyId) -> AdminKeyOut:
    caller = access.principal
    with ctx.db.write() as conn:
        entry = principals.get_admin_key(conn, key_id)
        if entry is None or entry.tenant_id != access.tenant.id:
            raise ApiError(
                404,
                "admin_key_not_found",
                f"no admin key {key_id!r} in tenant {access.tenant.slug!r}",
            )
        revocable = MINTABLE.get(caller.role, frozenset())
        if entry.id != caller.key_id and entry.role not in revocable:
            allowed = ", ".join(sorted(revocable)) or "none"
            raise forbidden(
                f"a {caller.role} may not revoke {entry.role} keys (allowed: {allowed}); "
                f"{'an operator or owner' if entry.role == 'owner' else 'an owner'} may"
            )
        entry = principals.revoke_admin_key(conn, entry.id)
    return AdminKeyOut.of(entry)


@router.post(
    "/operator-keys",
    summary="Create a deployment operator key (operators); the response shows it once",
    status_code=201,
    response_model=NewAdminKey,
    responses=error_responses(400, 401, 403),
)
def create_operator_key(
    operator: Operator,
    ctx: Context,
    body: Annotated[OperatorKeyCreate | None, Body()] = None,
) -> NewAdminKey:
    body = body or OperatorKeyCreate()
    with ctx.db.write() as conn:
        key, principal = principals.create_admin_key(
            conn, tenant_id=None, role="operator", name=body.name, created_by=operator.id
        )
    return NewAdminKey(key=key, principal=PrincipalOut.of(principal, None))
