"""The audit trail: SCIM writes with before/after, refused and failed SCIM requests,
admin actions; the query (time, resource, actor, outcome, cursor paging) and export."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from scimhub.audit.log import REDACTED, redact
from scimhub.db.engine import Database
from scimhub.settings import Settings
from scimhub.tenancy import principals, tokens
from scimhub.tenancy.tenants import Tenant
from scimhub.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class World:
    def __init__(self, db: Database, tenant: Tenant, client: TestClient) -> None:
        self.db, self.tenant, self.client = db, tenant, client
        with db.write() as conn:
            self.token = tokens.create_token(conn, tenant.id)
            self.token_id = tokens.list_tokens(conn, tenant.id)[-1].id
            self.key, _ = principals.create_admin_key(conn, tenant_id=tenant.id, role="owner")

    def scim(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}", "User-Agent": "Okta SCIM"}
        headers.update(kw.pop("headers", {}))
        return self.client.request(method, f"/scim/v2/acme{path}", headers=headers, **kw)

    def audit(self, **params: Any) -> dict[str, Any]:
        response = self.client.get(
            "/admin/v1/tenants/acme/audit",
            params=params,
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def world(db: Database, tenant: Tenant, database_url: str) -> Iterator[World]:
    app = create_app(Settings(database_url=database_url), db)
    client = TestClient(app, base_url="http://scimhub.test")
    yield World(db, tenant, client)
    client.close()


def test_scim_writes_are_audited_with_before_and_after(world: World) -> None:
    created = world.scim("POST", "/Users", json={"schemas": [USER], "userName": "ada@x.test",
                                                 "password": "hunter2"})  # fmt: skip
    uid = created.json()["id"]
    world.scim(
        "PATCH",
        f"/Users/{uid}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        headers={"X-Request-Id": "req-42"},
    )
    world.scim("DELETE", f"/Users/{uid}")
    records = world.audit(resource_id=uid)["records"]
    assert [r["operation"] for r in records] == ["delete", "patch", "create"]  # newest first
    delete, patch, create = records
    assert create["before"] is None and create["after"]["userName"] == "ada@x.test"
    assert "password" not in json.dumps(create)  # never stored at all
    assert patch["before"].get("active") is None and patch["after"]["active"] is False
    assert patch["request_id"] == "req-42"
    assert delete["after"] is None and delete["before"]["active"] is False
    for r in records:
        assert r["actor"] == f"token:{world.token_id}" and r["outcome"] == "success"
        assert r["user_agent"] == "Okta SCIM" and r["source"] == "scim"
        assert r["resource_type"] == "User"


def test_refused_and_failed_requests_are_audited(world: World) -> None:
    bogus = "scimhub_" + "x" * 43
    assert world.scim("GET", "/Users", token=bogus).status_code == 401
    assert world.scim("GET", "/Users/nosuch").status_code == 404
    bad = world.scim("POST", "/Users", json={"schemas": [USER]})  # no userName
    assert bad.status_code == 400
    world.scim("POST", "/Users", json={"schemas": [USER], "userName": "ada@x.test"})
    dup = world.scim("POST", "/Users", json={"schemas": [USER], "userName": "ada@x.test"})
    assert dup.status_code == 409
    with world.db.write() as conn:
        from scimhub.tenancy.tenants import update_tenant

        update_tenant(conn, "acme", status="suspended")
    assert world.scim("GET", "/Users").status_code == 403
    refused = world.audit(outcome="refused")["records"]
    assert [(r["status"], r["actor"]) for r in refused] == [
        (403, f"token:{world.token_id}"),
        (401, None),
    ]
    assert "suspended" in refused[0]["error"]
    failed = world.audit(outcome="failed")["records"]
    assert [(r["status"], r["operation"]) for r in failed] == [
        (409, "POST /Users"),
        (400, "POST /Users"),
        (404, "GET /Users/nosuch"),
    ]
    assert failed[2]["resource_id"] == "nosuch" and failed[2]["resource_type"] == "User"
    # A request to a tenant that does not exist is answered, and recorded nowhere.
    assert world.client.get("/scim/v2/nosuch/Users").status_code == 401


def test_a_broken_audit_write_never_turns_a_4xx_into_a_500(world: World) -> None:
    from scimhub.db.tables import audit_log

    with world.db.write() as conn:
        conn.exec_driver_sql(f"DROP TABLE {audit_log.name}")
    assert world.scim("GET", "/Users/nosuch").status_code == 404


def test_admin_actions_are_audited_with_secrets_redacted(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.key}"}
    made = world.client.post(
        "/admin/v1/tenants/acme/webhooks", headers=headers, json={"url": "https://h.test/x"}
    )
    assert made.status_code == 201
    refused = world.client.post("/admin/v1/tenants/acme/webhooks", json={"url": "https://h.test"})
    assert refused.status_code == 401
    records = world.audit(source="admin")["records"]
    assert [(r["operation"], r["status"], r["outcome"]) for r in records] == [
        ("POST /v1/tenants/acme/webhooks", 401, "refused"),
        ("POST /v1/tenants/acme/webhooks", 201, "success"),
    ]
    assert records[1]["actor"].startswith("admin:") and records[0]["actor"] is None
    assert records[1]["after"] == {"request": {"url": "https://h.test/x"}}
    assert made.json()["secret"] not in json.dumps(records)
    assert redact({"a": {"Password": "x", "token": "y"}, "l": [{"secret": 1}]}) == {
        "a": {"Password": REDACTED, "token": REDACTED},
        "l": [{"secret": REDACTED}],
    }


def test_query_by_time_and_actor_with_cursor_paging_and_export(world: World) -> None:
    for i in range(7):
        world.scim("POST", "/Users", json={"schemas": [USER], "userName": f"u{i}@x.test"})
    page = world.audit(limit=3, actor=f"token:{world.token_id}")
    seen = list(page["records"])
    while page["next_cursor"]:
        page = world.audit(limit=3, cursor=page["next_cursor"])
        seen.extend(page["records"])
    assert [r["after"]["userName"] for r in seen] == [f"u{i}@x.test" for i in reversed(range(7))]
    assert world.audit(actor="token:other")["records"] == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert world.audit(since=future)["records"] == []
    assert len(world.audit(since=past, until=future)["records"]) == 7
    bad = world.client.get(
        "/admin/v1/tenants/acme/audit",
        params={"outcome": "maybe"},
        headers={"Authorization": f"Bearer {world.key}"},
    )
    assert bad.status_code == 400
    # A bare number is not taken for Unix time: the API documents ISO 8601 (fuzz finding).
    for since in ("830630", "1700000000"):
        bad = world.client.get(
            "/admin/v1/tenants/acme/audit",
            params={"since": since},
            headers={"Authorization": f"Bearer {world.key}"},
        )
        assert bad.status_code == 400, since
    # U+0000 in a filter: stored as U+FFFD, searched alike; never a 500 (fuzz finding).
    for path in ("/admin/v1/tenants/acme/audit", "/admin/v1/tenants/acme/audit/export.jsonl"):
        nul = world.client.get(
            path, params={"actor": "a\x00b"}, headers={"Authorization": f"Bearer {world.key}"}
        )
        assert nul.status_code == 200, path
    export = world.client.get(
        "/admin/v1/tenants/acme/audit/export.jsonl",
        headers={"Authorization": f"Bearer {world.key}"},
    )
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [r["seq"] for r in lines] == [r["seq"] for r in seen]
