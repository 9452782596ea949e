"""The `scimhub` commands of the tenant domain: tenants, SSO, SCIM switches, tokens, admin keys and
export; human output by default, `--json` for scripts, failures on stderr with status 1."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.cli import export as export_module
from scimhub.cli import main
from scimhub.db.engine import Database
from scimhub.settings import Settings
from scimhub.tenancy.principals import authenticate_admin
from scimhub.tenancy.tokens import authenticate
from scimhub.web.app import create_app

TOKEN = re.compile(r"^scimhub_[A-Za-z0-9_-]{43}$")
ADMIN_KEY = re.compile(r"^scimhub_admin_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    capsys.readouterr()
    return database_url


class Cli:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url, self.capsys = url, capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--database-url", self.url])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        assert err == ""
        return out

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv, "--json"))

    def secret(self, *argv: str) -> str:
        out = self.ok(*argv)
        assert out.endswith("\n") and out.count("\n") == 1, out  # the secret alone
        return out.strip()

    def refused_by_argparse(self, *argv: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--database-url", self.url])
        out, err = self.capsys.readouterr()
        assert exited.value.code == 2 and out == ""
        return err

    def fails(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 1 and out == "", (code, out, err)
        assert err.startswith("scimhub: ")
        return err


@pytest.fixture
def cli(url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(url, capsys)


@pytest.fixture
def eligible(cli: Cli) -> str:
    """Tenant acme, eligible for tokens."""
    cli.ok("tenant", "create", "acme", "--name", "Acme")
    cli.ok("sso", "set", "--tenant", "acme", "--protocol", "saml", "--idp-id", "urn:acme")
    cli.ok("sso", "verify", "--tenant", "acme")
    return "acme"


def _works(url: str, token: str, path: str = "/scim/v2/acme/Users") -> int:
    client = TestClient(create_app(Settings(database_url=url)))
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def _authenticates(url: str, token: str, provider: str | None = None) -> bool:
    db = Database(url)
    try:
        with db.read() as conn:
            return authenticate(conn, "acme", token, provider=provider) is not None
    finally:
        db.dispose()


# -- tenants -------------------------------------------------------------------------------


def test_tenant_create_list_show_update(cli: Cli) -> None:
    created = cli.json("tenant", "create", "acme", "--name", "Acme")
    assert (created["slug"], created["name"], created["status"]) == ("acme", "Acme", "active")
    assert created["plan_includes_scim"] is True and created["scim_enabled"] is True
    assert created["sso"] is None
    assert created["scim_refusal"]["code"] == "sso_not_configured"
    cli.ok("tenant", "create", "globex")
    assert [t["slug"] for t in cli.json("tenant", "list")] == ["acme", "globex"]
    table = cli.ok("tenant", "list")
    assert table.splitlines()[0].split()[:3] == ["SLUG", "NAME", "STATUS"]
    assert "sso_not_configured" in table
    shown = cli.ok("tenant", "show", "acme")
    assert "status:" in shown and "refused: tenant 'acme' has no SSO connection" in shown
    assert cli.json("tenant", "show", "acme")["id"] == created["id"]

    updated = cli.json(
        "tenant", "update", "acme", "--name", "Acme Inc", "--status", "suspended",
        "--plan-scim", "no",
    )  # fmt: skip
    assert (updated["name"], updated["status"], updated["plan_includes_scim"]) == (
        "Acme Inc",
        "suspended",
        False,
    )
    assert updated["scim_refusal"]["code"] == "tenant_suspended"
    again = cli.json("tenant", "update", "acme", "--status", "active", "--plan-scim", "yes")
    assert (again["status"], again["plan_includes_scim"], again["name"]) == (
        "active",
        True,
        "Acme Inc",
    )

    assert "no tenant 'nope'" in cli.fails("tenant", "show", "nope")
    assert "no tenant 'nope'" in cli.fails("tenant", "update", "nope", "--name", "x")
    assert "nothing to update" in cli.fails("tenant", "update", "acme")
    assert "error" in cli.refused_by_argparse(
        "tenant", "update", "acme", "--status", "deleted"
    )  # argparse refuses values outside the choices
    assert "error" in cli.refused_by_argparse("tenant", "update", "acme", "--plan-scim", "maybe")


def test_sso_and_scim_switches_gate_token_creation(cli: Cli, url: str) -> None:
    cli.ok("tenant", "create", "acme")
    # No connection yet: the refusal's message on stderr, nothing on stdout.
    err = cli.fails("token", "create", "--tenant", "acme")
    assert "no SSO connection" in err
    assert "run `scimhub sso set` first" in cli.fails("sso", "verify", "--tenant", "acme")
    assert "no SSO connection" in cli.fails("sso", "show", "--tenant", "acme")
    assert cli.json("sso", "show", "--tenant", "acme") is None

    shown = cli.ok(
        "sso", "set", "--tenant", "acme", "--protocol", "oidc", "--idp-id",
        "https://login.acme.com", "--metadata-url",
        "https://login.acme.com/.well-known/openid-configuration",
    )  # fmt: skip
    assert "state:" in shown and "configured" in shown
    assert "is configured, not active" in cli.fails("token", "create", "--tenant", "acme")
    verified = cli.json("sso", "verify", "--tenant", "acme")
    assert verified["state"] == "active" and verified["protocol"] == "oidc"
    assert cli.json("sso", "show", "--tenant", "acme")["idp_id"] == "https://login.acme.com"
    token = cli.secret("token", "create", "--tenant", "acme")
    assert TOKEN.match(token) and _works(url, token) == 200

    assert cli.json("scim", "disable", "--tenant", "acme")["scim_enabled"] is False
    assert "SCIM is disabled" in cli.fails("token", "create", "--tenant", "acme")
    assert _works(url, token) == 403
    assert cli.json("scim", "enable", "--tenant", "acme")["scim_enabled"] is True
    assert _works(url, token) == 200

    cli.ok("tenant", "update", "acme", "--plan-scim", "no")
    assert "excludes SCIM" in cli.fails("token", "create", "--tenant", "acme")
    cli.ok("tenant", "update", "acme", "--plan-scim", "yes", "--status", "suspended")
    assert "suspended" in cli.fails("token", "create", "--tenant", "acme")
    assert "must be an http(s) URL" in cli.fails(
        "sso", "set", "--tenant", "acme", "--protocol", "saml", "--idp-id", "x",
        "--metadata-url", "ftp://x",
    )  # fmt: skip


def test_require_sso_off_lets_tokens_be_created(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("tenant", "create", "acme")
    monkeypatch.setenv("SCIMHUB_REQUIRE_SSO", "false")
    assert TOKEN.match(cli.secret("token", "create", "--tenant", "acme"))


# -- tokens --------------------------------------------------------------------------------


def test_token_lifecycle(cli: Cli, url: str, eligible: str) -> None:
    first = cli.secret("token", "create", "--tenant", "acme")
    listed = cli.json("token", "list", "--tenant", "acme")
    assert len(listed) == 1
    item = listed[0]
    assert {"id", "prefix", "last_used_at", "expires_at", "revoked"} <= item.keys()
    assert (item["prefix"], item["last4"], item["revoked"]) == (first[:12], first[-4:], False)
    assert (item["expires_at"], item["last_used_at"], item["use_count"]) == (None, None, 0)
    assert item["created_by"] == "cli" and item["imported"] is False
    assert first not in json.dumps(listed)  # never the secret
    table = cli.ok("token", "list", "--tenant", "acme")
    assert item["id"] in table and f"{first[:12]}…{first[-4:]}" in table and first not in table

    # Regenerate at once: the old token stops, the new one works.
    second = cli.secret("token", "regenerate", "--tenant", "acme", item["id"])
    assert TOKEN.match(second) and second != first
    assert _works(url, first) == 401 and _works(url, second) == 200
    by_id = {t["id"]: t for t in cli.json("token", "list", "--tenant", "acme")}
    assert by_id[item["id"]]["revoked"] is True
    second_id = by_id[item["id"]]["replaced_by"]
    assert by_id[second_id]["prefix"] == second[:12]
    assert "revoked or expired" in cli.fails("token", "regenerate", "--tenant", "acme", item["id"])

    # Regenerate with grace: both work until it ends.
    third = cli.secret("token", "regenerate", "--tenant", "acme", second_id, "--grace", "24h")
    assert _works(url, second) == 200 and _works(url, third) == 200
    old = {t["id"]: t for t in cli.json("token", "list", "--tenant", "acme")}[second_id]
    assert old["revoked"] is False and old["expires_at"] is not None

    # Revoke.
    third_id = next(
        t["id"] for t in cli.json("token", "list", "--tenant", "acme") if t["prefix"] == third[:12]
    )
    assert third_id in cli.ok("token", "revoke", "--tenant", "acme", third_id)
    assert _works(url, third) == 401
    assert cli.json("token", "revoke", "--tenant", "acme", third_id)["revoked"] is True
    assert "no token" in cli.fails("token", "revoke", "--tenant", "acme", "no-such-id")
    assert "no tenant" in cli.fails("token", "list", "--tenant", "nope")


def test_token_create_options(cli: Cli, url: str, eligible: str) -> None:
    bound = cli.json("token", "create", "--tenant", "acme", "--provider", "okta",
                     "--expires-in", "7d")  # fmt: skip
    token = bound["token"]
    assert TOKEN.match(token) and bound["provider"] == "okta" and bound["expires_at"]
    assert _works(url, token, "/scim/v2/acme/okta/Users") == 200
    assert _works(url, token, "/scim/v2/acme/Users") == 401
    assert _works(url, token, "/scim/v2/acme/entra/Users") == 401
    for text in ("30m", "24h", "3600s", "1d"):
        assert TOKEN.match(cli.secret("token", "create", "--tenant", "acme", "--expires-in", text))
    for bad in ("5x", "10", "-1h", "h"):
        assert "error" in cli.refused_by_argparse(
            "token", "create", "--tenant", "acme", "--expires-in", bad
        )
    assert "invalid provider" in cli.fails("token", "create", "--tenant", "acme",
                                           "--provider", "Users")  # fmt: skip
    assert "longer than 0" in cli.fails("token", "create", "--tenant", "acme", "--expires-in", "0s")


def test_import_hash(cli: Cli, url: str, eligible: str) -> None:
    mine = "my-own-token-made-with-openssl-rand-0123456789"
    hexdigest = hashlib.sha512(mine.encode()).hexdigest()
    out = cli.ok("token", "import-hash", "--tenant", "acme", hexdigest.upper())
    assert "registered token" in out and f"sha512:{hexdigest[:8]}" in out
    assert _works(url, mine) == 200
    [item] = cli.json("token", "list", "--tenant", "acme")
    assert item["imported"] is True and item["last4"] is None
    assert "registered already" in cli.fails("token", "import-hash", "--tenant", "acme", hexdigest)
    assert "SHA-512" in cli.fails("token", "import-hash", "--tenant", "acme", "abc123")
    bound = cli.json("token", "import-hash", "--tenant", "acme", "f" * 128, "--provider", "okta")
    assert bound["provider"] == "okta"


# -- admin keys ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "security-admin", "member"])
def test_admin_key_for_a_tenant_role(cli: Cli, url: str, role: str) -> None:
    cli.ok("tenant", "create", "acme")
    key = cli.secret("admin-key", "create", "--tenant", "acme", "--role", role)
    assert ADMIN_KEY.match(key)
    db = Database(url)
    try:
        with db.read() as conn:
            principal = authenticate_admin(conn, key)
    finally:
        db.dispose()
    assert principal is not None and principal.role == role and principal.tenant_id is not None


def test_admin_key_for_an_operator(cli: Cli, url: str) -> None:
    key = cli.secret("admin-key", "create", "--operator")
    described = cli.json("admin-key", "create", "--operator", "--name", "deploy bot")
    assert described["role"] == "operator" and described["tenant_id"] is None
    assert ADMIN_KEY.match(described["token"]) and described["name"] == "deploy bot"
    db = Database(url)
    try:
        with db.read() as conn:
            principal = authenticate_admin(conn, key)
    finally:
        db.dispose()
    assert principal is not None and principal.is_operator
    assert "leave out --role" in cli.fails("admin-key", "create", "--operator", "--role", "owner")
    assert "--role is required" in cli.fails("admin-key", "create", "--tenant", "acme")
    assert "no tenant" in cli.fails("admin-key", "create", "--tenant", "nope", "--role", "owner")
    assert "error" in cli.refused_by_argparse(
        "admin-key", "create", "--tenant", "acme", "--operator", "--role", "owner"
    )
    assert "error" in cli.refused_by_argparse(
        "admin-key", "create", "--tenant", "acme", "--role", "operator"
    )


@pytest.fixture
def both(database_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The commands against a migrated database of each backend."""
    return Cli(database_url, capsys)


