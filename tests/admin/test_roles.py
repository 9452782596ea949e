"""Role checks on every admin route: a table of route x caller → expected status.

Callers: no key and a bogus key (401), an operator, each role of tenant `acme`, and the
owner of another tenant (`globex`), who gets 404 on `acme`'s routes: existence of other
tenants never leaks. Each call gets fresh state (a new token to revoke, a new slug to
create, …) so every allowed caller really succeeds. A test fails when a route exists in
the OpenAPI document but not in the table."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from scimhub.db.tables import deliveries
from scimhub.events import emit, endpoints
from scimhub.events.dispatch import dispatch
from scimhub.lifecycle import policies, roles
from scimhub.settings import Settings
from scimhub.tenancy import principals

from .conftest import Admin

READ = frozenset({"operator", "owner", "admin", "security-admin", "member"})
MANAGE = READ - {"member"}
RENAME = frozenset({"operator", "owner", "admin"})
OPERATOR = frozenset({"operator"})
EVERYONE = READ | {"other"}  # not tenant-scoped: any valid key
CALLERS = ("anonymous", "bogus", "operator", "owner", "admin", "security-admin", "member", "other")

_slugs = itertools.count()

Prepared = tuple[str, Any]  # the concrete path below /admin/v1, and the JSON body (or None)


@dataclass(frozen=True)
class Row:
    method: str
    template: str  # as in the OpenAPI document, below /admin/v1
    allowed: frozenset[str]
    ok: int
    prepare: Callable[[Admin, dict[str, str]], Prepared]
    tenant_scoped: bool = True

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"


def fixed(path: str, body: Any = None) -> Callable[[Admin, dict[str, str]], Prepared]:
    return lambda _admin, world: (path.format(**world), body)


def _new_tenant(_admin: Admin, _world: dict[str, str]) -> Prepared:
    return "/tenants", {"slug": f"new-{next(_slugs)}"}


def _fresh_token(action: str, body: Any = None) -> Callable[[Admin, dict[str, str]], Prepared]:
    def prepare(admin: Admin, _world: dict[str, str]) -> Prepared:
        _, token_id = admin.new_token()
        return f"/tenants/acme/tokens/{token_id}/{action}", body

    return prepare


def _fresh_member_key(admin: Admin, _world: dict[str, str]) -> Prepared:
    with admin.db.write() as conn:
        _, principal = principals.create_admin_key(conn, tenant_id=admin.acme.id, role="member")
    return f"/tenants/acme/admin-keys/{principal.key_id}/revoke", None


def _import(_admin: Admin, _world: dict[str, str]) -> Prepared:
    digest = hashlib.sha512(secrets.token_bytes(32)).hexdigest()
    return "/tenants/acme/tokens/import", {"sha512_hex": digest}


ROWS = [
    Row("GET", "/me", EVERYONE, 200, fixed("/me"), tenant_scoped=False),
    Row("GET", "/tenants", EVERYONE, 200, fixed("/tenants"), tenant_scoped=False),
    Row("POST", "/tenants", OPERATOR, 201, _new_tenant, tenant_scoped=False),
    Row("GET", "/tenants/{tenant}", READ, 200, fixed("/tenants/acme")),
    Row("PATCH", "/tenants/{tenant}", RENAME, 200, fixed("/tenants/acme", {"name": "Acme 2"})),
    Row("POST", "/tenants/{tenant}/scim/enable", MANAGE, 200, fixed("/tenants/acme/scim/enable")),
    Row("POST", "/tenants/{tenant}/scim/disable", MANAGE, 200, fixed("/tenants/acme/scim/disable")),
    Row("GET", "/tenants/{tenant}/sso", READ, 200, fixed("/tenants/acme/sso")),
    Row(
        "PUT",
        "/tenants/{tenant}/sso",
        MANAGE,
        200,
        fixed("/tenants/acme/sso", {"protocol": "oidc", "idp_id": "https://login.example"}),
    ),
    Row("POST", "/tenants/{tenant}/sso/verify", MANAGE, 200, fixed("/tenants/acme/sso/verify")),
    Row(
        "PUT",
        "/tenants/{tenant}/sso/state",
        MANAGE,
        200,
        fixed("/tenants/acme/sso/state", {"state": "active"}),
    ),
    Row("GET", "/tenants/{tenant}/scim", READ, 200, fixed("/tenants/acme/scim")),
    Row("GET", "/tenants/{tenant}/tokens", READ, 200, fixed("/tenants/acme/tokens")),
    Row("POST", "/tenants/{tenant}/tokens", MANAGE, 201, fixed("/tenants/acme/tokens")),
    Row("POST", "/tenants/{tenant}/tokens/import", MANAGE, 201, _import),
    Row(
        "POST",
        "/tenants/{tenant}/tokens/{token_id}/regenerate",
        MANAGE,
        201,
        _fresh_token("regenerate", {"grace_seconds": 60}),
    ),
    Row(
        "POST",
        "/tenants/{tenant}/tokens/{token_id}/revoke",
        MANAGE,
        200,
        _fresh_token("revoke"),
    ),
    Row(
        "POST",
        "/tenants/{tenant}/admin-keys",
        MANAGE,
        201,
        fixed("/tenants/acme/admin-keys", {"role": "member"}),
    ),
    Row("GET", "/tenants/{tenant}/admin-keys", MANAGE, 200, fixed("/tenants/acme/admin-keys")),
    Row(
        "POST",
        "/tenants/{tenant}/admin-keys/{key_id}/revoke",
        MANAGE,
        200,
        _fresh_member_key,
    ),
    Row("POST", "/operator-keys", OPERATOR, 201, fixed("/operator-keys"), tenant_scoped=False),
    Row("GET", "/tenants/{tenant}/users", READ, 200, fixed("/tenants/acme/users")),
    Row("GET", "/tenants/{tenant}/users/{id}", READ, 200, fixed("/tenants/acme/users/{user}")),
    Row("GET", "/tenants/{tenant}/groups", READ, 200, fixed("/tenants/acme/groups")),
    Row("GET", "/tenants/{tenant}/groups/{id}", READ, 200, fixed("/tenants/acme/groups/{group}")),
    Row(
        "GET",
        "/tenants/{tenant}/export/users.json",
        MANAGE,
        200,
        fixed("/tenants/acme/export/users.json"),
    ),
    Row(
        "GET",
        "/tenants/{tenant}/export/users.csv",
        MANAGE,
        200,
        fixed("/tenants/acme/export/users.csv"),
    ),
    Row(
        "GET",
        "/tenants/{tenant}/export/groups.json",
        MANAGE,
        200,
        fixed("/tenants/acme/export/groups.json"),
    ),
    Row(
        "GET",
        "/tenants/{tenant}/export/groups.csv",
        MANAGE,
        200,
        fixed("/tenants/acme/export/groups.csv"),
    ),
]

# The lifecycle routes (docs/lifecycle.md).
_n = itertools.count()


def _role(admin: Admin) -> str:
    key = f"role-{next(_n)}"
    with admin.db.write() as conn:
        roles.create_app_role(conn, admin.acme.id, key, key)
    return key


def _grant(admin: Admin, world: dict[str, str]) -> Prepared:
    return f"/tenants/acme/users/{world['user']}/grants/{_role(admin)}", None


def _granted(admin: Admin, world: dict[str, str]) -> Prepared:
    key = _role(admin)
    with admin.db.write() as conn:
        roles.grant(conn, admin.acme.id, world["user"], key, by="test")
    return f"/tenants/acme/users/{world['user']}/grants/{key}", None


def _domain(admin: Admin, _world: dict[str, str]) -> Prepared:
    domain = f"d{next(_n)}.example.com"
    with admin.db.write() as conn:
        policies.add_domain(conn, admin.acme.id, domain)
    return f"/tenants/acme/lifecycle/domains/{domain}", None


ROWS += [
    Row(
        "GET",
        "/tenants/{tenant}/users/{id}/access",
        READ,
        200,
        fixed("/tenants/acme/users/{user}/access"),
    ),
    Row(
        "GET",
        "/tenants/{tenant}/users/{id}/grants",
        READ,
        200,
        fixed("/tenants/acme/users/{user}/grants"),
    ),
    Row("PUT", "/tenants/{tenant}/users/{id}/grants/{role_key}", MANAGE, 200, _grant),
    Row("DELETE", "/tenants/{tenant}/users/{id}/grants/{role_key}", MANAGE, 200, _granted),
    Row("GET", "/tenants/{tenant}/lifecycle", READ, 200, fixed("/tenants/acme/lifecycle")),
    Row(
        "PATCH",
        "/tenants/{tenant}/lifecycle",
        MANAGE,
        200,
        fixed("/tenants/acme/lifecycle", {"retention_days": 7}),
    ),
    Row(
        "PUT",
        "/tenants/{tenant}/lifecycle/domains/{domain}",
        MANAGE,
        200,
        fixed("/tenants/acme/lifecycle/domains/acme.com"),
    ),
    Row("DELETE", "/tenants/{tenant}/lifecycle/domains/{domain}", MANAGE, 200, _domain),
    Row("GET", "/tenants/{tenant}/roles", READ, 200, fixed("/tenants/acme/roles")),
    Row(
        "POST",
        "/tenants/{tenant}/roles",
        MANAGE,
        201,
        lambda _a, _w: ("/tenants/acme/roles", {"key": f"k{next(_n)}"}),
    ),
    Row(
        "POST",
        "/tenants/{tenant}/users",
        MANAGE,
        201,
        lambda _a, _w: ("/tenants/acme/users", {"userName": f"jit{next(_n)}"}),
    ),
    Row(
        "PATCH",
        "/tenants/{tenant}/users/{id}",
        MANAGE,
        200,
        fixed("/tenants/acme/users/{user}", {"app_attributes": {"a": 1}}),
    ),
]

# Operator-only changes of a tenant: status and plan (owners and admins may only rename).
ROWS += [
    Row("PATCH", "/tenants/{tenant}", OPERATOR, 200, fixed("/tenants/acme", {"status": "active"})),
    Row(
        "PATCH",
        "/tenants/{tenant}",
        OPERATOR,
        200,
        fixed("/tenants/acme", {"plan_includes_scim": True}),
    ),
]


# Webhooks, the event feed, event settings and the audit trail: managers only.


def _fresh_webhook(
    suffix: str = "", body: Any = None
) -> Callable[[Admin, dict[str, str]], Prepared]:
    def prepare(admin: Admin, _world: dict[str, str]) -> Prepared:
        with admin.db.write() as conn:
            created = endpoints.add_endpoint(conn, admin.acme.id, "http://127.0.0.1:9/hook")
        return f"/tenants/acme/webhooks/{created.id}{suffix}", body

    return prepare


def _dead_delivery(admin: Admin, _world: dict[str, str]) -> Prepared:
    with admin.db.write() as conn:
        created = endpoints.add_endpoint(conn, admin.acme.id, "http://127.0.0.1:9/hook")
        emit(conn, admin.acme.id, "user.updated", resource_type="User", resource_id="u1")
    dispatch(admin.db, Settings())
    with admin.db.write() as conn:
        conn.execute(
            update(deliveries).where(deliveries.c.endpoint_id == created.id).values(status="dead")
        )
        found = conn.execute(
            select(deliveries.c.id).where(deliveries.c.endpoint_id == created.id).limit(1)
        ).scalar_one()
    return f"/tenants/acme/webhooks/{created.id}/deliveries/{found}/replay", None


HOOKS = "/tenants/{tenant}/webhooks"
ROWS += [
    Row("GET", HOOKS, MANAGE, 200, fixed("/tenants/acme/webhooks")),
    Row("POST", HOOKS, MANAGE, 201, fixed("/tenants/acme/webhooks", {"url": "http://h.test/x"})),
    Row("GET", HOOKS + "/{webhook_id}", MANAGE, 200, _fresh_webhook()),
    Row("PATCH", HOOKS + "/{webhook_id}", MANAGE, 200, _fresh_webhook("", {"enabled": False})),
    Row("DELETE", HOOKS + "/{webhook_id}", MANAGE, 204, _fresh_webhook()),
    Row("GET", HOOKS + "/{webhook_id}/deliveries", MANAGE, 200, _fresh_webhook("/deliveries")),
    Row("GET", HOOKS + "/{webhook_id}/attempts", MANAGE, 200, _fresh_webhook("/attempts")),
    Row(
        "POST",
        HOOKS + "/{webhook_id}/dead-letters/replay",
        MANAGE,
        200,
        _fresh_webhook("/dead-letters/replay"),
    ),
    Row(
        "POST",
        HOOKS + "/{webhook_id}/deliveries/{delivery_id}/replay",
        MANAGE,
        200,
        _dead_delivery,
    ),
    Row("GET", "/tenants/{tenant}/events", MANAGE, 200, fixed("/tenants/acme/events")),
    Row(
        "GET",
        "/tenants/{tenant}/event-settings",
        MANAGE,
        200,
        fixed("/tenants/acme/event-settings"),
    ),
    Row(
        "PATCH",
        "/tenants/{tenant}/event-settings",
        MANAGE,
        200,
        fixed("/tenants/acme/event-settings", {"welcome_email": True}),
    ),
    Row("GET", "/tenants/{tenant}/audit", MANAGE, 200, fixed("/tenants/acme/audit")),
    Row(
        "GET",
        "/tenants/{tenant}/audit/export.jsonl",
        MANAGE,
        200,
        fixed("/tenants/acme/audit/export.jsonl"),
    ),
]


def expected(row: Row, caller: str) -> int:
    if caller in ("anonymous", "bogus"):
        return 401
    if caller == "other" and row.tenant_scoped:
        return 404
    return row.ok if caller in row.allowed else 403


def _world(admin: Admin) -> dict[str, str]:
    """SSO active, a user and a group in acme."""
    admin.activate_sso()
    token, _ = admin.new_token()
    user = admin.add_user(token, "ada@example.com")
    group = admin.add_group(token, "Engineers", [user["id"]])
    return {"user": user["id"], "group": group["id"]}


def _headers(admin: Admin, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "bogus":
        return {"Authorization": "Bearer scimhub_admin_" + "x" * 43}
    return admin.as_(caller)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.id} {sorted(r.allowed)}" for r in ROWS])
def test_role_checks(admin: Admin, row: Row) -> None:
    world = _world(admin)
    seen = {}
    for caller in CALLERS:
        path, body = row.prepare(admin, world)
        response = admin.call(row.method, path, None, headers=_headers(admin, caller), json=body)
        seen[caller] = response.status_code
        want = expected(row, caller)
        error = response.json().get("error") if want >= 400 else None
        if want == 401:
            assert error["code"] == "unauthorized"
        elif want == 403:
            # The message names what is needed.
            assert error["code"] == "forbidden"
            assert any(word in error["message"] for word in ("operator", "owner", "admin")), error
        elif want == 404:
            assert error["code"] == "not_found"
            assert "acme" in error["message"]
    assert seen == {caller: expected(row, caller) for caller in CALLERS}


def test_every_route_is_in_the_table(admin: Admin) -> None:
    document = admin.client.get("/admin/openapi.json").json()
    documented = {
        (method.upper(), path.removeprefix("/v1"))
        for path, item in document["paths"].items()
        for method in item
    }
    covered = {(row.method, row.template) for row in ROWS}
    assert documented == covered


def test_other_tenant_looks_like_no_tenant(admin: Admin) -> None:
    """A tenant of another principal answers exactly like a tenant that does not exist."""
    for path in ("", "/tokens", "/scim", "/users", "/export/users.csv"):
        hidden = admin.get(f"/tenants/globex{path}", "owner")
        missing = admin.get(f"/tenants/nosuch{path}", "owner")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
        assert (
            hidden.json()["error"]["message"].replace("globex", "nosuch")
            == (missing.json()["error"]["message"])
        )
    # …and the other tenant's principal sees only its own tenant in the list.
    listed = admin.get("/tenants", "other").json()["tenants"]
    assert [t["slug"] for t in listed] == ["globex"]
    everything = admin.get("/tenants", "operator").json()["tenants"]
    assert [t["slug"] for t in everything] == ["acme", "globex"]
