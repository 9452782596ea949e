"""The SCIM settings view: base URL, readiness and refusal, and the values to paste into
each IdP, labelled as each IdP's console labels them."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from scimhub.db.engine import Database
from scimhub.web.app import create_app

from .conftest import ORIGIN, Admin, bearer, make_settings

BASE = f"{ORIGIN}/scim/v2/acme"

# IdP → (label of the base URL field, label of the token field)
LABELS = {
    "okta": ("SCIM connector base URL", "Authorization (Bearer)"),
    "entra": ("Tenant URL", "Secret Token"),
    "onelogin": ("SCIM Base URL", "SCIM Bearer Token"),
    "jumpcloud": ("Base URL", "Token Key"),
    "ping": ("SCIM URL", "Access Token"),
    "sailpoint": ("Base URL", "API Token"),
}


def fields(view: dict[str, Any], idp: str) -> dict[str, dict[str, Any]]:
    guide = next(g for g in view["idps"] if g["id"] == idp)
    assert guide["name"] and guide["where"]
    return {f["label"]: f for f in guide["fields"]}


def test_values_to_paste_into_each_idp(admin: Admin) -> None:
    admin.activate_sso()
    token = admin.post("/tenants/acme/tokens").json()["token"]
    response = admin.get("/tenants/acme/scim", "member")
    assert response.status_code == 200
    view = response.json()
    assert view["base_url"] == BASE
    assert [g["id"] for g in view["idps"]] == list(LABELS)
    for idp, (url_label, token_label) in LABELS.items():
        found = fields(view, idp)
        assert found[url_label]["value"] == BASE, idp
        assert found[url_label]["secret"] is False
        assert found[token_label]["secret"] is True, idp
        # Tokens are shown once, when made: never here.
        assert token not in found[token_label]["value"]
        assert [f for f in found.values() if f["secret"]] == [found[token_label]], idp
    okta = fields(view, "okta")
    assert okta["Unique identifier field for users"]["value"] == "userName"
    assert okta["Authentication Mode"]["value"] == "HTTP Header"
    assert "Push Groups" in okta["Supported provisioning actions"]["value"]
    assert fields(view, "entra")["Provisioning Mode"]["value"] == "Automatic"
    assert fields(view, "jumpcloud")["SCIM Version"]["value"] == "SCIM 2.0"
    ping = fields(view, "ping")
    assert ping["Authentication Method"]["value"] == "OAuth 2 Bearer Token"
    assert ping["Unique User Identifier"]["value"] == "userName"
    assert fields(view, "sailpoint")["Authentication Type"]["value"] == "API Token"
    assert token not in response.text
    # The base URL is the one that works.
    path = view["base_url"].removeprefix(ORIGIN)
    assert admin.client.get(f"{path}/Users", headers=bearer(token)).status_code == 200


def test_readiness_and_refusals(admin: Admin) -> None:
    view = admin.get("/tenants/acme/scim").json()
    assert view["ready"] is False
    assert view["refusal"]["code"] == "sso_not_configured"
    assert view["sso_state"] is None and view["require_sso"] is True
    assert view["active_tokens"] == 0

    admin.call("PUT", "/tenants/acme/sso", json={"protocol": "oidc", "idp_id": "https://i"})
    view = admin.get("/tenants/acme/scim").json()
    assert (view["refusal"]["code"], view["sso_state"]) == ("sso_not_active", "configured")

    admin.post("/tenants/acme/sso/verify")
    view = admin.get("/tenants/acme/scim").json()
    assert view["ready"] is True and view["refusal"] is None and view["sso_state"] == "active"

    token_id = admin.post("/tenants/acme/tokens").json()["token_info"]["id"]
    admin.post("/tenants/acme/tokens")
    admin.post(f"/tenants/acme/tokens/{token_id}/revoke")
    assert admin.get("/tenants/acme/scim").json()["active_tokens"] == 1

    admin.call("PATCH", "/tenants/acme", json={"status": "suspended"})
    view = admin.get("/tenants/acme/scim").json()
    assert view["ready"] is False and view["refusal"]["code"] == "tenant_suspended"
    assert "suspended" in view["refusal"]["message"] and view["status"] == "suspended"


def test_provider_segment(admin: Admin) -> None:
    view = admin.get("/tenants/acme/scim?provider=Okta").json()
    assert view["base_url"] == f"{BASE}/okta"
    assert fields(view, "entra")["Tenant URL"]["value"] == f"{BASE}/okta"
    bad = admin.get("/tenants/acme/scim?provider=Users")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_provider"


def test_public_url_and_deployment_without_the_sso_requirement(
    admin: Admin, database_url: str
) -> None:
    settings = make_settings(
        database_url, public_url="https://scim.example.com/", require_sso=False
    )
    other = Database(settings.database_url)
    try:
        client = TestClient(create_app(settings, other), base_url="http://internal:8000")
        view = client.get("/admin/v1/tenants/acme/scim", headers=admin.as_("owner")).json()
    finally:
        other.dispose()
    assert view["base_url"] == "https://scim.example.com/scim/v2/acme"
    assert view["require_sso"] is False and view["ready"] is True and view["refusal"] is None
    assert fields(view, "okta")["SCIM connector base URL"]["value"] == view["base_url"]