def _admin_keys_work(url: str, *keys: str) -> list[int]:
    client = TestClient(create_app(Settings(database_url=url)))
    return [
        client.get("/admin/v1/me", headers={"Authorization": f"Bearer {k}"}).status_code
        for k in keys
    ]


def test_admin_key_list_and_revoke(both: Cli) -> None:
    cli = both
    cli.ok("tenant", "create", "acme")
    cli.ok("tenant", "create", "globex")
    assert cli.ok("admin-key", "list", "--tenant", "acme") == "tenant acme has no admin keys\n"
    assert cli.json("admin-key", "list", "--operator") == []
    owner = cli.json("admin-key", "create", "--tenant", "acme", "--role", "owner", "--name", "ada")
    member = cli.json("admin-key", "create", "--tenant", "acme", "--role", "member")
    cli.ok("admin-key", "create", "--tenant", "globex", "--role", "owner")
    operator = cli.json("admin-key", "create", "--operator")

    listed = cli.json("admin-key", "list", "--tenant", "acme")
    assert [(k["id"], k["role"], k["name"]) for k in listed] == [
        (owner["key_id"], "owner", "ada"),
        (member["key_id"], "member", None),
    ]
    assert set(listed[0]) == {
        "id", "principal_id", "tenant_id", "role", "name", "prefix", "last4",
        "created_at", "last_used_at", "revoked_at",
    }  # fmt: skip
    assert listed[0]["principal_id"] == owner["principal_id"]
    assert listed[0]["last4"] == owner["token"][-4:] and listed[0]["revoked_at"] is None
    table = cli.ok("admin-key", "list", "--tenant", "acme")
    assert table.splitlines()[0].split()[:4] == ["ID", "KEY", "ROLE", "NAME"]
    assert owner["key_id"] in table and "active" in table
    for text in (table, json.dumps(listed)):
        assert owner["token"] not in text and member["token"] not in text
    operators = cli.json("admin-key", "list", "--operator")
    assert [(k["id"], k["role"], k["tenant_id"]) for k in operators] == [
        (operator["key_id"], "operator", None)
    ]

    assert _admin_keys_work(cli.url, member["token"], operator["token"]) == [200, 200]
    out = cli.ok("admin-key", "revoke", member["key_id"])
    assert out.startswith(f"revoked admin key {member['key_id']} ")
    revoked = cli.json("admin-key", "revoke", member["key_id"])  # idempotent
    assert revoked["id"] == member["key_id"] and revoked["revoked_at"] is not None
    assert cli.json("admin-key", "revoke", member["key_id"])["revoked_at"] == revoked["revoked_at"]
    cli.ok("admin-key", "revoke", operator["key_id"])
    assert _admin_keys_work(cli.url, member["token"], operator["token"]) == [401, 401]
    assert _admin_keys_work(cli.url, owner["token"]) == [200]
    after = cli.json("admin-key", "list", "--tenant", "acme")
    assert [k["revoked_at"] is not None for k in after] == [False, True]
    assert "revoked" in cli.ok("admin-key", "list", "--tenant", "acme")


