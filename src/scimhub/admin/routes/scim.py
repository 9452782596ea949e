"""The SCIM settings view: the base URL, whether SCIM is available and why not, and
what to paste into each IdP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from scimhub.admin import idp
from scimhub.admin.deps import Context, Reader
from scimhub.admin.errors import error_responses
from scimhub.admin.models import Refusal, ScimSettings
from scimhub.tenancy import sso, tokens
from scimhub.tenancy.gates import scim_refusal
from scimhub.web.request import scim_base_url

router = APIRouter(tags=["scim"])


@router.get(
    "/tenants/{tenant}/scim",
    summary="SCIM settings: base URL, readiness, and the values to paste into each IdP",
    response_model=ScimSettings,
    responses=error_responses(400, 401, 404),
)
def scim_settings(
    access: Reader,
    ctx: Context,
    request: Request,
    provider: Annotated[
        str | None,
        Query(
            max_length=63,
            description="A provider segment to put in the base URL "
            "(`/scim/v2/{tenant}/{provider}`), for a tenant provisioned by several IdPs.",
        ),
    ] = None,
) -> ScimSettings:
    tenant = access.tenant
    base_url = scim_base_url(ctx.settings, request, tenant.slug)
    if provider:
        base_url += "/" + str(tokens.normalize_provider(provider))
    with ctx.db.read() as conn:
        connection = sso.get_connection(conn, tenant.id)
        live = [t for t in tokens.list_tokens(conn, tenant.id) if not t.revoked]
    refusal = scim_refusal(tenant, connection, require_sso=ctx.require_sso)
    return ScimSettings(
        tenant=tenant.slug,
        base_url=base_url,
        ready=refusal is None,
        refusal=Refusal(code=refusal.code, message=refusal.message) if refusal else None,
        status=tenant.status,
        plan_includes_scim=tenant.plan_includes_scim,
        scim_enabled=tenant.scim_enabled,
        require_sso=ctx.require_sso,
        sso_state=connection.state if connection else None,
        active_tokens=len(live),
        idps=idp.guides(base_url),
    )
