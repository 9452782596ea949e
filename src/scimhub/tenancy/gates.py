"""The gates in front of SCIM: a tenant is served, and may be issued tokens, only while
it is active, SCIM is enabled, its plan includes SCIM and (unless the deployment turns
the requirement off with `require_sso=False`) its SSO connection is active. The first
gate that refuses names the reason."""

from __future__ import annotations

from dataclasses import dataclass

from scimhub.tenancy.sso import SsoConnection
from scimhub.tenancy.tenants import Tenant

TENANT_SUSPENDED = "tenant_suspended"
SCIM_DISABLED = "scim_disabled"
PLAN_EXCLUDES_SCIM = "plan_excludes_scim"
SSO_NOT_CONFIGURED = "sso_not_configured"
SSO_NOT_ACTIVE = "sso_not_active"


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


def scim_refusal(tenant: Tenant, sso: SsoConnection | None, *, require_sso: bool) -> Refusal | None:
    """Why SCIM is refused for this tenant, or None when every gate passes."""
    if tenant.status != "active":
        return Refusal(TENANT_SUSPENDED, f"tenant {tenant.slug!r} is suspended")
    if not tenant.plan_includes_scim:
        return Refusal(PLAN_EXCLUDES_SCIM, f"the plan of tenant {tenant.slug!r} excludes SCIM")
    if not tenant.scim_enabled:
        return Refusal(SCIM_DISABLED, f"SCIM is disabled for tenant {tenant.slug!r}")
    if require_sso:
        if sso is None:
            return Refusal(
                SSO_NOT_CONFIGURED,
                f"tenant {tenant.slug!r} has no SSO connection: SCIM requires SSO",
            )
        if sso.state != "active":
            return Refusal(
                SSO_NOT_ACTIVE,
                f"the SSO connection of tenant {tenant.slug!r} is {sso.state}, not active: "
                "SCIM requires an active SSO connection",
            )
    return None