def test_admin_key_list_and_revoke_refusals(cli: Cli) -> None:
    assert "no tenant" in cli.fails("admin-key", "list", "--tenant", "nope")
    assert "no admin key" in cli.fails("admin-key", "revoke", "no-such-key")
    assert "error" in cli.refused_by_argparse("admin-key", "list")
    assert "error" in cli.refused_by_argparse("admin-key", "list", "--tenant", "a", "--operator")
    assert "error" in cli.refused_by_argparse("admin-key", "revoke")


# -- export --------------------------------------------------------------------------------


def _provision(url: str, token: str, count: int) -> list[dict[str, Any]]:
    client = TestClient(create_app(Settings(database_url=url)))
    headers = {"Authorization": f"Bearer {token}"}
    made = []
    for i in range(count):
        body = {
            "userName": f"user{i}@acme.com",
            "name": {"givenName": f"Given{i}", "familyName": "Family, Jr."},
            "emails": [{"value": f"user{i}@acme.com", "primary": True}],
            "active": i % 2 == 0,
        }
        response = client.post("/scim/v2/acme/Users", json=body, headers=headers)
        assert response.status_code == 201
        made.append(response.json())
    group = client.post(
        "/scim/v2/acme/Groups",
        json={"displayName": "Everyone", "members": [{"value": u["id"]} for u in made]},
        headers=headers,
    )
    assert group.status_code == 201
    return made


