"""Listing and revoking a tenant's admin keys over the admin API, on both backends: the
list never shows a secret, a revoked key is refused on its very next request, nobody
revokes a key with more authority than their own, another tenant's key is a 404, and
revoking is idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.tenancy import principals
from scimhub.tenancy.principals import Principal

from .conftest import Admin, bearer

FIELDS = {
    "id",
    "principal_id",
    "role",
    "name",
    "prefix",
    "last4",
    "created_at",
    "last_used_at",
    "revoked_at",
}


def _key(admin: Admin, role: str, name: str | None = None) -> tuple[str, Principal]:
    """A new key of acme (or an operator key), made without the API."""
    tenant_id = None if role == "operator" else admin.acme.id
    with admin.db.write() as conn:
        return principals.create_admin_key(conn, tenant_id=tenant_id, role=role, name=name)


def _revoke(
    admin: Admin, key_id: str | None, role: str | None = "operator", tenant: str = "acme"
) -> Any:
    return admin.post(f"/tenants/{tenant}/admin-keys/{key_id}/revoke", role)


def test_the_list_shows_the_tenants_keys_and_no_secret(admin: Admin) -> None:
    key, principal = _key(admin, "admin", name="ci bot")
    response = admin.get("/tenants/acme/admin-keys", "security-admin")
    assert response.status_code == 200
    listed = response.json()["admin_keys"]
    # acme's four role keys from the fixture, and the new one: not globex's, not operators'.
    assert [k["role"] for k in listed] == ["owner", "admin", "security-admin", "member", "admin"]
    for entry in listed:
        assert set(entry) == FIELDS
        assert entry["prefix"].startswith("scimhub_admin_")
        assert len(entry["last4"]) == 4
    mine = listed[-1]
    assert (mine["id"], mine["principal_id"], mine["name"]) == (
        principal.key_id,
        principal.id,
        "ci bot",
    )
    assert mine["last4"] == key[-4:] and mine["revoked_at"] is None
    # The keys themselves (and their digests) appear nowhere.
    secret_tail = key[len(mine["prefix"]) : -4]
    for secret in (*admin.keys.values(), admin.other_owner, key):
        assert secret not in response.text
    assert secret_tail not in response.text
    with admin.db.read() as conn:
        digests = conn.exec_driver_sql("SELECT hash FROM admin_keys").scalars().all()
    assert not any(d in response.text for d in digests)
    # The caller's own use is recorded.
    by_role = {k["role"]: k for k in listed}
    assert by_role["security-admin"]["last_used_at"] is not None
    # The other tenant sees only its own key.
    other = admin.get("/tenants/globex/admin-keys", "other").json()["admin_keys"]
    assert [k["role"] for k in other] == ["owner"]


def test_a_revoked_key_is_refused_on_its_next_request(admin: Admin) -> None:
    key, principal = _key(admin, "security-admin")
    assert admin.get("/tenants/acme", None, headers=bearer(key)).status_code == 200
    response = _revoke(admin, principal.key_id, "owner")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["id"] == principal.key_id and body["revoked_at"] is not None
    refused = admin.get("/tenants/acme", None, headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    listed = admin.get("/tenants/acme/admin-keys", "owner").json()["admin_keys"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == principal.key_id] == [True]


def test_revoking_is_idempotent(admin: Admin) -> None:
    _, principal = _key(admin, "member")
    first = _revoke(admin, principal.key_id)
    second = _revoke(admin, principal.key_id, "admin")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()


@pytest.mark.parametrize(
    ("caller", "target", "allowed"),
    [
        ("operator", "owner", True),
        ("owner", "owner", True),
        ("admin", "owner", False),
        ("admin", "admin", True),
        ("security-admin", "admin", False),
        ("security-admin", "owner", False),
        ("security-admin", "security-admin", True),
        ("security-admin", "member", True),
    ],
)
def test_nobody_revokes_more_authority_than_their_own(
    admin: Admin, caller: str, target: str, allowed: bool
) -> None:
    key, principal = _key(admin, target)
    response = _revoke(admin, principal.key_id, caller)
    if allowed:
        assert response.status_code == 200, response.text
        assert admin.get("/me", None, headers=bearer(key)).status_code == 401
    else:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        assert caller in error["message"] and target in error["message"]
        assert admin.get("/me", None, headers=bearer(key)).status_code == 200


@pytest.mark.parametrize("role", ["owner", "admin", "security-admin"])
def test_revoking_your_own_key(admin: Admin, role: str) -> None:
    key, principal = _key(admin, role)
    response = admin.post(
        f"/tenants/acme/admin-keys/{principal.key_id}/revoke", None, headers=bearer(key)
    )
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    assert admin.get("/me", None, headers=bearer(key)).status_code == 401


def test_members_may_neither_list_nor_revoke(admin: Admin) -> None:
    key, principal = _key(admin, "member")
    assert admin.get("/tenants/acme/admin-keys", "member").status_code == 403
    # Not even their own key.
    refused = admin.post(
        f"/tenants/acme/admin-keys/{principal.key_id}/revoke", None, headers=bearer(key)
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert admin.get("/me", None, headers=bearer(key)).status_code == 200


def test_another_tenants_key_is_not_found(admin: Admin) -> None:
    with admin.db.write() as conn:
        _, globex_key = principals.create_admin_key(conn, tenant_id=admin.globex.id, role="member")
    _, operator_key = _key(admin, "operator")
    for key_id in (globex_key.key_id, operator_key.key_id, "no-such-key", "x" * 300):
        for caller in ("operator", "owner"):
            response = _revoke(admin, key_id, caller)
            assert response.status_code == 404, (key_id, caller)
            error = response.json()["error"]
            assert error["code"] == "admin_key_not_found" and "acme" in error["message"]
    # …and those keys still work; revoking through their own tenant does.
    with admin.db.read() as conn:
        entry = principals.get_admin_key(conn, str(globex_key.key_id))
    assert entry is not None and entry.revoked_at is None
    assert _revoke(admin, globex_key.key_id, "operator", tenant="globex").status_code == 200
    # A key of acme's named through globex is just as unknown to globex's owner.
    assert _revoke(admin, "anything", "other", tenant="globex").status_code == 404
    _, acme_key = _key(admin, "member")
    hidden = _revoke(admin, acme_key.key_id, "other", tenant="globex")
    assert hidden.status_code == 404


def test_unauthenticated_callers_learn_nothing(admin: Admin) -> None:
    _, principal = _key(admin, "member")
    assert admin.get("/tenants/acme/admin-keys", None).status_code == 401
    assert _revoke(admin, principal.key_id, None).status_code == 401
