"""Tenants, who am I, and admin keys (who may mint which role)."""

from __future__ import annotations

import pytest

from scimhub.tenancy import principals

from .conftest import TENANT_ROLES, Admin, bearer


def test_create_read_update_a_tenant(admin: Admin) -> None:
    created = admin.post(
        "/tenants", json={"slug": "initech", "name": "Initech", "plan_includes_scim": False}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["slug"] == "initech" and body["name"] == "Initech"
    assert body["status"] == "active"
    assert body["plan_includes_scim"] is False and body["scim_enabled"] is True
    assert admin.get("/tenants/initech").json() == body

    renamed = admin.call("PATCH", "/tenants/acme", "admin", json={"name": "Acme Inc."})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Inc."
    changed = admin.call(
        "PATCH", "/tenants/acme", json={"status": "suspended", "plan_includes_scim": False}
    ).json()
    assert changed["status"] == "suspended" and changed["plan_includes_scim"] is False
    assert changed["name"] == "Acme Inc."
    # An empty PATCH changes nothing.
    assert admin.call("PATCH", "/tenants/acme", "owner", json={}).json() == changed
    # Read back through every reader.
    for role in TENANT_ROLES:
        assert admin.get("/tenants/acme", role).json() == changed


def test_me(admin: Admin) -> None:
    operator = admin.get("/me").json()
    assert operator["role"] == "operator" and operator["tenant"] is None
    for role in TENANT_ROLES:
        me = admin.get("/me", role).json()
        assert me["role"] == role and me["tenant"] == "acme"


# caller → roles it may mint on its own tenant
MINTABLE = {
    "operator": {"owner", "admin", "security-admin", "member"},
    "owner": {"owner", "admin", "security-admin", "member"},
    "admin": {"admin", "security-admin", "member"},
    "security-admin": {"security-admin", "member"},
    "member": set(),
}


@pytest.mark.parametrize("caller", list(MINTABLE))
def test_who_may_mint_which_key(admin: Admin, caller: str) -> None:
    for role in TENANT_ROLES:
        response = admin.post("/tenants/acme/admin-keys", caller, json={"role": role, "name": "k"})
        if role in MINTABLE[caller]:
            assert response.status_code == 201, (caller, role, response.text)
            body = response.json()
            assert body["key"].startswith("scimhub_admin_")
            assert body["principal"]["role"] == role
            assert body["principal"]["tenant"] == "acme"
            assert body["principal"]["name"] == "k"
            # The new key works, with its role, on its tenant only.
            me = admin.client.get("/admin/v1/me", headers=bearer(body["key"])).json()
            assert me["role"] == role and me["tenant"] == "acme"
            other = admin.client.get("/admin/v1/tenants/globex", headers=bearer(body["key"]))
            assert other.status_code == 404
        else:
            assert response.status_code == 403, (caller, role, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_a_minted_member_key_is_read_only(admin: Admin) -> None:
    key = admin.post("/tenants/acme/admin-keys", "owner", json={"role": "member"}).json()["key"]
    assert admin.client.get("/admin/v1/tenants/acme/tokens", headers=bearer(key)).status_code == 200
    denied = admin.client.post("/admin/v1/tenants/acme/tokens", headers=bearer(key))
    assert denied.status_code == 403


def test_operator_keys(admin: Admin) -> None:
    response = admin.post("/operator-keys", json={"name": "host app"})
    assert response.status_code == 201
    body = response.json()
    assert body["principal"] == {
        "id": body["principal"]["id"],
        "tenant": None,
        "role": "operator",
        "name": "host app",
    }
    key = body["key"]
    listed = admin.client.get("/admin/v1/tenants", headers=bearer(key)).json()["tenants"]
    assert {t["slug"] for t in listed} == {"acme", "globex"}
    assert admin.post("/operator-keys", "owner").status_code == 403


def test_key_use_is_recorded(admin: Admin) -> None:
    with admin.db.read() as conn:
        owner = principals.authenticate_admin(conn, admin.keys["owner"])
        assert owner is not None
        before = principals.list_admin_keys(conn, owner.id)
    assert [k.last_used_at for k in before] == [None]
    assert admin.get("/me", "owner").status_code == 200
    with admin.db.read() as conn:
        after = principals.list_admin_keys(conn, owner.id)
    assert after[0].last_used_at is not None
