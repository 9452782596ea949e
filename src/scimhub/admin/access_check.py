"""The access check, `GET /admin/v1/tenants/{tenant}/users/{id}/access`: what the host
app calls on each of its own requests (docs/lifecycle.md).

It is served twice over one function, `check`: by the admin API's FastAPI route (which
documents it in the OpenAPI) and, in front of it, by `AccessCheckEndpoint`, a plain
Starlette route that `web/app.py` places before the admin mount. The plain route skips
FastAPI's dependency and serialization machinery and, on SQLite, the thread hop (two
indexed reads never wait for SQLite's writer in WAL mode), which took the server time of
a check from 0.86 ms to well under it (docs/benchmarks.md). Same answers, same errors."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from scimhub.admin.deps import AdminContext
from scimhub.admin.errors import ApiError, error_json, not_found, unauthorized
from scimhub.admin.models import AccessOut
from scimhub.lifecycle.access import check_access
from scimhub.tenancy import principals
from scimhub.tenancy.tenants import get_tenant

PATH = "/admin/v1/tenants/{tenant}/users/{id}/access"
NO_KEY = "an admin key is required: Authorization: Bearer <admin key>"


def check(ctx: AdminContext, key: str, tenant: str, id: str) -> tuple[str | None, AccessOut]:
    """(the admin key's id, the answer): authentication, the tenant, the role check and
    the access check in one read transaction. 401 for a bad key, then 404 for a tenant
    this key may not see, or for an unknown or deleted user. Recording the key's use is
    the caller's (`AdminContext.record_key_use`): it may write."""
    with ctx.db.read() as conn:
        principal = principals.authenticate_admin(conn, key)
        if principal is None:
            raise unauthorized("the admin key is not valid")
        found_tenant = get_tenant(conn, tenant) if "\x00" not in tenant else None
        if found_tenant is None or not principals.can_read(principal, found_tenant.id):
            raise not_found(f"no tenant {tenant!r}")
        found = check_access(conn, found_tenant.id, id) if "\x00" not in id else None
    if found is None:
        raise not_found(f"no user {id!r} in this tenant (unknown or deleted)")
    answer = AccessOut(
        active=found.active, roles=found.roles, sessions_revoked_at=found.sessions_revoked_at
    )
    return principal.key_id, answer


def bearer_key(authorization: str | None) -> str | None:
    """The credentials of an `Authorization: Bearer …` header, as FastAPI's HTTPBearer
    reads them (scheme case-insensitive); None without one."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


class AccessCheckEndpoint:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx
        # PostgreSQL answers over the network: there, keep the event loop free.
        self.inline = ctx.db.dialect == "sqlite"

    async def handle(self, request: Request) -> Response:
        key = bearer_key(request.headers.get("authorization"))
        tenant, id = request.path_params["tenant"], request.path_params["id"]
        try:
            if key is None:
                raise unauthorized(NO_KEY)
            if self.inline:
                key_id, answer = check(self.ctx, key, tenant, id)
            else:
                key_id, answer = await run_in_threadpool(check, self.ctx, key, tenant, id)
        except ApiError as error:
            return error_json(
                error.status, error.code, error.message, field=error.field, headers=error.headers
            )
        if self.ctx.key_use_due(key_id):
            await run_in_threadpool(self.ctx.record_key_use, key_id)
        return Response(answer.model_dump_json(), media_type="application/json")
