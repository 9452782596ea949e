"""The lifecycle tests: a real uvicorn server on 127.0.0.1 (both backends, through the
root conftest's `database_url`), tenants `acme` and `globex` passing every SCIM gate, a
SCIM token for each, an operator admin key, and a client that speaks to both APIs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from scimhub.db.engine import Database
from scimhub.lifecycle.roles import RoleGrantChange
from scimhub.settings import Settings
from scimhub.tenancy import principals, sso, tokens
from scimhub.tenancy.tenants import Tenant, create_tenant
from scimhub.web.app import create_app

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Life:
    http: httpx.Client
    db: Database
    acme: Tenant
    globex: Tenant
    tokens: dict[str, str]
    admin_key: str
    granted: list[RoleGrantChange] = field(default_factory=list)

    # -- SCIM --------------------------------------------------------------------------

    def scim(self, method: str, path: str, tenant: str = "acme", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[tenant]}"}
        return self.http.request(method, f"/scim/v2/{tenant}{path}", headers=headers, **kwargs)

    def create_user(self, user_name: str, tenant: str = "acme", **attrs: Any) -> httpx.Response:
        body = {"schemas": [USER_URN], "userName": user_name, **attrs}
        return self.scim("POST", "/Users", tenant, json=body)

    def new_user(self, user_name: str, **attrs: Any) -> dict[str, Any]:
        response = self.create_user(user_name, **attrs)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def new_group(self, name: str, members: list[str] = (), **attrs: Any) -> dict[str, Any]:  # type: ignore[assignment]
        body = {
            "schemas": [GROUP_URN],
            "displayName": name,
            "members": [{"value": m} for m in members],
            **attrs,
        }
        response = self.scim("POST", "/Groups", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def patch(self, kind: str, id: str, *operations: dict[str, Any]) -> httpx.Response:
        body = {"schemas": [PATCH_URN], "Operations": list(operations)}
        return self.scim("PATCH", f"/{kind}/{id}", json=body)

    # -- admin API ------------------------------------------------------------------------

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return self.http.request(method, f"/admin/v1{path}", headers=headers, **kwargs)

    def access(self, user_id: str, tenant: str = "acme") -> httpx.Response:
        return self.admin("GET", f"/tenants/{tenant}/users/{user_id}/access")

    def roles_of(self, user_id: str) -> list[str]:
        response = self.access(user_id)
        assert response.status_code == 200, response.text
        found: list[str] = response.json()["roles"]
        return found

    def policy(self, **changes: Any) -> dict[str, Any]:
        response = self.admin("PATCH", "/tenants/acme/lifecycle", json=changes)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def app_role(self, key: str, **extra: Any) -> dict[str, Any]:
        response = self.admin("POST", "/tenants/acme/roles", json={"key": key, **extra})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def roles(self) -> dict[str, dict[str, Any]]:
        response = self.admin("GET", "/tenants/acme/roles")
        assert response.status_code == 200, response.text
        return {r["key"]: r for r in response.json()["roles"]}

    def grants(self, user_id: str) -> list[tuple[str, str]]:
        response = self.admin("GET", f"/tenants/acme/users/{user_id}/grants")
        assert response.status_code == 200, response.text
        return sorted((g["role_key"], g["source"]) for g in response.json()["grants"])

    def jit(self, user_name: str, tenant: str = "acme", **attrs: Any) -> dict[str, Any]:
        response = self.admin(
            "POST", f"/tenants/{tenant}/users", json={"userName": user_name, **attrs}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


def _eligible(conn: Any, slug: str) -> Tenant:
    tenant = create_tenant(conn, slug, slug.capitalize())
    sso.set_connection(conn, tenant.id, protocol="saml", idp_id=f"https://idp.example/{slug}")
    sso.set_state(conn, tenant.id, "active")
    return tenant


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def life(database_url: str, db: Database) -> Iterator[Life]:
    with db.write() as conn:
        acme = _eligible(conn, "acme")
        globex = _eligible(conn, "globex")
        keys = {
            "acme": tokens.create_token(conn, acme.id, created_by="test"),
            "globex": tokens.create_token(conn, globex.id, created_by="test"),
        }
        admin_key = principals.create_admin_key(conn, tenant_id=None, role="operator")[0]
    sock = _free_socket()
    port = sock.getsockname()[1]
    settings = Settings(database_url=database_url, host="127.0.0.1", port=port)
    app = create_app(settings, db)
    granted: list[RoleGrantChange] = []
    # Listen to role grant changes as the event outbox does (events/roles.py).
    app.state.lifecycle.grant_listeners.append(lambda _conn, change: granted.append(change))
    server = uvicorn.Server(
        uvicorn.Config(app=app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield Life(http, db, acme, globex, keys, admin_key, granted)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
