"""Fixtures of the admin API tests, on both backends (`database_url`, `db` from the root
conftest): the whole ASGI app (`create_app`, so the SCIM endpoints answer too), tenant
`acme` with one key per role, tenant `globex` with an owner key, and helpers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from scimhub.db.engine import Database
from scimhub.settings import Settings
from scimhub.tenancy import principals, sso, tokens
from scimhub.tenancy.tenants import Tenant, create_tenant
from scimhub.web.app import create_app


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # starlette's TestClient prefers httpx2; the installed httpx works the same here.
    here = str(__file__).rsplit("/", 1)[0]
    quiet = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(quiet)


TENANT_ROLES = ("owner", "admin", "security-admin", "member")
ROLES = ("operator", *TENANT_ROLES)
ORIGIN = "http://scimhub.test"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Admin:
    """A client of the whole app with the keys of the test's principals."""

    client: TestClient
    db: Database
    acme: Tenant
    globex: Tenant
    keys: dict[str, str] = field(default_factory=dict)  # role → key (acme), "operator"
    other_owner: str = ""  # an owner key of globex

    def as_(self, role: str) -> dict[str, str]:
        if role == "other":
            return bearer(self.other_owner)
        return bearer(self.keys[role])

    def call(self, method: str, path: str, role: str | None = "operator", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if role is not None:
            headers.update(self.as_(role))
        return self.client.request(method, f"/admin/v1{path}", headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "operator", **kwargs: Any) -> Any:
        return self.call("GET", path, role, **kwargs)

    def post(self, path: str, role: str | None = "operator", **kwargs: Any) -> Any:
        return self.call("POST", path, role, **kwargs)

    def activate_sso(self, tenant: Tenant | None = None) -> None:
        """The tenant's SSO connection configured and active: every gate passes."""
        tenant = tenant or self.acme
        with self.db.write() as conn:
            sso.set_connection(conn, tenant.id, protocol="saml", idp_id="https://idp.example")
            sso.set_state(conn, tenant.id, "active")

    def new_token(self, tenant: Tenant | None = None) -> tuple[str, str]:
        """(token, id) of a fresh token, created without the gates (set-up only)."""
        tenant = tenant or self.acme
        with self.db.write() as conn:
            token = tokens.create_token(conn, tenant.id, created_by="test")
            found = [t for t in tokens.list_tokens(conn, tenant.id) if t.last4 == token[-4:]]
        return token, found[-1].id

    def scim(self, method: str, path: str, token: str, tenant: str = "acme", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", **(kwargs.pop("headers", {}) or {})}
        return self.client.request(method, f"/scim/v2/{tenant}{path}", headers=headers, **kwargs)

    def add_user(
        self, token: str, user_name: str, tenant: str = "acme", **attributes: Any
    ) -> dict[str, Any]:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            **attributes,
        }
        response = self.scim("POST", "/Users", token, tenant=tenant, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def add_group(self, token: str, name: str, members: list[str]) -> dict[str, Any]:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        response = self.scim("POST", "/Groups", token, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def make_settings(database_url: str, **overrides: Any) -> Settings:
    # A short flush interval is irrelevant here: the TestClient runs no lifespan.
    return Settings(database_url=database_url, **overrides)


@pytest.fixture
def admin_settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def admin(db: Database, admin_settings: Settings) -> Iterator[Admin]:
    with db.write() as conn:
        acme = create_tenant(conn, "acme", "Acme Corp")
        globex = create_tenant(conn, "globex", "Globex")
        keys = {"operator": principals.create_admin_key(conn, tenant_id=None, role="operator")[0]}
        for role in TENANT_ROLES:
            keys[role] = principals.create_admin_key(conn, tenant_id=acme.id, role=role)[0]
        other = principals.create_admin_key(conn, tenant_id=globex.id, role="owner")[0]
    app = create_app(admin_settings, db)
    client = TestClient(app, base_url=ORIGIN)
    yield Admin(client, db, acme, globex, keys, other)
    client.close()
