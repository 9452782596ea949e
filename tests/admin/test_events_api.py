"""The admin API's webhook, delivery log, replay, event feed and event settings routes,
against a real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import standardwebhooks

from events.receiver import Receiver
from scimhub.events.worker import Worker
from scimhub.settings import Settings

from .conftest import Admin


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _run_worker(admin: Admin) -> None:
    worker = Worker(Settings(worker_poll_seconds=0.02), admin.db)
    try:
        worker.drain()
    finally:
        worker.close()


def test_webhooks_through_the_admin_api(admin: Admin, receiver: Receiver) -> None:
    created = admin.post(
        "/tenants/acme/webhooks",
        "owner",
        json={"url": receiver.url, "events": ["user.created", "user.deactivated"]},
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["events"] == [
        "user.created",
        "user.deactivated",
    ]
    listed = admin.get("/tenants/acme/webhooks", "admin").json()["webhooks"]
    assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]
    bad = admin.post("/tenants/acme/webhooks", "owner", json={"url": "ftp://x", "events": None})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_url"
    bad = admin.post(
        "/tenants/acme/webhooks", "owner", json={"url": receiver.url, "events": ["user.renamed"]}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_event_type"
    assert admin.get("/tenants/globex/webhooks", "owner").status_code == 404

    admin.activate_sso()
    token, _ = admin.new_token()
    user = admin.add_user(token, "ada@example.com")
    patched = admin.scim(
        "PATCH",
        f"/Users/{user['id']}",
        token,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert patched.status_code == 200
    _run_worker(admin)
    got = receiver.wait_for(2)
    verifier = standardwebhooks.Webhook(hook["secret"])
    assert [verifier.verify(r.body, r.headers)["type"] for r in got] == [
        "user.created",
        "user.deactivated",
    ]
    deliveries = admin.get(f"/tenants/acme/webhooks/{hook['id']}/deliveries", "owner").json()
    assert [d["status"] for d in deliveries["deliveries"]] == ["delivered", "delivered"]
    attempts = admin.get(f"/tenants/acme/webhooks/{hook['id']}/attempts", "owner").json()
    assert [a["status_code"] for a in attempts["attempts"]] == [200, 200]
    # Replay of a delivered one is allowed; of a pending one a conflict.
    first = deliveries["deliveries"][0]["id"]
    replayed = admin.post(f"/tenants/acme/webhooks/{hook['id']}/deliveries/{first}/replay", "owner")
    assert replayed.json() == {"replayed": 1}
    again = admin.post(f"/tenants/acme/webhooks/{hook['id']}/deliveries/{first}/replay", "owner")
    assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_pending"

    # Rotate the secret, change the filter, disable, delete.
    rotated = admin.call(
        "PATCH",
        f"/tenants/acme/webhooks/{hook['id']}",
        "owner",
        json={"rotate_secret": True, "events": None},
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] != hook["secret"]
    assert rotated.json()["events"] is None
    gone = admin.call("DELETE", f"/tenants/acme/webhooks/{hook['id']}", "owner")
    assert gone.status_code == 204
    assert admin.get(f"/tenants/acme/webhooks/{hook['id']}", "owner").status_code == 404


def test_the_event_feed(admin: Admin) -> None:
    admin.activate_sso()
    token, _ = admin.new_token()
    ids = [admin.add_user(token, f"u{i}@example.com")["id"] for i in range(5)]
    empty = admin.get("/tenants/acme/events", "owner").json()
    assert empty == {"events": [], "next_cursor": "0"}  # nothing published before the worker ran
    _run_worker(admin)
    page = admin.get("/tenants/acme/events", "owner", params={"limit": 3}).json()
    rest = admin.get("/tenants/acme/events", "owner", params={"after": page["next_cursor"]}).json()
    seen = page["events"] + rest["events"]
    assert [e["resource"]["id"] for e in seen if e["type"] == "user.created"] == ids
    # The token created by new_token() is not an event (no gates, storage step), so only users.
    assert {e["type"] for e in seen} == {"user.created"}
    tail = admin.get("/tenants/acme/events", "owner", params={"after": rest["next_cursor"]}).json()
    assert tail["events"] == [] and tail["next_cursor"] == rest["next_cursor"]
    only = admin.get("/tenants/acme/events", "owner", params={"types": "user.deleted"}).json()
    assert only["events"] == []
    bad = admin.get("/tenants/acme/events", "owner", params={"after": "abc"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
    assert admin.get("/tenants/acme/events", "member").status_code == 403
    assert admin.get("/tenants/globex/events", "owner").status_code == 404


def test_event_settings(admin: Admin) -> None:
    got = admin.get("/tenants/acme/event-settings", "owner").json()
    assert got == {
        "event_retention_days": 90,
        "audit_retention_days": 365,
        "welcome_email": False,
        "sso_ready_email": False,
        "admin_emails": [],
    }
    changed = admin.call(
        "PATCH",
        "/tenants/acme/event-settings",
        "owner",
        json={"event_retention_days": 400, "admin_emails": ["it@acme.test"]},
    )
    assert changed.status_code == 200
    assert changed.json()["event_retention_days"] == 400
    assert admin.get("/tenants/acme/event-settings", "owner").json()["admin_emails"] == [
        "it@acme.test"
    ]
    bad = admin.call(
        "PATCH", "/tenants/acme/event-settings", "owner", json={"admin_emails": ["nope"]}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_setting"
    bad = admin.call(
        "PATCH", "/tenants/acme/event-settings", "owner", json={"event_retention_days": 0}
    )
    assert bad.status_code == 400
    # JSON booleans and strings are not numbers, nor numbers booleans (found by the fuzz run).
    for wrong in (
        {"event_retention_days": True},
        {"audit_retention_days": "30"},
        {"welcome_email": 1},
        {"sso_ready_email": "yes"},
    ):
        bad = admin.call("PATCH", "/tenants/acme/event-settings", "owner", json=wrong)
        assert bad.status_code == 400, wrong
    assert admin.get("/tenants/acme/event-settings", "owner").json()["event_retention_days"] == 400
