"""The `scimhub` command line: the forms other tools rely on (README, "The command line")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scimhub.cli import main
from scimhub.settings import Settings
from scimhub.web.app import create_app

TOKEN = re.compile(r"^scimhub_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_onboarding_forms_give_a_token_that_works(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--database-url", sqlite_url)[0] == 0
    code, out, _ = _run(
        capsys, "tenant", "create", "acme", "--name", "Acme", "--database-url", sqlite_url
    )
    assert code == 0 and "acme" in out
    # Tokens are issued once the tenant's SSO connection is active (sso set, sso verify).
    sso = ("--tenant", "acme", "--database-url", sqlite_url)
    assert _run(capsys, "sso", "set", *sso, "--protocol", "oidc", "--idp-id", "https://i")[0] == 0
    assert _run(capsys, "sso", "verify", *sso)[0] == 0
    code, out, _ = _run(capsys, "token", "create", "--tenant", "acme", "--database-url", sqlite_url)
    assert code == 0
    # The token alone on stdout: one line, nothing else.
    assert out.endswith("\n") and out.count("\n") == 1
    token = out.strip()
    assert TOKEN.match(token), token

    client = TestClient(create_app(Settings(database_url=sqlite_url)))
    ok = client.get("/scim/v2/acme/Users", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["totalResults"] == 0
    wrong = client.get("/scim/v2/acme/Users", headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status_code == 401


def test_duplicate_tenant_and_unknown_tenant_fail_cleanly(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "db", "upgrade", "--database-url", sqlite_url)
    assert _run(capsys, "tenant", "create", "acme", "--database-url", sqlite_url)[0] == 0
    code, out, err = _run(capsys, "tenant", "create", "acme", "--database-url", sqlite_url)
    assert code == 1 and "already exists" in err and out == ""
    code, out, err = _run(
        capsys, "token", "create", "--tenant", "nope", "--database-url", sqlite_url
    )
    assert code == 1 and "no tenant" in err and out == ""
    code, _, err = _run(capsys, "tenant", "create", "Not A Slug!", "--database-url", sqlite_url)
    assert code == 1 and err


def test_demo_prints_a_working_base_url_and_token(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "db", "upgrade", "--database-url", sqlite_url)
    code, out, _ = _run(
        capsys, "demo", "--database-url", sqlite_url, "--base-url", "http://testserver"
    )
    assert code == 0
    base = re.search(r"SCIM base URL: (\S+)", out)
    token = re.search(r"Bearer token:\s+(\S+)", out)
    assert base and token
    assert base.group(1) == "http://testserver/scim/v2/demo"
    client = TestClient(create_app(Settings(database_url=sqlite_url)))
    response = client.get(
        base.group(1) + "/ServiceProviderConfig",
        headers={"Authorization": f"Bearer {token.group(1)}"},
    )
    assert response.status_code == 200
    # A second run reuses the tenant and prints another working token.
    _run(capsys, "demo", "--database-url", sqlite_url, "--base-url", "http://testserver")


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scimhub", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("serve", "db", "tenant", "token"):
        assert command in result.stdout
