"""The outbox: which events each write produces, written in the write's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from scimhub.db.engine import Database
from scimhub.db.tables import events, users
from scimhub.events import KINDS, emit
from scimhub.events.dispatch import dispatch
from scimhub.events.feed import read_feed
from scimhub.resources.changes import Change
from scimhub.settings import Settings
from scimhub.tenancy import tokens
from scimhub.tenancy.tenants import Tenant

from .conftest import directory


def _events(db: Database, tenant_id: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(events.c.payload).where(events.c.tenant_id == tenant_id).order_by(events.c.seq)
        ).scalars()
        return list(rows)


def _types(db: Database, tenant_id: str) -> list[str]:
    return [e["type"] for e in _events(db, tenant_id)]


def test_user_lifecycle_events(db: Database, tenant: Tenant, settings: Settings) -> None:
    d = directory(db, settings, tenant.id)
    uid = d.create_user("ada@example.com", emails=[{"value": "ada@example.com"}])
    d.patch_user(uid, {"op": "replace", "path": "title", "value": "Engineer"})
    d.set_active(uid, False)
    d.set_active(uid, False)  # changes nothing: no event
    d.set_active(uid, True)
    d.delete_user(uid)
    assert _types(db, tenant.id) == [
        "user.created",
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "user.deleted",
    ]
    created, updated, deactivated, *_ = _events(db, tenant.id)
    # The payload: id, type, tenant, provider, time, the resource as SCIM shows it, changes.
    assert created["id"].startswith("evt_") and created["tenant"] == "acme"
    assert created["tenant_id"] == tenant.id and created["provider"] == "okta"
    assert created["actor"] == "token:t1" and created["request_id"] == "r1"
    assert created["resource"] == {"type": "User", "id": uid}
    assert created["data"]["userName"] == "ada@example.com"
    assert created["data"]["meta"]["location"].endswith(f"/scim/v2/acme/okta/Users/{uid}")
    assert created["timestamp"].endswith("Z")
    assert updated["changes"] == {"title": {"before": None, "after": "Engineer"}}
    assert deactivated["changes"] == {"active": {"before": None, "after": False}}
    assert deactivated["data"]["active"] is False


def test_group_and_member_events(db: Database, tenant: Tenant, settings: Settings) -> None:
    d = directory(db, settings, tenant.id)
    a, b = d.create_user("a@example.com"), d.create_user("b@example.com")
    gid = d.create_group("Engineers", [a])
    d.patch_group(gid, {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]})
    d.patch_group(gid, {"op": "remove", "path": f'members[value eq "{a}"]'})
    d.patch_group(gid, {"op": "replace", "path": "displayName", "value": "Eng"})
    found = _events(db, tenant.id)[2:]
    assert [e["type"] for e in found] == [
        "group.created",
        "group.member_added",  # a, at creation
        "group.member_added",  # b only: re-adding a is no change
        "group.member_removed",
        "group.updated",
    ]
    assert found[1]["data"]["member"] == {"value": a, "type": "User"}
    assert found[2]["data"]["member"] == {"value": b, "type": "User"}
    assert found[3]["data"]["member"] == {"value": a}
    assert found[3]["data"]["group"] == {"id": gid, "displayName": "Engineers"}
    assert found[4]["changes"] == {"displayName": {"before": "Engineers", "after": "Eng"}}
    assert found[0]["data"]["memberCount"] == 1


def test_a_write_that_rolls_back_leaves_no_event(
    db: Database, tenant: Tenant, settings: Settings
) -> None:
    d = directory(db, settings, tenant.id)

    def fail(_conn: Connection, _change: Change) -> None:
        raise RuntimeError("boom")

    d.users.observers.append(fail)  # runs after the audit and event observers
    with pytest.raises(RuntimeError):
        d.create_user("ada@example.com")
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar() == 0
    assert _events(db, tenant.id) == []


def test_token_events(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        secret, info = tokens.issue_token(conn, tenant, created_by="admin:p1")
        new_secret, new = tokens.regenerate_token(
            conn, tenant, info.id, grace=None, created_by="admin:p1"
        )
        tokens.revoke_token(conn, tenant.id, new.id, revoked_by="admin:p2")
        tokens.revoke_token(conn, tenant.id, new.id, revoked_by="admin:p2")  # idempotent
    found = _events(db, tenant.id)
    assert [e["type"] for e in found] == ["token.created", "token.regenerated", "token.revoked"]
    assert found[0]["data"]["id"] == info.id and found[0]["actor"] == "admin:p1"
    assert found[1]["data"]["id"] == new.id and found[1]["replaces"]["id"] == info.id
    assert found[2]["actor"] == "admin:p2"
    text = str(found)
    # Never the token or its digest.
    assert secret not in text and new_secret not in text
    assert tokens.digest(secret) not in text


def test_emit_for_the_lifecycle_rules(db: Database, tenant: Tenant, settings: Settings) -> None:
    assert "role.granted" in KINDS and "role.revoked" in KINDS
    with db.write() as conn:
        event_id = emit(
            conn,
            tenant.id,
            "role.granted",
            resource_type="User",
            resource_id="u1",
            data={"role": "admin", "user_id": "u1"},
        )
        emit(conn, tenant.id, "role.revoked", resource_type="User", resource_id="u1")
    with pytest.raises(ValueError, match="unknown event type"), db.write() as conn:
        emit(conn, tenant.id, "role.promoted")
    # The rolled-back transaction above left nothing; published, the events are in the feed.
    assert dispatch(db, settings) == 2
    with db.read() as conn:
        found, cursor = read_feed(conn, tenant.id, 0, 10)
    assert [(e["id"], e["type"], e["sequence"]) for e in found] == [
        (event_id, "role.granted", 1),
        (found[1]["id"], "role.revoked", 2),
    ]
    assert found[0]["data"] == {"role": "admin", "user_id": "u1"}
    assert cursor == 2


def test_feed_is_per_tenant_ordered_and_resumable(
    db: Database, tenant: Tenant, other_tenant: Tenant, settings: Settings
) -> None:
    d, o = directory(db, settings, tenant.id), directory(db, settings, other_tenant.id)
    ids = [d.create_user(f"u{i}@example.com") for i in range(5)]
    o.create_user("x@example.com")
    assert dispatch(db, settings) == 6
    with db.read() as conn:
        first, cursor = read_feed(conn, tenant.id, 0, 3)
        rest, end = read_feed(conn, tenant.id, cursor, 10)
        again, same = read_feed(conn, tenant.id, end, 10)
    assert [e["resource"]["id"] for e in first + rest] == ids
    seqs = [e["sequence"] for e in first + rest]
    assert seqs == sorted(seqs)
    assert again == [] and same == end
