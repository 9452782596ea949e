"""Accounts: deactivation and the access check, reactivation, delete under each policy,
restore within retention, the retention purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from scimhub.cli import main
from scimhub.db.tables import account_links, retained_users
from scimhub.lifecycle.retention import purge_expired

from .conftest import Life


def test_deactivation_is_visible_at_once_and_reactivation_restores(life: Life) -> None:
    life.app_role("member")
    life.policy(default_role_key="member")
    ada = life.new_user("ada@acme.com", externalId="okta-1", displayName="Ada")
    group = life.new_group("Billing", [ada["id"]])
    before = life.access(ada["id"]).json()
    assert before == {"active": True, "roles": ["billing", "member"], "sessions_revoked_at": None}

    # Entra's deactivation: a string boolean, capitalised op.
    response = life.patch("Users", ada["id"], {"op": "Replace", "path": "active", "value": "False"})
    assert response.status_code == 200, response.text
    after = life.access(ada["id"]).json()
    assert after["active"] is False
    assert after["sessions_revoked_at"] is not None
    # Still there for the IdP: GET and filters see the deactivated user.
    assert life.scim("GET", f"/Users/{ada['id']}").json()["active"] is False
    listed = life.scim("GET", "/Users", params={"filter": "active eq false"}).json()
    assert [u["id"] for u in listed["Resources"]] == [ada["id"]]

    # Reactivation: same account, same data, same roles; the revocation instant stays.
    response = life.patch("Users", ada["id"], {"op": "replace", "value": {"active": True}})
    assert response.status_code == 200, response.text
    again = life.access(ada["id"]).json()
    assert again["active"] is True
    assert again["roles"] == ["billing", "member"]
    assert again["sessions_revoked_at"] == after["sessions_revoked_at"]
    user = life.scim("GET", f"/Users/{ada['id']}").json()
    assert user["displayName"] == "Ada"
    assert [g["value"] for g in user["groups"]] == [group["id"]]


def test_put_with_active_false_deactivates(life: Life) -> None:
    # Okta's AIW deactivation: GET, then PUT the user back with active false.
    bob = life.new_user("bob@acme.com", active=True)
    current = life.scim("GET", f"/Users/{bob['id']}").json()
    response = life.scim("PUT", f"/Users/{bob['id']}", json={**current, "active": False})
    assert response.status_code == 200, response.text
    access = life.access(bob["id"]).json()
    assert access["active"] is False
    assert access["sessions_revoked_at"] is not None


def test_unknown_user_and_other_tenant_are_404(life: Life) -> None:
    assert life.access("no-such-user").status_code == 404
    carol = life.create_user("carol@globex.com", tenant="globex").json()
    assert life.access(carol["id"], "globex").status_code == 200
    assert life.access(carol["id"], "acme").status_code == 404


def test_deprovision_then_the_idp_creates_the_person_again(life: Life) -> None:
    life.app_role("billing-admin")
    ada = life.new_user(
        "ada@acme.com", externalId="okta-1", emails=[{"value": "ada@acme.com", "type": "work"}]
    )
    group = life.new_group("Engineering", [ada["id"]])
    assert life.admin("PUT", f"/tenants/acme/users/{ada['id']}/grants/billing-admin").is_success

    assert life.scim("DELETE", f"/Users/{ada['id']}").status_code == 204
    assert life.scim("GET", f"/Users/{ada['id']}").status_code == 404
    assert life.access(ada["id"]).status_code == 404
    members = life.scim("GET", f"/Groups/{group['id']}").json().get("members", [])
    assert members == []
    listed = life.scim("GET", "/Users", params={"filter": 'userName eq "ada@acme.com"'}).json()
    assert listed["totalResults"] == 0

    # The IdP re-creates her (same externalId, new attributes): the same account is back.
    again = life.new_user("ada@acme.com", externalId="okta-1", title="Staff Engineer")
    assert again["id"] == ada["id"]
    assert again["meta"]["created"] == ada["meta"]["created"]
    assert again["title"] == "Staff Engineer"
    assert life.roles_of(ada["id"]) == ["billing-admin", "engineering"]
    members = life.scim("GET", f"/Groups/{group['id']}").json()["members"]
    assert [m["value"] for m in members] == [ada["id"]]
    with life.db.read() as conn:
        links = conn.execute(
            sa.select(account_links.c.matched_by, account_links.c.target).where(
                account_links.c.user_id == ada["id"]
            )
        ).all()
    assert [tuple(r) for r in links] == [("externalId", "retained")]


def test_restore_by_user_name_but_not_for_another_person_with_the_same_name(life: Life) -> None:
    first = life.new_user("sam@acme.com", externalId="e-1")
    assert life.scim("DELETE", f"/Users/{first['id']}").status_code == 204
    # Another Sam (another externalId from the same provider): a new account.
    other = life.new_user("sam@acme.com", externalId="e-2")
    assert other["id"] != first["id"]
    assert life.scim("DELETE", f"/Users/{other['id']}").status_code == 204
    # No externalId sent: userName identifies the person; the newest retained copy.
    back = life.new_user("sam@acme.com")
    assert back["id"] in (first["id"], other["id"])


def test_purge_policy_removes_at_once(life: Life) -> None:
    assert life.policy(delete_policy="purge")["delete_policy"] == "purge"
    ada = life.new_user("ada@acme.com", externalId="okta-1")
    assert life.scim("DELETE", f"/Users/{ada['id']}").status_code == 204
    assert life.access(ada["id"]).status_code == 404
    with life.db.read() as conn:
        assert conn.execute(sa.select(retained_users.c.id)).all() == []
    again = life.new_user("ada@acme.com", externalId="okta-1")
    assert again["id"] != ada["id"]


def test_retention_purge(life: Life, database_url: str) -> None:
    ada = life.new_user("ada@acme.com", externalId="okta-1")
    bob = life.new_user("bob@acme.com", externalId="okta-2")
    for user in (ada, bob):
        assert life.scim("DELETE", f"/Users/{user['id']}").status_code == 204
    # Within the 30 days of retention: nothing goes.
    with life.db.write() as conn:
        assert purge_expired(conn) == 0
        assert purge_expired(conn, datetime.now(UTC) + timedelta(days=29)) == 0
    # Past it (the CLI form run by operators and cron): both go, and they are not restored.
    life.policy(retention_days=0)
    assert main(["lifecycle", "purge", "--database-url", database_url]) == 0
    with life.db.read() as conn:
        assert conn.execute(sa.select(retained_users.c.id)).all() == []
    again = life.new_user("ada@acme.com", externalId="okta-1")
    assert again["id"] != ada["id"]