def test_export_streams_page_by_page(
    cli: Cli, url: str, eligible: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = cli.secret("token", "create", "--tenant", "acme")
    made = _provision(url, token, 5)
    monkeypatch.setattr(export_module, "PAGE_SIZE", 2)
    pages: list[int] = []
    search = export_module.UserStore.search

    def spy(self: Any, *args: Any, **kw: Any) -> Any:
        found = search(self, *args, **kw)
        pages.append(len(found.items))
        return found

    monkeypatch.setattr(export_module.UserStore, "search", spy)

    out = cli.ok("export", "--tenant", "acme", "--resource", "users", "--format", "json")
    exported = json.loads(out)
    assert [u["id"] for u in exported] == [u["id"] for u in made]
    assert exported[0]["userName"] == "user0@acme.com"
    assert exported[0]["meta"]["location"].endswith(f"/scim/v2/acme/Users/{made[0]['id']}")
    assert pages == [2, 2, 1]  # three keyset pages, never the whole tenant at once

    target = tmp_path / "users.csv"
    said = cli.ok("export", "--tenant", "acme", "--resource", "users", "--format", "csv",
                  "--output", str(target))  # fmt: skip
    assert "exported 5 users" in said
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["userName"] for r in rows] == [f"user{i}@acme.com" for i in range(5)]
    assert rows[1]["familyName"] == "Family, Jr." and rows[1]["active"] == "false"
    assert rows[0]["email"] == "user0@acme.com" and rows[0]["id"] == made[0]["id"]

    groups = json.loads(
        cli.ok("export", "--tenant", "acme", "--resource", "groups", "--format", "json")
    )
    assert [g["displayName"] for g in groups] == ["Everyone"]
    assert sorted(m["value"] for m in groups[0]["members"]) == sorted(u["id"] for u in made)
    group_csv = cli.ok("export", "--tenant", "acme", "--resource", "groups", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(group_csv)))
    assert row["memberCount"] == "5" and set(row["members"].split()) == {u["id"] for u in made}


