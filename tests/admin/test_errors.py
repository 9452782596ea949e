"""Every error is `{"error": {"code", "message"[, "field"]}}` with a stable code; bad
input is a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Admin


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "field"}
    return error


def test_401_without_or_with_a_bad_key(admin: Admin) -> None:
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Bearer scimhub_admin_" + "A" * 43},
        # A SCIM token is not an admin key.
        {"Authorization": f"Bearer {admin.new_token()[0]}"},
    ):
        response = admin.call("GET", "/tenants/acme", None, headers=headers)
        error_of(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_403_names_the_role_needed(admin: Admin) -> None:
    error = error_of(admin.post("/tenants/acme/tokens", "member"), 403, "forbidden")
    assert "owner, admin or security-admin" in error["message"]
    error = error_of(admin.post("/tenants", "owner", json={"slug": "x"}), 403, "forbidden")
    assert "operator" in error["message"]
    error = error_of(
        admin.call("PATCH", "/tenants/acme", "owner", json={"status": "suspended"}),
        403,
        "forbidden",
    )
    assert "operator" in error["message"]
    error = error_of(
        admin.call("PATCH", "/tenants/acme", "security-admin", json={"name": "x"}),
        403,
        "forbidden",
    )
    assert "owner or admin" in error["message"]
    error = error_of(admin.get("/tenants/acme/export/users.csv", "member"), 403, "forbidden")
    assert "personal data" in error["message"]


def test_404s(admin: Admin) -> None:
    error_of(admin.get("/no/such/route"), 404, "not_found")
    error_of(admin.get("/tenants/nosuch"), 404, "not_found")
    error_of(admin.get("/tenants/acme/users/nope"), 404, "not_found")
    error_of(admin.get("/tenants/acme/groups/nope"), 404, "not_found")
    error_of(admin.get("/tenants/acme/sso"), 404, "sso_not_configured")
    error_of(admin.post("/tenants/acme/sso/verify"), 404, "sso_not_configured")
    error_of(admin.post("/tenants/acme/tokens/nope/revoke"), 404, "token_not_found")
    error_of(admin.post("/tenants/acme/tokens/nope/regenerate"), 404, "token_not_found")
    # A token of another tenant is not found through this tenant's routes.
    _, globex_token = admin.new_token(admin.globex)
    error_of(admin.post(f"/tenants/acme/tokens/{globex_token}/revoke"), 404, "token_not_found")


def test_405(admin: Admin) -> None:
    response = admin.call("DELETE", "/tenants")
    error_of(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/tenants", {"slug": "Not A Slug"}, "body.slug"),
        ("POST", "/tenants", {}, "body.slug"),
        ("POST", "/tenants", {"slug": "ok", "unknown": 1}, "body.unknown"),
        ("POST", "/tenants", {"slug": "ok", "name": "a\u0000b"}, "body.name"),
        # A lone surrogate, as JSON allows: PostgreSQL could not store it.
        ("POST", "/tenants", b'{"slug": "ok", "name": "\\ud800"}', "body.name"),
        ("POST", "/tenants", [1, 2], "body"),
        ("PATCH", "/tenants/acme", {"status": "gone"}, "body.status"),
        ("PUT", "/tenants/acme/sso", {"protocol": "ldap", "idp_id": "x"}, "body.protocol"),
        ("PUT", "/tenants/acme/sso/state", {"state": "sideways"}, "body.state"),
        ("POST", "/tenants/acme/tokens", {"expires_at": "2001-01-01T00:00:00Z"}, "body.expires_at"),
        ("POST", "/tenants/acme/tokens", {"expires_at": "9999-12-31T23:59:59-05:00"}, None),
        ("POST", "/tenants/acme/tokens", {"expires_at": "soon"}, "body.expires_at"),
        ("POST", "/tenants/acme/tokens/import", {"sha512_hex": "abc"}, "body.sha512_hex"),
        ("POST", "/tenants/acme/tokens/x/regenerate", {"grace_seconds": -1}, None),
        ("POST", "/tenants/acme/tokens/x/regenerate", {"grace_seconds": 10**30}, None),
        ("POST", "/tenants/acme/admin-keys", {"role": "operator"}, "body.role"),
        ("POST", "/tenants/acme/admin-keys", {"role": "king"}, "body.role"),
        ("GET", "/tenants/acme/users?count=abc", None, "query.count"),
        ("GET", "/tenants/acme/users?startIndex=0", None, "query.startIndex"),
        ("GET", "/tenants/acme/users?startIndex=99999999999999999999999", None, None),
        ("GET", "/tenants/acme/users?sortOrder=sideways", None, "query.sortOrder"),
        ("GET", "/tenants/acme/users?filter=a%00b", None, "query.filter"),
    ],
)
def test_400_invalid_request_names_the_field(
    admin: Admin, method: str, path: str, body: Any, field: str | None
) -> None:
    admin.activate_sso()
    if isinstance(body, bytes):
        headers = {"content-type": "application/json"}
        response = admin.call(method, path, content=body, headers=headers)
    else:
        response = admin.call(method, path, json=body)
    error = error_of(response, 400, "invalid_request")
    if field is not None:
        assert error["field"] == field
        assert field in error["message"]
    else:
        assert error["field"].startswith(("body", "query"))


def test_400_for_a_body_that_is_not_json(admin: Admin) -> None:
    response = admin.post(
        "/tenants", content=b"{not json", headers={"content-type": "application/json"}
    )
    error = error_of(response, 400, "invalid_request")
    assert error["field"] == "body"
    response = admin.post("/tenants", content=b"slug=acme", headers={"content-type": "text/plain"})
    error_of(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ('filter=userName eq "x" and', "invalid_filter"),
        ("filter=((((((((", "invalid_filter"),
        ("filter=nosuchattr eq 1", "invalid_filter"),
        ("cursor=garbage", "invalid_cursor"),
        ("cursor=&startIndex=2", "invalid_value"),
        ("sortBy=%22%22", "invalid_value"),
    ],
)
def test_scim_query_errors_keep_their_scim_type(admin: Admin, query: str, code: str) -> None:
    error = error_of(admin.get(f"/tenants/acme/users?{query}"), 400, code)
    assert "field" not in error


def test_domain_errors_keep_their_code(admin: Admin) -> None:
    error_of(admin.post("/tenants", json={"slug": "acme"}), 409, "tenant_exists")
    # No SSO connection yet: tokens are refused with the gate's reason.
    error = error_of(admin.post("/tenants/acme/tokens"), 409, "sso_not_configured")
    assert "SSO" in error["message"]
    bad_url = {"protocol": "saml", "idp_id": "x", "metadata_url": "ftp://nope"}
    error_of(admin.call("PUT", "/tenants/acme/sso", json=bad_url), 400, "invalid_metadata_url")
    error_of(
        admin.post("/tenants/acme/tokens", json={"provider": "Users"}), 409, "sso_not_configured"
    )
    admin.activate_sso()
    error_of(
        admin.post("/tenants/acme/tokens", json={"provider": "users"}), 400, "invalid_provider"
    )


def test_413_for_a_body_too_large(admin: Admin, admin_settings: Any) -> None:
    big = b'{"slug": "' + b"a" * (admin_settings.max_request_bytes + 1) + b'"}'
    response = admin.post("/tenants", content=big, headers={"content-type": "application/json"})
    error_of(response, 413, "payload_too_large")


def test_an_unexpected_error_is_a_json_500(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    from scimhub.tenancy import tenants

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(tenants, "list_tenants", broken)
    response = admin.get("/tenants")
    error = error_of(response, 500, "internal_error")
    assert "boom" not in error["message"]


def test_who_you_are_is_checked_before_what_you_sent(admin: Admin) -> None:
    """401, then 404 (tenant), then 403 (role), and only then 400 (body)."""
    bad = {"expires_at": "never", "surprise": True}
    error_of(admin.post("/tenants/acme/tokens", None, json=bad), 401, "unauthorized")
    error_of(admin.post("/tenants/acme/tokens", "other", json=bad), 404, "not_found")
    error_of(admin.post("/tenants/acme/tokens", "member", json=bad), 403, "forbidden")
    error_of(admin.post("/tenants/acme/tokens", "owner", json=bad), 400, "invalid_request")
    error_of(admin.get("/tenants/acme/users?count=x", None), 401, "unauthorized")
    error_of(admin.get("/tenants/acme/users?count=x", "other"), 404, "not_found")
