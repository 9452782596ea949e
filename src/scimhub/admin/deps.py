"""Who is calling and what they may do: the dependencies every admin route declares.

Order matters and is the same on every route: authentication (401) → the tenant named
in the path, as this principal may see it (404 for a tenant that does not exist *and*
for one of another tenant, so existence never leaks) → the role the route needs (403,
naming it) → only then the body (400). A member cannot learn what a valid body for a
management route looks like, and nobody unauthenticated learns anything."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scimhub.admin.errors import forbidden, not_found, unauthorized
from scimhub.db.engine import Database
from scimhub.lifecycle.hooks import LifecycleHooks
from scimhub.resources.changes import ChangeObserver
from scimhub.resources.service import ResourceService
from scimhub.scim.schema import RESOURCE_TYPES
from scimhub.settings import Settings
from scimhub.tenancy import principals
from scimhub.tenancy.principals import Principal
from scimhub.tenancy.tenants import Tenant, get_tenant

# Declares the `bearer` security scheme in the OpenAPI document (Swagger UI's
# "Authorize" button); a missing or malformed header is our 401, not FastAPI's 403.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="adminKey",
    description="An admin API key (`scimhub_admin_…`), from `scimhub admin-key create` "
    "or `POST /admin/v1/tenants/{tenant}/admin-keys`.",
)

# Roles, as the 403 messages name them.
MANAGE_ROLES = "owner, admin or security-admin"
EXPORT_ROLES = MANAGE_ROLES
RENAME_ROLES = "owner or admin"


# An admin key's `last_used_at` is written at most this often (per key and process):
# a write on every admin request would queue behind SCIM writers on SQLite.
KEY_USE_RECORD_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class AdminContext:
    settings: Settings
    db: Database
    # key id → monotonic time its use was last written
    key_use_written: dict[str, float] = field(default_factory=dict)
    # The lifecycle rules, shared with the SCIM endpoints (one set of grant listeners).
    lifecycle: LifecycleHooks | None = None
    # The audit and event observers of every write made through the services.
    observers: tuple[ChangeObserver, ...] = ()
    # The SCIM services, built once (by type name), under the lifecycle rules: the
    # directory routes read through them, the account routes write users through them.
    services: dict[str, ResourceService] = field(init=False)
    # The lifecycle rules in use (`lifecycle`, or a set of its own).
    rules: LifecycleHooks = field(init=False)

    def __post_init__(self) -> None:
        hooks = self.lifecycle or LifecycleHooks(self.db.dialect)
        object.__setattr__(self, "rules", hooks)  # frozen: set once, here
        services = {
            rt.name: ResourceService(
                self.db, self.settings, rt, observers=self.observers, hooks=hooks
            )
            for rt in RESOURCE_TYPES
        }
        object.__setattr__(self, "services", services)

    def key_use_due(self, key_id: str | None) -> bool:
        """Whether `record_key_use` would write (at most once a minute per key)."""
        if key_id is None:
            return False
        last = self.key_use_written.get(key_id)
        return last is None or time.monotonic() - last >= KEY_USE_RECORD_SECONDS

    def record_key_use(self, key_id: str | None) -> None:
        if key_id is None or not self.key_use_due(key_id):
            return
        now = time.monotonic()
        self.key_use_written[key_id] = now
        with self.db.write() as conn:
            principals.record_admin_key_use(conn, key_id)

    @property
    def require_sso(self) -> bool:
        """Whether SCIM (and issuing tokens) needs an active SSO connection."""
        return self.settings.require_sso


@dataclass(frozen=True, slots=True)
class TenantAccess:
    """A tenant the principal may at least read."""

    principal: Principal
    tenant: Tenant

    @property
    def actor(self) -> str:
        """What `created_by` / `revoked_by` record: the principal's id."""
        return self.principal.id


def context(request: Request) -> AdminContext:
    ctx = request.app.state.admin
    assert isinstance(ctx, AdminContext)
    return ctx


Context = Annotated[AdminContext, Depends(context)]


def current_principal(
    request: Request,
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise unauthorized("an admin key is required: Authorization: Bearer <admin key>")
    with ctx.db.read() as conn:
        principal = principals.authenticate_admin(conn, credentials.credentials.strip())
    if principal is None:
        raise unauthorized("the admin key is not valid")
    ctx.record_key_use(principal.key_id)
    # For the audit trail (admin/audit.py).
    request.state.admin_actor = f"admin:{principal.id}"
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

TenantSlug = Annotated[
    str,
    Path(
        description="The tenant's slug (its SCIM URL segment, e.g. `acme`).",
        examples=["acme"],
    ),
]


def tenant_reader(principal: CurrentPrincipal, ctx: Context, tenant: TenantSlug) -> TenantAccess:
    """The tenant, if this principal may read it; 404 otherwise (also when it exists)."""
    with ctx.db.read() as conn:
        found = get_tenant(conn, tenant)
    if found is None or not principals.can_read(principal, found.id):
        raise not_found(f"no tenant {tenant!r}")
    return TenantAccess(principal, found)


Reader = Annotated[TenantAccess, Depends(tenant_reader)]


def tenant_manager(access: Reader) -> TenantAccess:
    """Owners, admins, security admins of the tenant, and operators."""
    if not principals.can_manage(access.principal, access.tenant.id):
        raise forbidden(f"this needs the {MANAGE_ROLES} role (or an operator key)")
    return access


Manager = Annotated[TenantAccess, Depends(tenant_manager)]


def administers(principal: Principal) -> bool:
    """Operators, and the owners and admins of the tenant the principal reached."""
    return principal.is_operator or principal.role in ("owner", "admin")


def tenant_admin(access: Reader) -> TenantAccess:
    """Owners and admins of the tenant, and operators (renaming the tenant)."""
    if not administers(access.principal):
        raise forbidden(f"this needs the {RENAME_ROLES} role (or an operator key)")
    return access


TenantAdmin = Annotated[TenantAccess, Depends(tenant_admin)]


def operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_operator:
        raise forbidden("this needs an operator key")
    return principal


Operator = Annotated[Principal, Depends(operator)]


def exporter(access: Reader) -> TenantAccess:
    """Exports hold the tenant's personal data: owners, admins, security admins and
    operators only, not members."""
    if not principals.can_manage(access.principal, access.tenant.id):
        raise forbidden(
            f"exports contain personal data: this needs the {EXPORT_ROLES} role "
            "(or an operator key)"
        )
    return access


Exporter = Annotated[TenantAccess, Depends(exporter)]

__all__: list[str] = [
    "AdminContext",
    "Context",
    "CurrentPrincipal",
    "Exporter",
    "Manager",
    "Operator",
    "Reader",
    "TenantAccess",
    "TenantAdmin",
    "context",
]
