"""`scimhub serve` as a user runs it: a real process, real HTTP, several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimhub.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh SQLite file that `serve` migrates itself, with a tenant and a token."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    port = _free_port()
    env = {**os.environ, "SCIMHUB_DATABASE_URL": "sqlite:////nonexistent/ignored.db"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimhub",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            url,
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"scimhub serve did not start:\n{output}")
            time.sleep(0.2)
        # `serve` migrated the new file, so the other commands work on it.
        assert main(["tenant", "create", "acme", "--database-url", url]) == 0
        # Tokens are issued once the tenant's SSO connection is active.
        sso = ["--tenant", "acme", "--database-url", url]
        assert main(["sso", "set", *sso, "--protocol", "saml", "--idp-id", "https://idp"]) == 0
        assert main(["sso", "verify", *sso]) == 0
        token = _token(url)
        yield base, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


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
