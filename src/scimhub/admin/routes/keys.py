"""Admin API keys. A tenant key is minted for a new principal with a role; nobody
mints a key with more authority than their own:

| caller          | may mint                                  |
|-----------------|-------------------------------------------|
| operator        | any tenant role; operator keys            |
| owner           | owner, admin, security-admin, member      |
| admin           | admin, security-admin, member (not owner) |
| security-admin  | security-admin, member                    |
| member          | nothing                                   |
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from scimhub.admin.deps import MANAGE_ROLES, Context, Manager, Operator
from scimhub.admin.errors import error_responses, forbidden
from scimhub.admin.models import AdminKeyCreate, NewAdminKey, OperatorKeyCreate, PrincipalOut
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
