"""Linking on create: by externalId (see test_accounts), by a work email in a verified
domain, by userName; each refusal; accounts created outside SCIM adopted; the admin API
refusing SCIM-managed attributes; app-owned attributes read-only to SCIM."""

from __future__ import annotations

import sqlalchemy as sa

from scimhub.db.tables import account_links

from .conftest import Life


def _links(life: Life, user_id: str) -> list[tuple[str, str]]:
    with life.db.read() as conn:
        rows = conn.execute(
            sa.select(account_links.c.matched_by, account_links.c.target).where(
                account_links.c.user_id == user_id
            )
        ).all()
    return [(r.matched_by, r.target) for r in rows]


def test_jit_account_is_linked_by_work_email_in_a_verified_domain(life: Life) -> None:
    assert life.admin("PUT", "/tenants/acme/lifecycle/domains/Acme.com").status_code == 200
    jit = life.jit("ada", emails=[{"value": "Ada@acme.com", "type": "work"}])
    created = life.new_user(
        "ada.lovelace", externalId="okta-9", emails=[{"value": "ada@ACME.com", "type": "work"}]
    )
    assert created["id"] == jit["id"]
    assert created["userName"] == "ada.lovelace"
    assert _links(life, jit["id"]) == [("email", "app")]
    # Linked once: a second POST of the same person is the usual duplicate.
    again = life.create_user("ada.lovelace")
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"


def test_jit_account_is_linked_by_user_name(life: Life) -> None:
    jit = life.jit("bob@acme.com")
    created = life.new_user("BOB@acme.com", displayName="Bob")
    assert created["id"] == jit["id"]
    assert _links(life, jit["id"]) == [("userName", "app")]


def test_no_link_through_an_unverified_domain(life: Life) -> None:
    life.admin("PUT", "/tenants/acme/lifecycle/domains/acme.com")
    # The address is in a domain acme never verified: an IdP must not claim the account.
    jit = life.jit("eve-app", emails=[{"value": "eve@evil.example", "type": "work"}])
    created = life.new_user("eve-idp", emails=[{"value": "eve@evil.example", "type": "work"}])
    assert created["id"] != jit["id"]
    assert _links(life, jit["id"]) == []


def test_no_link_across_tenants(life: Life) -> None:
    for tenant in ("acme", "globex"):
        assert life.admin("PUT", f"/tenants/{tenant}/lifecycle/domains/acme.com").is_success
    other = life.jit("carol@acme.com", tenant="globex")
    created = life.new_user("carol@acme.com", emails=[{"value": "carol@acme.com"}])
    assert created["id"] != other["id"]
    assert life.access(created["id"], "globex").status_code == 404


def test_linking_policy_refuse(life: Life) -> None:
    assert life.policy(linking_policy="refuse")["linking_policy"] == "refuse"
    jit = life.jit("dan@acme.com")
    response = life.create_user("dan@acme.com")
    assert response.status_code == 409
    body = response.json()
    assert body["scimType"] == "uniqueness"
    assert "linking policy" in body["detail"]
    assert life.access(jit["id"]).json()["active"] is True


def test_admin_api_refuses_scim_managed_attributes_while_scim_is_enabled(life: Life) -> None:
    jit = life.jit("fay@acme.com", displayName="Fay")
    path = f"/tenants/acme/users/{jit['id']}"
    refused = life.admin("PATCH", path, json={"attributes": {"displayName": "F."}})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "scim_managed"
    assert "source of truth" in error["message"]
    # The app's own attributes are the app's to change.
    assert life.admin("PATCH", path, json={"app_attributes": {"plan": "pro"}}).status_code == 200
    # With SCIM disabled the admin API may change them, and deactivation revokes sessions.
    assert life.admin("POST", "/tenants/acme/scim/disable").status_code == 200
    changed = life.admin("PATCH", path, json={"attributes": {"displayName": "F.", "active": False}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["displayName"] == "F."
    access = life.access(jit["id"]).json()
    assert access["active"] is False
    assert access["sessions_revoked_at"] is not None


APP = "urn:scimhub:params:scim:schemas:extension:app:2.0:User"


def test_scim_writes_to_app_owned_attributes_are_refused(life: Life) -> None:
    ada = life.new_user("ada@acme.com")
    for operation in (
        {"op": "replace", "path": f"{APP}:roles", "value": ["admin"]},
        {"op": "add", "value": {f"{APP}:roles": ["admin"]}},
        {"op": "replace", "value": {APP: {"roles": ["owner"]}}},
    ):
        response = life.patch("Users", ada["id"], operation)
        assert response.status_code == 400, operation
        assert response.json()["scimType"] == "mutability"
    response = life.create_user("bob@acme.com", **{APP: {"roles": ["owner"]}})
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"
    current = life.scim("GET", f"/Users/{ada['id']}").json()
    response = life.scim("PUT", f"/Users/{ada['id']}", json={**current, APP: {"roles": ["x"]}})
    assert response.status_code == 400
    # The core `roles` attribute stays the IdP's (Entra sends it, JSON-encoded).
    response = life.patch(
        "Users", ada["id"], {"op": "add", "path": "roles", "value": [{"value": "Reader"}]}
    )
    assert response.status_code == 200