def test_export_of_an_empty_tenant(cli: Cli, eligible: str) -> None:
    out = cli.ok("export", "--tenant", "acme", "--resource", "groups", "--format", "json")
    assert json.loads(out) == []
    out = cli.ok("export", "--tenant", "acme", "--resource", "users", "--format", "csv")
    assert out.splitlines() == [",".join(export_module.USER_COLUMNS)]
    assert "no tenant" in cli.fails("export", "--tenant", "nope", "--resource", "users",
                                    "--format", "csv")  # fmt: skip


# -- demo and errors -----------------------------------------------------------------------


def test_demo_reopens_every_gate(cli: Cli, url: str) -> None:
    cli.ok("demo", "--base-url", "http://testserver")
    cli.ok("tenant", "update", "demo", "--status", "suspended")
    cli.ok("scim", "disable", "--tenant", "demo")
    out = cli.ok("demo", "--base-url", "http://testserver")
    token = re.search(r"Bearer token:\s+(\S+)", out)
    assert token is not None
    assert _works(url, token.group(1), "/scim/v2/demo/Users") == 200
    shown = cli.json("tenant", "show", "demo")
    assert shown["scim_refusal"] is None and shown["sso"]["state"] == "active"


def test_an_unmigrated_database_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tenant", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "scimhub db upgrade" in err and "Traceback" not in err
