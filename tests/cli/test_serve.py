"""`scimhub serve` as a user runs it: a real process, real HTTP, several workers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from scimhub.cli import main


@pytest.fixture
def served(
    tmp_path: Path, serve_process: Callable[..., AbstractContextManager[str]]
) -> Iterator[tuple[str, str]]:
    """A fresh SQLite file that `serve` migrates itself, with a tenant and a token."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    # The command line's --database-url wins over the environment.
    ignored = {"SCIMHUB_DATABASE_URL": "sqlite:////nonexistent/ignored.db"}
    with serve_process(url, env=ignored, workers=2) as base:
        # `serve` migrated the new file, so the other commands work on it.
        assert main(["tenant", "create", "acme", "--database-url", url]) == 0
        # Tokens are issued once the tenant's SSO connection is active.
        sso = ["--tenant", "acme", "--database-url", url]
        assert main(["sso", "set", *sso, "--protocol", "saml", "--idp-id", "https://idp"]) == 0
        assert main(["sso", "verify", *sso]) == 0
        yield base, _token(url)


def _token(url: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scimhub",
            "token",
            "create",
            "--tenant",
            "acme",
            "--database-url",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_serve_answers_scim_over_http_with_two_workers(served: tuple[str, str]) -> None:
    base, token = served
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=f"{base}/scim/v2/acme", headers=headers, timeout=10) as client:
        created = client.post("/Users", json={"userName": "grace@example.com"})
        assert created.status_code == 201
        assert created.headers["content-type"].startswith("application/scim+json")
        user_id = created.json()["id"]
        # Many requests over fresh connections reach both workers; all see the same data.
        for _ in range(20):
            with httpx.Client(headers=headers, timeout=10) as fresh:
                found = fresh.get(f"{base}/scim/v2/acme/Users/{user_id}")
                assert found.status_code == 200
                assert found.json()["userName"] == "grace@example.com"
        # A cursor made by one worker is accepted by any other (shared signing key).
        client.post("/Users", json={"userName": "linus@example.com"})
        first = client.get("/Users", params={"cursor": "", "count": 1})
        assert first.json()["Resources"][0]["userName"] == "grace@example.com"
        cursor = first.json()["nextCursor"]
        for _ in range(10):
            with httpx.Client(headers=headers, timeout=10) as fresh:
                page = fresh.get(
                    f"{base}/scim/v2/acme/Users", params={"cursor": cursor, "count": 1}
                )
                assert page.status_code == 200, page.text
                assert page.json()["Resources"][0]["userName"] == "linus@example.com"


@pytest.mark.parametrize(("env", "expected"), [(None, False), ("true", True), ("0", False)])
def test_the_access_log_is_off_unless_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str | None, expected: bool
) -> None:
    # Every SCIM write and refusal is in the audit trail; a line per request on stdout
    # is the operator's choice (SCIMHUB_ACCESS_LOG), as in gunicorn.
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    if env is None:
        monkeypatch.delenv("SCIMHUB_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("SCIMHUB_ACCESS_LOG", env)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    # `serve` exports the URL for its worker processes; monkeypatch restores it after.
    monkeypatch.setenv("SCIMHUB_DATABASE_URL", url)
    assert main(["serve", "--database-url", url]) == 0
    assert len(calls) == 1
    assert calls[0]["access_log"] is expected
