"""Two `scimhub serve` processes on one PostgreSQL database: a token revoked
through the CLI is refused on the very next request by both, a regenerated token's grace
period ends on both, and each process writes the token usage it counted at shutdown."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack

import httpx
import pytest

from scimhub.cli import main


def _cli(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> str:
    code = main([*argv, "--database-url", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_server_processes_see_revocation_and_grace_at_once(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    serve_process: Callable[..., AbstractContextManager[str]],
) -> None:
    url = database_url
    _cli(capsys, url, "tenant", "create", "acme")
    _cli(capsys, url, "sso", "set", "--tenant", "acme", "--protocol", "saml", "--idp-id", "urn:a")
    _cli(capsys, url, "sso", "verify", "--tenant", "acme")
    revoked = _cli(capsys, url, "token", "create", "--tenant", "acme").strip()
    rotated = _cli(capsys, url, "token", "create", "--tenant", "acme").strip()
    listed = json.loads(_cli(capsys, url, "token", "list", "--tenant", "acme", "--json"))
    ids = {t["prefix"]: t["id"] for t in listed}

    def status(root: str, token: str) -> int:
        response = httpx.get(
            f"{root}/scim/v2/acme/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        return response.status_code

    with ExitStack() as stack:
        # A graceful shutdown writes the counted token usage; none before it.
        usage_at_exit = {"SCIMHUB_TOKEN_USAGE_FLUSH_SECONDS": "3600"}
        roots = [stack.enter_context(serve_process(url, env=usage_at_exit)) for _ in range(2)]
        for root in roots:
            for _ in range(3):
                assert status(root, revoked) == 200
                assert status(root, rotated) == 200

        _cli(capsys, url, "token", "revoke", "--tenant", "acme", ids[revoked[:12]])
        assert [status(root, revoked) for root in roots] == [401, 401]

        new = _cli(capsys, url, "token", "regenerate", "--tenant", "acme", ids[rotated[:12]],
                   "--grace", "2s").strip()  # fmt: skip
        ends = time.monotonic() + 2
        assert [status(root, rotated) for root in roots] == [200, 200]
        assert [status(root, new) for root in roots] == [200, 200]
        assert time.monotonic() < ends, "the grace checks ran too late to mean anything"
        time.sleep(max(0.0, ends - time.monotonic()) + 0.3)
        assert [status(root, rotated) for root in roots] == [401, 401]
        assert [status(root, new) for root in roots] == [200, 200]
    # Both processes have stopped: each wrote the uses it counted.
    listed = json.loads(_cli(capsys, url, "token", "list", "--tenant", "acme", "--json"))
    uses = {t["prefix"]: t["use_count"] for t in listed}
    assert uses[revoked[:12]] == 6  # 3 per process; refused requests are not counted
    assert uses[rotated[:12]] == 8
    assert uses[new[:12]] == 4
    assert all(t["last_used_at"] is not None for t in listed)
