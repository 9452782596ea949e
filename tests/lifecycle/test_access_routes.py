"""The access check is served by a plain route in front of the admin API
(admin/access_check.py); the admin API's own route documents it. Both answer alike."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from scimhub.admin.app import create_admin_app
from scimhub.settings import Settings

from .conftest import Life


@pytest.fixture
def documented(life: Life) -> TestClient:
    """The admin API alone (its FastAPI route), on the same database."""
    app = create_admin_app(Settings(database_url=life.db.url), life.db)
    return TestClient(app)


def _compare(life: Life, documented: TestClient, path: str, headers: dict[str, str]) -> int:
    served: httpx.Response = life.http.get(f"/admin/v1{path}", headers=headers)
    reference = documented.get(f"/v1{path}", headers=headers)
    assert served.status_code == reference.status_code, path
    assert served.json() == reference.json(), path
    assert served.headers.get("www-authenticate") == reference.headers.get("www-authenticate")
    assert served.headers["content-type"].startswith("application/json")
    return served.status_code


def test_both_routes_give_the_same_answers(life: Life, documented: TestClient) -> None:
    ada = life.new_user("ada@acme.example")
    life.patch("Users", ada["id"], {"op": "replace", "path": "active", "value": False})
    key = {"Authorization": f"Bearer {life.admin_key}"}
    cases = [
        (f"/tenants/acme/users/{ada['id']}/access", key, 200),
        (f"/tenants/acme/users/{ada['id']}/access", {}, 401),
        (f"/tenants/acme/users/{ada['id']}/access", {"Authorization": "Basic abc"}, 401),
        (f"/tenants/acme/users/{ada['id']}/access", {"Authorization": "Bearer nope"}, 401),
        (f"/tenants/nobody/users/{ada['id']}/access", key, 404),
        ("/tenants/acme/users/no-such-user/access", key, 404),
        (f"/tenants/globex/users/{ada['id']}/access", key, 404),
        ("/tenants/acme/users/a%00b/access", key, 404),
    ]
    for path, headers, status in cases:
        assert _compare(life, documented, path, headers) == status, path
    answer = life.access(ada["id"]).json()
    assert answer["active"] is False and answer["sessions_revoked_at"] is not None


def test_other_methods_reach_the_admin_api(life: Life) -> None:
    # The plain route answers GET only; the admin API answers the rest (405).
    response = life.admin("POST", "/tenants/acme/users/x/access")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
