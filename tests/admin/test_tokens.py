"""SCIM tokens through the admin API, checked against the SCIM endpoints themselves:
the SSO prerequisite, create, regenerate (at once and with a grace period), revoke,
bring your own digest, and the gates."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from scimhub.db.tables import tokens as tokens_table

from .conftest import Admin


def works(admin: Admin, token: str, tenant: str = "acme") -> bool:
    status = admin.scim("GET", "/Users", token, tenant=tenant).status_code
    assert status in (200, 401, 403), status
    return status == 200


def listed(admin: Admin, token_id: str) -> dict[str, object]:
    found = admin.get("/tenants/acme/tokens", "member").json()["tokens"]
    return next(t for t in found if t["id"] == token_id)


def test_sso_configure_verify_then_tokens(admin: Admin) -> None:
    refused = admin.post("/tenants/acme/tokens")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "sso_not_configured"

    put = admin.call(
        "PUT",
        "/tenants/acme/sso",
        "security-admin",
        json={
            "protocol": "saml",
            "idp_id": "https://sts.example/acme",
            "metadata_url": "https://sts.example/acme/metadata",
        },
    )
    assert put.status_code == 200
    assert put.json()["state"] == "configured"
    assert admin.post("/tenants/acme/tokens").json()["error"]["code"] == "sso_not_active"

    # The host app reports a checked login: verified, not yet in use.
    state = admin.call("PUT", "/tenants/acme/sso/state", "admin", json={"state": "verified"})
    assert state.json()["state"] == "verified"
    assert admin.post("/tenants/acme/tokens").json()["error"]["code"] == "sso_not_active"

    assert admin.post("/tenants/acme/sso/verify", "owner").json()["state"] == "active"
    assert admin.get("/tenants/acme/sso", "member").json() == {
        "protocol": "saml",
        "idp_id": "https://sts.example/acme",
        "metadata_url": "https://sts.example/acme/metadata",
        "state": "active",
        "updated_at": admin.get("/tenants/acme/sso").json()["updated_at"],
    }

    created = admin.post("/tenants/acme/tokens", "security-admin")
    assert created.status_code == 201
    token = created.json()["token"]
    info = created.json()["token_info"]
    assert token.startswith("scimhub_") and len(token) >= 8 + 43
    assert info["prefix"] == token[:12] and info["last4"] == token[-4:]
    assert info["status"] == "active" and info["revoked"] is False
    assert info["imported"] is False and info["expires_at"] is None
    me = admin.get("/me", "security-admin").json()
    assert info["created_by"] == me["id"]
    assert works(admin, token)
    assert not works(admin, token, tenant="globex")
    # The plaintext is never shown again.
    assert token not in admin.get("/tenants/acme/tokens").text

    # Reconfiguring SSO sends it back to `configured`: SCIM stops until it is verified.
    admin.call("PUT", "/tenants/acme/sso", json={"protocol": "oidc", "idp_id": "https://x"})
    assert not works(admin, token)
    admin.post("/tenants/acme/sso/verify")
    assert works(admin, token)


def test_regenerate_at_once(admin: Admin) -> None:
    admin.activate_sso()
    old = admin.post("/tenants/acme/tokens").json()
    assert works(admin, old["token"])
    response = admin.post(f"/tenants/acme/tokens/{old['token_info']['id']}/regenerate", "admin")
    assert response.status_code == 201
    new = response.json()
    assert new["token"] != old["token"]
    assert not works(admin, old["token"])
    assert works(admin, new["token"])
    assert new["replaces"]["id"] == old["token_info"]["id"]
    assert new["replaces"]["status"] == "revoked"
    assert new["replaces"]["replaced_by"] == new["token_info"]["id"]
    assert listed(admin, old["token_info"]["id"])["revoked"] is True
    # A replaced token cannot be regenerated again.
    again = admin.post(f"/tenants/acme/tokens/{old['token_info']['id']}/regenerate")
    assert again.status_code == 409


def test_regenerate_with_grace(admin: Admin) -> None:
    admin.activate_sso()
    old = admin.post("/tenants/acme/tokens").json()
    old_id = old["token_info"]["id"]
    before = datetime.now(UTC)
    response = admin.post(f"/tenants/acme/tokens/{old_id}/regenerate", json={"grace_seconds": 3600})
    assert response.status_code == 201
    new = response.json()
    # Both work during the grace period: the IdP can be updated without a gap.
    assert works(admin, old["token"])
    assert works(admin, new["token"])
    ends = datetime.fromisoformat(new["replaces"]["expires_at"])
    assert before + timedelta(seconds=3590) <= ends <= datetime.now(UTC) + timedelta(seconds=3610)
    assert listed(admin, old_id)["status"] == "active"
    # The grace period ends (moved into the past here): the old token is refused.
    with admin.db.write() as conn:
        conn.execute(
            sa.update(tokens_table)
            .where(tokens_table.c.id == old_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert not works(admin, old["token"])
    assert works(admin, new["token"])
    assert listed(admin, old_id)["status"] == "expired"


def test_revoke(admin: Admin) -> None:
    admin.activate_sso()
    created = admin.post("/tenants/acme/tokens").json()
    assert works(admin, created["token"])
    response = admin.post(f"/tenants/acme/tokens/{created['token_info']['id']}/revoke", "owner")
    assert response.status_code == 200
    body = response.json()
    assert body["revoked"] is True and body["status"] == "revoked"
    assert body["revoked_by"] == admin.get("/me", "owner").json()["id"]
    assert not works(admin, created["token"])
    # Idempotent.
    assert (
        admin.post(f"/tenants/acme/tokens/{created['token_info']['id']}/revoke").json()[
            "revoked_at"
        ]
        == body["revoked_at"]
    )


def test_create_with_expiry_and_provider(admin: Admin) -> None:
    admin.activate_sso()
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    # No offset means UTC.
    naive = expires.replace(tzinfo=None).isoformat()
    created = admin.post(
        "/tenants/acme/tokens", json={"expires_at": naive, "provider": "okta"}
    ).json()
    assert datetime.fromisoformat(created["token_info"]["expires_at"]) == expires
    assert created["token_info"]["provider"] == "okta"
    # Bound to the provider segment: refused on the bare URL and another provider.
    assert admin.scim("GET", "/okta/Users", created["token"]).status_code == 200
    assert admin.scim("GET", "/Users", created["token"]).status_code == 401
    assert admin.scim("GET", "/entra/Users", created["token"]).status_code == 401
    # A bare number is not taken for Unix time: expires_at is an ISO 8601 date-time.
    in_a_year = int((datetime.now(UTC) + timedelta(days=365)).timestamp())
    refused = admin.post("/tenants/acme/tokens", json={"expires_at": in_a_year})
    assert refused.status_code == 400


def test_import_a_digest(admin: Admin) -> None:
    admin.activate_sso()
    mine = "my-own-" + secrets.token_urlsafe(32)
    digest = hashlib.sha512(mine.encode()).hexdigest()
    assert not works(admin, mine)
    response = admin.post("/tenants/acme/tokens/import", json={"sha512_hex": digest.upper()})
    assert response.status_code == 201
    info = response.json()
    assert info["imported"] is True and info["last4"] is None
    assert info["prefix"] == "sha512:" + digest[:8]
    assert works(admin, mine)
    duplicate = admin.post("/tenants/acme/tokens/import", json={"sha512_hex": digest})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "token_exists"
    admin.post(f"/tenants/acme/tokens/{info['id']}/revoke")
    assert not works(admin, mine)


def test_gates_through_the_api(admin: Admin) -> None:
    admin.activate_sso()
    token = admin.post("/tenants/acme/tokens").json()["token"]
    assert works(admin, token)

    disabled = admin.post("/tenants/acme/scim/disable", "security-admin")
    assert disabled.json()["scim_enabled"] is False
    denied = admin.scim("GET", "/Users", token)
    assert denied.status_code == 403 and "scim_disabled" in denied.text
    assert admin.post("/tenants/acme/tokens").json()["error"]["code"] == "scim_disabled"
    assert admin.get("/tenants/acme/scim").json()["refusal"]["code"] == "scim_disabled"
    admin.post("/tenants/acme/scim/enable", "admin")
    assert works(admin, token)

    admin.call("PATCH", "/tenants/acme", json={"plan_includes_scim": False})
    assert "plan_excludes_scim" in admin.scim("GET", "/Users", token).text
    assert admin.post("/tenants/acme/tokens").json()["error"]["code"] == "plan_excludes_scim"
    admin.call("PATCH", "/tenants/acme", json={"plan_includes_scim": True})

    admin.call("PATCH", "/tenants/acme", json={"status": "suspended"})
    assert "tenant_suspended" in admin.scim("GET", "/Users", token).text
    assert admin.post("/tenants/acme/tokens").json()["error"]["code"] == "tenant_suspended"
    admin.call("PATCH", "/tenants/acme", json={"status": "active"})
    assert works(admin, token)
