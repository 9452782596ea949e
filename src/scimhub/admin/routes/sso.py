"""The tenant's SSO connection and its state."""

from __future__ import annotations

from fastapi import APIRouter

from scimhub.admin.deps import Context, Manager, Reader
from scimhub.admin.errors import ApiError, error_responses
from scimhub.admin.models import SsoOut, SsoSet, SsoStateSet
from scimhub.tenancy import sso

router = APIRouter(tags=["sso"])


@router.get(
    "/tenants/{tenant}/sso",
    summary="Read the SSO connection (404 `sso_not_configured` when there is none)",
    response_model=SsoOut,
    responses=error_responses(401, 404),
)
def get_sso(access: Reader, ctx: Context) -> SsoOut:
    with ctx.db.read() as conn:
        found = sso.get_connection(conn, access.tenant.id)
    if found is None:
        raise ApiError(404, "sso_not_configured", "the tenant has no SSO connection")
    return SsoOut.of(found)


@router.put(
    "/tenants/{tenant}/sso",
    summary="Configure the SSO connection (its state goes back to `configured`)",
    response_model=SsoOut,
    responses=error_responses(400, 401, 403, 404),
)
def set_sso(access: Manager, ctx: Context, body: SsoSet) -> SsoOut:
    with ctx.db.write() as conn:
        found = sso.set_connection(
            conn,
            access.tenant.id,
            protocol=body.protocol,
            idp_id=body.idp_id,
            metadata_url=body.metadata_url,
        )
    return SsoOut.of(found)


@router.post(
    "/tenants/{tenant}/sso/verify",
    summary="Mark the SSO connection verified and in use (state `active`)",
    response_model=SsoOut,
    responses=error_responses(401, 403, 404),
)
def verify_sso(access: Manager, ctx: Context) -> SsoOut:
    with ctx.db.write() as conn:
        found = sso.set_state(conn, access.tenant.id, "active")
    return SsoOut.of(found)


@router.put(
    "/tenants/{tenant}/sso/state",
    summary="Report the SSO connection's state: `verified` (a login was checked) or `active`",
    response_model=SsoOut,
    responses=error_responses(400, 401, 403, 404),
)
def set_sso_state(access: Manager, ctx: Context, body: SsoStateSet) -> SsoOut:
    with ctx.db.write() as conn:
        found = sso.set_state(conn, access.tenant.id, body.state)
    return SsoOut.of(found)
